"""What a training run would see in its data, and what gliner would silently lose (no torch).

A GLiNER-aware ``spacy debug data``: counts per label and split, entity-free
examples, labels dev/test have that train never shows, train/dev and
train/test overlap (identical token sequences), texts longer than
``model.max_len`` words and spans wider than ``model.max_width`` (gliner cuts
the first and drops the second without a word, processor.preprocess_example),
and what ``data.max_train_examples`` cuts; a training mix's examples per
source. The subword truncation check needs the model's tokenizer and lives in
:mod:`gliner_exp.model.truncation`, as does ``data.window`` (train cut into
windows); their results are passed in here as plain data. With ``data.window``
on, dev/test texts over the limits are evaluated in windows, which is said,
not flagged.

Every finding is ``{"kind", "split", "harmful", "message", ...}``; harmful
ones are what training warns about.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Dict, List, Mapping, Optional, Sequence

from gliner_exp.data.splits import Splits

#: How many example indices a finding lists (the counts are always complete).
SHOWN = 10


def _label_counts(examples: Sequence[dict]) -> Counter:
    return Counter(label for ex in examples for _, _, label in ex["ner"])


def split_counts(examples: Sequence[dict], labels: Sequence[str]) -> Dict[str, Any]:
    """Examples, entities, entity-free examples, longest text and entities per label (every label listed)."""
    per_label = _label_counts(examples)
    return {
        "examples": len(examples),
        "entities": sum(per_label.values()),
        "examples_without_entities": sum(1 for ex in examples if not ex["ner"]),
        "max_words": max((len(ex["tokenized_text"]) for ex in examples), default=0),
        "entities_per_label": {label: per_label.get(label, 0) for label in labels},
    }


def unseen_labels(train: Sequence[dict], other: Sequence[dict]) -> Dict[str, int]:
    """Labels of ``other``'s spans that no train span has, with their counts (sorted by label)."""
    seen = set(_label_counts(train))
    counts = _label_counts(other)
    return {label: counts[label] for label in sorted(counts) if label not in seen}


def overlap(train: Sequence[dict], other: Sequence[dict]) -> List[int]:
    """Indices of ``other``'s examples whose token sequence is exactly one of train's."""
    seen = {tuple(ex["tokenized_text"]) for ex in train}
    return [i for i, ex in enumerate(other) if tuple(ex["tokenized_text"]) in seen]


def too_wide_spans(examples: Sequence[dict], max_width: int) -> Dict[str, Any]:
    """Spans of more than ``max_width`` words: gliner enumerates no such span, so it never learns or predicts them."""
    per_label: Counter = Counter()
    indices, widest = [], 0
    for i, ex in enumerate(examples):
        wide = [(s, e, label) for s, e, label in ex["ner"] if e - s + 1 > max_width]
        if wide:
            indices.append(i)
            per_label.update(label for _, _, label in wide)
            widest = max(widest, *(e - s + 1 for s, e, _ in wide))
    return {"spans": sum(per_label.values()), "examples": len(indices), "widest": widest,
            "per_label": dict(sorted(per_label.items())), "indices": indices[:SHOWN]}


def word_truncation(examples: Sequence[dict], max_len: int) -> Dict[str, Any]:
    """Texts over ``max_len`` words: gliner keeps ``tokenized_text[:max_len]``, so spans ending past it are lost."""
    indices, lost, longest = [], 0, 0
    for i, ex in enumerate(examples):
        n = len(ex["tokenized_text"])
        if n > max_len:
            indices.append(i)
            longest = max(longest, n)
            lost += sum(1 for _, e, _ in ex["ner"] if e >= max_len)
    return {"examples": len(indices), "entities_lost": lost, "longest": longest, "indices": indices[:SHOWN]}


def train_cap(full_train: Sequence[dict], cap: Optional[int], kept_labels: Sequence[str]) -> Optional[Dict[str, Any]]:
    """What ``data.max_train_examples`` cuts from train: examples, entities per label, labels train no longer has."""
    if cap is None:
        return None
    cut = full_train[cap:]
    per_label = _label_counts(cut)
    kept = set(_label_counts(full_train[:cap]))
    return {"max_train_examples": cap, "examples_before": len(full_train), "examples_cut": len(cut),
            "entities_cut": sum(per_label.values()), "entities_cut_per_label": dict(sorted(per_label.items())),
            # gone from train; still in the label set only where dev/test (or data.labels) have them
            "labels_lost": sorted(set(per_label) - kept),
            "labels_lost_from_label_set": sorted(set(per_label) - kept - set(kept_labels))}


def _shown(indices: Sequence[int], total: int) -> str:
    more = f", ... ({total} in all)" if total > len(indices) else ""
    return ", ".join(f"#{i}" for i in indices) + more


def _label_list(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{label} ({n})" for label, n in counts.items())


def findings(report: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """The report's findings, harmful first, each with a one-line ``message``."""
    out: List[Dict[str, Any]] = []

    def add(kind: str, split: str, harmful: bool, message: str) -> None:
        out.append({"kind": kind, "split": split, "harmful": harmful, "message": message})

    limits = report["limits"]
    window = report.get("window")
    for split, found in report["unseen_labels"].items():
        if found:
            # Dev labels train never shows skew model selection and threshold tuning; on test
            # they may be a deliberate zero-shot evaluation, so only dev is flagged as harmful.
            add("unseen_labels", split, split == "dev",
                f"{split}: {len(found)} label(s) never seen in train: {_label_list(found)}")
    for split, info in report["overlap"].items():
        if info["examples"]:
            add("overlap", split, True,
                f"train/{split} overlap: {info['examples']} {split} example(s) have exactly the tokens of a "
                f"train example ({split} {_shown(info['indices'], info['examples'])})")
    # Training with data.window never sees a long text (it became windows); dev/test are evaluated in windows.
    windowed = window is not None
    hint = "" if windowed else "; data.window={} reads every word, in windows"
    for split, info in report["word_truncation"].items():
        if info["examples"] and windowed:
            add("windowed_eval", split, False,
                f"{split}: {info['examples']} text(s) longer than model.max_len={limits['max_len']} words "
                f"(longest {info['longest']}) are evaluated in data.window's windows, merged back")
        elif info["examples"]:
            add("word_truncation", split, True,
                f"{split}: {info['examples']} text(s) longer than model.max_len={limits['max_len']} words "
                f"(longest {info['longest']}): gliner keeps the first {limits['max_len']} words, "
                f"{info['entities_lost']} entit(ies) past the cut are lost ({_shown(info['indices'], info['examples'])})"
                f"{hint}")
    sub = report.get("subword_truncation") or {}
    for split, info in (sub.get("splits") or {}).items():
        if info["examples"] and windowed and split != "train":
            add("windowed_eval", split, False,
                f"{split}: {info['examples']} text(s) over the tokenizer's {sub['limit']} subwords with the label "
                "prompt are evaluated in data.window's windows, merged back")
        elif info["examples"]:
            add("subword_truncation", split, True,
                f"{split}: {info['examples']} text(s) exceed the tokenizer's {sub['limit']} subwords with the "
                f"{sub['prompt_subwords']}-subword label prompt (longest {info['longest']}): words past the cut get "
                f"no embedding, {info['entities_lost']} entit(ies) there are lost "
                f"({_shown(info['indices'], info['examples'])}){hint}")
    trained = (window or {}).get("train")
    if trained and trained["spans_lost"]:
        add("window_spans_lost", "train", True,
            f"train: {trained['spans_lost']} span(s) lie in no window whole (data.window size {window['size']}, "
            f"stride {window['stride']}: {window['size'] - window['stride']} words of overlap): they are lost; "
            "a smaller data.window.stride keeps them")
    if trained and trained["examples_windowed"]:
        add("windowed_train", "train", False,
            f"train: {trained['examples_windowed']} long example(s) became {trained['windows']} window examples "
            f"(data.window size {window['size']}, stride {window['stride']})")
    for split, info in report["too_wide_spans"].items():
        if info["spans"]:
            add("too_wide_spans", split, True,
                f"{split}: {info['spans']} span(s) wider than model.max_width={limits['max_width']} words "
                f"(widest {info['widest']}; {_label_list(info['per_label'])}): gliner drops them "
                f"({_shown(info['indices'], info['examples'])})")
    if sub.get("skipped"):
        add("subword_truncation_skipped", "", False, f"subword truncation not checked: {sub['skipped']}")
    for split, counts in report["splits"].items():
        if counts["examples_without_entities"]:
            add("examples_without_entities", split, False,
                f"{split}: {counts['examples_without_entities']} of {counts['examples']} example(s) have no entities")
    for source in report.get("train_mix") or []:
        if source["mixed"] == 0:
            add("train_mix_empty", "train", True,
                f"{source['key']}: weight {source['weight']:g} gives it no example of the mixed training set "
                f"({source['examples']} read); raise its weight or drop it")
    cap = report.get("train_cap")
    if cap and cap["examples_cut"]:
        lost = f"; labels no longer in train: {', '.join(cap['labels_lost'])}" if cap["labels_lost"] else ""
        add("train_cap", "train", False,
            f"data.max_train_examples={cap['max_train_examples']} cuts {cap['examples_cut']} of "
            f"{cap['examples_before']} train example(s) ({cap['entities_cut']} entities){lost}")
    out.sort(key=lambda f: not f["harmful"])
    return out


def inspect_splits(splits: Splits, max_len: int, max_width: int, full_train: Optional[Sequence[dict]] = None,
                   cap: Optional[int] = None, subword: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """The JSON-able inspection report of ``splits`` (as training sees them) under gliner's limits.

    ``full_train`` is train before ``data.max_train_examples`` (``cap``) cut it;
    ``subword`` is :func:`gliner_exp.model.truncation.subword_truncation`'s
    result (or ``{"skipped": reason}``). Splits that were not configured are left out.
    ``train_mix`` lists a mix's sources (examples read and in the mix), ``window``
    what :func:`gliner_exp.model.truncation.window_splits` applied (None: off).
    """
    present = [(name, examples) for name, examples in splits.items() if name == "train" or name in splits.sources]
    report: Dict[str, Any] = {
        "labels": list(splits.labels),
        "label_names": {k: v for k, v in splits.label_names.items() if k != v},
        "sources": dict(splits.sources),
        "train_mix": [{k: v for k, v in s.items() if k != "sha256"} for s in splits.train_mix],
        "window": dict(splits.window) if splits.window is not None else None,
        "limits": {"max_len": max_len, "max_width": max_width},
        "splits": {name: split_counts(examples, splits.labels) for name, examples in present},
        "unseen_labels": {name: unseen_labels(splits.train, examples) for name, examples in present if name != "train"},
        "overlap": {},
        "word_truncation": {name: word_truncation(examples, max_len) for name, examples in present},
        "too_wide_spans": {name: too_wide_spans(examples, max_width) for name, examples in present},
        "subword_truncation": dict(subword) if subword is not None else {"skipped": "not requested"},
        "train_cap": train_cap(full_train, cap, splits.labels) if full_train is not None else None,
    }
    for name, examples in present:
        if name != "train":
            found = overlap(splits.train, examples)
            report["overlap"][name] = {"examples": len(found), "indices": found[:SHOWN]}
    report["findings"] = findings(report)
    report["harmful"] = sum(1 for f in report["findings"] if f["harmful"])
    return report
