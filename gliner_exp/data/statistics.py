"""A JSON-able description of loaded splits, written as ``data_summary.json``."""

from collections import Counter
from typing import Any, Dict

from gliner_exp.data.splits import Splits


def summarize(splits: Splits) -> Dict[str, Any]:
    """Counts per split (examples, entities, tokens, entity-free examples, entities
    per label), plus the label set and where each split came from; a training
    mix's sources (``train_mix``) and ``data.window`` (``window``) where set."""
    per_split = {}
    for name, examples in splits.items():
        per_label = Counter(label for ex in examples for _, _, label in ex["ner"])
        per_split[name] = {
            "examples": len(examples),
            "entities": sum(per_label.values()),
            "tokens": sum(len(ex["tokenized_text"]) for ex in examples),
            "examples_without_entities": sum(1 for ex in examples if not ex["ner"]),
            # Every label listed (0 where absent) so splits compare at a glance.
            "entities_per_label": {label: per_label.get(label, 0) for label in splits.labels},
        }
    names = {key: name for key, name in splits.label_names.items() if name != key}
    out = {"labels": list(splits.labels), "label_names": names, "sources": dict(splits.sources), "splits": per_split}
    # Only where used, so a summary without a mix or windows reads as it always did.
    if splits.train_mix:
        out["train_mix"] = [{k: v for k, v in s.items() if k != "sha256"} for s in splits.train_mix]
    if splits.window is not None:
        out["window"] = dict(splits.window)
    return out
