"""The one place that reaches into gliner's private attributes and methods.

gliner is pinned (0.2.29); its internals are not API. Every access to them
goes through a function here, so an upgrade breaks this module and no other.
Nothing here imports torch at module level.
"""

from __future__ import annotations

from typing import Any, Iterable


def core(model: Any) -> Any:
    """The GLiNER ``nn.Module`` inside the wrapper (unwrapped from ``torch.compile``)."""
    inner = model.model
    return getattr(inner, "_orig_mod", inner)


def _bert_layer(model: Any) -> Any:
    return core(model).token_rep_layer.bert_layer


def text_encoder(model: Any) -> Any:
    """The Hugging Face backbone inside a GLiNER (what LoRA, freezing and checkpointing act on)."""
    return _bert_layer(model).model


def set_text_encoder(model: Any, encoder: Any) -> None:
    """Replace the Hugging Face backbone inside a GLiNER (inverse of :func:`text_encoder`)."""
    _bert_layer(model).model = encoder


def encoders(model: Any) -> list[Any]:
    """The Hugging Face backbones of a GLiNER (text encoder, and a bi-encoder's labels encoder)."""
    out = []
    token_rep = getattr(core(model), "token_rep_layer", None)
    for name in ("bert_layer", "labels_encoder"):
        backbone = getattr(getattr(token_rep, name, None), "model", None)
        if backbone is not None:
            out.append(backbone)
    return out


def freezable_components(model: Any) -> Iterable[str]:
    """The component names ``model.freeze_component`` accepts."""
    return model._get_freezable_components()


def special_tokens(model: Any) -> list[str]:
    """The tokens GLiNER adds to the backbone's vocabulary ([FLERT], <<ENT>>, <<SEP>>)."""
    return list(model._get_special_tokens())


def training_collator(model: Any) -> Any:
    """The collator gliner's own ``train_model`` would use for this model."""
    return model._create_data_collator()
