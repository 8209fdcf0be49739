"""LoRA-family adapters (peft) on a GLiNER's text encoder.

``apply_lora(model, cfg.lora)`` wraps the text encoder in a ``PeftModel``;
the GLiNER head stays trainable unless ``train_head`` is false. Checkpoints
hold the wrapped state dict (resume rebuilds the same wrapping first; see
:mod:`.resume`); the final model is merged into a plain GLiNER (see :mod:`.export`).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gliner_exp.config.lora import BASE_MUTATING_INITS
from gliner_exp.config.errors import ConfigError
from gliner_exp.model.gliner_internals import set_text_encoder, special_tokens, text_encoder
from gliner_exp.model.lora.export import (INITIAL_ADAPTER_ATTR, assert_plain_gliner_dir, is_peft, merge_adapters, save_adapter)
from gliner_exp.model.lora.peft_config import jsonable, peft_kwargs
from gliner_exp.model.lora.resume import check_resume
from gliner_exp.model.lora.targets import describe_linear_layers, matches, resolve_targets

__all__ = ["apply_lora", "added_token_ids", "check_resume", "merge_adapters", "save_adapter",
           "assert_plain_gliner_dir", "param_counts"]

log = logging.getLogger(__name__)


def added_token_ids(model: Any) -> list[int]:
    """Vocabulary ids of the tokens GLiNER adds to the backbone ([FLERT], <<ENT>>, <<SEP>>)."""
    tokenizer = model.data_processor.transformer_tokenizer
    tokens = special_tokens(model)
    ids = tokenizer.convert_tokens_to_ids(tokens)
    unk = tokenizer.unk_token_id
    return sorted({int(i) for i in ids if i is not None and i != unk})


def param_counts(model: Any) -> dict:
    """Trainable/total parameters of the GLiNER, split into text encoder (as peft counts) and head."""
    encoder = text_encoder(model)
    enc_ids = {id(p) for p in encoder.parameters()}
    params = {id(p): p for p in model.parameters()}.values()
    trainable = sum(p.numel() for p in params if p.requires_grad)
    total = sum(p.numel() for p in params)
    head_trainable = sum(p.numel() for p in params if p.requires_grad and id(p) not in enc_ids)
    if is_peft(encoder):
        enc_trainable, enc_total = encoder.get_nb_trainable_parameters()
    else:
        enc_trainable = sum(p.numel() for p in encoder.parameters() if p.requires_grad)
        enc_total = sum(p.numel() for p in encoder.parameters())
    return {"trainable_params": trainable, "total_params": total, "encoder_trainable_params": enc_trainable,
            "encoder_total_params": enc_total, "head_trainable_params": head_trainable}


def _check_after(peft_model: Any, kwargs: dict) -> dict:
    """Fail where peft silently adapted less than asked; return the adapted module names."""
    from peft.tuners.lora import LoraLayer

    adapted = [n for n, m in peft_model.base_model.model.named_modules() if isinstance(m, LoraLayer)]
    problems = []
    if not adapted:
        problems.append("lora.target_modules: no layer was adapted; "
                        + describe_linear_layers(peft_model.base_model.model))
    if kwargs["fan_in_fan_out"] and not peft_model.peft_config["default"].fan_in_fan_out:
        problems.append("lora.fan_in_fan_out=true: only for GPT-2-style Conv1D layers; the targeted layers are "
                        "nn.Linear (peft would reset it to false); set it false")
    if kwargs["layers_to_transform"] is not None:
        pattern = kwargs["layers_pattern"]
        found = set()
        for name in adapted:
            m = (re.match(rf"(?:^|.*?\.){pattern}\.(\d+)\.", name) if pattern
                 else re.match(r".*?\.[^.]*\.(\d+)\.", name))
            if m:
                found.add(int(m.group(1)))
        missing = [i for i in kwargs["layers_to_transform"] if i not in found]
        if missing:
            problems.append(f"lora.layers_to_transform: no adapter landed in layer(s) {missing}; adapted layers: "
                            f"{sorted(found)}")
    for field in ("rank_pattern", "alpha_pattern"):
        for key in kwargs[field]:
            if not any(re.match(rf"(.*\.)?({key})$", n) for n in adapted):
                problems.append(f"lora.{field}: {key!r} matches no adapted module (e.g. {adapted[:3]})")
    if problems:
        raise ConfigError(problems)
    return {"adapted_modules": len(adapted)}


def apply_lora(model: Any, lora_cfg: Any) -> dict:
    """Put LoRA-family adapters on ``model``'s text encoder, in place; return a JSON-able summary.

    The summary (written to ``<run dir>/resolved/lora.json``) holds the peft
    config as a dict, the resolved targets, and trainable/total parameter counts.
    """
    from peft import LoraConfig as PeftLoraConfig
    from peft import get_peft_model

    encoder = text_encoder(model)
    if is_peft(encoder):
        raise ConfigError(["lora: the text encoder already carries peft adapters (an unmerged checkpoint as "
                           "model.pretrained?); load a merged GLiNER instead"])
    targets = resolve_targets(encoder, lora_cfg)
    token_ids = added_token_ids(model) if lora_cfg.train_added_tokens else None
    kwargs = peft_kwargs(lora_cfg, targets, token_ids)
    names = [n for n, _ in encoder.named_modules() if n]
    unknown = [m for m in kwargs["modules_to_save"] or [] if not any(matches(m, n) for n in names)]
    if unknown:
        raise ConfigError([f"lora.modules_to_save: {m!r} matches no module of the encoder" for m in unknown])
    try:
        peft_cfg = PeftLoraConfig(**kwargs)
        peft_model = get_peft_model(encoder, peft_cfg)
    except (ValueError, TypeError, NotImplementedError) as exc:
        raise ConfigError([f"lora: peft rejected the configuration: {exc}"]) from None
    set_text_encoder(model, peft_model)
    checked = _check_after(peft_model, kwargs)

    if str(kwargs["init_lora_weights"]).startswith(BASE_MUTATING_INITS) and lora_cfg.save_adapter:
        # The initial adapter is needed to convert the trained one back to the original base at export.
        from peft import get_peft_model_state_dict

        state = get_peft_model_state_dict(peft_model)
        setattr(peft_model, INITIAL_ADAPTER_ATTR, {k: v.detach().to("cpu", copy=True) for k, v in state.items()})

    if not lora_cfg.train_head:
        enc_ids = {id(p) for p in peft_model.parameters()}
        for p in model.parameters():
            if id(p) not in enc_ids:
                p.requires_grad_(False)

    counts = param_counts(model)
    pct = 100.0 * counts["trainable_params"] / max(counts["total_params"], 1)
    msg = (f"lora: trainable params {counts['trainable_params']:,} / {counts['total_params']:,} ({pct:.2f}%) = "
           f"encoder adapters {counts['encoder_trainable_params']:,} (peft) + head "
           f"{counts['head_trainable_params']:,}; {checked['adapted_modules']} layers adapted "
           f"[{targets['how']}: {', '.join(targets['target_modules'])}]")
    print(msg, flush=True)
    log.info(msg)
    return {
        "peft_config": jsonable(peft_model.peft_config["default"].to_dict()),
        "backbone_family": targets["family"],
        "target_selection": targets["how"],
        "adapted_modules": checked["adapted_modules"],
        "trainable_token_ids": token_ids or [],
        "train_head": bool(lora_cfg.train_head),
        "save_adapter": bool(lora_cfg.save_adapter),
        **counts,
    }
