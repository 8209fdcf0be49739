"""TensorBoard for a run: HF's callback into the run dir; a resume replaces what a kill logged after its checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gliner_exp.config.errors import ConfigError
from gliner_exp.integrations.logger_slots import logger_slot, node_get


def tensorboard_dir(cfg: Any, run_dir: str | Path) -> Path | None:
    """``<run dir>/<logger.tensorboard.subdir>``, or None without the tensorboard logger."""
    tb = logger_slot(cfg, "tensorboard")
    if tb is None:
        return None
    sub = Path(str(node_get(tb, "subdir") or "tensorboard"))
    if sub.is_absolute() or ".." in sub.parts:
        raise ConfigError([f"logger.tensorboard.subdir: {str(sub)!r} must be a relative path inside the run dir"])
    return Path(run_dir) / sub


def tensorboard_callback(cfg: Any, run_dir: str | Path) -> Any | None:
    """HF's ``TensorBoardCallback`` logging to :func:`tensorboard_dir`; None without the tensorboard logger."""
    tb = tensorboard_dir(cfg, run_dir)
    if tb is None:
        return None
    callback = _resuming_callback_class()()
    # transformers 5 removed TrainingArguments.logging_dir; its other knob,
    # TENSORBOARD_LOGGING_DIR, is process-wide and would leak between the jobs of a multirun.
    callback.logging_dir = str(tb)  # read in on_train_begin
    return callback


def _resuming_callback_class() -> type:
    """HF's callback whose writer, on a resumed run, hides what the killed run logged after its checkpoint.

    A kill at step T+x leaves events for steps up to T+x; the resume from
    checkpoint-T logs T+1.. again. ``purge_step`` (TensorBoard's own mechanism)
    makes readers drop the old events from T+1 on, so each step holds what an
    uninterrupted run logged there, once.
    """
    from torch.utils.tensorboard import SummaryWriter
    from transformers.integrations import TensorBoardCallback

    class ResumingTensorBoardCallback(TensorBoardCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            # Runs after a checkpoint's state is restored: global_step is the step resumed from.
            if state.is_world_process_zero and self.tb_writer is None and self.logging_dir is not None:
                purge = state.global_step + 1 if state.global_step > 0 else None
                self.tb_writer = SummaryWriter(log_dir=self.logging_dir, purge_step=purge)
            super().on_train_begin(args, state, control, **kwargs)

    return ResumingTensorBoardCallback
