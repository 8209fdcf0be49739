"""Which layers of a backbone get adapters: ``auto`` per family, explicit names checked."""

from __future__ import annotations

from typing import Any

from gliner_exp.config.lora import ALL_LINEAR, AUTO
from gliner_exp.config.errors import ConfigError

# model_type -> leaf names of the attention and MLP projections.
_BERT = ("query", "key", "value", "dense")
FAMILIES: dict[str, tuple[str, ...]] = {
    **{t: _BERT for t in ("bert", "roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "electra", "ernie",
                          "data2vec-text", "roberta-prelayernorm", "megatron-bert", "xmod", "nomic_bert")},
    "deberta-v2": ("query_proj", "key_proj", "value_proj", "dense"),  # DeBERTa v2/v3, mDeBERTa
    "deberta": ("in_proj", "dense"),
    "modernbert": ("Wqkv", "Wo", "Wi"),
    "distilbert": ("q_lin", "k_lin", "v_lin", "out_lin", "lin1", "lin2"),
    "mpnet": ("q", "k", "v", "o", "dense"),
    "albert": ("query", "key", "value", "dense", "ffn", "ffn_output"),
    "t5": ("q", "k", "v", "o", "wi", "wo", "wi_0", "wi_1"),
    "mt5": ("q", "k", "v", "o", "wi", "wo", "wi_0", "wi_1"),
    "umt5": ("q", "k", "v", "o", "wi", "wo", "wi_0", "wi_1"),
    **{t: ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
       for t in ("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "phi3")},
}
# Never adapted by auto/all-linear: unused by GLiNER (it reads the last hidden states).
_SKIP_PARTS = ("pooler",)


def _adaptable_types() -> tuple[type, ...]:
    import torch
    from transformers.pytorch_utils import Conv1D

    return (torch.nn.Linear, Conv1D)


def linear_layers(encoder: Any) -> dict[str, Any]:
    """``{full name: module}`` of the encoder's linear (and GPT-2 Conv1D) layers."""
    types = _adaptable_types()
    return {name: mod for name, mod in encoder.named_modules() if name and isinstance(mod, types)}


def _leaf(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _skipped(name: str) -> bool:
    return any(part in _SKIP_PARTS for part in name.split("."))


def describe_linear_layers(encoder: Any) -> str:
    """The encoder's linear layer names, for error messages: leaf names and layer 0's full names."""
    names = list(linear_layers(encoder))
    leaves = sorted({_leaf(n) for n in names})
    first = [n for n in names if ".0." in f".{n}."][:12] or names[:12]
    return f"leaf names: {', '.join(leaves)}; e.g. {', '.join(first)}"


def matches(target: str, name: str) -> bool:
    """peft's rule for a list entry: the exact module name or a dotted suffix of it."""
    return name == target or name.endswith("." + target)


def resolve_targets(encoder: Any, lora_cfg: Any) -> dict:
    """``target_modules``/``exclude_modules`` for peft, and the family they were chosen for.

    Raises ConfigError when an explicit name matches no layer (peft would
    silently skip it if another name matched).
    """
    family = getattr(getattr(encoder, "config", None), "model_type", None) or "unknown"
    layers = linear_layers(encoder)
    requested = list(lora_cfg.target_modules)
    exclude = list(lora_cfg.exclude_modules)
    if not layers:
        raise ConfigError([f"lora.target_modules: the {family} backbone has no linear layers to adapt"])
    if requested in ([AUTO], [ALL_LINEAR]):
        usable = [n for n in layers if not _skipped(n)]
        if requested == [AUTO] and family in FAMILIES:
            wanted = set(FAMILIES[family])
            picked = [n for n in usable if _leaf(n) in wanted]
            how = f"auto ({family})"
        else:
            picked = usable
            how = "all-linear" if requested == [ALL_LINEAR] else f"auto (unknown family {family}: all linear)"
        if not picked:
            raise ConfigError([f"lora.target_modules={requested}: found nothing to adapt in the {family} backbone; "
                               "name the layers explicitly; " + describe_linear_layers(encoder)])
        targets = sorted({_leaf(n) for n in picked})
        # Suffix matching would also catch e.g. pooler.dense: exclude those exactly.
        exclude += sorted({n for n in layers if _skipped(n) and _leaf(n) in targets})
        return {"target_modules": targets, "exclude_modules": exclude, "family": family, "how": how}
    all_names = [n for n, _ in encoder.named_modules() if n]
    problems = []
    for target in requested:
        if target in (AUTO, ALL_LINEAR):
            continue  # reported by validation (must be the only entry)
        if not any(matches(target, n) for n in all_names):
            problems.append(f"lora.target_modules: {target!r} matches no layer of the {family} backbone; "
                            + describe_linear_layers(encoder))
    for name in exclude:
        if not any(matches(name, n) for n in all_names):
            problems.append(f"lora.exclude_modules: {name!r} matches no module of the {family} backbone; "
                            + describe_linear_layers(encoder))
    if problems:
        raise ConfigError(problems)
    return {"target_modules": requested, "exclude_modules": exclude, "family": family, "how": "explicit"}
