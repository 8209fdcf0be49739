"""Entity-level precision/recall/F1 of a GLiNER on gold examples.

Always scored against the full label set (``model.evaluate()`` without
``entity_types`` would score against a random label subset); with a ``window`` (``data.window``)
each whole text, in merged windows (:func:`gliner_exp.model.inference.predict_examples_at`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Mapping, Sequence

from gliner_exp.model.inference import predict_examples_at


def _prf(tp: int, n_pred: int, n_gold: int) -> dict:
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": n_gold}


def score_spans(gold: Iterable[Sequence], pred: Iterable[Sequence], labels: Sequence[str]) -> dict:
    """Micro P/R/F1 and per-label scores from per-example sets of ``(start, end, label)``."""
    tp, n_pred, n_gold = Counter(), Counter(), Counter()
    for gold_spans, pred_spans in zip(gold, pred, strict=True):
        g = {tuple(s) for s in gold_spans}
        p = {tuple(s) for s in pred_spans}
        for s in g:
            n_gold[s[2]] += 1
        for s in p:
            n_pred[s[2]] += 1
        for s in g & p:
            tp[s[2]] += 1
    scores = _prf(sum(tp.values()), sum(n_pred.values()), sum(n_gold.values()))
    scores["per_label"] = {label: _prf(tp[label], n_pred[label], n_gold[label]) for label in labels}
    return scores


#: Thresholds tried when tuning on dev (``train.tune_threshold``).
THRESHOLD_GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))


def gold_spans(examples: Sequence[dict]) -> list[list[tuple]]:
    """``(start, end, label)`` per example, as the scorer compares them."""
    return [[(s, e, lab) for s, e, lab in ex["ner"]] for ex in examples]


def tune_threshold(model: Any, examples: Sequence[dict], labels: Sequence[str], flat_ner: bool, batch_size: int,
                   label_names: Mapping[str, str] | None, default: float, window: Mapping | None = None) -> dict:
    """The grid threshold with the best micro F1 on ``examples`` (ties: the one nearest ``default``).

    Returns ``{"threshold", "f1", "f1_at_default", "predictions", "scores", "grid"}``.
    """
    grid = sorted({*THRESHOLD_GRID, default})
    by_t = predict_examples_at(model, examples, labels, grid, flat_ner, batch_size, label_names, window)
    gold = gold_spans(examples)
    scores = {t: score_spans(gold, preds, labels) for t, preds in by_t.items()}
    best = max(grid, key=lambda t: (round(scores[t]["f1"], 12), -abs(t - default)))
    return {"threshold": best, "f1": scores[best]["f1"], "f1_at_default": scores[default]["f1"],
            "predictions": by_t[best], "scores": scores[best],
            "grid": {str(t): round(scores[t]["f1"], 4) for t in grid}}


def flatten_scores(scores: dict, prefix: str) -> dict:
    """``{prefix}_f1``, ``{prefix}_precision``, ... and ``{prefix}_f1_<label>`` as flat floats."""
    flat = {f"{prefix}_{k}": float(scores[k]) for k in ("f1", "precision", "recall") if k in scores}
    for label, s in scores.get("per_label", {}).items():
        flat[f"{prefix}_f1_{label}"] = float(s["f1"])
    return flat


class F1Evaluator:
    """Scores a model on fixed examples against the full label set (used at every eval interval)."""

    def __init__(self, examples: list[dict], labels: Sequence[str], threshold: float, flat_ner: bool,
                 batch_size: int, label_names: Mapping[str, str] | None = None, window: Mapping | None = None):
        self.examples, self.labels = examples, list(labels)
        self.label_names = dict(label_names or {})
        self.threshold, self.flat_ner, self.batch_size = threshold, flat_ner, batch_size
        self.window = None if window is None else {"size": window.get("size"), "stride": window.get("stride")}
        self.last_predictions: list[list[tuple]] = []

    def __call__(self, model: Any) -> dict:
        self.last_predictions = predict_examples_at(model, self.examples, self.labels, [self.threshold],
                                                    self.flat_ner, self.batch_size, self.label_names,
                                                    self.window)[self.threshold]
        return score_spans(gold_spans(self.examples), self.last_predictions, self.labels)

    def settings(self) -> dict:
        """What decides the score besides the model (for logs and inspection)."""
        return {"n_examples": len(self.examples), "labels": self.labels, "threshold": self.threshold,
                "flat_ner": self.flat_ner, "batch_size": self.batch_size,
                "label_names": self.label_names, "window": self.window}


# --------------------------------------------------------------------------- full reports (evaluate verb, zero-shot suites)
#: Error categories of :func:`error_analysis`, in the order reports list them.
ERROR_KINDS = ("boundary", "type", "spurious", "missed")


def restrict_gold(examples: Sequence[dict], labels: Sequence[str]) -> list[list[tuple]]:
    """Gold ``(start, end, label)`` per example, keeping only ``labels``: a label not asked for is not scored."""
    keep = set(labels)
    return [[span for span in spans if span[2] in keep] for spans in gold_spans(examples)]


def macro_scores(per_label: Mapping[str, dict]) -> dict:
    """Unweighted mean of per-label P/R/F1 over the labels that occur in the gold or the predictions.

    A label asked for that neither the gold nor the model ever uses is left out:
    it has nothing to be right or wrong about, and a 0 for it would only measure the label list.
    """
    used = [label for label, s in per_label.items() if s["support"] or s.get("n_pred")]
    n = len(used)
    out = {k: (sum(per_label[label][k] for label in used) / n if n else 0.0) for k in ("precision", "recall", "f1")}
    out["labels"] = n
    return out


def _overlaps(a: tuple, b: tuple) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def error_analysis(gold: Sequence[Sequence], pred: Sequence[Sequence], examples: Sequence[dict] | None = None,
                   max_samples: int = 5) -> dict:
    """Why predictions and gold differ, span by span.

    Each prediction that is not exactly a gold span is one of: a **type** error
    (the boundaries of a gold span, another label), a **boundary** error (overlaps
    a gold span of its label, other boundaries), or **spurious** (neither; this
    includes a span overlapping a gold span of another label with other
    boundaries). A gold span neither found nor touched by a boundary or type error
    is **missed**. Returns the counts, the counts per label (the gold label for
    type and missed, the predicted one otherwise), the type confusions
    (``"gold -> predicted"``) and up to ``max_samples`` samples per kind
    (with the words where ``examples`` are given).
    """
    counts: Counter = Counter()
    by_label: dict[str, Counter] = {kind: Counter() for kind in ERROR_KINDS}
    confusions: Counter = Counter()
    samples: dict[str, list] = {kind: [] for kind in ERROR_KINDS}

    def note(kind: str, label: str, i: int, span: tuple, gold_of: list) -> None:
        counts[kind] += 1
        by_label[kind][label] += 1
        if len(samples[kind]) < max_samples:
            sample = {"example": i, "span": [span[0], span[1]], "label": span[2],
                      "gold": [list(g) for g in gold_of]}
            if examples is not None:
                words = examples[i]["tokenized_text"]
                sample["text"] = " ".join(words[span[0]:span[1] + 1])
                for g, entry in zip(gold_of, sample["gold"]):
                    entry.append(" ".join(words[g[0]:g[1] + 1]))
            samples[kind].append(sample)

    for i, (gold_spans_i, pred_spans_i) in enumerate(zip(gold, pred, strict=True)):
        g = {tuple(s[:3]) for s in gold_spans_i}
        p = {tuple(s[:3]) for s in pred_spans_i}
        correct = g & p
        counts["correct"] += len(correct)
        left = sorted(g - correct)
        touched: set = set()
        for span in sorted(p - correct):
            same_bounds = [x for x in left if x[:2] == span[:2]]
            if same_bounds:
                touched.update(same_bounds)
                for x in same_bounds:
                    confusions[f"{x[2]} -> {span[2]}"] += 1
                note("type", same_bounds[0][2], i, span, same_bounds)
                continue
            same_type = [x for x in left if x[2] == span[2] and _overlaps(x, span)]
            if same_type:
                touched.update(same_type)
                note("boundary", span[2], i, span, same_type)
            else:
                note("spurious", span[2], i, span, [x for x in left if _overlaps(x, span)])
        for x in left:
            if x not in touched:
                note("missed", x[2], i, x, [x])
    return {**{kind: counts[kind] for kind in ("correct", *ERROR_KINDS)},
            "by_label": {kind: dict(sorted(c.items())) for kind, c in by_label.items()},
            "type_confusions": dict(confusions.most_common()),
            "samples": samples}


def score_report(gold: Sequence[Sequence], pred: Sequence[Sequence], labels: Sequence[str],
                 examples: Sequence[dict] | None = None) -> dict:
    """Micro, macro and per-label P/R/F1 (with each label's predicted count) and :func:`error_analysis`.

    Micro and per-label scores are :func:`score_spans`' own, so they equal a
    training run's ``metrics.json`` for the same predictions.
    """
    scores = score_spans(gold, pred, labels)
    n_pred = Counter(s[2] for spans in pred for s in {tuple(x[:3]) for x in spans})
    per_label = {label: {**s, "n_pred": n_pred[label]} for label, s in scores["per_label"].items()}
    micro = {k: scores[k] for k in ("precision", "recall", "f1", "support")}
    micro["n_pred"] = sum(n_pred[label] for label in labels)
    return {"n_examples": len(gold), "micro": micro, "macro": macro_scores(per_label), "per_label": per_label,
            "errors": error_analysis(gold, pred, examples)}


def evaluate_examples(model: Any, examples: list[dict], labels: Sequence[str], threshold: float, flat_ner: bool,
                      batch_size: int, label_names: Mapping[str, str] | None = None,
                      window: Mapping | None = None) -> tuple[dict, list]:
    """:func:`score_report` of ``model`` on ``examples`` for exactly ``labels`` (windowed, if given); and predictions."""
    predictions = predict_examples_at(model, examples, labels, [threshold], flat_ner, batch_size, label_names,
                                      window)[threshold]
    return score_report(restrict_gold(examples, labels), predictions, labels, examples), predictions


def suite_split(splits: Any) -> str | None:
    """The split a zero-shot suite is scored on: dev, else test (None if it has neither)."""
    return "dev" if splits.dev else "test" if splits.test else None


def load_suites(names: Sequence[str], base_dir: str) -> dict:
    """``{name: Splits}`` of each ``eval.extra`` data option, composed as ``data=<name>`` composes it.

    Called before training, so a broken file of a suite stops the run before
    anything is trained (a :class:`~gliner_exp.config.errors.ConfigError` naming the option).
    """
    from omegaconf import OmegaConf

    from gliner_exp.config.data import DataConfig
    from gliner_exp.config.errors import ConfigError
    from gliner_exp.config.eval import data_option
    from gliner_exp.data import DataError, load_splits

    out, problems = {}, []
    for name in dict.fromkeys(names):
        data = OmegaConf.merge(OmegaConf.structured(DataConfig), data_option(name))
        try:
            out[name] = load_splits(data, base_dir=base_dir)
        except DataError as exc:
            problems.append(f"eval.extra={name}: {exc}")
    if problems:
        raise ConfigError(problems)
    return out


def merged_label_names(labels: Sequence[str], data_names: Mapping[str, str],
                       model_names: Mapping[str, str] | None) -> dict[str, str]:
    """The words the model reads for each label key: the data option's own name for it, else the name
    the model was trained with (``model_names``), else the key itself."""
    model_names = model_names or {}
    out = {}
    for key in labels:
        named = data_names.get(key, key)
        out[key] = named if named != key else model_names.get(key, key)
    return out


def score_suites(model: Any, suites: Mapping[str, Any], threshold: float, flat_ner: bool, batch_size: int,
                 model_label_names: Mapping[str, str] | None = None) -> dict:
    """``{name: summary}`` of each zero-shot suite on its :func:`suite_split`, with its own labels and names.

    A label the suite's option does not name reads as the model learnt it
    (``model_label_names``, see :func:`merged_label_names`). The summary is what
    ``metrics.json`` keeps (``zero_shot``): the split, ``f1``/``precision``/``recall``
    (micro), ``macro_f1``, per-label scores and the error counts.
    """
    out = {}
    for name, splits in suites.items():
        split = suite_split(splits)
        if split is None:
            continue
        names = merged_label_names(splits.labels, splits.label_names, model_label_names)
        report, _ = evaluate_examples(model, getattr(splits, split), splits.labels, threshold, flat_ner,
                                      batch_size, names, splits.window)  # the suite's own data.window
        out[name] = {"split": split, "n_examples": report["n_examples"], "labels": list(splits.labels),
                     **{k: report["micro"][k] for k in ("f1", "precision", "recall", "support")},
                     "macro_f1": report["macro"]["f1"], "per_label": report["per_label"],
                     "errors": {kind: report["errors"][kind] for kind in ("correct", *ERROR_KINDS)}}
    return out


def _pct(value: float) -> str:
    return f"{100 * value:.2f}"


def markdown_report(title: str, report: dict) -> str:
    """One split's :func:`score_report` as Markdown: a P/R/F1 table (per label, micro, macro) and the errors."""
    lines = [f"### {title}", "", f"{report['n_examples']} examples", "",
             "| label | P | R | F1 | gold | predicted |", "|---|---:|---:|---:|---:|---:|"]
    for label, s in report["per_label"].items():
        lines.append(f"| {label} | {_pct(s['precision'])} | {_pct(s['recall'])} | {_pct(s['f1'])} "
                     f"| {s['support']} | {s['n_pred']} |")
    micro, macro = report["micro"], report["macro"]
    lines.append(f"| **micro** | {_pct(micro['precision'])} | {_pct(micro['recall'])} | **{_pct(micro['f1'])}** "
                 f"| {micro['support']} | {micro['n_pred']} |")
    lines.append(f"| **macro** ({macro['labels']} labels) | {_pct(macro['precision'])} | {_pct(macro['recall'])} "
                 f"| {_pct(macro['f1'])} | | |")
    errors = report["errors"]
    lines += ["", "| correct | boundary | type | spurious | missed |", "|---:|---:|---:|---:|---:|",
              "| " + " | ".join(str(errors[k]) for k in ("correct", *ERROR_KINDS)) + " |"]
    if errors["type_confusions"]:
        top = ", ".join(f"{pair} ({n})" for pair, n in list(errors["type_confusions"].items())[:5])
        lines += ["", f"Type confusions (gold -> predicted): {top}"]
    return "\n".join(lines)
