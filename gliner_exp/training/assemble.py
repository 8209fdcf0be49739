"""Assemble model, TrainingArguments, data and callbacks into a ready-to-train Trainer.

The heavy side of a run: importing this module loads torch, transformers and
gliner, so :mod:`gliner_exp.training.run` imports it only once the config and
the data have been accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers.trainer_utils import set_seed

from gliner_exp.cluster.debug_weights import debug_callbacks
from gliner_exp.cluster.environment import dist_info
from gliner_exp.cluster.model_prep import freeze_unused_pooler
from gliner_exp.data.label_names import rename_examples
from gliner_exp.model.build import build_model
from gliner_exp.model.gliner_internals import training_collator
from gliner_exp.model.lora.apply import apply_lora
from gliner_exp.training.arguments import build_training_args
from gliner_exp.training.callbacks import build_callbacks, checkpoint_callbacks
from gliner_exp.training.collator import IndexedExamples, SeededCollator
from gliner_exp.training.evaluation import F1Evaluator
from gliner_exp.training.preemption import preemption_callbacks
from gliner_exp.training.trainer import GLiNERExpTrainer


@dataclass
class Built:
    """Everything a run trains with, before training starts, and what was decided while building it."""

    model: Any
    args: Any
    trainer: Any
    evaluator: Any
    callbacks: list
    #: Torch settings in effect (threads, device).
    runtime: dict
    #: The run's identity (name, seed, tags, description), repeated in metrics.json.
    run_info: dict
    #: World size, rank, and the parameters frozen for DDP.
    distributed: dict
    #: What apply_lora did (targets, parameter counts), None without adapters.
    lora: dict | None = None

    def records(self) -> dict[str, dict]:
        """The ``resolved/<name>.json`` files beyond TrainingArguments, GLiNER config and data summary."""
        out = {"runtime": self.runtime, "run": self.run_info, "distributed": self.distributed}
        if self.lora is not None:
            out["lora"] = self.lora
        return out


def apply_runtime(hw: Any) -> dict:
    """Process-wide torch settings of the ``hardware`` group; returns what is now in effect."""
    if hw.torch_threads:
        torch.set_num_threads(hw.torch_threads)
    return {"torch_threads": torch.get_num_threads(), "device": hw.device}


def build_all(cfg: Any, run_dir: Path, splits: Any) -> Built:
    """Build model (+ adapters), TrainingArguments, F1 evaluator, callbacks and the Trainer."""
    runtime = apply_runtime(cfg.hardware)
    # Seed before building: the new head's initialisation must be the same on resume.
    set_seed(cfg.run.seed)
    model = build_model(cfg.model)
    lora = apply_lora(model, cfg.lora) if cfg.lora.enabled else None
    # GLiNER never uses the pooler: frozen, plain DDP needs no find_unused_parameters.
    distributed = {**dist_info().as_dict(), "frozen_unused": freeze_unused_pooler(model)}
    has_dev = bool(splits.dev)
    args = build_training_args(cfg, run_dir, has_dev, model=model)
    evaluator = F1Evaluator(splits.dev, splits.labels, cfg.train.threshold, cfg.train.flat_ner,
                            cfg.train.eval_batch_size, splits.label_names, splits.window) if has_dev else None
    callbacks = build_callbacks(cfg, Path(run_dir))
    trainer = GLiNERExpTrainer(
        model=model,
        args=args,
        # the model reads label names; everything gliner_exp reports keeps the keys
        train_dataset=IndexedExamples(rename_examples(splits.train, splits.label_names)),
        eval_dataset=IndexedExamples(rename_examples(splits.dev, splits.label_names)) if has_dev else None,
        data_collator=SeededCollator(training_collator(model), cfg.run.seed),
        processing_class=model.data_processor.transformer_tokenizer,
        # + checkpoint manifests, checkpoint-on-signal and the debug callbacks that environment variables switch on
        callbacks=[*checkpoint_callbacks(), *callbacks, *preemption_callbacks(), *debug_callbacks(run_dir)],
        f1_fn=evaluator,
        train_lengths=[len(ex["tokenized_text"]) for ex in splits.train] if cfg.train.group_by_length else None,
        eval_loss=cfg.train.eval_loss,
    )
    run_info = {"name": cfg.run.name, "seed": cfg.run.seed, "tags": list(cfg.run.tags),
                "description": cfg.run.description}
    return Built(model=model, args=args, trainer=trainer, evaluator=evaluator, callbacks=callbacks,
                 runtime=runtime, run_info=run_info, distributed=distributed, lora=lora)
