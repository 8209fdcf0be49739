"""TensorBoard for a run: HF's own callback, writing into the run dir."""

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
    from transformers.integrations import TensorBoardCallback

    callback = TensorBoardCallback()
    # transformers 5 removed TrainingArguments.logging_dir; its other knob,
    # TENSORBOARD_LOGGING_DIR, is process-wide and would leak between the jobs of a multirun.
    callback.logging_dir = str(tb)  # read in on_train_begin
    return callback
