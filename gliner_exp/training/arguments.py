"""Build gliner's ``TrainingArguments`` from the composed config.

Built directly, not through ``GLiNER.create_training_args``: its
``others_lr or learning_rate`` turns an explicit 0.0 into the default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gliner_exp.cluster.sharding import check_sharding_runtime, ddp_backend, deepspeed_config, fsdp_config, fsdp_wrap_defaults


def training_args_kwargs(cfg: Any, run_dir: str | Path, has_dev: bool) -> dict:
    """Every TrainingArguments keyword gliner_exp sets, as plain values."""
    run_dir = Path(run_dir)
    opt, loss, hw, tr, run, hub = cfg.optimizer, cfg.loss, cfg.hardware, cfg.train, cfg.run, cfg.hub
    metric = tr.metric_for_best_model
    kwargs = dict(
        output_dir=str(run_dir / "checkpoints"),
        run_name=run.name,
        seed=run.seed,
        data_seed=run.seed,
        # gliner's Trainer builds its own batches; HF's column pruning would only
        # break trainer.predict().
        remove_unused_columns=False,
        # length
        max_steps=tr.max_steps if tr.max_steps is not None else -1,
        num_train_epochs=tr.epochs if tr.epochs is not None else 1.0,
        per_device_train_batch_size=tr.batch_size,
        per_device_eval_batch_size=tr.eval_batch_size,
        gradient_accumulation_steps=tr.grad_accum,
        auto_find_batch_size=tr.auto_find_batch_size,
        # optimiser: encoder group and head ("others") group
        optim=opt.name,
        learning_rate=opt.encoder_lr,
        others_lr=opt.head_lr,
        weight_decay=opt.encoder_weight_decay,
        others_weight_decay=opt.head_weight_decay,
        adam_beta1=opt.beta1,
        adam_beta2=opt.beta2,
        adam_epsilon=opt.eps,
        max_grad_norm=opt.max_grad_norm,
        lr_scheduler_type=opt.scheduler,
        warmup_ratio=opt.warmup_ratio,
        warmup_steps=opt.warmup_steps,
        # loss, applied in gliner's compute_loss
        loss_type=loss.type,
        focal_loss_alpha=loss.alpha,
        focal_loss_gamma=loss.gamma,
        focal_loss_prob_margin=loss.prob_margin,
        label_smoothing=loss.label_smoothing,
        # HF's own smoothing is never applied by gliner's compute_loss; pin it to
        # 0 so there is exactly one smoothing knob.
        label_smoothing_factor=0.0,
        loss_reduction=loss.reduction,
        negatives=loss.negatives,
        masking=loss.masking,
        dice_gamma=loss.dice_gamma,
        use_span_width_weight=loss.span_width_weight,
        # hardware
        use_cpu=hw.device == "cpu",
        fp16=hw.fp16,
        bf16=hw.bf16,
        tf32=hw.tf32 if hw.device == "cuda" else None,
        dataloader_num_workers=hw.num_workers,
        dataloader_pin_memory=hw.pin_memory,
        dataloader_persistent_workers=hw.persistent_workers,
        dataloader_prefetch_factor=hw.prefetch_factor,
        # multi-process and sharding (gliner_exp.cluster.sharding)
        ddp_backend=ddp_backend(hw),
        ddp_find_unused_parameters=hw.ddp_find_unused_parameters,
        deepspeed=deepspeed_config(hw.deepspeed, hw.deepspeed_offload) if hw.deepspeed else None,
        fsdp=bool(hw.fsdp.split()) or None,
        fsdp_config=fsdp_config(hw) if hw.fsdp.split() else None,
        # logging, evaluation, checkpoints, model selection
        logging_steps=tr.logging_steps,
        # every logger is a callback gliner_exp configures (gliner_exp.integrations.loggers);
        # HF would add unconfigured duplicates
        report_to="none",
        eval_strategy="steps" if has_dev else "no",
        eval_steps=tr.eval_every if has_dev else None,
        save_strategy="steps",
        save_steps=tr.save_every,
        save_total_limit=tr.save_total_limit,
        load_best_model_at_end=tr.load_best_model_at_end and has_dev,
        # early stopping's patience count (and the loss tally) continue on resume, as if never killed
        restore_callback_states_from_checkpoint=True,
        metric_for_best_model=f"eval_{metric}" if has_dev else None,
        greater_is_better=(metric != "loss") if has_dev else None,
        # hub (the token is read by huggingface_hub from HF_TOKEN, never stored)
        push_to_hub=hub.push,
        hub_model_id=hub.model_id,
        hub_private_repo=hub.private,
        hub_strategy=hub.strategy,
    )
    return kwargs


def build_training_args(cfg: Any, run_dir: str | Path, has_dev: bool, model: Any = None):
    """gliner.training.TrainingArguments for this run (``model``: fills FSDP's wrap classes when unset)."""
    from gliner.training import TrainingArguments

    kwargs = training_args_kwargs(cfg, run_dir, has_dev)
    check_sharding_runtime(cfg.hardware)
    if model is not None:
        fsdp_wrap_defaults(kwargs, model)
    return TrainingArguments(**kwargs)
