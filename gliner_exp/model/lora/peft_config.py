"""``lora`` config section -> ``peft.LoraConfig`` (every field goes somewhere).

The fields that are not LoraConfig keywords act elsewhere: ``enabled`` (whether
``apply_lora`` runs), ``train_head`` (requires_grad outside the text encoder),
``train_added_tokens`` (peft's trainable_token_indices), ``save_adapter``
(``<run dir>/adapter`` at export), ``pissa_niter`` (folded into init_lora_weights).
"""

from __future__ import annotations

import enum
from typing import Any

def init_value(lora_cfg: Any) -> Any:
    """peft's ``init_lora_weights`` for this config (``pissa`` + ``pissa_niter`` -> ``pissa_niter_<n>``)."""
    init = lora_cfg.init_lora_weights
    if init == "pissa" and lora_cfg.pissa_niter is not None:
        return f"pissa_niter_{int(lora_cfg.pissa_niter)}"
    return init


def peft_kwargs(lora_cfg: Any, targets: dict, token_ids: list[int] | None) -> dict:
    """Keyword arguments of ``peft.LoraConfig``; ``targets`` comes from :func:`targets.resolve_targets`."""
    layers = lora_cfg.layers_to_transform
    return dict(
        r=int(lora_cfg.r),
        lora_alpha=int(lora_cfg.alpha),
        lora_dropout=float(lora_cfg.dropout),
        bias=str(lora_cfg.bias),
        lora_bias=bool(lora_cfg.lora_bias),
        target_modules=list(targets["target_modules"]),
        exclude_modules=list(targets["exclude_modules"]) or None,
        use_rslora=bool(lora_cfg.use_rslora),
        use_dora=bool(lora_cfg.use_dora),
        init_lora_weights=init_value(lora_cfg),
        fan_in_fan_out=bool(lora_cfg.fan_in_fan_out),
        modules_to_save=list(lora_cfg.modules_to_save) or None,
        layers_to_transform=[int(i) for i in layers] if layers is not None else None,
        layers_pattern=lora_cfg.layers_pattern,
        rank_pattern={str(k): int(v) for k, v in dict(lora_cfg.rank_pattern).items()},
        alpha_pattern={str(k): int(v) for k, v in dict(lora_cfg.alpha_pattern).items()},
        trainable_token_indices=list(token_ids) if token_ids else None,
    )


def jsonable(value: Any) -> Any:
    """A peft config dict made JSON-able (sets sorted to lists, enums to their value)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict())
    if hasattr(value, "__dict__"):
        return jsonable(vars(value))
    return str(value)
