"""Decoding a GLiNER into word spans, and the decoding settings saved beside a trained model.

A run trains with label *names* (:mod:`gliner_exp.data.label_names`) and
tunes its threshold on dev; both travel with the model in
``gliner_exp_inference.json``, so a reload predicts the original label keys
with the tuned threshold (:func:`load_model`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence

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


def load_model(model_dir: str | Path) -> tuple[Any, InferenceSettings]:
    """A saved gliner_exp model and its decoding settings: ``predict_spans(model, examples, **settings_kwargs)``."""
    from gliner import GLiNER

    return GLiNER.from_pretrained(str(model_dir), strict=True), InferenceSettings.load(model_dir)


def _as_tuple(span: Any) -> tuple:
    return (span.start, span.end, span.entity_type) if hasattr(span, "entity_type") else tuple(span[:3])


def predict_spans_at(model: Any, examples: Sequence[dict], labels: Sequence[str], thresholds: Sequence[float],
                     flat_ner: bool, batch_size: int,
                     label_names: Mapping[str, str] | None = None) -> Dict[float, List[List[tuple]]]:
    """Predicted ``(start, end, label_key)`` word spans per example, for each threshold.

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
        by_input = [None] * len(examples)
        for position, i in enumerate(order):
            by_input[i] = [(s, e, keys.get(label, label)) for s, e, label in map(_as_tuple, spans[position])]
        result[t] = by_input
    return result


def predict_spans(model: Any, examples: Sequence[dict], labels: Sequence[str], threshold: float, flat_ner: bool,
                  batch_size: int, label_names: Mapping[str, str] | None = None) -> List[List[tuple]]:
    """Predicted ``(start, end, label_key)`` word spans for each example at one threshold."""
    return predict_spans_at(model, examples, labels, [threshold], flat_ner, batch_size, label_names)[threshold]
