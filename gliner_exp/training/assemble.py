"""Assemble model, TrainingArguments, data and callbacks into a ready-to-train Trainer."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gliner_exp.model.gliner_internals import training_collator


@dataclass
class Built:
    """Everything a run trains with, before training starts."""

    model: Any
    args: Any
    trainer: Any
    evaluator: Any
    callbacks: list
    extra: dict = field(default_factory=dict)


def apply_runtime(hw: Any) -> dict:
    """Process-wide torch settings of the ``hardware`` group; returns what is now in effect."""
    import torch

    if hw.torch_threads:
        torch.set_num_threads(hw.torch_threads)
    return {"torch_threads": torch.get_num_threads(), "device": hw.device}


def build_all(cfg: Any, run_dir: Path, splits: Any) -> Built:
    """Build model (+ adapters), TrainingArguments, F1 evaluator, callbacks and the Trainer."""
    from transformers.trainer_utils import set_seed

    from gliner_exp.training.collator import IndexedExamples, SeededCollator
    from gliner_exp.training.evaluation import F1Evaluator
    from gliner_exp.training.trainer import GLiNERExpTrainer
    from gliner_exp.training.callbacks import build_callbacks
    from gliner_exp.model.build import build_model
    from gliner_exp.training.arguments import build_training_args

    extra: dict = {"runtime": apply_runtime(cfg.hardware),
                   "run": {"name": cfg.run.name, "seed": cfg.run.seed, "tags": list(cfg.run.tags),
                           "description": cfg.run.description}}
    # Seed before building: the new head's initialisation must be the same on resume.
    set_seed(cfg.run.seed)
    model = build_model(cfg.model)
    if cfg.lora.enabled:
        from gliner_exp.model.lora.apply import apply_lora

        extra["lora"] = apply_lora(model, cfg.lora)
    from gliner_exp.cluster.distributed import debug_callbacks, dist_info, freeze_unused_pooler
    from gliner_exp.training.preemption import preemption_callbacks

    # GLiNER never uses the pooler: frozen, plain DDP needs no find_unused_parameters (gliner_exp.cluster.distributed).
    extra["distributed"] = {**dist_info().as_dict(), "frozen_unused": freeze_unused_pooler(model)}
    has_dev = bool(splits.dev)
    args = build_training_args(cfg, run_dir, has_dev, model=model)
    evaluator = F1Evaluator(splits.dev, splits.labels, cfg.train.threshold, cfg.train.flat_ner,
                            cfg.train.eval_batch_size) if has_dev else None
    callbacks = build_callbacks(cfg, Path(run_dir))
    trainer = GLiNERExpTrainer(
        model=model,
        args=args,
        train_dataset=IndexedExamples(splits.train),
        eval_dataset=IndexedExamples(splits.dev) if has_dev else None,
        data_collator=SeededCollator(training_collator(model), cfg.run.seed),
        processing_class=model.data_processor.transformer_tokenizer,
        # + checkpoint-on-signal (gliner_exp.training.preemption) and env-switched debug callbacks
        callbacks=[*callbacks, *preemption_callbacks(), *debug_callbacks(run_dir)],
        f1_fn=evaluator,
    )
    return Built(model=model, args=args, trainer=trainer, evaluator=evaluator, callbacks=callbacks, extra=extra)
