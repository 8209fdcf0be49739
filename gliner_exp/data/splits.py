"""Turn a ``data`` config into validated train/dev/test splits and a label set."""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from gliner_exp.config.data import is_mix, train_problems, train_sources
from gliner_exp.config.paths import file_problem, resolved_path
from gliner_exp.data.errors import DataError
from gliner_exp.data.formats import read_examples
from gliner_exp.data.label_names import resolve_label_names
from gliner_exp.data.mixing import mix_sources
from gliner_exp.data.synthetic import generate_synthetic

SPLITS = ("train", "dev", "test")


@dataclass
class Splits:
    """Loaded data. ``sources`` maps each loaded split to ``"synthetic(seed=N)"``
    or its resolved file path; a split that was not configured (dev/test) is an
    empty list and has no ``sources`` entry."""

    train: List[dict]
    dev: List[dict] = field(default_factory=list)
    test: List[dict] = field(default_factory=list)
    labels: List[str] = field(default_factory=list)
    #: label key -> the words the model reads for it (the key itself unless data.label_names says otherwise)
    label_names: Dict[str, str] = field(default_factory=dict)
    sources: Dict[str, str] = field(default_factory=dict)
    #: A training mix (``data.train`` a list), per source: ``key`` (``data.train[i]``), ``path``, ``weight``,
    #: ``examples`` (as read), ``mixed`` (in the mixed set), ``sha256`` (of the examples as read). [] for one file.
    train_mix: List[Dict[str, Any]] = field(default_factory=list)
    #: ``data.window`` on: ``{"size", "stride"}`` for the model layer to resolve and apply (None: off).
    window: Optional[Dict[str, Any]] = None

    def items(self):
        """``(name, examples)`` for train, dev and test, in that order."""
        return [(name, getattr(self, name)) for name in SPLITS]


def _get(cfg: Any, name: str, default: Any = None) -> Any:
    # Works for the DataConfig dataclass and for a (struct-mode) DictConfig,
    # whose missing keys raise an AttributeError subclass.
    return getattr(cfg, name, default)


def _load_synthetic(cfg: Any, syn: Any) -> Splits:
    for name in SPLITS:
        if _get(cfg, name) is not None:
            raise DataError(
                f"data.{name}: must be null when data.synthetic is set (got {_get(cfg, name)!r}); "
                "use either synthetic data or files, not both"
            )
    seed = _get(syn, "seed", 0)
    counts = {f"n_{s}": _get(syn, f"n_{s}") for s in SPLITS}
    data = generate_synthetic(seed, **counts)
    source = f"synthetic(seed={seed})"
    return Splits(**data, sources={name: source for name in SPLITS})


def _read_file(key: str, raw: Any, fmt: str, base_dir: Path) -> tuple[List[dict], Path]:
    # Worded as the config check words it (which reports it with every other problem first).
    problem = file_problem(key, raw, base_dir)
    if problem is not None:
        raise DataError(problem)
    path = resolved_path(raw, base_dir)
    return read_examples(path, fmt, key=key), path


def _load_mix(raw: Any, fmt: str, base_dir: Path, seed: int
              ) -> tuple[List[dict], str, List[Dict[str, Any]], List[dict]]:
    """A ``data.train`` list: the mixed set, its ``sources`` entry, the per-source record, the sources in full."""
    shape = train_problems(raw)
    if shape:  # the config check reports these with everything else; a direct caller gets the first
        raise DataError(shape[0])
    read, record, seen = [], [], {}
    for key, path_raw, weight in train_sources(raw):
        examples, path = _read_file(f"{key}.path", path_raw, fmt, base_dir)
        if path in seen:
            raise DataError(f"{key}.path: the same file as {seen[path]}.path ({path}); list each file once "
                            "and give it the summed weight")
        seen[path] = key
        read.append(examples)
        record.append({"key": key, "path": str(path), "weight": weight, "examples": len(examples),
                       "sha256": _digest(examples)})
    mixed, counts = mix_sources(read, [r["weight"] for r in record], seed)
    for entry, count in zip(record, counts):
        entry["mixed"] = count
    source = "mix of " + ", ".join(f"{r['path']} (weight {r['weight']:g})" for r in record)
    return mixed, source, record, [ex for examples in read for ex in examples]


def _load_files(cfg: Any, base_dir: Path, seed: int) -> tuple[Splits, Optional[List[dict]]]:
    """The file splits, and a training mix's sources in full (None for one train file)."""
    if _get(cfg, "train") is None:
        raise DataError("data.train: required; set it to a file path (json, jsonl or CoNLL) or set data.synthetic")
    fmt = _get(cfg, "format", "auto") or "auto"
    loaded: Dict[str, List[dict]] = {}
    sources: Dict[str, str] = {}
    mix: List[Dict[str, Any]] = []
    pool = None
    for name in SPLITS:
        raw = _get(cfg, name)
        if raw is None:
            continue
        if name == "train" and is_mix(raw):
            loaded[name], sources[name], mix, pool = _load_mix(raw, fmt, base_dir, seed)
            continue
        loaded[name], path = _read_file(f"data.{name}", raw, fmt, base_dir)
        sources[name] = str(path)
    return Splits(**loaded, sources=sources, train_mix=mix), pool


def _digest(examples: List[dict]) -> str:
    text = json.dumps(examples, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _window(cfg: Any) -> Optional[Dict[str, Any]]:
    # The predict verb's window settings, left to the model's defaults (its max_len, default_stride).
    return {"size": None, "stride": None} if _get(cfg, "window", False) else None


def _resolve_labels(cfg_labels: Any, splits: Splits, train_pool: Optional[List[dict]] = None) -> List[str]:
    """Explicit ``data.labels`` (checked against the data) or the sorted labels found.

    ``train_pool`` stands in for train where it is given: a mix's sources in full.
    """
    found: Dict[str, List[str]] = {}
    for name, examples in splits.items():
        if name == "train" and train_pool is not None:
            examples = train_pool
        for ex in examples:
            for _, _, label in ex["ner"]:
                where = found.setdefault(label, [])
                if name not in where:
                    where.append(name)
    if cfg_labels is None:
        return sorted(found)
    labels = list(cfg_labels)
    if not labels:
        raise DataError("data.labels: empty list; give at least one label, or null to use the labels in the data")
    for label in labels:
        if not label.strip():
            raise DataError(f"data.labels: every label must be a non-empty string, got {label!r}")
    dupes = sorted({label for label in labels if labels.count(label) > 1})
    if dupes:
        raise DataError(f"data.labels: duplicate labels {dupes}")
    missing = [label for label in sorted(found) if label not in labels]
    if missing:
        detail = ", ".join(f"{label!r} (in {', '.join(found[label])})" for label in missing)
        raise DataError(
            f"data.labels: labels in the data but not listed: {detail}; "
            "add them to data.labels, or set data.labels: null to use the labels found in the data"
        )
    return labels


def load_splits(data_cfg: Any, base_dir: Union[str, Path], seed: int = 0) -> Splits:
    """Load, validate and return the splits described by ``data_cfg``.

    ``data_cfg`` is the ``data`` group (a DictConfig or :class:`DataConfig`)
    whose types and ranges the config's schema already guarantees; checked here
    is what needs the data (files, labels against the examples). Relative file
    paths are resolved against ``base_dir``. ``seed`` (a run passes
    ``run.seed``) samples and orders a training mix (:mod:`gliner_exp.data.mixing`);
    nothing else depends on it. Raises :class:`DataError` for the first problem found.
    """
    base_dir = Path(base_dir)
    syn = _get(data_cfg, "synthetic")
    splits, pool = (_load_synthetic(data_cfg, syn), None) if syn is not None else _load_files(data_cfg, base_dir, seed)

    cap: Optional[int] = _get(data_cfg, "max_train_examples")
    if cap is not None:
        # Truncate before inferring labels: the label set should describe what is trained on.
        splits.train = splits.train[:cap]
    # A mix's label set is the union of its sources' labels, however the sampling fell; with a cap, as
    # for one file, the labels of what is left.
    splits.labels = _resolve_labels(_get(data_cfg, "labels"), splits, pool if cap is None else None)
    splits.label_names = resolve_label_names(splits.labels, dict(_get(data_cfg, "label_names", None) or {}),
                                             bool(_get(data_cfg, "label_names_auto", False)))
    splits.window = _window(data_cfg)
    return splits
