"""The files a job leaves in its directory, and what a reader makes of them.

A job directory holds:

* ``status.json`` -- the job's state (see :data:`FINAL_STATUSES`; ``running`` while it
  trains), error, wall time and the history of earlier attempts;
* ``job_config.json`` -- the fingerprint of the config that produced its results
  (:func:`gliner_exp.sweeps.fingerprint.fingerprint`);
* ``metrics.json`` -- written by the training run at its very end.

Every reader here tolerates a missing or half-written file (a sweep that is still
running, or was killed): it answers None or "unknown" instead of raising. Nothing
here imports torch: reading a sweep costs milliseconds.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Any

from gliner_exp.training.artifacts import read_json, write_json

log = logging.getLogger(__name__)

STATUS_FILE = "status.json"
JOB_CONFIG_FILE = "job_config.json"
METRICS_FILE = "metrics.json"
#: Set by :class:`gliner_exp.sweeps.callback.SweepCallback` for the jobs of one multirun invocation.
SWEEP_ID_ENV = "GLINER_EXP_SWEEP_ID"
#: Statuses a job ends in; ``running`` is written when it starts.
FINAL_STATUSES = ("skipped", "resumed", "ran", "failed", "interrupted", "dry_run")

# Subdirectories of a job (or of the sweep) that never hold a job of their own.
_NOT_JOB_DIRS = {"summary", "checkpoints", "wandb", "model", "adapter", "tensorboard", "resolved", ".hydra"}


def read_status(job_dir: str | Path) -> dict | None:
    """``<job dir>/status.json``, or None if absent or unreadable."""
    data = read_json(Path(job_dir) / STATUS_FILE)
    return data if isinstance(data, dict) else None


def read_job_config(job_dir: str | Path) -> dict | None:
    """``<job dir>/job_config.json`` (the stored fingerprint), or None if absent or unreadable."""
    data = read_json(Path(job_dir) / JOB_CONFIG_FILE)
    return data if isinstance(data, dict) else None


def write_status(job_dir: str | Path, payload: dict) -> Path | None:
    """Replace ``<job dir>/status.json`` atomically (the caller redacts secrets).

    A job dir that cannot be written (read-only, disk full) gets a warning and None: the
    status is bookkeeping, and raising here would bury the run's own error under this one.
    """
    try:
        return write_json(Path(job_dir) / STATUS_FILE, payload)
    except OSError as exc:
        log.warning("cannot record the job's status in %s: %s", Path(job_dir) / STATUS_FILE, exc.strerror or exc)
        return None


def write_job_config(job_dir: str | Path, fingerprint: dict) -> Path:
    """Replace ``<job dir>/job_config.json`` atomically (the caller redacts secrets)."""
    return write_json(Path(job_dir) / JOB_CONFIG_FILE, fingerprint)


def complete_metrics(job_dir: str | Path) -> dict | None:
    """The job's ``metrics.json`` if it is complete (written at the very end of a run), else None."""
    data = read_json(Path(job_dir) / METRICS_FILE)
    if isinstance(data, dict) and "global_step" in data and not data.get("dry_run"):
        return data
    return None


def has_checkpoint(job_dir: str | Path) -> bool:
    """True if the job has a complete checkpoint to resume from."""
    from gliner_exp.training.checkpoints import newest_complete

    return newest_complete(Path(job_dir) / "checkpoints") is not None


def last_activity(job_dir: str | Path) -> float:
    """mtime of the newest file in the job dir or one level below (checkpoints, logs); 0 if none.

    For a job that stopped without reporting back, this is when it stopped working.
    """
    root = Path(job_dir)
    newest = 0.0
    for path in [*root.glob("*"), *root.glob("*/*")]:
        try:
            newest = max(newest, path.stat().st_mtime)
        except OSError:
            pass
    return newest


def status_written_at(job_dir: str | Path) -> float:
    """mtime of ``<job dir>/status.json`` (0 if absent)."""
    try:
        return (Path(job_dir) / STATUS_FILE).stat().st_mtime
    except OSError:
        return 0.0


def _pid_alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError, TypeError):
        return False
    return True


def effective_status(status: dict | None, has_metrics: bool) -> str:
    """A job's status as a reader sees it: ``running`` whose process is gone on this host is ``interrupted``."""
    if not status:
        return "ran" if has_metrics else "unknown"
    state = status.get("status", "unknown")
    if state == "running" and status.get("host") == socket.gethostname() and not _pid_alive(status.get("pid")):
        return "interrupted"
    return state


def find_job_dirs(sweep_dir: str | Path, max_depth: int = 3) -> list[Path]:
    """Job directories under ``sweep_dir``: those with ``.hydra/overrides.yaml``, status.json or metrics.json."""
    root = Path(sweep_dir)
    found: list[Path] = []

    def walk(d: Path, depth: int) -> None:
        if d != root and any((d / f).is_file() for f in (".hydra/overrides.yaml", STATUS_FILE, METRICS_FILE)):
            found.append(d)
            return
        if depth < max_depth:
            for sub in sorted(p for p in d.iterdir() if p.is_dir() and p.name not in _NOT_JOB_DIRS):
                walk(sub, depth + 1)

    if root.is_dir():
        walk(root, 0)
    return found


def sweep_jobs(sweep_dir: str | Path, sweep_id: str | None = None) -> list[dict]:
    """status.json of every job under ``sweep_dir`` (only those of ``sweep_id`` when given).

    Each one's ``status`` is the :func:`effective_status`.
    """
    out = []
    for job_dir in find_job_dirs(sweep_dir):
        status = read_status(job_dir)
        if status is None or (sweep_id is not None and status.get("sweep_id") != sweep_id):
            continue
        status["status"] = effective_status(status, complete_metrics(job_dir) is not None)
        out.append(status)
    return out
