"""One model scored on named data sets, split by split: what the evaluate and compare verbs share.

A data set is the composed ``data`` option (role ``data``) or an ``eval.extra``
suite (role ``eval.extra``), each with the labels it is scored on and the names
its option gives them. :func:`score_sets` gives each split the full
:func:`~gliner_exp.training.evaluation.score_report` (micro, macro, per label,
errors), the same numbers a training run puts in ``metrics.json`` for the same
predictions. Importing this module does not import torch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from gliner_exp.training.artifacts import write_predictions
from gliner_exp.training.evaluation import evaluate_examples, merged_label_names, suite_split

log = logging.getLogger(__name__)


@dataclass
class DataSet:
    """A data set to score: its role, its splits (``Splits``), the labels scored and the splits to score."""

    role: str
    splits: Any
    labels: list[str]
    #: The names the data option gives its labels (``data.label_names``); others read as the model learnt them.
    label_names: dict[str, str] = field(default_factory=dict)
    split_names: list[str] = field(default_factory=list)


def suite_sets(suites: Mapping[str, Any]) -> dict[str, DataSet]:
    """The ``eval.extra`` suites (``{name: Splits}``) as data sets: each on its :func:`suite_split`, its own labels."""
    out = {}
    for name, suite in suites.items():
        split = suite_split(suite)
        out[name] = DataSet("eval.extra", suite, list(suite.labels), dict(suite.label_names), [split] if split else [])
    return out


def score_sets(model: Any, sets: Mapping[str, DataSet], threshold: float, flat_ner: bool, batch_size: int,
               model_label_names: Mapping[str, str] | None = None,
               predictions_dir: str | Path | None = None) -> dict[str, dict]:
    """``{name: {"role", "labels", "label_names", "splits": {split: report}}}`` of ``model`` on each data set.

    Each report is :func:`~gliner_exp.training.evaluation.score_report` plus the
    split's ``source`` file; texts are windowed where the data set's ``data.window``
    says so. ``model_label_names`` are the names the model was trained with (read
    for a label its data option does not name). With ``predictions_dir`` the
    predictions go to ``<predictions_dir>/<name>/<split>.jsonl``.
    """
    out = {}
    for name, data in sets.items():
        names = merged_label_names(data.labels, data.label_names, model_label_names)
        entry = {"role": data.role, "labels": list(data.labels), "label_names": names, "splits": {}}
        for split in data.split_names:
            examples = getattr(data.splits, split)
            # the data option's own data.window, as training scores it
            report, predictions = evaluate_examples(model, examples, data.labels, threshold, flat_ner, batch_size,
                                                    names, data.splits.window)
            report["source"] = data.splits.sources.get(split)
            entry["splits"][split] = report
            if predictions_dir is not None:
                write_predictions(Path(predictions_dir) / name / f"{split}.jsonl", examples, predictions)
        if not data.split_names:
            log.warning("%s: no dev or test split to score", name)
        out[name] = entry
    return out


def data_option_name() -> str:
    """The composed ``data`` option's name, which names its data set in reports (``data`` outside a Hydra job)."""
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        return str(HydraConfig.get().runtime.choices.get("data") or "data")
    return "data"
