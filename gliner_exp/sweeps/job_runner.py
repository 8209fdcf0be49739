"""The job runner: every Hydra job, single run or multirun, goes through :func:`run_job`.

It wraps :func:`gliner_exp.training.run.train` so that sweeps can be trusted:

* **skipped** -- in a multirun, a job whose ``metrics.json`` is complete is not
  trained again; its stored dev F1 is returned, so Optuna and the summary see it.
* **resumed** / **ran** -- otherwise it trains, from the newest complete
  checkpoint when there is one (``run.resume=auto``), else from scratch.
* **failed** -- in a multirun an exception (a per-job config error included) is
  recorded and the sweep goes on; :class:`gliner_exp.sweeps.callback.SweepCallback`
  then makes the multirun exit non-zero. A single run re-raises as before.
* **running elsewhere** -- the job's directory is locked by another process
  (:mod:`gliner_exp.training.run_lock`: the same sweep relaunched while it runs, or
  a single run into that directory). The job is not started a second time and
  nothing of the running one is touched; a multirun logs it, returns NaN for it
  (Optuna: a failed trial) and goes on. It is no failure of the relaunch: the
  multirun's outcome counts it as ``running_elsewhere`` and exits 0 if nothing else
  went wrong. A single run exits with status 2 and says who holds the directory.

Each job writes ``status.json`` and ``job_config.json`` into its directory (see
:mod:`gliner_exp.sweeps.job_store`). A stored result or checkpoint made under a
*different* config is not reused silently: the job fails and says which keys changed.

Nothing here imports torch until a job really trains: a skipped job costs milliseconds.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
import traceback
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable

from omegaconf import DictConfig, OmegaConf

from gliner_exp.integrations.hydra_job import job_context
from gliner_exp.integrations.redaction import redact
from gliner_exp.sweeps.fingerprint import config_changes, fingerprint
from gliner_exp.sweeps.job_store import (
    SWEEP_ID_ENV, complete_metrics, effective_status, has_checkpoint, last_activity, read_job_config,
    read_status, write_job_config, write_status,
)
from gliner_exp.training.run_lock import RunDirBusy, describe_holder, hold_run_dir

log = logging.getLogger(__name__)

# Earlier attempts kept in status.json: enough to see a pattern, not a log.
_HISTORY_LIMIT = 20


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _rank_zero() -> bool:
    """False in the non-zero ranks of a distributed job (torchrun or a multi-task SLURM step)."""
    from gliner_exp.cluster.environment import dist_info

    return dist_info().is_main


class JobAttempt:
    """The status bookkeeping of one attempt at a job: what it writes into ``status.json``.

    ``job_dir`` None (no run dir known) records nothing; ``ctx`` is
    :func:`gliner_exp.integrations.hydra_job.job_context` (overrides, job number, ...).
    Earlier attempts found in ``status.json`` become this one's ``history``.
    """

    def __init__(self, job_dir: Path | None, ctx: dict):
        self.dir = Path(job_dir) if job_dir is not None else Path(".")
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
                    prev["wall_time_s"] = round(max(0.0, last_activity(self.dir) - prev["started_ts"]), 3)
            history.append({k: prev.get(k) for k in ("status", "started_at", "wall_time_s", "error")})
        self.history = history[-_HISTORY_LIMIT:]

    @property
    def label(self) -> str:
        """How the log names this job: ``job #N [overrides]`` in a multirun, ``run [dir]`` otherwise."""
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
            write_status(self.dir, redact(payload))
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
    from gliner_exp.config.errors import ConfigError, run_dir_missing

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
    job = JobAttempt(job_dir, ctx)
    failed = False
    lock = ExitStack()
    try:
        if resolve_error is not None:
            raise ConfigError([f"config does not resolve: {resolve_error}"])
        if job_dir is None:
            raise run_dir_missing()
        # Before anything in the job dir is read or written: a copy of this job running
        # elsewhere keeps its status.json, checkpoints and model to itself.
        lock.enter_context(hold_run_dir(job_dir))
        job = JobAttempt(job_dir, ctx)  # status.json as it is now that no one else can write it
        resume, dry_run = run_cfg.get("resume", "auto"), bool(run_cfg.get("dry_run"))
        current = redact(fingerprint(plain))
        stored_cfg = read_job_config(job_dir)
        stored_metrics = complete_metrics(job_dir) if resume == "auto" and not dry_run else None
        if (resume == "auto" and not dry_run and stored_cfg is not None
                and (stored_metrics is not None or has_checkpoint(job_dir))):
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
            write_job_config(job_dir, current)
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
    except RunDirBusy as exc:
        if not multirun:
            raise
        log.warning("%s: running elsewhere (%s), not started again", job.label, describe_holder(exc.holder))
        return math.nan
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
        from gliner_exp.integrations.wandb_run import finish

        try:
            finish(exit_code=1 if failed else None)  # the next job never logs into this one's wandb run
        finally:
            lock.close()  # only once wandb is done writing into the job dir
