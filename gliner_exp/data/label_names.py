"""Label keys (what the data and the metrics say) and label names (the words the model reads).

GLiNER scores a span against the text of its label, so ``politicalparty``
teaches less than ``political party``. A run trains and decodes with the
names, and maps every prediction back to its key.
"""

from __future__ import annotations

import re
from typing import Dict, List, Mapping, Sequence

from gliner_exp.data.errors import DataError

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def split_words(key: str) -> str:
    """``person_name``, ``person-name`` and ``personName`` read as ``person name``."""
    return " ".join(_CAMEL.sub(" ", key).replace("_", " ").replace("-", " ").split()).lower() or key


def resolve_label_names(labels: Sequence[str], explicit: Mapping[str, str], auto: bool) -> Dict[str, str]:
    """Key -> name for every label: ``explicit`` first, then the split key (``auto``) or the key itself.

    Raises :class:`DataError` for a mapped key that is not a label, an empty
    name, or two keys given the same name (their predictions could not be told apart).
    """
    unknown = sorted(set(explicit) - set(labels))
    if unknown:
        raise DataError(f"data.label_names: keys {unknown} are not labels of the data (labels: {list(labels)})")
    names = {key: str(explicit.get(key, split_words(key) if auto else key)).strip() for key in labels}
    empty = sorted(key for key, name in names.items() if not name)
    if empty:
        raise DataError(f"data.label_names: empty name for {empty}")
    by_name: Dict[str, List[str]] = {}
    for key, name in names.items():
        by_name.setdefault(name, []).append(key)
    clashes = {name: keys for name, keys in by_name.items() if len(keys) > 1}
    if clashes:
        raise DataError(f"data.label_names: several labels get the same name: {clashes}; give each its own")
    return names


def rename_examples(examples: Sequence[dict], names: Mapping[str, str]) -> List[dict]:
    """Copies of ``examples`` whose spans (and ``ner_labels`` / ``ner_negatives``) carry names, not keys."""
    if all(key == name for key, name in names.items()):
        return list(examples)
    out = []
    for ex in examples:
        new = dict(ex, ner=[[s, e, names.get(label, label)] for s, e, label in ex["ner"]])
        for extra in ("ner_labels", "ner_negatives"):
            if extra in ex:
                new[extra] = [names.get(label, label) for label in ex[extra]]
        out.append(new)
    return out
