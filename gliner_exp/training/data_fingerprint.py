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
the synthetic corpus alike, and ignores edits that change no example. The
train hash is of what is trained on: a mix's mixed set, cut into windows
with ``data.window``. A mix also records each source (file, weight, count
and hash as read) and a refusal names the source or weight that changed
(``data.train[1].weight``); ``data.window`` is recorded and compared too,
as it decides the dev scores the best checkpoint was chosen by.
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


def _source(data_cfg: Any, splits: Any, split: str, base_dir: Path) -> str:
    if data_cfg.get("synthetic") is not None:
        return f"the synthetic corpus (data.synthetic.seed={data_cfg.synthetic.seed})"
    if split == "train" and splits.train_mix:
        return splits.sources["train"]
    path = data_cfg.get(split)
    return str(resolved_path(path, base_dir)) if path else "(none)"


def _window(splits: Any) -> dict | None:
    window = getattr(splits, "window", None)
    return None if window is None else {"size": window.get("size"), "stride": window.get("stride")}


def data_fingerprint(data_cfg: Any, splits: Any, base_dir: str | Path) -> dict:
    """``{"splits": {split: {source, examples, sha256}}, "labels", "train_mix", "window"}`` of the data as loaded.

    ``train_mix``: per source of a mix, ``key``, ``path``, ``weight``, ``examples`` and ``sha256`` (as read);
    ``window``: ``data.window``'s size and stride as applied (None: off).
    """
    base_dir = Path(base_dir)
    return {
        "splits": {split: {"source": _source(data_cfg, splits, split, base_dir),
                           "examples": len(getattr(splits, split) or []),
                           "sha256": _digest(getattr(splits, split) or [])}
                   for split in _SPLITS},
        "labels": list(splits.labels),
        "train_mix": [{k: s[k] for k in ("key", "path", "weight", "examples", "sha256")}
                      for s in getattr(splits, "train_mix", None) or []],
        "window": _window(splits),
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


def _mix_changes(then: list, now: list) -> list[str]:
    """Which sources or weights of a training mix differ: one line each, naming ``data.train[i]...``."""
    if len(then) != len(now):
        def shape(mix: list) -> str:
            return f"a mix of {len(mix)} sources" if mix else "one file"

        return [f"data.train: {shape(now)} now, {shape(then)} when this run started"]
    out = []
    for old, new in zip(then, now):
        if old["path"] != new["path"]:
            out.append(f"{new['key']}.path: {old['path']} then, {new['path']} now")
        elif old["sha256"] != new["sha256"]:
            out.append(f"{new['key']}: the examples read from {new['path']} differ ({old['examples']} examples "
                       f"then, {new['examples']} now)")
        if old["weight"] != new["weight"]:
            out.append(f"{new['key']}.weight: {old['weight']:g} then, {new['weight']:g} now")
    return out


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
            problems.extend(_mix_changes(stored.get("train_mix") or [], current["train_mix"])
                            if split == "train" else [])
            problems.append(_changed(split, then, now))
    if stored.get("window") != current["window"]:
        problems.append(f"data.window: {current['window']} now, {stored.get('window')} when this run started "
                        "(it decides what is trained on and the dev scores the checkpoints were chosen by)")
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
