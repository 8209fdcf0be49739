"""The one place that reaches into gliner's private attributes and methods.

gliner is pinned (0.2.29); its internals are not API. Every access to them
goes through a function here, so an upgrade breaks this module and no other.
Nothing here imports torch at module level.
"""

from __future__ import annotations

from typing import Any, Iterable

from gliner_exp.model import fast_dropout


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



def _marker_hidden(marker: Any, h: Any, span_idx: Any, span_mask: Any = None) -> Any:
    """SpanMarkerV0's per-span hidden layer, ``dropout(relu(W1 [relu(start); relu(end)] + b1))``: (B, spans, 4D).

    gliner computes W1 on the concatenated endpoints of every (start, width) span:
    L x max_width rows of 2D -> 8D. W1 splits into a start half and an end half, so
    each half runs once per word and is combined per span: the same function with
    the same parameters (equal up to float rounding), at 1/max_width of the cost.
    With ``span_mask`` given and gliner's span layout (:func:`_is_span_grid`), rows
    of invalid spans are left unspecified (the caller masks their scores); without
    it, every row is computed from ``span_idx``.
    In training the dropout is :func:`~gliner_exp.model.fast_dropout.relu_dropout`.
    """
    import torch
    from gliner.modeling.span_rep import extract_elements

    dim = h.size(-1)
    first, relu, dropout, _ = marker.out_project
    # b1 joins the start half per word, not the (spans x 4D) sum: one pass over the largest tensor fewer
    start = torch.addmm(first.bias, marker.project_start(h).relu().flatten(0, 1), first.weight[:, :dim].T)
    start = start.view(*h.shape[:2], -1)
    end = marker.project_end(h).relu() @ first.weight[:, dim:].T
    if span_mask is not None and _is_span_grid(span_idx, span_mask, marker.max_width):
        hidden = _span_grid_sum(start, end, marker.max_width)
    else:
        if span_mask is not None:
            span_idx = span_idx * span_mask.unsqueeze(-1)
        hidden = extract_elements(start, span_idx[:, :, 0]) + extract_elements(end, span_idx[:, :, 1])
    if dropout.training and 0 < dropout.p < 1:
        return fast_dropout.relu_dropout(hidden, dropout.p)
    if not torch.is_grad_enabled():
        return hidden.relu_()  # evaluation: no graph needs the pre-activation
    return dropout(relu(hidden))


def _is_span_grid(span_idx: Any, span_mask: Any, width: int) -> bool:
    """Whether every valid span ``k`` is ``(k // width, k // width + k % width)``, the layout gliner's processor builds."""
    import torch

    k = torch.arange(span_idx.size(1), device=span_idx.device)
    grid = (span_idx[..., 0] == k // width) & (span_idx[..., 1] == k // width + k % width)
    return span_idx.size(1) % width == 0 and bool((grid | ~span_mask.bool()).all())


def _span_grid_sum(start: Any, end: Any, width: int) -> Any:
    """``start[i] + end[i + w]`` for every word ``i`` and width ``w`` < ``width``: (B, L * width, H).

    A strided view of ``end`` instead of two gathers: a quarter of their time,
    forward and backward. Rows whose span runs past the last word read zeros.
    """
    import torch.nn.functional as F

    batch, length, dim = end.shape
    windows = F.pad(end, (0, 0, 0, width - 1)).unfold(1, width, 1)  # (B, L, H, width)
    return (start.unsqueeze(2) + windows.transpose(2, 3)).reshape(batch, length * width, dim)


def _fused_marker_v0_forward(self: Any, h: Any, span_idx: Any) -> Any:
    batch, _, dim = h.size()
    out = self.out_project[3](_marker_hidden(self, h, span_idx))
    return out.view(batch, span_idx.size(1) // self.max_width, self.max_width, dim)


def _folded_span_model_forward(self: Any, input_ids=None, attention_mask=None, words_embedding=None, mask=None,
                               prompts_embedding=None, prompts_embedding_mask=None, words_mask=None,
                               text_lengths=None, span_idx=None, span_mask=None, labels=None,
                               return_embeddings=False, **kwargs):
    # UniEncoderSpanModel.forward, with the span layer's last Linear folded into the
    # prompts: scores = (g W2^T + b2) . p = g . (p W2) + b2 . p, so the (spans x 4D)
    # -> D projection, the largest matmul of a step once W1 runs per word, becomes a
    # (labels x D) -> 4D one. Span vectors are not formed; a caller asking for them
    # (return_embeddings) gets gliner's own forward.
    import torch
    from gliner.modeling.outputs import GLiNERBaseOutput

    if return_embeddings:
        return type(self).forward(self, input_ids, attention_mask, words_embedding, mask, prompts_embedding,
                                  prompts_embedding_mask, words_mask, text_lengths, span_idx, span_mask, labels,
                                  return_embeddings, **kwargs)
    encoder_kwargs = {key: kwargs[key] for key in ("packing_config", "pair_attention_mask", "token_lengths",
                                                   "word_lengths") if key in kwargs}
    reps = self.get_representations(input_ids, attention_mask, text_lengths, words_mask, **encoder_kwargs)
    max_width = self.config.max_width
    words, word_mask = self._fit_length(reps.words_embedding, reps.mask, span_idx.size(1) // max_width)
    marker = self.span_rep_layer.span_rep_layer
    hidden = _marker_hidden(marker, words, span_idx, span_mask)
    n_labels = reps.prompts_embedding.size(1) if labels is None else max(reps.prompts_embedding.size(1),
                                                                          labels.size(-1))
    prompts, prompts_mask = self._fit_length(reps.prompts_embedding, reps.prompts_embedding_mask, n_labels)
    prompts = self.prompt_rep_layer(prompts)
    last = marker.out_project[3]
    scores = torch.einsum("BSH,BCH->BSC", hidden, prompts @ last.weight) + (prompts @ last.bias).unsqueeze(1)
    # gliner scores an invalid span as span (0, 0) (it zeroes its indices): the same here, on
    # (spans x labels) rather than the hidden rows; the loss and the decoders mask them anyway.
    scores = torch.where(span_mask.bool().unsqueeze(-1), scores, scores[:, :1])
    scores = scores.view(words.size(0), -1, max_width, scores.size(-1))
    loss = self.loss(scores, labels, prompts_mask, span_mask, **kwargs) if labels is not None else None
    return GLiNERBaseOutput(logits=scores, loss=loss, prompts_embedding=prompts, prompts_embedding_mask=prompts_mask,
                            words_embedding=words, mask=word_mask, span_embeddings=None)


def fuse_span_projection(model: Any) -> dict:
    """Restructure a markerV0 GLiNER's span scoring for speed; the function it computes stays gliner's.

    Every markerV0 span layer runs its endpoint projection per word instead of
    per span (:func:`_marker_hidden`), and a plain uni-encoder span model also
    folds the span layer's last Linear into the label embeddings
    (:func:`_folded_span_model_forward`). Parameters and saved checkpoints are
    unchanged: a model saved from here loads into plain gliner as is. Returns
    what was done: ``{"span_layers": n, "folded": bool}``.
    """
    import types

    from gliner.modeling.base import UniEncoderSpanModel
    from gliner.modeling.span_rep import IdentityContextEncoder, SpanMarkerV0

    inner = core(model)
    fused = 0
    for module in inner.modules():
        if type(module) is SpanMarkerV0 and len(module.out_project) == 4:
            module.forward = types.MethodType(_fused_marker_v0_forward, module)
            fused += 1
    span_layer = getattr(inner, "span_rep_layer", None)
    folded = (type(inner) is UniEncoderSpanModel and type(span_layer.span_rep_layer) is SpanMarkerV0
              and fused > 0 and isinstance(span_layer.context_encoder, IdentityContextEncoder))
    if folded:
        inner.forward = types.MethodType(_folded_span_model_forward, inner)
    return {"span_layers": fused, "folded": folded}
