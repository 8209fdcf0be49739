"""Schema of the ``lora`` group: LoRA-family adapters on the text encoder (peft).

Options (``conf/lora/``): ``none`` (full fine-tuning, the default), ``lora``,
``rslora``, ``dora``, ``pissa``, ``olora``, ``orthogonal``, ``mica``. Every
field except ``enabled``/``train_head``/``train_added_tokens``/``save_adapter``
maps onto one keyword of ``peft.LoraConfig`` (see
:func:`gliner_exp.model.lora.peft_config.peft_kwargs`); nothing here imports torch.
"""

from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Optional

from gliner_exp.config.fields import bounded, choice, listed, prob

# peft's init_lora_weights values that need nothing but the weights themselves
# ("eva", "corda", "lora_ga" need data passes, "loftq" quantisation: not offered).
INIT_CHOICES = (True, False, "gaussian", "pissa", "olora", "orthogonal", "mica")
# Inits that rewrite the base weights (W <- W - s*B0A0): an adapter saved alone
# must be converted to apply to the original backbone.
BASE_MUTATING_INITS = ("pissa", "olora")
BIAS = ("none", "all", "lora_only")
AUTO = "auto"
ALL_LINEAR = "all-linear"


@dataclass
class LoraConfig:
    """Parameter-efficient fine-tuning of the text encoder; off by default.

    ``target_modules``: ``[auto]`` picks the attention and MLP projections of
    the backbone family (BERT/RoBERTa/XLM-R: query,key,value,dense; DeBERTa-v2/v3:
    query_proj,key_proj,value_proj,dense; ModernBERT: Wqkv,Wo,Wi; ...; the
    pooler is never adapted), ``[all-linear]`` every linear layer but the
    pooler, anything else is a list of module-name suffixes as in peft (each
    must match a layer of the backbone). ``init_lora_weights``: peft's value
    (true, false, gaussian, pissa, olora, orthogonal, mica); ``pissa_niter``
    turns ``pissa`` into fast-SVD ``pissa_niter_<n>``. ``train_added_tokens``
    trains the embedding rows of the tokens GLiNER adds ([FLERT], <<ENT>>,
    <<SEP>>) through peft's ``trainable_token_indices``; ``train_head`` keeps
    everything outside the text encoder (span/prompt layers, LSTM, projections)
    fully trainable. ``save_adapter`` also writes the encoder adapter alone in
    peft format to ``<run dir>/adapter`` (the final ``model/`` is always merged).
    ``rank_pattern``/``alpha_pattern`` map peft module-name patterns to ranks /
    alphas; on the command line Hydra can only replace or extend a typed mapping:
    ``++lora.rank_pattern={query:4}`` or ``+lora.rank_pattern.query=4``.
    """

    enabled: bool = False
    r: int = bounded(8, 1, 4096, help="adapter rank (peft r)")
    alpha: int = bounded(16, 1, 1_000_000, help="peft lora_alpha; scaling alpha/r (alpha/sqrt(r) with use_rslora)")
    dropout: float = prob(0.05, help="peft lora_dropout")
    bias: str = choice("none", *BIAS, help="which biases of the encoder train (peft bias)")
    lora_bias: bool = False
    target_modules: List[str] = listed(lambda: [AUTO], help="[auto], [all-linear] or module-name suffixes")
    exclude_modules: List[str] = listed(list, help="module-name suffixes never adapted")
    use_rslora: bool = False
    use_dora: bool = False
    init_lora_weights: Any = choice(True, *INIT_CHOICES)
    pissa_niter: Optional[int] = bounded(None, 0, 10_000, help="with init pissa: fast-SVD subspace iterations")
    fan_in_fan_out: bool = False
    modules_to_save: List[str] = listed(list, help="encoder modules trained in full and saved with the adapter")
    layers_to_transform: Optional[List[int]] = None
    layers_pattern: Optional[str] = None
    rank_pattern: Dict[str, int] = field(default_factory=dict)
    alpha_pattern: Dict[str, int] = field(default_factory=dict)
    train_added_tokens: bool = True
    train_head: bool = True
    save_adapter: bool = False


def _default(fld) -> Any:
    return fld.default_factory() if callable(fld.default_factory) else fld.default  # type: ignore[misc]


def lora_problems(lora: Any) -> list[str]:
    """Cross-field rules of the ``lora`` section (no torch): what peft would reject or silently ignore."""
    out: list[str] = []
    lora = _with_defaults(lora)
    if not lora.enabled:
        changed = [f.name for f in fields(LoraConfig)
                   if f.name != "enabled" and _plain(getattr(lora, f.name)) != _default(f)]
        for name in changed:
            out.append(f"lora.{name}: set but lora.enabled is false, so it would be ignored; choose an adapter "
                       "(lora=lora|rslora|dora|pissa|olora|orthogonal|mica) or drop the override")
        return out
    targets = list(lora.target_modules)
    for name in ("target_modules", "exclude_modules", "modules_to_save"):
        bad = [v for v in getattr(lora, name) if not isinstance(v, str) or not v]
        if bad:
            out.append(f"lora.{name}: {bad} are not module names (non-empty strings)")
    if not targets:
        out.append("lora.target_modules: empty; use [auto], [all-linear] or module names")
    special = [t for t in targets if t in (AUTO, ALL_LINEAR)]
    if special and len(targets) > 1:
        out.append(f"lora.target_modules: {special[0]!r} must be the only entry (got {targets})")
    init = lora.init_lora_weights
    if lora.pissa_niter is not None and init != "pissa":
        out.append(f"lora.pissa_niter: only with lora.init_lora_weights=pissa (got {init!r})")
    if init == "mica" and lora.use_dora:
        out.append("lora.init_lora_weights=mica cannot be combined with lora.use_dora=true")
    if init == "orthogonal" and lora.r % 2:
        out.append(f"lora.r={lora.r}: init_lora_weights=orthogonal needs an even rank")
    if lora.use_dora and lora.lora_bias:
        out.append("lora.lora_bias: not supported together with lora.use_dora=true")
    if lora.lora_bias and init not in (True, False):
        # peft refuses this only once the model is loaded; say it before.
        out.append(f"lora.lora_bias: only with lora.init_lora_weights=true or false (got {init!r})")
    if lora.layers_pattern is not None and lora.layers_to_transform is None:
        out.append("lora.layers_pattern: needs lora.layers_to_transform")
    if lora.layers_to_transform is not None:
        layers = list(lora.layers_to_transform)
        if not layers or any(isinstance(i, bool) or not isinstance(i, int) or i < 0 for i in layers):
            out.append("lora.layers_to_transform: a non-empty list of layer indices >= 0, or null for all layers")
    for name in ("rank_pattern", "alpha_pattern"):
        for key, value in dict(getattr(lora, name)).items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                out.append(f"lora.{name}.{key}: {value!r} must be a positive integer")
    if lora.save_adapter and init in BASE_MUTATING_INITS and (lora.use_dora or lora.lora_bias):
        what = "DoRA" if lora.use_dora else "lora_bias"
        out.append(f"lora.save_adapter: an adapter trained with init {init} and {what} cannot be converted back "
                   "to the original backbone by peft; set save_adapter=false (model/ is merged either way)")
    if lora.save_adapter and init in BASE_MUTATING_INITS and lora.use_rslora and (
            dict(lora.rank_pattern) or dict(lora.alpha_pattern)):
        out.append(f"lora.save_adapter: peft cannot convert an {init} adapter with use_rslora and "
                   "rank_pattern/alpha_pattern back to the original backbone; set save_adapter=false")
    return out


class _View:
    def __init__(self, values: dict):
        self.__dict__.update(values)


def _with_defaults(lora: Any) -> "_View":
    """``lora`` as an attribute view, schema defaults filling keys a partial config leaves out."""
    values = {}
    for f in fields(LoraConfig):
        try:
            values[f.name] = getattr(lora, f.name)
        except (AttributeError, KeyError):
            values[f.name] = _default(f)
        if values[f.name] is None and _default(f) is not None:
            values[f.name] = _default(f)
    return _View(values)


def _plain(value: Any) -> Any:
    """Containers from OmegaConf as plain lists/dicts (for comparison with the defaults)."""
    if hasattr(value, "items"):
        return {k: value[k] for k in value}
    if isinstance(value, (list, tuple)) or type(value).__name__ == "ListConfig":
        return list(value)
    return value
