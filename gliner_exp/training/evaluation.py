"""Entity-level precision/recall/F1 of a GLiNER on gold examples.

Always scored against the full label set (``model.evaluate()`` without
``entity_types`` would score against a random label subset).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Sequence

from gliner_exp.model.gliner_internals import decode_batches


def _prf(tp: int, n_pred: int, n_gold: int) -> dict:
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": n_gold}


def score_spans(gold: Iterable[Sequence], pred: Iterable[Sequence], labels: Sequence[str]) -> dict:
    """Micro P/R/F1 and per-label scores from per-example sets of ``(start, end, label)``."""
    tp, n_pred, n_gold = Counter(), Counter(), Counter()
    for gold_spans, pred_spans in zip(gold, pred, strict=True):
        g = {tuple(s) for s in gold_spans}
        p = {tuple(s) for s in pred_spans}
        for s in g:
            n_gold[s[2]] += 1
        for s in p:
            n_pred[s[2]] += 1
        for s in g & p:
            tp[s[2]] += 1
    scores = _prf(sum(tp.values()), sum(n_pred.values()), sum(n_gold.values()))
    scores["per_label"] = {label: _prf(tp[label], n_pred[label], n_gold[label]) for label in labels}
    return scores


def predict_spans(model: Any, examples: list[dict], labels: Sequence[str], threshold: float,
                  flat_ner: bool, batch_size: int) -> list[list[tuple]]:
    """Predicted ``(start, end, label)`` word spans for each example."""
    import torch

    was_training = model.training
    model.eval()
    collator = model.create_collator()
    entity_types = list(labels)

    def collate(batch):
        return model.collate_batch(batch, entity_types, collator)

    loader = torch.utils.data.DataLoader(examples, batch_size=batch_size, shuffle=False, collate_fn=collate)
    try:
        decoded = decode_batches(model, loader, threshold, flat_ner)
    finally:
        model.train(was_training)
    return [[(s.start, s.end, s.entity_type) if hasattr(s, "entity_type") else tuple(s[:3]) for s in spans]
            for spans in decoded]


def flatten_scores(scores: dict, prefix: str) -> dict:
    """``{prefix}_f1``, ``{prefix}_precision``, ... and ``{prefix}_f1_<label>`` as flat floats."""
    flat = {f"{prefix}_{k}": float(scores[k]) for k in ("f1", "precision", "recall") if k in scores}
    for label, s in scores.get("per_label", {}).items():
        flat[f"{prefix}_f1_{label}"] = float(s["f1"])
    return flat


class F1Evaluator:
    """Scores a model on fixed examples against the full label set (used at every eval interval)."""

    def __init__(self, examples: list[dict], labels: Sequence[str], threshold: float, flat_ner: bool,
                 batch_size: int):
        self.examples, self.labels = examples, list(labels)
        self.threshold, self.flat_ner, self.batch_size = threshold, flat_ner, batch_size
        self.last_predictions: list[list[tuple]] = []

    def __call__(self, model: Any) -> dict:
        self.last_predictions = predict_spans(model, self.examples, self.labels, self.threshold, self.flat_ner,
                                              self.batch_size)
        gold = [[(s, e, lab) for s, e, lab in ex["ner"]] for ex in self.examples]
        return score_spans(gold, self.last_predictions, self.labels)

    def settings(self) -> dict:
        """What decides the score besides the model (for logs and inspection)."""
        return {"n_examples": len(self.examples), "labels": self.labels, "threshold": self.threshold,
                "flat_ner": self.flat_ner, "batch_size": self.batch_size}
