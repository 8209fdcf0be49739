"""Sweeps that can be trusted: per-job status, skip/resume, failure isolation.

:func:`run_job` wraps :func:`gliner_exp.training.run.train` for every Hydra job:

* **skipped** -- in a multirun, a job whose ``metrics.json`` is complete is not
  trained again; its stored dev F1 is returned, so Optuna and the summary see it.
* **resumed** / **ran** -- otherwise it trains, from the newest complete
  checkpoint when there is one (``run.resume=auto``), else from scratch.
* **failed** -- in a multirun an exception (a per-job config error included) is
  recorded and the sweep goes on; :class:`SweepCallback` then makes the
  multirun exit non-zero. A single run re-raises as before.

Each job writes ``<job dir>/status.json`` (status, error, wall time, history)
and ``<job dir>/job_config.json`` (the resolved config that decides the
results). A stored result or checkpoint made under a *different* config is not
reused silently: the job fails and says which keys changed.

Nothing here imports torch: a skipped job costs milliseconds.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import time
import traceback
from pathlib import Path

from gliner_exp.config.experiment_keys import is_experiment_key, non_experiment_keys
from gliner_exp.integrations.hydra_job import job_context
from typing import Any, Callable

from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)

STATUS_FILE = "status.json"
JOB_CONFIG_FILE = "job_config.json"
METRICS_FILE = "metrics.json"
#: Set by :class:`SweepCallback` for the jobs of one multirun invocation.
SWEEP_ID_ENV = "GLINER_EXP_SWEEP_ID"
#: Statuses a job ends in; ``running`` is written when it starts.
FINAL_STATUSES = ("skipped", "resumed", "ran", "failed", "interrupted", "dry_run")
_HISTORY_LIMIT = 20

# Outcome of the last multirun in this process (for the exit code).
_OUTCOME: dict[str, Any] = {}


# --------------------------------------------------------------------------- small helpers
def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _write_json(path: Path, payload: Any) -> None:
    from gliner_exp.integrations.loggers import redact

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(redact(payload), indent=2, sort_keys=True, default=str) + "\n")
    tmp.replace(path)  # atomic: a reader (the report, a rerun) never sees half a file


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def read_status(job_dir: str | Path) -> dict | None:
    """``<job dir>/status.json``, or None if absent or unreadable."""
    data = _read_json(Path(job_dir) / STATUS_FILE)
    return data if isinstance(data, dict) else None


def complete_metrics(job_dir: str | Path) -> dict | None:
    """The job's ``metrics.json`` if it is complete (written at the very end of a run), else None."""
    data = _read_json(Path(job_dir) / METRICS_FILE)
    if isinstance(data, dict) and "global_step" in data and not data.get("dry_run"):
        return data
    return None


def _flatten(node: Any, prefix: str = "") -> dict:
    if isinstance(node, dict):
        out: dict = {}
        for key, value in node.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        return out if out or not prefix else {prefix[:-1]: {}}
    return {prefix[:-1]: node}


def fingerprint(plain: dict) -> dict:
    """The flattened config keys that decide a job's results (the schema's experiment keys)."""
    flat = _flatten({k: v for k, v in plain.items() if k != "hydra"})
    excluded = non_experiment_keys()
    return {k: v for k, v in sorted(flat.items()) if is_experiment_key(k, excluded)}


def config_changes(old: dict, new: dict, limit: int = 8) -> list[str]:
    """``key: old -> new`` for every key that differs (at most ``limit``, then a count)."""
    missing = object()
    diffs = [f"{k}: {old.get(k, missing)!r} -> {new.get(k, missing)!r}".replace(repr(missing), "(absent)")
             for k in sorted(set(old) | set(new)) if old.get(k, missing) != new.get(k, missing)]
    if len(diffs) > limit:
        diffs = diffs[:limit] + [f"... and {len(diffs) - limit} more"]
    return diffs


def _has_checkpoint(job_dir: Path) -> bool:
    from gliner_exp.training.checkpoints import newest_complete

    return newest_complete(job_dir / "checkpoints") is not None


def _last_activity(job_dir: Path) -> float:
    """mtime of the newest file in the job dir or one level below (checkpoints, logs)."""
    newest = 0.0
    for path in [*job_dir.glob("*"), *job_dir.glob("*/*")]:
        try:
            newest = max(newest, path.stat().st_mtime)
        except OSError:
            pass
    return newest


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _rank_zero() -> bool:
    """False in the non-zero ranks of a distributed job (torchrun or a multi-task SLURM step)."""
    try:
        from gliner_exp.cluster.distributed import dist_info

        return dist_info().is_main
    except ImportError:  # pragma: no cover - distributed.py is part of the package
        return os.environ.get("RANK", "0").strip() in ("", "0")


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


# --------------------------------------------------------------------------- the job wrapper
class _Job:
    """Status bookkeeping of one job attempt."""

    def __init__(self, job_dir: Path | None, ctx: dict):
        self.dir = job_dir or Path(".")
        self.writes = job_dir is not None and _rank_zero()
        self.ctx = ctx
        self.started = time.time()
        self.previous = (read_status(job_dir) if job_dir is not None else None) or {}
        history = list(self.previous.get("history", []))
        if self.previous.get("status"):
            prev = self.previous
            if prev.get("status") == "running":  # that attempt never reported back
                prev = {**prev, "status": effective_status(prev, False)}
                if prev.get("started_ts"):  # it worked until its last write in the job dir
                    prev["wall_time_s"] = round(max(0.0, _last_activity(self.dir) - prev["started_ts"]), 3)
            history.append({k: prev.get(k) for k in ("status", "started_at", "wall_time_s", "error")})
        self.history = history[-_HISTORY_LIMIT:]

    @property
    def label(self) -> str:
        num = self.ctx.get("job_num")
        name = self.ctx.get("override_dirname") or self.dir.name
        return f"job #{num} [{name}]" if num is not None else f"run [{self.dir}]"

    def write(self, status: str, **fields: Any) -> dict:
        """Record this attempt's state in ``status.json`` (rank 0 only; nowhere without a job dir)."""
        wall = time.time() - self.started
        earlier = sum(float(h.get("wall_time_s") or 0.0) for h in self.history)
        payload = {
            "status": status,
            "job_dir": str(self.dir),
            "overrides": self.ctx.get("overrides"),
            "job_num": self.ctx.get("job_num"),
            "sweep_id": os.environ.get(SWEEP_ID_ENV),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.started)),
            "started_ts": round(self.started, 3),
            "updated_at": _now(),
            "wall_time_s": round(wall, 3),
            "total_wall_time_s": round(earlier + wall, 3),
            "error": None,
            "history": self.history,
        }
        payload.update(fields)
        if self.writes:
            _write_json(self.dir / STATUS_FILE, payload)
        return payload


def _resolved_container(cfg: Any) -> dict:
    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True)
    return dict(cfg)


def _scores(metrics: dict) -> dict:
    return {k: metrics.get(k) for k in ("dev_f1", "test_f1", "global_step", "resumed_from")}


def _fmt_f1(value: Any) -> str:
    return "-" if value is None else f"{value:.4f}"


def run_job(cfg: Any, train_fn: Callable[[Any], dict] | None = None) -> float | None:
    """Run (or skip) one Hydra job; returns its dev F1 (NaN for a failed job in a multirun).

    ``train_fn`` defaults to :func:`gliner_exp.training.run.train` (imported only when needed).
    """
    from gliner_exp.config.errors import ConfigError
    from gliner_exp.integrations.loggers import redact

    ctx = job_context()
    multirun = ctx.get("mode") == "MULTIRUN"
    try:
        plain = _resolved_container(cfg)
    except Exception as exc:  # an interpolation that does not resolve: this job's config error
        plain, resolve_error = None, exc
    else:
        resolve_error = None
    run_cfg = (plain or {}).get("run") or {}
    where = run_cfg.get("dir") or ctx.get("output_dir")
    job_dir = Path(where) if where else None
    job = _Job(job_dir, ctx)
    failed = False
    try:
        if resolve_error is not None:
            raise ConfigError([f"config does not resolve: {resolve_error}"])
        if job_dir is None:
            raise ConfigError(["run.dir: not set (Hydra sets it; when calling train() directly pass run.dir)"])
        resume, dry_run = run_cfg.get("resume", "auto"), bool(run_cfg.get("dry_run"))
        current = redact(fingerprint(plain))
        stored_cfg = _read_json(job_dir / JOB_CONFIG_FILE)
        stored_metrics = complete_metrics(job_dir) if resume == "auto" and not dry_run else None
        if (resume == "auto" and not dry_run and isinstance(stored_cfg, dict)
                and (stored_metrics is not None or _has_checkpoint(job_dir))):
            changes = config_changes(stored_cfg, current)
            if changes:
                problem = (f"{job_dir} holds results of a different config ({'; '.join(changes)}); "
                           "re-run with run.resume=never to overwrite them, or use another run.name")
                if multirun:
                    raise ConfigError([problem])
                log.warning("%s", problem)
        if multirun and stored_metrics is not None:
            job.write("skipped", **_scores(stored_metrics), train_wall_time_s=stored_metrics.get("wall_time_s"))
            log.info("%s: skipped (complete metrics.json), dev F1 %s", job.label,
                     _fmt_f1(stored_metrics.get("dev_f1")))
            return stored_metrics.get("dev_f1")
        if job.writes:
            _write_json(job_dir / JOB_CONFIG_FILE, current)
        job.write("running")
        if train_fn is None:
            from gliner_exp.training.run import train as train_fn
        metrics = train_fn(cfg)
        if metrics.get("dry_run"):
            job.write("dry_run")
            return None
        status = "resumed" if metrics.get("resumed_from") else "ran"
        job.write(status, **_scores(metrics))
        how = f"resumed from {Path(metrics['resumed_from']).name}" if status == "resumed" else "ran"
        log.info("%s: %s in %.1fs, dev F1 %s", job.label, how, time.time() - job.started,
                 _fmt_f1(metrics.get("dev_f1")))
        return metrics.get("dev_f1")
    except KeyboardInterrupt:
        failed = True
        job.write("interrupted", error="KeyboardInterrupt")
        raise
    except Exception as exc:
        failed = True
        error = f"{type(exc).__name__}: {exc}"
        tb = traceback.format_exc()
        job.write("failed", error=error, traceback=tb[-4000:])
        if not multirun:
            raise
        if isinstance(exc, ConfigError):  # the message says it all
            log.error("%s: FAILED: %s", job.label, error)
        else:
            log.error("%s: FAILED: %s\n%s", job.label, error, tb)
        return math.nan
    finally:
        from gliner_exp.integrations.loggers import finish

        finish(exit_code=1 if failed else None)  # the next job never logs into this one's wandb run


# --------------------------------------------------------------------------- the multirun callback
_NOT_JOB_DIRS = {"summary", "checkpoints", "wandb", "model", "adapter", "tensorboard", "resolved", ".hydra"}


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
    """status.json of every job under ``sweep_dir`` (only those of ``sweep_id`` when given)."""
    out = []
    for job_dir in find_job_dirs(sweep_dir):
        status = read_status(job_dir)
        if status is None or (sweep_id is not None and status.get("sweep_id") != sweep_id):
            continue
        status["status"] = effective_status(status, complete_metrics(job_dir) is not None)
        out.append(status)
    return out


