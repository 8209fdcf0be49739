"""Trainer callbacks of gliner_exp: the local metrics log."""

from __future__ import annotations

import csv
from pathlib import Path

from transformers import TrainerCallback


class CsvMetricsLogger(TrainerCallback):
    """Appends every logged value to a CSV as ``step,epoch,metric,value`` (rank 0 only).

    Long format, because train and eval rows carry different metrics. On resume,
    rows logged after the checkpoint's step are dropped: they are about to be
    logged again.
    """

    FIELDS = ("step", "epoch", "metric", "value")

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero or not self.path.is_file():
            return
        with self.path.open(newline="") as fh:
            rows = [r for r in csv.DictReader(fh) if int(r["step"]) <= state.global_step]
        self._write(rows, mode="w")

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        rows = [{"step": state.global_step, "epoch": state.epoch, "metric": k, "value": v}
                for k, v in logs.items() if isinstance(v, (int, float))]
        self._write(rows, mode="a")

    def _write(self, rows, mode):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = mode == "w" or not self.path.is_file()
        with self.path.open(mode, newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.FIELDS)
            if new:
                writer.writeheader()
            writer.writerows(rows)
