"""The Trainer callbacks a config asks for, and the ones every run has (checkpoint manifests, the best checkpoint found)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from gliner_exp.training.checkpoint_manifest import write_manifest
from gliner_exp.training.checkpoints import best_checkpoint_here

log = logging.getLogger(__name__)


class ManifestCallback(TrainerCallback):
    """Seals each checkpoint with its manifest once every rank has written its share of it.

    HF calls ``on_save`` on every rank right after the checkpoint is written
    (``trainer_state.json`` included); see :mod:`gliner_exp.training.checkpoint_manifest`.
    """

    def on_save(self, args, state, control, **kwargs):
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            dist.barrier()  # rng_state_<rank>.pth and the other ranks' shards are on disk
        ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if args.should_save and ckpt.is_dir():
            write_manifest(ckpt)
        return control


class BestCheckpointLocator(TrainerCallback):
    """On a resume, points the restored state's ``best_model_checkpoint`` at where that checkpoint is now.

    The state comes from the checkpoint's ``trainer_state.json``, which names the
    best checkpoint by its path at the time: after the run dir moved it names
    the old place (see :func:`gliner_exp.training.checkpoints.best_checkpoint_here`).
    HF reads it to load the best weights at the end and to keep that checkpoint
    from rotation; it re-derives it itself only at the next save, which a run
    resumed from its final checkpoint never reaches.
    """

    def on_train_begin(self, args, state, control, **kwargs):
        recorded = state.best_model_checkpoint
        if not recorded:
            return control
        found = best_checkpoint_here(recorded, args.output_dir)
        if found is None:
            log.warning("the best checkpoint so far, %s (step %s), is gone: train.load_best_model_at_end "
                        "will load a later best, or keep the last weights", recorded, state.best_global_step)
        elif found != recorded:
            log.info("best checkpoint so far: %s (recorded as %s)", found, recorded)
        state.best_model_checkpoint = found
        return control


def checkpoint_callbacks() -> list:
    """The callbacks every run has, whatever its config: checkpoint manifests, the best checkpoint located on resume."""
    return [ManifestCallback(), BestCheckpointLocator()]


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
