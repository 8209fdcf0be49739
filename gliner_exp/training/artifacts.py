"""Write what a run was built from into ``<run dir>/resolved/`` as JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def _default(obj: Any) -> Any:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    return str(obj)


def write_json(path: str | Path, payload: Any) -> Path:
    """Write ``payload`` as indented, key-sorted JSON (non-JSON values as strings), creating parents.

    Atomic: a reader (the sweep report, a rerun deciding whether to skip) sees the old file or
    the new one, never half of one. Secrets are not redacted here; callers that may hold
    them pass ``gliner_exp.integrations.redaction.redact(payload)``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # One temp file per process: two writers of the same file never share a half-written temp.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=_default) + "\n")
    tmp.replace(path)
    return path


def read_json(path: str | Path) -> Any:
    """The JSON in ``path``, or None where it is missing or unreadable (a reader never fails on a half-run)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def write_resolved(run_dir: str | Path, training_args: Any, gliner_config: Any, data_summary: dict,
                   records: dict | None = None) -> Path:
    """training_args.json (``TrainingArguments.to_dict()``), gliner_config.json, data_summary.json,
    and one ``<name>.json`` per entry of ``records``."""
    out = Path(run_dir) / "resolved"
    write_json(out / "training_args.json", training_args.to_dict())
    write_json(out / "gliner_config.json", gliner_config.to_dict() if hasattr(gliner_config, "to_dict")
               else gliner_config)
    write_json(out / "data_summary.json", data_summary)
    for name, payload in (records or {}).items():
        write_json(out / f"{name}.json", payload)
    return out


def write_predictions(path: str | Path, examples: list[dict], predictions: list[list[tuple]]) -> Path:
    """One JSON line per example: its tokens, gold spans and predicted spans."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        for ex, pred in zip(examples, predictions, strict=True):
            fh.write(json.dumps({"tokenized_text": ex["tokenized_text"], "ner": ex["ner"],
                                 "predicted": [list(p) for p in pred]}) + "\n")
    return path
