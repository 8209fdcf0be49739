"""The multi-process TrainingArguments: DDP backend, DeepSpeed and FSDP options, and their runtime checks."""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

from gliner_exp.cluster.environment import env_int
from gliner_exp.cluster.model_prep import encoder_layer_classes
from gliner_exp.config.errors import ConfigError

log = logging.getLogger(__name__)


def ddp_backend(hw: Any) -> str | None:
    """``gloo`` for a multi-process CPU run; None (accelerate's choice: NCCL on GPUs, or single process).

    Never set in a single process: accelerate refuses an explicit backend there.
    """
    # WORLD_SIZE, not dist_info(): what accelerate reads (exported from SLURM by setup_distributed)
    return "gloo" if hw.device == "cpu" and (env_int("WORLD_SIZE", 1) or 1) > 1 else None


def deepspeed_config(stage: str, offload: bool = False) -> dict:
    """The DeepSpeed config dict for ``hardware.deepspeed=zero2|zero3`` (TrainingArguments(deepspeed=...)).

    "auto" values are filled in by HF from the TrainingArguments (batch sizes,
    accumulation, clipping, fp16/bf16), so the run config stays the one source.
    No "optimizer"/"scheduler" sections: gliner's Trainer keeps its own AdamW
    with separate encoder/head learning rates and its scheduler. Bucket sizes are
    DeepSpeed's defaults as numbers: HF's "auto" for them reads
    ``model.config.hidden_size``, which on a GLiNER is the head's, not the encoder's.
    ``offload``: optimizer states (and with zero3 the parameters) in CPU memory.
    """
    level = {"zero2": 2, "zero3": 3}[stage]
    zero: dict = {"stage": level, "overlap_comm": True, "contiguous_gradients": True,
                  "reduce_bucket_size": 500_000_000}
    if level == 2:
        zero.update(allgather_partitions=True, allgather_bucket_size=500_000_000, reduce_scatter=True)
    else:
        zero.update(stage3_prefetch_bucket_size=50_000_000, stage3_param_persistence_threshold=100_000,
                    stage3_max_live_parameters=1_000_000_000, stage3_max_reuse_distance=1_000_000_000,
                    sub_group_size=1_000_000_000,
                    # checkpoints and the final model get full (gathered) weights, loadable by GLiNER
                    stage3_gather_16bit_weights_on_model_save=True)
    config: dict = {
        "zero_optimization": zero,
        "fp16": {"enabled": "auto"},
        "bf16": {"enabled": "auto"},
        "train_batch_size": "auto",
        "train_micro_batch_size_per_gpu": "auto",
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto",
        "steps_per_print": 1_000_000,
        "wall_clock_breakdown": False,
    }
    if offload:
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": True}
        if level == 3:
            zero["offload_param"] = {"device": "cpu", "pin_memory": True}
        # gliner's torch AdamW (two learning rates) stays; DeepSpeed would otherwise insist on its CPUAdam.
        config["zero_force_ds_cpu_optimizer"] = False
    return config


def fsdp_config(hw: Any) -> dict:
    """TrainingArguments(fsdp_config=...) for ``hardware.fsdp`` (FSDP2; HF's string form is deprecated)."""
    words = str(hw.fsdp).split()
    cfg: dict = {
        "version": 2,
        # full_shard: parameters resharded after forward (ZeRO-3-like); shard_grad_op: kept (ZeRO-2-like)
        "reshard_after_forward": "full_shard" in words,
        "cpu_offload": "offload" in words,
        "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
        # one HF-format model.safetensors per checkpoint: what auto-resume and GLiNER.from_pretrained read
        "state_dict_type": "FULL_STATE_DICT",
        "activation_checkpointing": bool(hw.fsdp_config.activation_checkpointing),
    }
    wrap = hw.fsdp_config.transformer_layer_cls_to_wrap
    if wrap is not None:
        cfg["transformer_layer_cls_to_wrap"] = list(wrap)
    return cfg


def fsdp_wrap_defaults(kwargs: dict, model: Any) -> None:
    """Fill FSDP's wrap classes from the model when unset; reject names the model does not have."""
    cfg = kwargs.get("fsdp_config")
    if not kwargs.get("fsdp") or not isinstance(cfg, dict):
        return
    present = {type(m).__name__ for m in model.modules()}
    wrap = cfg.get("transformer_layer_cls_to_wrap")
    if wrap is None:
        wrap = [n for n in encoder_layer_classes(model) if n in present]
        if not wrap:
            raise ConfigError(["hardware.fsdp_config.transformer_layer_cls_to_wrap: could not find the text "
                               "encoder's layer class; name it (e.g. [BertLayer])"])
        cfg["transformer_layer_cls_to_wrap"] = wrap
    missing = [n for n in wrap if n not in present]
    if missing:
        raise ConfigError([f"hardware.fsdp_config.transformer_layer_cls_to_wrap: {missing} not in this model; "
                           f"its encoder layers are {encoder_layer_classes(model)}"])


def check_sharding_runtime(hw: Any) -> None:
    """Fail early, with the fix, when a sharding option cannot run here (checked at build, not validation)."""
    if hw.deepspeed == "zero3" or str(hw.fsdp or "").split():
        # gliner's Trainer.save_model/_save write the *local* module (HF's gathered state_dict is
        # dropped) and gliner_exp saves the final model from rank 0 alone: with parameters
        # sharded, both need a gather first. Not verified on GPUs yet.
        log.warning("hardware.%s shards the parameters: GLiNER-format checkpoints/final model need the "
                    "weights gathered across ranks, which is not verified yet; check <run dir>/model "
                    "(GLiNER.from_pretrained(..., strict=True)) before relying on it",
                    "deepspeed=zero3" if hw.deepspeed == "zero3" else f"fsdp={hw.fsdp!r}")
    if hw.deepspeed and importlib.util.find_spec("deepspeed") is None:
        raise ConfigError([f"hardware.deepspeed={hw.deepspeed}: the deepspeed package is not installed in this "
                           "environment (pip install deepspeed, on a machine with the CUDA toolkit); "
                           "or use hardware=gpu_fsdp, which needs nothing beyond torch"])
