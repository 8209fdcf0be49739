"""What data a run's checkpoints were trained on, so that a resume never mixes old and new data.

A run that starts from scratch records ``<run dir>/data_fingerprint.json``:
per split, where its examples come from, how many there are and the sha256
of the examples as loaded (after ``data.max_train_examples``), plus the label
set. A resume compares the data it loads now with that record:

* ``train``, ``dev`` or the label set changed -> refused (ConfigError naming
  the split's key and file): the checkpoints were trained, and the best one
  chosen, on the old data; a resume would mix the two;
* ``test`` changed -> a warning: the test split never reaches the
  checkpoints, only the final scores, which are then scores on the new file;
* no record (a run dir from before fingerprints) -> a warning, and the
  current data is recorded.

Hashing the loaded examples rather than the files covers files, CrossNER and
the synthetic corpus alike, and ignores edits that change no example.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from gliner_exp.config.errors import ConfigError
from gliner_exp.config.paths import resolved_path
from gliner_exp.training.artifacts import read_json, write_json

log = logging.getLogger(__name__)

FINGERPRINT_FILE = "data_fingerprint.json"
_SPLITS = ("train", "dev", "test")


def _digest(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _source(data_cfg: Any, split: str, base_dir: Path) -> str:
    if data_cfg.get("synthetic") is not None:
        return f"the synthetic corpus (data.synthetic.seed={data_cfg.synthetic.seed})"
    path = data_cfg.get(split)
    return str(resolved_path(path, base_dir)) if path else "(none)"


def data_fingerprint(data_cfg: Any, splits: Any, base_dir: str | Path) -> dict:
    """``{"splits": {split: {source, examples, sha256}}, "labels": [...]}`` of the data as loaded."""
    base_dir = Path(base_dir)
    return {
        "splits": {split: {"source": _source(data_cfg, split, base_dir),
                           "examples": len(getattr(splits, split) or []),
                           "sha256": _digest(getattr(splits, split) or [])}
                   for split in _SPLITS},
        "labels": list(splits.labels),
    }


def _read(run_dir: Path) -> dict | None:
    data = read_json(run_dir / FINGERPRINT_FILE)
    return data if isinstance(data, dict) and isinstance(data.get("splits"), dict) else None


def _changed(split: str, then: dict, now: dict) -> str:
    where = now["source"]
    if then.get("source") != where:
        where = f"{then.get('source')} then, {where} now"
    return (f"data.{split}: the examples read from {where} differ from those this run started with "
            f"({then.get('examples')} examples then, {now['examples']} now)")


def check_unchanged(run_dir: str | Path, current: dict, resuming_from: str | Path) -> None:
    """Refuse (ConfigError) a resume whose train/dev data or labels differ from the recorded ones."""
    run_dir = Path(run_dir)
    stored = _read(run_dir)
    if stored is None:
        log.warning("%s has no %s (a run dir from before data fingerprints): resuming from %s without "
                    "checking that the data is the one it was trained on", run_dir, FINGERPRINT_FILE,
                    resuming_from)
        return
    problems = []
    for split in ("train", "dev"):
        then, now = stored["splits"].get(split) or {}, current["splits"][split]
        if then.get("sha256") != now["sha256"]:
            problems.append(_changed(split, then, now))
    if stored.get("labels") != current["labels"]:
        problems.append(f"data.labels: the label set is {current['labels']}, {stored.get('labels')} when "
                        "this run started")
    if problems:
        problems.append(f"run.resume: {resuming_from} was trained on the data recorded in "
                        f"{run_dir / FINGERPRINT_FILE}; resuming would mix old and new data. Put the old data "
                        "back, or start over with run.resume=never (or give the new data its own run.dir)")
        raise ConfigError(problems)
    then, now = stored["splits"].get("test") or {}, current["splits"]["test"]
    if then.get("sha256") != now["sha256"]:
        log.warning("%s; the checkpoints never saw it, but the final test scores of this run are on the "
                    "new test data", _changed("test", then, now))


def record(run_dir: str | Path, current: dict, replace: bool) -> None:
    """Write ``<run dir>/data_fingerprint.json`` (``replace``: a start from scratch; else only if absent)."""
    path = Path(run_dir) / FINGERPRINT_FILE
    if replace or _read(Path(run_dir)) is None:
        write_json(path, current)
