"""The Trainer callbacks a config asks for, and the one every run has (checkpoint manifests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from gliner_exp.training.checkpoint_manifest import write_manifest


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


def checkpoint_callbacks() -> list:
    """The callbacks every run has, whatever its config: checkpoint manifests."""
    return [ManifestCallback()]


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
