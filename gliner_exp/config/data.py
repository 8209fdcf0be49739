"""Schema of the ``data`` group: where examples come from, and how long texts are read."""

import difflib
import math
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Dict, Iterator, List, Optional, Tuple

from gliner_exp.config.fields import bounded, choice


@dataclass
class SyntheticDataConfig:
    """A generated NER corpus, deterministic from ``seed`` (needs nothing on disk)."""

    seed: int = 0
    n_train: int = bounded(600, 1, 1_000_000)
    n_dev: int = bounded(100, 1, 1_000_000)
    n_test: int = bounded(100, 1, 1_000_000)


@dataclass
class TrainSource:
    """One source of a training mix (an item of ``data.train``): a file and its share of the mixed set.

    ``weight`` (> 0) is the source's relative share of the mixed training set,
    as ``probabilities`` are in HF datasets' ``interleave_datasets``: weights
    ``2`` and ``1`` make two thirds of the mix from the first source. The mix
    has as many examples as the sources together; each source is up-sampled
    (every example repeated as often, the remainder a seeded sample) or
    down-sampled (a seeded sample) to its share. Deterministic from
    ``run.seed`` (:func:`gliner_exp.data.mixing.mix_sources`).
    """

    path: str = MISSING
    weight: float = MISSING


@dataclass
class DataConfig:
    """Either ``synthetic`` or file paths (GLiNER JSON/JSONL, or CoNLL/BIO).

    Relative paths are taken from the directory the command was started in.
    ``train`` is one file, or a mix of several: a list of ``{path, weight}``
    (:class:`TrainSource`; typed ``Any`` because OmegaConf has no union of a
    string and a list, checked by :func:`data_problems`).
    ``labels: null`` takes the label set from the data (train ∪ dev ∪ test; a
    mix's train: the union of its sources).
    ``label_names`` maps a label key to the words the model reads for it
    (GLiNER matches spans against the label's text: ``politicalparty`` ->
    ``political party``); ``label_names_auto`` splits the remaining keys on
    ``_``, ``-`` and camelCase. Metrics, predictions and a reloaded model use
    the keys.
    ``window: true`` reads texts longer than the model does (``model.max_len``
    words, or the tokenizer's subword limit beside the label prompt) in the
    predict verb's overlapping windows instead of letting gliner cut them: a
    long training example becomes one example per window, and dev/test texts
    are predicted per window and merged back before they are scored. A window
    is what the model reads (``max_len`` words); neighbours overlap by a
    quarter of a window and at least ``max_width`` words, gliner's widest span
    (:func:`gliner_exp.model.windowing.default_stride`). Off by default: it
    changes what a run with long texts trains and scores on.
    """

    synthetic: Optional[SyntheticDataConfig] = None
    format: str = choice("auto", "auto", "json", "jsonl", "conll")
    train: Any = field(default=None, metadata={"help": "a file, or a mix: [{path: a.jsonl, weight: 2}, ...]"})
    dev: Optional[str] = None
    test: Optional[str] = None
    labels: Optional[List[str]] = None
    label_names: Dict[str, str] = field(default_factory=dict)
    label_names_auto: bool = False
    max_train_examples: Optional[int] = bounded(None, 1, None)
    window: bool = False


SPLIT_KEYS = ("train", "dev", "test")
_SOURCE_KEYS = tuple(f.name for f in fields(TrainSource))
_SOURCE_FORM = "{path: <file>, weight: <number > 0>}"
_WEIGHT_MEANING = "a number > 0, the source's relative share of the mixed training set"


def _item(value: Any, name: str) -> Any:
    """``value[name]`` of a mapping, DictConfig or dataclass item (MISSING where it has none)."""
    if hasattr(value, "keys"):
        return value[name] if name in value.keys() else MISSING
    return getattr(value, name, MISSING)


def _is_mapping(value: Any) -> bool:
    return hasattr(value, "keys") or isinstance(value, TrainSource)


def is_mix(train: Any) -> bool:
    """Whether ``data.train`` is a list of sources rather than one path."""
    return train is not None and not isinstance(train, str) and hasattr(train, "__len__") and not _is_mapping(train)


def train_sources(train: Any) -> List[Tuple[str, str, float]]:
    """``(key, path, weight)`` of each source of a valid mix ``data.train`` (``key`` names it: ``data.train[1]``)."""
    return [(f"data.train[{i}]", str(_item(item, "path")), float(_item(item, "weight")))
            for i, item in enumerate(train)]


def _weight_problem(key: str, weight: Any) -> Optional[str]:
    if weight is MISSING or weight is None:
        return f"{key}: required ({_WEIGHT_MEANING})"
    number = weight
    if isinstance(weight, str):  # a YAML/command-line "2" or "2.5" arrives as a string only when quoted
        try:
            number = float(weight)
        except ValueError:
            number = None
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        return f"{key}: {weight!r} is not a number; allowed: {_WEIGHT_MEANING}"
    if not math.isfinite(number) or number <= 0:
        return f"{key}: {weight!r} is out of range; allowed: {_WEIGHT_MEANING}"
    return None


def _source_problems(i: int, item: Any) -> List[str]:
    key = f"data.train[{i}]"
    if not _is_mapping(item):
        return [f"{key}: must be a mapping {_SOURCE_FORM}, got {item!r}"]
    out = []
    names = list(item.keys()) if hasattr(item, "keys") else list(_SOURCE_KEYS)
    for name in names:
        if name not in _SOURCE_KEYS:
            hint = difflib.get_close_matches(str(name), _SOURCE_KEYS, n=1)
            did = f" (did you mean '{key}.{hint[0]}'?)" if hint else ""
            out.append(f"{key}.{name}: unknown key{did}; allowed: {', '.join(_SOURCE_KEYS)}")
    path = _item(item, "path")
    if path is MISSING or path is None:
        out.append(f"{key}.path: required (the source's file: json, jsonl or CoNLL)")
    elif not isinstance(path, str) or not path.strip():
        out.append(f"{key}.path: must be a file path, got {path!r}")
    problem = _weight_problem(f"{key}.weight", _item(item, "weight"))
    if problem:
        out.append(problem)
    return out


def train_problems(train: Any) -> List[str]:
    """What is wrong with ``data.train``'s shape: a path, null, or a non-empty list of :class:`TrainSource` mappings."""
    if train is None or isinstance(train, str):
        return []
    if not is_mix(train):
        return [f"data.train: must be a file path or a list of {_SOURCE_FORM}, got {train!r}"]
    if not len(train):
        return [f"data.train: empty list; give a file path or a list of {_SOURCE_FORM}"]
    return [problem for i, item in enumerate(train) for problem in _source_problems(i, item)]


def data_problems(data: Any) -> List[str]:
    """What is wrong with the ``data`` section beyond each field's own type: the shape of ``train``.

    ``train`` must be a path or a non-empty list of :class:`TrainSource`
    mappings; each bad key of each bad item is named (``data.train[1].weight``).
    """
    return train_problems(data.train)


def data_files(data: Any) -> Iterator[Tuple[str, Any]]:
    """``(key, raw path)`` of every file the ``data`` section names: each split, each source of a mix.

    A malformed ``train`` and the malformed items of a mix are left out
    (:func:`data_problems` names them, once).
    """
    for split in SPLIT_KEYS:
        raw = data[split] if hasattr(data, "keys") else getattr(data, split)
        if raw is None:
            continue
        if split == "train" and is_mix(raw):
            for i, item in enumerate(raw):
                path = _item(item, "path") if _is_mapping(item) else MISSING
                if isinstance(path, str) and path.strip():
                    yield f"data.train[{i}].path", path
        elif split == "train" and train_problems(raw):
            continue
        else:
            yield f"data.{split}", raw
