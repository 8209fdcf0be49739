"""The multirun callback: tags the jobs of one multirun, counts their outcomes, writes the summary."""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from gliner_exp.sweeps.jobs import STATUS_FILE, SWEEP_ID_ENV, _OUTCOME, _mtime, sweep_jobs

log = logging.getLogger(__name__)


def last_outcome() -> dict:
    """What the last multirun of this process did: counts per status and the failed jobs."""
    return dict(_OUTCOME)


def exit_code() -> int:
    """1 if the last multirun in this process had a job that failed (or never finished), else 0."""
    return 1 if _OUTCOME.get("failed") else 0


class SweepCallback(Callback):
    """Registered in ``conf/config.yaml`` (``hydra.callbacks``): tags the jobs of one multirun,
    counts their outcomes and writes the sweep summary when it ends."""

    def __init__(self, summary: bool = True):
        self.summary = summary
        self._previous_id: str | None = None
        self._started = 0.0

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._started = time.time()
        self._previous_id = os.environ.get(SWEEP_ID_ENV)
        os.environ[SWEEP_ID_ENV] = uuid.uuid4().hex[:12]
        _OUTCOME.clear()

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_id = os.environ.get(SWEEP_ID_ENV)
        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            jobs = sweep_jobs(sweep_dir, sweep_id) if sweep_id else []
            if not jobs:  # a launcher that did not pass our environment on: the jobs written since we started
                jobs = [j for j in sweep_jobs(sweep_dir)
                        if _mtime(Path(j["job_dir"]) / STATUS_FILE) >= self._started - 0.05]
            counts: dict[str, int] = {}
            for job in jobs:
                counts[job["status"]] = counts.get(job["status"], 0) + 1
            bad = [j for j in jobs if j["status"] not in ("skipped", "resumed", "ran", "dry_run")]
            _OUTCOME.update(sweep_dir=str(sweep_dir), sweep_id=sweep_id, counts=counts,
                            failed=[{"job_dir": j.get("job_dir"), "status": j["status"], "error": j.get("error")}
                                    for j in bad])
            line = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no jobs"
            log.info("sweep %s: %s", sweep_dir, line)
            for job in bad:
                log.error("  %s %s: %s", job["status"].upper(), job.get("job_dir"), job.get("error"))
            if self.summary:
                from gliner_exp.sweeps.report import write_summary

                started = time.time()
                result = write_summary(sweep_dir)
                log.info("sweep summary: %s (%.1fs)", result["paths"]["markdown"], time.time() - started)
                print(result["text"], flush=True)
        except Exception:  # noqa: BLE001 - the summary can always be rebuilt with gliner_exp.sweeps.report
            log.exception("sweep summary failed; rebuild it with: python -m gliner_exp.sweeps.report %s", sweep_dir)
        finally:
            if self._previous_id is None:
                os.environ.pop(SWEEP_ID_ENV, None)
            else:
                os.environ[SWEEP_ID_ENV] = self._previous_id
