"""The keys that do not change an experiment, derived from the schema's field metadata.

One list serves both places that need it: Hydra's ``exclude_keys`` (the run
directory's name, through the ``gx_non_experiment_keys`` resolver) and the sweep
fingerprint that decides whether a stored result may be reused.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Iterator

from gliner_exp.config.fields import EXPERIMENT
from gliner_exp.config.root import Config

#: Hydra's own keys that never change a result.
HYDRA_KEYS = ("hydra.verbose",)


def _section(tp: Any) -> Any:
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    tp = args[0] if typing.get_origin(tp) is typing.Union and args else tp
    return tp if dataclasses.is_dataclass(tp) else None


def _paths(cls: Any, prefix: str) -> Iterator[str]:
    hints = typing.get_type_hints(cls)
    for fld in dataclasses.fields(cls):
        path = f"{prefix}{fld.name}"
        yield path
        sub = _section(hints[fld.name])
        if sub is not None:
            yield from _paths(sub, path + ".")


def _marked(cls: Any, prefix: str = "") -> Iterator[str]:
    hints = typing.get_type_hints(cls)
    for fld in dataclasses.fields(cls):
        path = f"{prefix}{fld.name}"
        sub = _section(hints[fld.name])
        if fld.metadata.get(EXPERIMENT, True) is False:
            yield path
            if sub is not None:
                yield from _paths(sub, path + ".")
        elif sub is not None:
            yield from _marked(sub, path + ".")


def non_experiment_keys(root: type = Config) -> list[str]:
    """Every schema key (sections and their leaves) marked ``outside_experiment``, in schema order."""
    return list(_marked(root))


def is_experiment_key(key: str, excluded: list[str] | None = None) -> bool:
    """False for ``key`` when it is, or lies under, a key that does not change the experiment."""
    excluded = non_experiment_keys() if excluded is None else excluded
    return not any(key == ex or key.startswith(ex + ".") for ex in excluded)


def override_exclude_keys() -> list[str]:
    """Hydra's ``hydra.job.config.override_dirname.exclude_keys``: the schema's keys plus Hydra's own."""
    return [*non_experiment_keys(), *HYDRA_KEYS]
