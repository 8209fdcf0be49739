"""Entity-level precision/recall/F1 of a GLiNER on gold examples.

Always scored against the full label set (``model.evaluate()`` without
``entity_types`` would score against a random label subset).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Mapping, Sequence

from gliner_exp.model.inference import predict_spans, predict_spans_at


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
                   label_names: Mapping[str, str] | None, default: float) -> dict:
    """The grid threshold with the best micro F1 on ``examples`` (ties: the one nearest ``default``).

    Returns ``{"threshold", "f1", "f1_at_default", "predictions", "scores", "grid"}``.
    """
    grid = sorted({*THRESHOLD_GRID, default})
    by_t = predict_spans_at(model, examples, labels, grid, flat_ner, batch_size, label_names)
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
                 batch_size: int, label_names: Mapping[str, str] | None = None):
        self.examples, self.labels = examples, list(labels)
        self.label_names = dict(label_names or {})
        self.threshold, self.flat_ner, self.batch_size = threshold, flat_ner, batch_size
        self.last_predictions: list[list[tuple]] = []

    def __call__(self, model: Any) -> dict:
        self.last_predictions = predict_spans(model, self.examples, self.labels, self.threshold, self.flat_ner,
                                              self.batch_size, self.label_names)
        return score_spans(gold_spans(self.examples), self.last_predictions, self.labels)

    def settings(self) -> dict:
        """What decides the score besides the model (for logs and inspection)."""
        return {"n_examples": len(self.examples), "labels": self.labels, "threshold": self.threshold,
                "flat_ner": self.flat_ner, "batch_size": self.batch_size,
                "label_names": self.label_names}
