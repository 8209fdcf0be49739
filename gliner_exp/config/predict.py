"""Schema of ``python -m gliner_exp.cli.predict`` (``conf/predict.yaml``), and its one-pass validation.

The training app's engine (:mod:`gliner_exp.config.validate`) is rooted at the
training schema; this app's keys are checked here with the same pydantic
model builder, worded the same way (key, what is wrong, what is allowed), every
problem in one :class:`~gliner_exp.config.errors.ConfigError`. Nothing here
imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Optional

from gliner_exp.config.fields import bounded
from gliner_exp.config.paths import file_problem, resolved_path

#: Input file kinds, by suffix: one text per line, or one JSON value per line.
INPUT_SUFFIXES = (".txt", ".jsonl")


@dataclass
class WindowConfig:
    """Overlapping word windows for texts longer than the model reads at once."""

    size: Optional[int] = bounded(None, 1, None, help="words per window; null: the model's max_len")
    stride: Optional[int] = bounded(None, 1, None, help="words between window starts; null: a quarter overlaps")


@dataclass
class PredictConfig:
    """What ``python -m gliner_exp.cli.predict`` composes; see ``conf/predict.yaml``."""

    model_dir: str = field(default="???", metadata={"help": "a saved gliner_exp model (<run dir>/model) or GLiNER dir"})
    input: str = field(default="???", metadata={"help": ".txt (a text per line) or .jsonl"})
    output: Optional[str] = field(default=None, metadata={"help": "JSONL; null: <output dir>/predictions.jsonl"})
    labels: Optional[List[str]] = field(default=None, metadata={"help": "null: the labels saved with the model"})
    threshold: Optional[float] = bounded(None, 0.0, 1.0, help="null: the model's tuned threshold")
    flat_ner: Optional[bool] = field(default=None, metadata={"help": "null: as the model was tuned"})
    batch_size: int = bounded(8, 1, None)
    window: WindowConfig = field(default_factory=WindowConfig)


def field_problems(plain: dict) -> list[str]:
    """Each key's problem in ``plain`` (unknown keys, types, ranges; ``???`` is a missing required key)."""
    from gliner_exp.config.validate import schema_problems

    missing = [key for key in ("model_dir", "input") if plain.get(key) in (None, "???")]
    problems = [f"{key}: required (e.g. {key}=<path>)" for key in missing]
    return problems + schema_problems(plain, PredictConfig, skip=missing)


def path_problems(plain: dict) -> list[str]:
    """What is wrong with the paths: ``model_dir`` a model directory, ``input`` a readable .txt/.jsonl file."""
    out = []
    model_dir = plain.get("model_dir")
    if isinstance(model_dir, str) and model_dir != "???":
        path = resolved_path(model_dir)
        if not path.is_dir():
            out.append(f"model_dir: not a directory: {path}")
        elif not (path / "gliner_config.json").is_file():
            out.append(f"model_dir: no gliner_config.json in {path} (not a saved GLiNER model)")
    raw = plain.get("input")
    if isinstance(raw, str) and raw != "???":
        problem = file_problem("input", raw)
        if problem is None and Path(raw).suffix.lower() not in INPUT_SUFFIXES:
            problem = f"input: {Path(raw).name}: unknown kind; allowed suffixes: {', '.join(INPUT_SUFFIXES)}"
        if problem is not None:
            out.append(problem)
    return out


def predict_problems(plain: Any) -> list[str]:
    """Every problem of a predict config (a plain mapping): fields first, then paths."""
    plain = dict(plain)
    return field_problems(plain) + path_problems(plain)
