"""Trainer callbacks of gliner_exp: the local metrics log."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterable

from transformers import TrainerCallback


class CsvMetricsLogger(TrainerCallback):
    """Writes the Trainer's log history to a CSV as ``step,epoch,metric,value`` (rank 0 only).

    Long format, because train and eval rows carry different metrics; the rows
    of one log call come in metric-name order (see :meth:`rows`). The file
    is a view of ``state.log_history``, the record of every log call that each
    checkpoint carries in its ``trainer_state.json``: at train begin it is
    rewritten from the history the run starts from (none for a fresh run, the
    checkpoint's for a resume), and each log call appends its rows. A resumed
    run's file is therefore the uninterrupted run's, row for row (timings
    aside): the rows a killed run logged after its checkpoint, and the
    end-of-training summary of a run resumed from its final checkpoint (logged
    after that checkpoint was written), are not kept twice; a missing or
    truncated file is restored from the checkpoint.
    """

    FIELDS = ("step", "epoch", "metric", "value")

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @staticmethod
    def rows(entry: dict) -> list[dict]:
        """The CSV rows of one log-history entry: its numeric values, by metric name (``step`` is the row's key).

        By name, not in logging order: ``trainer_state.json`` stores the history
        with sorted keys, and the rows a resume rewrites from it must read as the
        rows the uninterrupted run wrote.
        """
        return [{"step": entry.get("step"), "epoch": entry.get("epoch"), "metric": k, "value": v}
                for k, v in sorted(entry.items()) if k != "step" and isinstance(v, (int, float))]

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self._write((row for entry in state.log_history for row in self.rows(entry)), mode="w")

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        # Trainer.log appends the entry to the history, then calls on_log. The entry, not
        # ``logs``: callbacks called before this one may edit ``logs`` (HF's PrinterCallback
        # drops total_flos), and the rewrite at train begin reads the history.
        entry = state.log_history[-1] if state.log_history else {**logs, "step": state.global_step}
        self._write(self.rows(entry), mode="a")

    def _write(self, rows: Iterable[dict], mode: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = mode == "w" or not self.path.is_file()
        with self.path.open(mode, newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.FIELDS)
            if new:
                writer.writeheader()
            writer.writerows(rows)
