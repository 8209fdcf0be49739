"""Checks one example against GLiNER's format and returns a normalized copy.

GLiNER fails deep inside its collator (or silently trains on garbage) when an
example is malformed, so every example is checked up front and the first bad
one is reported with its location.
"""

from typing import Any

from gliner_exp.data.errors import DataError

FORMAT_HINT = '{"tokenized_text": ["Alice", "lives", "in", "Paris"], "ner": [[0, 0, "person"], [3, 3, "city"]]}'


def _type_name(value: Any) -> str:
    """JSON-ish name of a value's type, for messages."""
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _is_int(value: Any) -> bool:
    # bool is a subclass of int, but [true, false, "x"] is certainly a mistake.
    return isinstance(value, int) and not isinstance(value, bool)


#: Optional per-example keys gliner's processor reads (``batch_generate_class_mappings``):
#: ``ner_labels`` replaces the example's prompt (its label set: no in-batch negatives, no
#: ``max_types`` cap); ``ner_negatives`` replaces the in-batch negative types with these.
LABEL_SET_KEYS = ("ner_labels", "ner_negatives")
_LABEL_SET_HINT = 'a list of non-empty label strings, e.g. ["person", "city"]'


def _check_label_list(value: Any, key: str, fail) -> list:
    """``value`` as a list of label strings (trimmed, no empties), or a DataError via ``fail``."""
    if not isinstance(value, list):
        raise fail(f"'{key}' must be {_LABEL_SET_HINT}, got {_type_name(value)} {value!r}")
    for i, label in enumerate(value):
        if not isinstance(label, str):
            raise fail(f"'{key}' item {i} must be a non-empty string ({key}: {_LABEL_SET_HINT}), "
                       f"got {_type_name(label)} {label!r}")
        if not label.strip():
            raise fail(f"'{key}' item {i} is empty ({key}: {_LABEL_SET_HINT})")
        if label != label.strip():
            raise fail(f"'{key}' item {i} {label!r}: label has leading/trailing whitespace")
    return list(value)


def check_example(example: Any, where: str) -> dict:
    """Validate one GLiNER example and return ``{"tokenized_text", "ner"}`` (+ the label-set keys).

    ``where`` is the location prefix for errors (``"path:line"``). Spans are
    inclusive word indices ``[start, end, label]``. ``ner_labels`` and
    ``ner_negatives`` (see :data:`LABEL_SET_KEYS`), when present, are kept as
    lists of label strings; every other key is dropped so downstream code sees
    one shape whatever the source file carried.
    """

    def fail(reason: str) -> DataError:
        return DataError(f"{where}: {reason}")

    if not isinstance(example, dict):
        raise fail(f"example must be a JSON object like {FORMAT_HINT}, got {_type_name(example)}")

    if "tokenized_text" not in example:
        raise fail("missing 'tokenized_text' (a non-empty list of token strings)")
    tokens = example["tokenized_text"]
    if not isinstance(tokens, list):
        raise fail(f"'tokenized_text' must be a list of token strings, got {_type_name(tokens)}")
    if not tokens:
        raise fail("'tokenized_text' is empty; an example needs at least one token")
    for i, tok in enumerate(tokens):
        if not isinstance(tok, str):
            raise fail(f"token {i} must be a non-empty string, got {_type_name(tok)} {tok!r}")
        # A blank token has no subwords, which breaks GLiNER's word/subword alignment.
        if not tok.strip():
            raise fail(f"token {i} must be a non-empty string, got {tok!r} (empty or whitespace only)")

    if "ner" not in example:
        raise fail("missing 'ner' (a list of [start, end, label] spans; use [] for no entities)")
    spans = example["ner"]
    if not isinstance(spans, list):
        raise fail(f"'ner' must be a list of [start, end, label] spans, got {_type_name(spans)}")

    n = len(tokens)
    ner = []
    for j, span in enumerate(spans):
        if not (
            isinstance(span, (list, tuple))
            and len(span) == 3
            and _is_int(span[0])
            and _is_int(span[1])
            and isinstance(span[2], str)
        ):
            raise fail(f"span {j} must be [start, end, label] with integer start/end and a string label, got {span!r}")
        start, end, label = span
        if start < 0 or end < 0:
            raise fail(f"span {j} {list(span)!r}: negative index; indices are 0..{n - 1} for {n} tokens")
        if start > end:
            raise fail(f"span {j} {list(span)!r}: start {start} > end {end} (spans are inclusive word indices)")
        if end >= n:
            raise fail(
                f"span {j} {list(span)!r}: end {end} out of range for {n} tokens "
                f"(valid indices 0..{n - 1}; end is inclusive)"
            )
        if not label.strip():
            raise fail(f"span {j} {list(span)!r}: empty label")
        # "city " and "city" would silently become two different entity types.
        if label != label.strip():
            raise fail(f"span {j} {list(span)!r}: label has leading/trailing whitespace")
        ner.append([start, end, label])

    out = {"tokenized_text": list(tokens), "ner": ner}
    for key in LABEL_SET_KEYS:
        if key in example:
            out[key] = _check_label_list(example[key], key, fail)
    if "ner_labels" in out:
        labels = out["ner_labels"]
        # gliner gives each distinct label one id but counts the list: a repeat shifts ids past the label tensor.
        dupes = sorted({label for label in labels if labels.count(label) > 1})
        if dupes:
            raise fail(f"'ner_labels' lists {dupes} more than once; list each label once")
        # gliner silently treats a span whose label is not in the prompt as no entity.
        missing = sorted({label for _, _, label in ner} - set(labels))
        if missing:
            raise fail(f"'ner_labels' {labels!r} lacks span labels {missing}; gliner would train those spans "
                       "as non-entities. Add them to 'ner_labels' (or drop 'ner_labels')")
    return out
