"""The Trainer callbacks a config asks for."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def build_callbacks(cfg: Any, run_dir: Path) -> list:
    """Metrics loggers and early stopping, in the order the Trainer should call them."""
    from transformers import EarlyStoppingCallback

    from gliner_exp.integrations.csv_logger import CsvMetricsLogger

    callbacks: list = []
    if cfg.logger.csv is not None:
        callbacks.append(CsvMetricsLogger(Path(run_dir) / cfg.logger.csv.filename))
    if cfg.train.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=cfg.train.early_stopping_patience))
    from gliner_exp.integrations.loggers import trainer_callbacks

    callbacks.extend(trainer_callbacks(cfg, Path(run_dir)))  # TensorBoard / wandb, configured
    return callbacks
