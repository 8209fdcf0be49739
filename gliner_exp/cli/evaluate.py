"""``python -m gliner_exp.cli.evaluate model.pretrained=<dir>``: score a saved model, train nothing.

A thin Hydra app over the training config (``conf/evaluate.yaml`` is
``conf/config.yaml`` with a saved model in place of a model to build: the same
groups, schema and checks). It scores the model on the composed ``data``
option's dev and test splits with its label set (``data.labels=[...]``: exactly
those labels), and on each option of ``eval.extra`` (zero-shot suites: dev, or
test where there is no dev, with the option's own labels). A gliner_exp model
decodes with its saved threshold, ``flat_ner`` and label names
(:func:`gliner_exp.model.inference.load_model`); another GLiNER directory with
``train.threshold`` and ``train.flat_ner``.

Written to the run directory (``run.dir``): ``evaluation.json`` (micro, macro and
per-label P/R/F1 and the error analysis per data set and split),
``evaluation.md`` (the same as tables, also printed) and
``predictions/<data set>/<split>.jsonl``. Bad input exits 2 with one message
before torch is imported; ``--help`` and ``--cfg job`` answer without torch.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from gliner_exp.cli.precheck import check_command_line
from gliner_exp.config.errors import ConfigError, exit_with
from gliner_exp.config.store import conf_dir, register

register()
log = logging.getLogger("gliner_exp.evaluate")

CONFIG_NAME = "evaluate"
#: What a saved GLiNER directory holds (``save_pretrained``), whoever trained it.
GLINER_CONFIG_FILE = "gliner_config.json"


# --------------------------------------------------------------------------- config (no torch)
#: The training rule that fires when no model is given (conf/evaluate.yaml leaves model.backbone null).
_NEITHER_MODEL = "model.backbone and model.pretrained: set exactly one"
MODEL_REQUIRED = ("model.pretrained: required: the saved model directory to score "
                  "(e.g. model.pretrained=outputs/runs/<run.name>/<overrides>/model); model.backbone stays null")


def _reworded(exc: ConfigError) -> ConfigError:
    """``exc`` in this verb's words: the training rule about building a model becomes 'give the saved model'."""
    return ConfigError([MODEL_REQUIRED if p.startswith(_NEITHER_MODEL) else p for p in exc.problems])


def _typed(cfg: Any) -> DictConfig:
    """``cfg`` checked by the training config's engine (every problem at once) and typed by its schema."""
    from gliner_exp.config.root import Config
    from gliner_exp.config.validate import validate_config

    plain = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
    plain = {k: v for k, v in plain.items() if k != "hydra"}
    try:
        validate_config(plain)
    except ConfigError as exc:
        raise _reworded(exc) from None
    return OmegaConf.merge(OmegaConf.structured(Config), plain)


def model_dir_of(cfg: DictConfig) -> Path:
    """``model.pretrained`` as a saved model directory (ConfigError if it is none; the hub is never asked)."""
    from gliner_exp.config.paths import resolved_path

    raw = cfg.model.pretrained
    if raw is None or not str(raw).strip():
        raise ConfigError(["model.pretrained: required: the saved model to score"])
    path = resolved_path(raw)
    if not path.is_dir():
        raise ConfigError([f"model.pretrained: not a directory: {path} (a saved model, e.g. <run dir>/model)"])
    if not (path / GLINER_CONFIG_FILE).is_file():
        raise ConfigError([f"model.pretrained: no {GLINER_CONFIG_FILE} in {path} (not a saved GLiNER model)"])
    return path


def primary_data(cfg: DictConfig) -> tuple[Any, list[str]]:
    """The ``data`` option's splits (labels as found) and the labels to score: ``data.labels`` or the data's."""
    from gliner_exp.config.data import DataConfig
    from gliner_exp.data import DataError, load_splits

    asked = list(cfg.data.labels) if cfg.data.labels is not None else None
    data = OmegaConf.to_container(cfg.data, resolve=True)
    # data.labels here chooses what is scored, so it may leave out labels the data has or name new ones:
    # loading takes the data's own labels (the gold is cut to the asked ones when scored), and the
    # names of the asked labels are resolved apart (label_names_of).
    data.update(labels=None, label_names={})
    try:
        splits = load_splits(OmegaConf.merge(OmegaConf.structured(DataConfig), data), base_dir=os.getcwd())
    except DataError as exc:
        raise ConfigError([str(exc)]) from None
    return splits, asked if asked is not None else list(splits.labels)


def label_names_of(cfg: DictConfig, labels: list[str]) -> dict[str, str]:
    """The data option's names (``data.label_names``, ``data.label_names_auto``) of exactly ``labels``."""
    from gliner_exp.data import DataError
    from gliner_exp.data.label_names import resolve_label_names

    explicit = {k: v for k, v in dict(cfg.data.label_names).items() if k in labels}
    try:
        return resolve_label_names(labels, explicit, bool(cfg.data.label_names_auto))
    except DataError as exc:
        raise ConfigError([str(exc)]) from None


# --------------------------------------------------------------------------- the job
def _load(model_dir: Path) -> tuple[Any, Any]:
    """The model and its gliner_exp decoding settings (None for a GLiNER saved by anything else)."""
    from gliner_exp.model.inference import load_for_prediction

    return load_for_prediction(model_dir)


def _markdown(doc: dict) -> str:
    from gliner_exp.training.evaluation import markdown_report

    lines = [f"# gliner_exp evaluation: {doc['model_dir']}", "",
             f"threshold {doc['threshold']} ({doc['threshold_from']}), flat_ner {doc['flat_ner']}", ""]
    for name, entry in doc["datasets"].items():
        lines += [f"## {name} ({entry['role']}, {len(entry['labels'])} labels)", ""]
        for split, report in entry["splits"].items():
            lines += [markdown_report(f"{name} / {split}", report), ""]
    return "\n".join(lines).rstrip() + "\n"


def evaluate(cfg: Any) -> dict:
    """Score ``model.pretrained`` on the config's data and ``eval.extra``; write and print the report.

    Returns the report (what ``evaluation.json`` holds). Raises ConfigError
    (before torch is imported) for a bad config, model directory or data file.
    """
    cfg = _typed(cfg)
    model_dir = model_dir_of(cfg)
    if not cfg.run.dir:
        from gliner_exp.config.errors import run_dir_missing

        raise run_dir_missing()
    run_dir = Path(cfg.run.dir)
    splits, labels = primary_data(cfg)
    from gliner_exp.training.evaluation import load_suites  # light: the model layer's torch loads lazily

    from gliner_exp.training.scored_sets import data_option_name

    primary = data_option_name()
    extras = [name for name in cfg.eval.extra if name != primary]  # the data option is scored in full already
    suites = load_suites(extras, os.getcwd())

    from gliner_exp.cluster.devices import check_device

    check_device(cfg)  # cuda asked for but not visible: say so before loading
    from gliner_exp.training.artifacts import write_json
    from gliner_exp.training.assemble import apply_runtime
    from gliner_exp.training.scored_sets import DataSet, score_sets, suite_sets

    apply_runtime(cfg.hardware)
    model, settings = _load(model_dir)
    if cfg.hardware.device == "cuda":
        model = model.to("cuda")
    threshold = settings.threshold if settings else cfg.train.threshold
    flat_ner = settings.flat_ner if settings else cfg.train.flat_ner
    model_names = dict(settings.label_names) if settings else {}
    batch_size = cfg.train.eval_batch_size

    sets = {primary: DataSet("data", splits, labels, label_names_of(cfg, labels),
                             [s for s in ("dev", "test") if getattr(splits, s)]), **suite_sets(suites)}
    doc = {"model_dir": str(model_dir), "threshold": threshold,
           "threshold_from": "saved with the model" if settings else "train.threshold",
           "flat_ner": flat_ner, "eval_batch_size": batch_size,
           "datasets": score_sets(model, sets, threshold, flat_ner, batch_size, model_names, run_dir / "predictions")}
    write_json(run_dir / "evaluation.json", doc)
    text = _markdown(doc)
    (run_dir / "evaluation.md").write_text(text)
    print(text + f"\nwritten: {run_dir / 'evaluation.json'}, {run_dir / 'evaluation.md'}", flush=True)
    return doc


def _objective(doc: dict) -> float | None:
    """The first data set's first split micro F1: what a sweeper (Optuna) would maximise."""
    for entry in doc["datasets"].values():
        for report in entry["splits"].values():
            return report["micro"]["f1"]
    return None


@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name=CONFIG_NAME)
def _hydra_entry(cfg: DictConfig) -> float | None:
    try:
        return _objective(evaluate(cfg))
    except ConfigError as exc:
        exit_with(exc)  # in a multirun too: a bad job stops the sweep with its message


def main() -> None:
    """Console entry point: check the command line (every problem at once), then hand over to Hydra."""
    try:
        check_command_line(sys.argv[1:], conf_dir(), CONFIG_NAME, _hydra_entry)
    except ConfigError as exc:
        exit_with(_reworded(exc))
    _hydra_entry()


if __name__ == "__main__":
    main()
