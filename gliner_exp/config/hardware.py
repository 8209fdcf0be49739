"""Schema of the ``hardware`` group: device, precision and data-loading throughput."""

from dataclasses import dataclass, field, fields
from typing import Any, List, Optional

from gliner_exp.config.fields import bounded, choice, outside_experiment

#: Words of ``hardware.fsdp`` (HF's notation): one sharding strategy, plus ``offload`` / ``auto_wrap``.
FSDP_STRATEGIES = ("full_shard", "shard_grad_op")
FSDP_WORDS = (*FSDP_STRATEGIES, "offload", "auto_wrap")


@dataclass
class FsdpConfig:
    """Tuning of ``hardware.fsdp`` (FSDP2 through accelerate); must stay at its defaults while fsdp is off.

    ``transformer_layer_cls_to_wrap``: the module classes that become one FSDP
    unit each; null = the text encoder's layers (its ``_no_split_modules``, e.g.
    ``BertEmbeddings, BertLayer``, else the class of its repeated layer, e.g.
    ``DebertaV2Layer``). ``activation_checkpointing``: FSDP's own, preferred to
    ``model.gradient_checkpointing`` under FSDP.
    """

    transformer_layer_cls_to_wrap: Optional[List[str]] = None
    activation_checkpointing: bool = False


@dataclass
class HardwareConfig:
    """Where and how fast to run. ``torch_threads: 0`` keeps torch's own default.

    Multi-process (DDP) runs need no setting here: launch with ``torchrun`` or
    SLURM tasks (see :mod:`gliner_exp.cluster.environment`); ``ddp_find_unused_parameters``
    is only needed for a model with parameters outside the loss (the BERT pooler
    is frozen for that reason). ``deepspeed`` (zero2/zero3, needs the deepspeed
    package) and ``fsdp`` (e.g. ``full_shard auto_wrap``) shard training state
    across GPUs; at most one of them, on cuda.
    """

    device: str = choice("cpu", "cpu", "cuda")
    fp16: bool = False
    bf16: bool = False
    tf32: bool = False
    num_workers: int = bounded(0, 0, 64, experiment=False)
    pin_memory: bool = outside_experiment(False)
    persistent_workers: bool = outside_experiment(False)
    prefetch_factor: Optional[int] = bounded(None, 1, 64, experiment=False)
    torch_threads: int = bounded(0, 0, 512, experiment=False)
    ddp_find_unused_parameters: bool = False
    deepspeed: Optional[str] = choice(None, None, "zero2", "zero3",
                                      help="DeepSpeed ZeRO stage: null (off), zero2, zero3")
    deepspeed_offload: bool = False
    fsdp: str = field(default="", metadata={"help": "'' (off) or words: full_shard|shard_grad_op [offload] [auto_wrap]"})
    fsdp_config: FsdpConfig = field(default_factory=FsdpConfig)


def hardware_problems(hw: Any) -> list[str]:
    """Cross-field rules of the ``hardware`` section (no torch; deepspeed's presence is checked at build)."""
    out: list[str] = []
    deepspeed = getattr(hw, "deepspeed", None)
    words = str(getattr(hw, "fsdp", "") or "").split()
    unknown = [w for w in words if w not in FSDP_WORDS]
    if unknown:
        out.append(f"hardware.fsdp: unknown word(s) {unknown}; allowed: {', '.join(FSDP_WORDS)} "
                   "(e.g. 'full_shard auto_wrap'), or '' for no FSDP")
    elif words and sum(w in FSDP_STRATEGIES for w in words) != 1:
        out.append(f"hardware.fsdp={hw.fsdp!r}: name exactly one sharding strategy "
                   f"({' or '.join(FSDP_STRATEGIES)})")
    if words and deepspeed:
        out.append("hardware.deepspeed and hardware.fsdp: choose one (both shard the training state)")
    for name, on in (("deepspeed", bool(deepspeed)), ("fsdp", bool(words))):
        if on and hw.device != "cuda":
            out.append(f"hardware.{name}: needs hardware.device=cuda (use hardware=gpu_zero2|gpu_zero3|gpu_fsdp)")
    if getattr(hw, "deepspeed_offload", False) and not deepspeed:
        out.append("hardware.deepspeed_offload: only with hardware.deepspeed=zero2|zero3")
    fsdp_cfg = getattr(hw, "fsdp_config", None)
    if not words and fsdp_cfg is not None:
        for f in fields(FsdpConfig):
            value = fsdp_cfg.get(f.name) if hasattr(fsdp_cfg, "get") else getattr(fsdp_cfg, f.name, None)
            default = f.default
            if value is not None and value != default:
                out.append(f"hardware.fsdp_config.{f.name}: set but hardware.fsdp is empty, so it would be "
                           "ignored; set hardware.fsdp (e.g. 'full_shard auto_wrap') or drop the override")
    wrap = fsdp_cfg.get("transformer_layer_cls_to_wrap") if fsdp_cfg is not None and hasattr(fsdp_cfg, "get") \
        else None
    if wrap is not None and (not wrap or not all(isinstance(w, str) and w for w in wrap)):
        out.append("hardware.fsdp_config.transformer_layer_cls_to_wrap: a non-empty list of class names, "
                   "or null for the text encoder's layers")
    return out
