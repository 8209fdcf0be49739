"""``train(cfg) -> metrics``: one GLiNER training run from a composed config.

Order matters: everything cheap that can reject the run (config, data) runs
before torch or a model is loaded.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from .config.validate import ConfigError, validate_config

log = logging.getLogger(__name__)


def _as_config(cfg: Any) -> DictConfig:
    if isinstance(cfg, DictConfig):
        container = OmegaConf.to_container(cfg, resolve=True)
    else:
        container = cfg
    container = {k: v for k, v in container.items() if k != "hydra"}
    validate_config(container)
    from .config import Config

    return OmegaConf.merge(OmegaConf.structured(Config), container)


def _run_dir(cfg: DictConfig) -> Path:
    if cfg.run.dir:
        return Path(cfg.run.dir)
    raise ConfigError(["run.dir: not set (Hydra sets it; when calling train() directly pass run.dir)"])


def _load_data(cfg: DictConfig):
    from .data import DataError, load_splits

    try:
        return load_splits(cfg.data, base_dir=os.getcwd())
    except DataError as exc:
        raise ConfigError([str(exc)]) from None


def apply_runtime(hw: Any) -> dict:
    """Process-wide torch settings of the ``hardware`` group; returns what is now in effect."""
    import torch

    if hw.torch_threads:
        torch.set_num_threads(hw.torch_threads)
    return {"torch_threads": torch.get_num_threads(), "device": hw.device}


def build(cfg: DictConfig, run_dir: Path, splits: Any) -> dict:
    """Every object a run trains with: model, TrainingArguments, trainer (not yet trained)."""
    from transformers import EarlyStoppingCallback
    from transformers.trainer_utils import set_seed

    from .build.model import build_model
    from .build.training_args import build_training_args
    from .callbacks import CsvMetricsLogger
    from .collator import IndexedExamples, SeededCollator
    from .evaluation import evaluate_f1
    from .trainer import GLiNERExpTrainer

    runtime = apply_runtime(cfg.hardware)
    # Seed before building: the new head's initialisation must be the same on resume.
    set_seed(cfg.run.seed)
    model = build_model(cfg.model)
    extra: dict = {"runtime": runtime}
    if cfg.lora.enabled:
        from .lora import apply_lora

        extra["lora"] = apply_lora(model, cfg.lora)
    has_dev = bool(splits.dev)
    args = build_training_args(cfg, run_dir, has_dev)

    def dev_f1(m):
        return evaluate_f1(m, splits.dev, splits.labels, cfg.train.threshold, cfg.train.flat_ner,
                           cfg.train.eval_batch_size)

    callbacks = []
    if cfg.logger.csv is not None:
        callbacks.append(CsvMetricsLogger(run_dir / cfg.logger.csv.filename))
    if cfg.train.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=cfg.train.early_stopping_patience))
    trainer = GLiNERExpTrainer(
        model=model,
        args=args,
        train_dataset=IndexedExamples(splits.train),
        eval_dataset=IndexedExamples(splits.dev) if has_dev else None,
        data_collator=SeededCollator(model._create_data_collator(), cfg.run.seed),
        processing_class=model.data_processor.transformer_tokenizer,
        callbacks=callbacks,
        f1_fn=dev_f1 if has_dev else None,
    )
    return {"model": model, "args": args, "trainer": trainer, "extra": extra}


def train(cfg: Any) -> dict:
    """Validate, build, train (resuming where a previous run stopped), evaluate, save; return metrics."""
    started = time.time()
    cfg = _as_config(cfg)
    run_dir = _run_dir(cfg)
    splits = _load_data(cfg)
    from .checkpoints import ResumeError, resolve_resume

    try:
        resume = resolve_resume(cfg.run.resume, run_dir / "checkpoints")
    except ResumeError as exc:
        raise ConfigError([str(exc)]) from None

    from .data import summarize
    from .resolved import write_json, write_resolved

    built = build(cfg, run_dir, splits)
    model, args, trainer = built["model"], built["args"], built["trainer"]
    is_main = trainer.is_world_process_zero()
    if is_main:
        write_resolved(run_dir, args, model.config, summarize(splits), extra=built["extra"])
    if cfg.run.dry_run:
        return {"dry_run": True, "run_dir": str(run_dir)}

    if resume is not None:
        log.info("resuming from %s", resume)
    train_out = trainer.train(resume_from_checkpoint=str(resume) if resume else None)

    from .evaluation import evaluate_f1, flatten_scores
    from .export import save_final_model

    metrics: dict = {
        "global_step": trainer.state.global_step,
        "epoch": trainer.state.epoch,
        "resumed_from": str(resume) if resume else None,
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "train_loss": train_out.training_loss,
    }
    per_label = {}
    for split in ("dev", "test"):
        examples = getattr(splits, split)
        if examples:
            scores = evaluate_f1(model, examples, splits.labels, cfg.train.threshold, cfg.train.flat_ner,
                                 cfg.train.eval_batch_size)
            metrics.update(flatten_scores({k: v for k, v in scores.items() if k != "per_label"}, split))
            per_label[split] = scores["per_label"]
    metrics["per_label"] = per_label
    if is_main:
        from .summary import render_summary

        model_dir = save_final_model(model, run_dir / "model")
        metrics["model_dir"] = str(model_dir)
        metrics["wall_time_s"] = time.time() - started
        write_json(run_dir / "metrics.json", metrics)
        print(render_summary(metrics, str(model_dir), str(run_dir)), flush=True)
    return metrics
