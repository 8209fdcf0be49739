"""The HF callbacks the ``logger`` group gives a run: TensorBoard and wandb, configured by gliner_exp.

``TrainingArguments.report_to`` stays ``none``: the Trainer would otherwise add
its own, unconfigured copies of these callbacks (log dir, wandb run and id are
set up here, in :mod:`gliner_exp.integrations.tensorboard` and
:mod:`gliner_exp.integrations.wandb_run`). The csv logger is gliner_exp's own
callback (:mod:`gliner_exp.integrations.csv_logger`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gliner_exp.integrations.tensorboard import tensorboard_callback
from gliner_exp.integrations.wandb_run import wandb_callback


def trainer_callbacks(cfg: Any, run_dir: str | Path, context: dict | None = None) -> list:
    """HF's TensorBoard / wandb callbacks, configured for this run (empty without those loggers).

    ``context``: the Hydra job context for wandb's group and name (looked up when None).
    """
    candidates = (tensorboard_callback(cfg, run_dir), wandb_callback(cfg, run_dir, context=context))
    return [c for c in candidates if c is not None]
