"""What one multirun did: how many of its jobs ended in each status, and which went wrong."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from gliner_exp.sweeps.job_store import find_job_dirs, status_written_at, sweep_jobs
from gliner_exp.training.run_lock import run_dir_holder

#: Statuses of a job that did its work; any other one (failed, interrupted, running, ...) fails the sweep.
GOOD_STATUSES = ("skipped", "resumed", "ran", "dry_run")
#: A job whose directory another process holds (a relaunch found it still running): counted, not a failure.
RUNNING_ELSEWHERE = "running_elsewhere"


@dataclasses.dataclass(frozen=True)
class SweepOutcome:
    """The jobs of one multirun invocation, as their ``status.json`` files tell it."""

    sweep_dir: str
    sweep_id: str | None
    #: status -> number of jobs
    counts: dict[str, int]
    #: ``{"job_dir", "status", "error"}`` of every job that did not end well
    failed: list[dict]

    @property
    def exit_code(self) -> int:
        """1 if a job failed or never finished, else 0."""
        return 1 if self.failed else 0

    def line(self) -> str:
        """``"1 failed, 3 ran"`` (statuses in alphabetical order), or ``"no jobs"``."""
        return ", ".join(f"{n} {s}" for s, n in sorted(self.counts.items())) or "no jobs"


def sweep_outcome(sweep_dir: str | Path, sweep_id: str | None, since: float) -> SweepOutcome:
    """The outcome of the jobs tagged ``sweep_id`` under ``sweep_dir``.

    A launcher that does not pass the environment on leaves the jobs untagged: then the
    jobs whose ``status.json`` was written since ``since`` (a time stamp) count instead.
    Any other job of the sweep dir whose lock is held right now (by an earlier
    invocation still running it) counts as :data:`RUNNING_ELSEWHERE`, which is no failure.
    """
    jobs = sweep_jobs(sweep_dir, sweep_id) if sweep_id else []
    if not jobs:
        # 50 ms of slack for file systems whose mtimes are coarser than time.time().
        jobs = [j for j in sweep_jobs(sweep_dir) if status_written_at(j["job_dir"]) >= since - 0.05]
    counts: dict[str, int] = {}
    for job in jobs:
        counts[job["status"]] = counts.get(job["status"], 0) + 1
    mine = {Path(j["job_dir"]).resolve() for j in jobs if j.get("job_dir")}
    elsewhere = sum(1 for d in find_job_dirs(sweep_dir) if d.resolve() not in mine and run_dir_holder(d) is not None)
    if elsewhere:
        counts[RUNNING_ELSEWHERE] = elsewhere
    bad = [{"job_dir": j.get("job_dir"), "status": j["status"], "error": j.get("error")}
           for j in jobs if j["status"] not in GOOD_STATUSES]
    return SweepOutcome(sweep_dir=str(sweep_dir), sweep_id=sweep_id, counts=counts, failed=bad)
