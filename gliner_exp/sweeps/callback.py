"""The multirun callback: tags the jobs of one multirun, records their outcome, writes the summary.

Registered in ``conf/config.yaml`` (``hydra.callbacks``). Hydra builds the callback
itself, so the outcome is kept on the class, and the CLI reads it once Hydra
returns: :func:`exit_code` is 1 after a multirun with a failed job.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any, ClassVar

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from gliner_exp.sweeps.job_store import SWEEP_ID_ENV
from gliner_exp.sweeps.outcome import SweepOutcome, sweep_outcome

log = logging.getLogger(__name__)

class SweepCallback(Callback):
    """Tags the jobs of one multirun (``$GLINER_EXP_SWEEP_ID``), logs their outcome and writes
    ``<sweep dir>/summary/`` when it ends."""

    # The newest multirun's outcome in this process; None before one ends (or if counting failed).
    _last: ClassVar[SweepOutcome | None] = None

    def __init__(self, summary: bool = True):
        self.summary = summary
        self._previous_id: str | None = None
        self._started = 0.0

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Give this multirun's jobs a fresh sweep id (the jobs record it in ``status.json``)."""
        self._started = time.time()
        self._previous_id = os.environ.get(SWEEP_ID_ENV)
        os.environ[SWEEP_ID_ENV] = uuid.uuid4().hex[:12]
        SweepCallback._last = None

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Count this multirun's jobs, log the failed ones, write the summary, restore the sweep id."""
        sweep_id = os.environ.get(SWEEP_ID_ENV)
        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            outcome = sweep_outcome(sweep_dir, sweep_id, since=self._started)
            SweepCallback._last = outcome
            log.info("sweep %s: %s", sweep_dir, outcome.line())
            for job in outcome.failed:
                log.error("  %s %s: %s", job["status"].upper(), job.get("job_dir"), job.get("error"))
            if self.summary:
                from gliner_exp.sweeps.report.summary import write_summary

                started = time.time()
                result = write_summary(sweep_dir)
                log.info("sweep summary: %s (%.1fs)", result["paths"]["markdown"], time.time() - started)
                print(result["text"], flush=True)
        except Exception:  # noqa: BLE001 - the summary can always be rebuilt with the report command
            log.exception("sweep summary failed; rebuild it with: python -m gliner_exp.cli.report %s", sweep_dir)
        finally:
            if self._previous_id is None:
                os.environ.pop(SWEEP_ID_ENV, None)
            else:
                os.environ[SWEEP_ID_ENV] = self._previous_id


def last_outcome() -> SweepOutcome | None:
    """What the newest multirun of this process did (None if none has ended)."""
    return SweepCallback._last


def exit_code() -> int:
    """1 if the newest multirun of this process had a job that failed (or never finished), else 0."""
    outcome = last_outcome()
    return outcome.exit_code if outcome is not None else 0
