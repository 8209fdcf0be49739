"""The keys that do not change an experiment, derived from the schema's field metadata.

One list serves both places that need it: Hydra's ``exclude_keys`` (the run
directory's name, through the ``gx_non_experiment_keys`` resolver) and the sweep
fingerprint that decides whether a stored result may be reused.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterator

from gliner_exp.config.fields import EXPERIMENT
from gliner_exp.config.root import Config
from gliner_exp.config.schema import typed_fields, unwrap_optional

#: Hydra's own keys that never change a result.
HYDRA_KEYS = ("hydra.verbose",)


def _section(tp: Any) -> Any:
    inner, _ = unwrap_optional(tp)
    return inner if dataclasses.is_dataclass(inner) else None


def _paths(cls: Any, prefix: str, marked_only: bool) -> Iterator[str]:
    """Dotted paths under ``cls``: all of them, or (``marked_only``) those declared outside_experiment."""
    for fld, tp in typed_fields(cls):
        path = f"{prefix}{fld.name}"
        sub = _section(tp)
        if not marked_only or fld.metadata.get(EXPERIMENT, True) is False:
            yield path
            if sub is not None:
                yield from _paths(sub, path + ".", marked_only=False)
        elif sub is not None:
            yield from _paths(sub, path + ".", marked_only=True)


def non_experiment_keys(root: type = Config) -> list[str]:
    """Every schema key (sections and their leaves) marked ``outside_experiment``, in schema order."""
    return list(_paths(root, "", marked_only=True))


def is_experiment_key(key: str, excluded: list[str] | None = None) -> bool:
    """False for ``key`` when it is, or lies under, a key that does not change the experiment."""
    excluded = non_experiment_keys() if excluded is None else excluded
    return not any(key == ex or key.startswith(ex + ".") for ex in excluded)


def override_exclude_keys() -> list[str]:
    """Hydra's ``hydra.job.config.override_dirname.exclude_keys``: the schema's keys plus Hydra's own."""
    return [*non_experiment_keys(), *HYDRA_KEYS]
