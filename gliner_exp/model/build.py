"""Build the GLiNER model described by the ``model`` group."""

from __future__ import annotations

import logging
from typing import Any

from gliner_exp.model.backbones import resolve_backbone
from gliner_exp.config.errors import ConfigError
from gliner_exp.model import fast_dropout
from gliner_exp.model.gliner_internals import core, freezable_components, fuse_span_projection, text_encoder

log = logging.getLogger(__name__)

# model-group leaves that map 1:1 onto GLiNERConfig attributes of the same name.
_GLINER_CONFIG_KEYS = (
    "span_mode", "max_width", "max_len", "hidden_size", "dropout", "subtoken_pooling", "max_types",
    "max_neg_type_ratio", "words_splitter_type", "num_rnn_layers", "fuse_layers", "post_fusion_schema",
    "num_post_fusion_layers", "embed_ent_token", "ent_token", "sep_token",
)


class ModelLoadError(ConfigError):
    """The backbone or pretrained GLiNER could not be loaded (e.g. hub unreachable)."""

    def __init__(self, message: str):
        super().__init__([message])


def gliner_config_dict(model_cfg: Any) -> dict:
    """The GLiNERConfig kwargs for a new GLiNER over ``model_cfg.backbone`` (null knobs: gliner's default)."""
    cfg = {key: getattr(model_cfg, key) for key in _GLINER_CONFIG_KEYS if getattr(model_cfg, key) is not None}
    cfg["model_name"] = resolve_backbone(model_cfg.backbone)
    return cfg


def _load(model_cfg: Any):
    from gliner import GLiNER
    from huggingface_hub.errors import HFValidationError

    source = model_cfg.pretrained or model_cfg.backbone
    try:
        if model_cfg.pretrained:
            # A checkpoint fixes its own architecture; only these knobs may be changed on load.
            model = GLiNER.from_pretrained(
                model_cfg.pretrained, max_length=model_cfg.max_len, max_width=model_cfg.max_width,
                post_fusion_schema=model_cfg.post_fusion_schema,
                _attn_implementation=model_cfg.attn_implementation,
            )
            # Training-time sampling knobs, read by gliner's processor from the config at collate time.
            for key in ("max_types", "max_neg_type_ratio"):
                if getattr(model_cfg, key) is not None:
                    setattr(model.config, key, getattr(model_cfg, key))
            return model
        return GLiNER.from_config(gliner_config_dict(model_cfg))
    except (OSError, HFValidationError) as exc:
        # Hub unreachable, repo missing and malformed ids all surface here.
        key = "model.pretrained" if model_cfg.pretrained else "model.backbone"
        first_line = (str(exc).strip().splitlines() or [""])[0]
        raise ModelLoadError(
            f"{key}={source!r} could not be loaded ({exc.__class__.__name__}: {first_line}). "
            "It is neither a local directory nor reachable on the Hugging Face hub; offline, use "
            "model=minilm or model=tiny, or point the key at a local directory.") from exc


def build_model(model_cfg: Any):
    """A GLiNER ready to train: loaded, components frozen, checkpointing and compile applied."""
    model = _load(model_cfg)
    fuse_span_projection(model)
    fast_dropout.install(core(model))  # CPU training only; evaluation and saved weights are unaffected
    for component in model_cfg.freeze:
        available = freezable_components(model)
        if component not in available:
            raise ModelLoadError(f"model.freeze: {component!r} is not in this model; it has: "
                                 + ", ".join(sorted(available)))
        model.freeze_component(component)
    if model_cfg.attn_implementation:
        # gliner loads a new model's backbone with from_pretrained(model_name) and
        # drops the attention implementation from its config; set it on the backbone.
        encoder = text_encoder(model)
        encoder.set_attn_implementation(model_cfg.attn_implementation)
        if encoder.config._attn_implementation != model_cfg.attn_implementation:
            # transformers only warns when a model cannot switch; a silent no-op is a dead setting.
            raise ModelLoadError(
                f"model.attn_implementation={model_cfg.attn_implementation}: not supported by "
                f"{type(encoder).__name__}, which uses {encoder.config._attn_implementation!r}; "
                "set model.attn_implementation=null")
        model.config._attn_implementation = model_cfg.attn_implementation
    if model_cfg.gradient_checkpointing:
        # TrainingArguments(gradient_checkpointing=True) crashes on GLiNER: the
        # wrapper is not a PreTrainedModel. The backbone is, so enable it there.
        text_encoder(model).gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if model_cfg.compile:
        model.compile()
    return model
