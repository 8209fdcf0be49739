"""Decoding a GLiNER into word spans, and the decoding settings saved beside a trained model.

A run trains with label *names* (:mod:`gliner_exp.data.label_names`) and
tunes its threshold on dev; both travel with the model in
``gliner_exp_inference.json``, so a reload predicts the original label keys
with the tuned threshold (:func:`load_model`). :func:`predict_documents`
predicts texts of any length (windows of :mod:`gliner_exp.model.windowing`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from gliner_exp.model.subwords import Subwords
from gliner_exp.model.truncation import GLINER_DEFAULTS
from gliner_exp.model.windowing import merge_windows, split_words, window_shape, windows

SETTINGS_FILE = "gliner_exp_inference.json"


@dataclass
class InferenceSettings:
    """How a saved model is meant to be decoded: threshold, flat spans, label keys and their names."""

    threshold: float
    flat_ner: bool
    labels: List[str]
    label_names: Dict[str, str] = field(default_factory=dict)

    def save(self, model_dir: str | Path) -> Path:
        """Write ``gliner_exp_inference.json`` into ``model_dir``."""
        path = Path(model_dir) / SETTINGS_FILE
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        return path

    @classmethod
    def load(cls, model_dir: str | Path) -> "InferenceSettings":
        """The settings saved in ``model_dir`` (a ``FileNotFoundError`` names the file if absent)."""
        return cls(**json.loads((Path(model_dir) / SETTINGS_FILE).read_text()))


def _load_fused(model_dir: str | Path, strict: bool) -> Any:
    from gliner import GLiNER

    from gliner_exp.model.gliner_internals import fuse_span_projection

    model = GLiNER.from_pretrained(str(model_dir), strict=strict)
    fuse_span_projection(model)
    return model


def load_model(model_dir: str | Path) -> tuple[Any, InferenceSettings]:
    """A saved gliner_exp model and its decoding settings: ``predict_spans(model, examples, **settings_kwargs)``."""
    return _load_fused(model_dir, strict=True), InferenceSettings.load(model_dir)


def load_for_prediction(model_dir: str | Path) -> tuple[Any, InferenceSettings | None]:
    """Any saved GLiNER (for predict and evaluate) and, where it is a gliner_exp model, its decoding settings (else None)."""
    if (Path(model_dir) / SETTINGS_FILE).is_file():
        return load_model(model_dir)
    return _load_fused(model_dir, strict=False), None


def _as_tuple(span: Any) -> tuple:
    """``(start, end, label, score)`` of a decoded gliner span (a ``Span`` or a tuple)."""
    if hasattr(span, "entity_type"):
        return span.start, span.end, span.entity_type, float(getattr(span, "score", 0.0) or 0.0)
    return tuple(span[:3]) + (float(span[3]) if len(span) > 3 else 0.0,)


def predict_scored_at(model: Any, examples: Sequence[dict], labels: Sequence[str], thresholds: Sequence[float],
                      flat_ner: bool, batch_size: int,
                      label_names: Mapping[str, str] | None = None) -> Dict[float, List[List[tuple]]]:
    """Predicted ``(start, end, label_key, score)`` word spans (inclusive ``end``) per example, for each threshold.

    One forward pass per batch serves every threshold (decoding is what the
    threshold changes). Batches are formed from length-sorted examples (less
    padding); results come back in the input order.
    """
    import torch

    names = {key: (label_names or {}).get(key, key) for key in labels}
    keys = {name: key for key, name in names.items()}
    entity_types = [names[key] for key in labels]
    order = sorted(range(len(examples)), key=lambda i: len(examples[i]["tokenized_text"]))
    collator = model.create_collator()
    loader = torch.utils.data.DataLoader([examples[i] for i in order], batch_size=batch_size, shuffle=False,
                                         collate_fn=lambda batch: model.collate_batch(batch, entity_types, collator))
    decoded: Dict[float, list] = {t: [] for t in thresholds}
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for batch in loader:
                out = model.run_batch(batch, threshold=min(thresholds))
                for t in thresholds:
                    decoded[t].extend(model.decode_batch(out, batch, threshold=t, flat_ner=flat_ner,
                                                         multi_label=False))
    finally:
        model.train(was_training)
    result = {}
    for t, spans in decoded.items():
        by_input: list = [None] * len(examples)
        for position, i in enumerate(order):
            by_input[i] = [(s, e, keys.get(label, label), score) for s, e, label, score in map(_as_tuple, spans[position])]
        result[t] = by_input
    return result


def predict_spans_at(model: Any, examples: Sequence[dict], labels: Sequence[str], thresholds: Sequence[float],
                     flat_ner: bool, batch_size: int,
                     label_names: Mapping[str, str] | None = None) -> Dict[float, List[List[tuple]]]:
    """Predicted ``(start, end, label_key)`` word spans per example, for each threshold (see :func:`predict_scored_at`)."""
    scored = predict_scored_at(model, examples, labels, thresholds, flat_ner, batch_size, label_names)
    return {t: [[span[:3] for span in spans] for spans in by_input] for t, by_input in scored.items()}


def predict_spans(model: Any, examples: Sequence[dict], labels: Sequence[str], threshold: float, flat_ner: bool,
                  batch_size: int, label_names: Mapping[str, str] | None = None) -> List[List[tuple]]:
    """Predicted ``(start, end, label_key)`` word spans for each example at one threshold."""
    return predict_spans_at(model, examples, labels, [threshold], flat_ner, batch_size, label_names)[threshold]


# --------------------------------------------------------------------------- whole texts, any length
def split_text(model: Any, text: str) -> List[Tuple[str, int, int]]:
    """``(word, start, end)`` of ``text`` as the model's own words splitter cuts it (character offsets)."""
    splitter = getattr(getattr(model, "data_processor", None), "words_splitter", None)
    if splitter is None:
        return split_words(text)
    return [(word, start, end) for word, start, end in splitter(text)]


def predict_documents_at(model: Any, documents: Sequence[Sequence[str]], labels: Sequence[str],
                         thresholds: Sequence[float], flat_ner: bool, batch_size: int,
                         label_names: Mapping[str, str] | None = None, window_size: Optional[int] = None,
                         stride: Optional[int] = None) -> Dict[float, List[List[Tuple[int, int, str, float]]]]:
    """Whole-text spans of each word list, any length, for each threshold (see :func:`predict_documents`).

    One forward pass per batch of windows serves every threshold; each
    threshold's window spans are merged on their own.
    """
    max_len = int(getattr(model.config, "max_len", None) or GLINER_DEFAULTS["max_len"])
    max_width = int(getattr(model.config, "max_width", None) or GLINER_DEFAULTS["max_width"])
    size, step = window_shape(window_size, stride, max_len, max_width)
    names = {key: (label_names or {}).get(key, key) for key in labels}
    subwords = Subwords.from_model(model)
    if subwords is None:  # the tokenizer never truncates: windows of words alone
        budget, costs = None, [None] * len(documents)
    else:
        prompt = subwords.prompt([names[key] for key in labels])
        measured = subwords.measure(documents, [prompt] * len(documents))
        budget = max(1, subwords.budget(measured[0][0])) if measured else None
        costs = [cost for _, cost in measured]
    plans = [windows(len(words), size, step, cost, budget) for words, cost in zip(documents, costs)]
    examples = [{"tokenized_text": list(words[a:b]), "ner": []}
                for words, plan in zip(documents, plans) for a, b in plan]
    scored = predict_scored_at(model, examples, labels, thresholds, flat_ner, batch_size, label_names) \
        if examples else {t: [] for t in thresholds}
    out: Dict[float, List[List[Tuple[int, int, str, float]]]] = {}
    for t, spans in scored.items():
        out[t], at = [], 0
        for words, plan in zip(documents, plans):
            out[t].append(merge_windows(list(zip(plan, spans[at:at + len(plan)])), len(words), flat_ner))
            at += len(plan)
    return out


def predict_documents(model: Any, documents: Sequence[Sequence[str]], labels: Sequence[str], threshold: float,
                      flat_ner: bool, batch_size: int, label_names: Mapping[str, str] | None = None,
                      window_size: Optional[int] = None, stride: Optional[int] = None
                      ) -> List[List[Tuple[int, int, str, float]]]:
    """``(start, end, label_key, score)`` whole-text word spans (inclusive ``end``) of each word list, any length.

    A document longer than ``window_size`` words (default: the model's
    ``max_len``), or than the tokenizer's subword limit beside the label prompt
    (:class:`~gliner_exp.model.subwords.Subwords`), is predicted in
    overlapping windows ``stride`` words apart (default:
    :func:`~gliner_exp.model.windowing.default_stride`), merged back by
    :func:`~gliner_exp.model.windowing.merge_windows`: nothing is truncated.
    All windows of all documents are batched together, length-sorted.
    """
    return predict_documents_at(model, documents, labels, [threshold], flat_ner, batch_size, label_names,
                                window_size, stride)[threshold]


def predict_examples_at(model: Any, examples: Sequence[dict], labels: Sequence[str], thresholds: Sequence[float],
                        flat_ner: bool, batch_size: int, label_names: Mapping[str, str] | None = None,
                        window: Mapping[str, Any] | None = None) -> Dict[float, List[List[tuple]]]:
    """``(start, end, label_key)`` spans per example for each threshold: as gliner reads them (``window`` None,
    texts past its limits cut), or each text whole in windows (``window``: ``{"size", "stride"}``, either None)."""
    if window is None:
        return predict_spans_at(model, examples, labels, thresholds, flat_ner, batch_size, label_names)
    scored = predict_documents_at(model, [ex["tokenized_text"] for ex in examples], labels, thresholds, flat_ner,
                                  batch_size, label_names, window.get("size"), window.get("stride"))
    return {t: [[span[:3] for span in spans] for spans in by_example] for t, by_example in scored.items()}
