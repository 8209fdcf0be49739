"""Schema of ``python -m gliner_exp.cli.predict`` (``conf/predict.yaml``), and its one-pass validation.

The training app's engine (:mod:`gliner_exp.config.validate`) is rooted at the
training schema; this app's keys are checked here with the same pydantic
model builder, worded the same way (key, what is wrong, what is allowed), every
problem in one :class:`~gliner_exp.config.errors.ConfigError`. Nothing here
imports torch.
"""

from __future__ import annotations

import dataclasses
import difflib
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


def _keys(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _unknown(path: str) -> str:
    parent, _, name = path.rpartition(".")
    allowed = _keys(WindowConfig if parent == "window" else PredictConfig)
    hint = difflib.get_close_matches(name, allowed, n=1)
    did = f" (did you mean '{(parent + '.' if parent else '') + hint[0]}'?)" if hint else ""
    where = f"in '{parent}'" if parent else "at the top level"
    return f"{path}: unknown key{did}; allowed {where}: {', '.join(allowed)}"


def _describe(err: dict) -> str:
    path = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in err["loc"]).replace(".[", "[")
    kind, value = err["type"], err.get("input")
    if kind == "extra_forbidden":
        return _unknown(path)
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"{path}: {value!r} is out of range ({err['msg'].lower()})"
    if kind == "missing":
        return f"{path}: missing"
    return f"{path}: {'null' if value is None else repr(value)} is not valid ({err['msg'].lower()})"


def field_problems(plain: dict) -> list[str]:
    """Each key's problem in ``plain`` (unknown keys, types, ranges; ``???`` is a missing required key)."""
    from pydantic import ValidationError

    from gliner_exp.config.validate import model_of

    problems = [f"{key}: required (e.g. {key}=<path>)" for key in ("model_dir", "input")
                if plain.get(key) in (None, "???")]
    try:
        model_of(PredictConfig).model_validate({k: v for k, v in plain.items() if k != "hydra"})
    except ValidationError as exc:
        problems += [_describe(e) for e in exc.errors() if not (e["loc"][0] in ("model_dir", "input")
                                                                and plain.get(e["loc"][0]) in (None, "???"))]
    return list(dict.fromkeys(problems))


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
