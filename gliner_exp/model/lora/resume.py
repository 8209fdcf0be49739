"""Refuse to resume when the checkpoint's adapters do not match the model's.

gliner's Trainer restores a checkpoint with ``load_state_dict(strict=False)``:
lora_A/lora_B keys the model does not have (or lacks) are dropped with a log
warning, and the run silently continues from untrained adapters or from the
base encoder. Before training resumes, the key sets are compared here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gliner_exp.config.errors import ConfigError
from gliner_exp.model.lora.export import adapter_keys, saved_shapes


def check_resume(model: Any, checkpoint: str | Path) -> None:
    """Raise ConfigError if ``checkpoint``'s weights cannot be read or cannot restore ``model``'s adapters exactly.

    Any key mismatch counts when either side carries adapters (a LoRA run
    resumed without LoRA, or with other targets/ranks/variants).
    """
    inner = getattr(model.model, "_orig_mod", model.model)
    model_shapes = {k.replace("_orig_mod.", ""): tuple(v.shape) for k, v in inner.state_dict().items()}
    try:
        ckpt_shapes = saved_shapes(checkpoint)
    except (OSError, RuntimeError, ValueError) as exc:  # torch's reader: RuntimeError on a damaged zip
        raise ConfigError([
            f"run.resume: the weights of checkpoint {checkpoint} cannot be read ({str(exc).splitlines()[0]}); "
            "the checkpoint is damaged. Resume from an earlier one (run.resume=<its path>) or start over "
            "(run.resume=never)"]) from None
    model_keys, ckpt_keys = set(model_shapes), set(ckpt_shapes)
    if not adapter_keys(model_keys) and not adapter_keys(ckpt_keys):
        return
    missing = sorted(model_keys - ckpt_keys)
    unexpected = sorted(ckpt_keys - model_keys)
    reshaped = sorted(k for k in model_keys & ckpt_keys if model_shapes[k] != ckpt_shapes[k])
    if not missing and not unexpected and not reshaped:
        return
    parts = []
    if reshaped:
        k = reshaped[0]
        parts.append(f"{len(reshaped)} keys have other shapes (e.g. {k}: {ckpt_shapes[k]} there, "
                     f"{model_shapes[k]} here)")
    if missing:
        parts.append(f"{len(missing)} of the model's keys are not in it (e.g. {missing[0]})")
    if unexpected:
        parts.append(f"{len(unexpected)} of its keys are not in the model (e.g. {unexpected[0]})")
    raise ConfigError([
        f"run.resume: checkpoint {checkpoint} does not match this run's adapters: " + "; ".join(parts)
        + ". It was written with other lora settings (or without LoRA); gliner's loader would drop those "
        "weights silently. Resume with the lora settings the run started with, or set run.resume=never."])
