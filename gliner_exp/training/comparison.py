"""Base vs fine-tuned, per label: the forgetting report (``comparison.json``, ``comparison.md``, ``comparison.png``).

The *base* is the model a training run starts from (:func:`base_contender`):
``model.pretrained`` loaded from disk as the run loads it, or a new GLiNER over
``model.backbone`` whose span head is drawn from ``run.seed`` exactly as
:func:`gliner_exp.training.assemble.build_all` draws it (untrained, so its F1 is
~0, and the report says so). The *tuned* model is what the run ended with. Both
are scored by :func:`gliner_exp.training.scored_sets.score_sets` on the in-domain
dev split (test where there is no dev) and on each ``eval.extra`` suite, each
decoding as it was meant to (saved settings, else ``train.threshold``); the report
holds P/R/F1 of each and tuned - base, per label, micro and macro.

Written by ``python -m gliner_exp.cli.compare`` and, with ``eval.compare_base=true``,
at the end of a training run (:func:`compare_with_base`, into ``<run dir>/comparison/``).
Importing this module imports neither torch nor matplotlib.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from gliner_exp.config.paths import resolved_path
from gliner_exp.training.artifacts import write_json
from gliner_exp.training.evaluation import suite_split
from gliner_exp.training.scored_sets import DataSet, data_option_name, score_sets, suite_sets

log = logging.getLogger(__name__)

#: Where a training run writes its comparison (``eval.compare_base``), under the run directory.
COMPARISON_DIR = "comparison"
JSON_FILE, MARKDOWN_FILE, PLOT_FILE = "comparison.json", "comparison.md", "comparison.png"
#: The scores the deltas are taken of.
SCORES = ("precision", "recall", "f1")
NEW_HEAD_NOTE = ("The base is an untrained GLiNER over `{backbone}`: a new span head drawn from run.seed={seed}, "
                 "as the run started. Its F1 is ~0 by construction, so the deltas show what fine-tuning learnt, "
                 "not what it forgot.")


@dataclass
class Contender:
    """A model in the comparison and how it decodes."""

    model: Any
    threshold: float
    threshold_from: str
    flat_ner: bool
    #: The names the model was trained with (read for a label the data option does not name).
    label_names: dict[str, str] = field(default_factory=dict)
    #: What the model is, as the report states it.
    about: dict = field(default_factory=dict)

    def describe(self) -> dict:
        """``about`` with the decoding settings."""
        return {**self.about, "threshold": self.threshold, "threshold_from": self.threshold_from,
                "flat_ner": self.flat_ner}


def _on_device(model: Any, cfg: Any) -> Any:
    return model.to("cuda") if cfg.hardware.device == "cuda" else model


def base_contender(cfg: Any) -> Contender:
    """The model the run described by ``cfg`` starts from, built afresh (never the object training updates).

    ``model.pretrained`` is loaded from disk with the run's load-time knobs (a
    gliner_exp model decodes with its saved threshold, ``flat_ner`` and label
    names); otherwise a new GLiNER over ``model.backbone`` is built with the
    global seed set to ``run.seed`` first, as the run builds it, and decodes with
    ``train.threshold``. Compilation and gradient checkpointing are left off: they
    change neither the weights nor the outputs.
    """
    from omegaconf import OmegaConf
    from transformers.trainer_utils import set_seed

    from gliner_exp.model.build import build_model
    from gliner_exp.model.inference import SETTINGS_FILE, InferenceSettings

    set_seed(cfg.run.seed)  # the new head's initial weights: the same draw as build_all's
    model = _on_device(build_model(OmegaConf.merge(cfg.model, {"compile": False, "gradient_checkpointing": False})),
                       cfg)
    pretrained = cfg.model.pretrained
    if not pretrained:
        return Contender(model, cfg.train.threshold, "train.threshold", cfg.train.flat_ner,
                         about={"kind": "new", "backbone": cfg.model.backbone, "seed": cfg.run.seed})
    path = resolved_path(pretrained)
    about = {"kind": "pretrained", "source": str(path) if path.is_dir() else str(pretrained)}
    if (path / SETTINGS_FILE).is_file():
        settings = InferenceSettings.load(path)
        return Contender(model, settings.threshold, "saved with the model", settings.flat_ner,
                         dict(settings.label_names), about)
    return Contender(model, cfg.train.threshold, "train.threshold", cfg.train.flat_ner, about=about)


def saved_contender(model_dir: str | Path, cfg: Any) -> Contender:
    """A saved model: a gliner_exp model decodes with its saved settings, any other GLiNER with ``train.*``."""
    from gliner_exp.model.inference import load_for_prediction

    model, settings = load_for_prediction(model_dir)
    model = _on_device(model, cfg)
    about = {"kind": "saved", "model_dir": str(model_dir)}
    if settings is None:
        return Contender(model, cfg.train.threshold, "train.threshold", cfg.train.flat_ner, about=about)
    return Contender(model, settings.threshold, "saved with the model", settings.flat_ner,
                     dict(settings.label_names), about)


def comparison_sets(primary: str, splits: Any, labels: Sequence[str], label_names: Mapping[str, str],
                    suites: Mapping[str, Any]) -> dict[str, DataSet]:
    """The in-domain data (its dev split, test where it has none) under ``primary``, then each suite.

    A suite named like the in-domain option is that data set already and is left out.
    """
    split = suite_split(splits)
    sets = {primary: DataSet("data", splits, list(labels), dict(label_names), [split] if split else [])}
    sets.update(suite_sets({name: suite for name, suite in suites.items() if name != primary}))
    return sets


def _pair(base: Mapping[str, Any], tuned: Mapping[str, Any]) -> dict:
    return {"base": dict(base), "tuned": dict(tuned), "delta": {k: tuned[k] - base[k] for k in SCORES}}


def comparison_doc(base: dict, tuned: dict, base_scores: Mapping[str, dict], tuned_scores: Mapping[str, dict],
                   warnings: Sequence[str] = ()) -> dict:
    """The report from both models' :func:`score_sets` results: per data set micro, macro and per-label pairs.

    ``base``/``tuned`` describe the models (:meth:`Contender.describe`). Each pair
    holds ``base``, ``tuned`` and ``delta`` (tuned - base of precision, recall, F1).
    A data set with nothing to score is left out (``score_sets`` warned).
    """
    datasets = {}
    for name, b in base_scores.items():
        t = tuned_scores[name]
        for split, b_report in b["splits"].items():
            t_report = t["splits"][split]
            datasets[name] = {
                "role": b["role"], "split": split, "n_examples": b_report["n_examples"],
                "source": b_report.get("source"), "labels": list(b["labels"]),
                "micro": _pair(b_report["micro"], t_report["micro"]),
                "macro": _pair(b_report["macro"], t_report["macro"]),
                "per_label": {label: _pair(b_report["per_label"][label], t_report["per_label"][label])
                              for label in b["labels"]},
            }
    note = NEW_HEAD_NOTE.format(**base) if base.get("kind") == "new" else None
    return {"base": base, "tuned": tuned, "note": note, "warnings": list(warnings), "datasets": datasets}


def compare_contenders(base: Contender, tuned: Contender, sets: Mapping[str, DataSet], batch_size: int,
                       warnings: Sequence[str] = ()) -> dict:
    """Score both models on every data set and return :func:`comparison_doc`."""
    base_scores = score_sets(base.model, sets, base.threshold, base.flat_ner, batch_size, base.label_names)
    tuned_scores = score_sets(tuned.model, sets, tuned.threshold, tuned.flat_ner, batch_size, tuned.label_names)
    return comparison_doc(base.describe(), tuned.describe(), base_scores, tuned_scores, warnings)


# --------------------------------------------------------------------------- the report as text and figure
def _pct(value: float) -> str:
    return f"{100 * value:.2f}"


def _delta(value: float) -> str:
    return f"{100 * value:+.2f}"


def _who(model: dict) -> str:
    if model.get("kind") == "new":
        what = f"new GLiNER over `{model['backbone']}` (span head from run.seed={model['seed']})"
    else:
        what = f"`{model.get('source') or model.get('model_dir')}`"
    return f"{what}; threshold {model['threshold']} ({model['threshold_from']}), flat_ner {model['flat_ner']}"


def _row(cells: Sequence[str], pair: dict, support: Any) -> str:
    scores = [f(pair[who][k]) for k in SCORES for who, f in (("base", _pct), ("tuned", _pct), ("delta", _delta))]
    return "| " + " | ".join([*cells, str(support), *scores]) + " |"


def render_markdown(doc: dict) -> str:
    """``comparison.md``: who is compared, the note and warnings, then one table of every data set and label."""
    lines = ["# gliner_exp comparison: base vs tuned", "", f"- base: {_who(doc['base'])}",
             f"- tuned: {_who(doc['tuned'])}", ""]
    if doc.get("note"):
        lines += [f"Note: {doc['note']}", ""]
    lines += [f"Warning: {w}" for w in doc.get("warnings") or []]
    if doc.get("warnings"):
        lines.append("")
    lines += ["P/R/F1 in %; Δ = tuned - base in points. The in-domain data set is scored on its dev split "
              "(test if none), each eval.extra suite on its own dev split (test if none) with its own labels.", "",
              "| data set | split | label | gold | P base | P tuned | ΔP | R base | R tuned | ΔR "
              "| F1 base | F1 tuned | ΔF1 |",
              "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, entry in doc["datasets"].items():
        where = [f"{name} ({entry['role']})", entry["split"]]
        for label, pair in entry["per_label"].items():
            lines.append(_row([*where, label], pair, pair["base"]["support"]))
            where = ["", ""]
        lines.append(_row([*where, "**micro**"], entry["micro"], entry["micro"]["base"]["support"]))
        macro = entry["macro"]
        lines.append(_row(["", "", f"**macro** ({macro['base']['labels']} / {macro['tuned']['labels']} labels)"],
                          macro, ""))
    return "\n".join(lines) + "\n"


def plot_comparison(path: str | Path, doc: dict) -> bool:
    """``comparison.png``: per data set, per-label F1 of base and tuned as paired bars; False without data.

    Drawn on matplotlib's Agg canvas (no display, no pyplot state).
    """
    datasets = doc["datasets"]
    if not datasets:
        return False
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    widest = max(len(entry["per_label"]) + 1 for entry in datasets.values())
    fig = Figure(figsize=(max(6.0, 0.7 * widest + 2), 3.2 * len(datasets)), dpi=100)
    FigureCanvasAgg(fig)
    for i, (name, entry) in enumerate(datasets.items()):
        ax = fig.add_subplot(len(datasets), 1, i + 1)
        names = [*entry["per_label"], "micro"]
        pairs = [*entry["per_label"].values(), entry["micro"]]
        xs = range(len(names))
        ax.bar([x - 0.2 for x in xs], [p["base"]["f1"] for p in pairs], width=0.4, label="base", color="tab:gray")
        ax.bar([x + 0.2 for x in xs], [p["tuned"]["f1"] for p in pairs], width=0.4, label="tuned", color="tab:blue")
        ax.set_xticks(list(xs))
        ax.set_xticklabels(names, rotation=30 if len(names) > 6 else 0, ha="right" if len(names) > 6 else "center",
                           fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_ylabel("F1")
        ax.set_title(f"{name} ({entry['role']}, {entry['split']})", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        if i == 0:
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    return True


def write_comparison(out_dir: str | Path, doc: dict) -> dict[str, Path]:
    """Write ``comparison.json``, ``comparison.md`` and ``comparison.png`` into ``out_dir``; return their paths."""
    out = Path(out_dir)
    paths = {"json": write_json(out / JSON_FILE, doc), "markdown": out / MARKDOWN_FILE}
    paths["markdown"].write_text(render_markdown(doc))
    if plot_comparison(out / PLOT_FILE, doc):
        paths["plot"] = out / PLOT_FILE
    return paths


# --------------------------------------------------------------------------- at the end of a training run
def compare_with_base(cfg: Any, model: Any, splits: Any, suites: Mapping[str, Any], threshold: float,
                      run_dir: str | Path) -> dict[str, Path]:
    """``eval.compare_base``: the run's final ``model`` against its starting point, into ``<run dir>/comparison/``.

    ``splits``/``suites`` are the run's data and ``eval.extra`` suites, ``threshold``
    the decoding threshold it settled on. The base is rebuilt here
    (:func:`base_contender`), after training, so it is the starting point and not
    the trained object; it is freed again before returning.
    """
    tuned_from = "tuned on dev" if cfg.train.tune_threshold and splits.dev else "train.threshold"
    tuned = Contender(model, threshold, tuned_from, cfg.train.flat_ner, dict(splits.label_names),
                      {"kind": "final", "model_dir": str(Path(run_dir) / "model")})
    sets = comparison_sets(data_option_name(), splits, splits.labels, splits.label_names, suites)
    base = base_contender(cfg)
    try:
        doc = compare_contenders(base, tuned, sets, cfg.train.eval_batch_size)
    finally:
        del base  # a second model's memory, no longer needed once scored
    paths = write_comparison(Path(run_dir) / COMPARISON_DIR, doc)
    log.info("comparison with the base model: %s", paths["markdown"])
    return paths
