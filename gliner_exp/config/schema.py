"""Questions about the dataclass schema by dotted path: is there such a key, of which type, what is in a section.

The one walker of the schema's paths; the validation engine and the tests
read the schema through it. Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Iterator

from gliner_exp.config.root import Config


def unwrap_optional(tp: Any) -> tuple[Any, bool]:
    """``(T, True)`` for ``Optional[T]``, else ``(tp, False)``."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) is typing.Union and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0], True
    return tp, False


def typed_fields(cls: type) -> Iterator[tuple[dataclasses.Field, Any]]:
    """Each field of the section class ``cls`` with its resolved type annotation."""
    hints = typing.get_type_hints(cls)
    for fld in dataclasses.fields(cls):
        yield fld, hints[fld.name]


def _section_class(path: str, root: type) -> Any:
    """The dataclass at ``path`` ('' is ``root``), or None where ``path`` is no section."""
    cls: Any = root
    for part in path.split(".") if path else []:
        if not dataclasses.is_dataclass(cls):
            return None
        types = {fld.name: tp for fld, tp in typed_fields(cls)}
        if part not in types:
            return None
        cls, _ = unwrap_optional(types[part])
    return cls if dataclasses.is_dataclass(cls) else None


def schema_field(path: str, root: type = Config) -> dataclasses.Field | None:
    """The dataclass field at dotted ``path`` in the schema, or None if there is none."""
    parent, _, name = path.rpartition(".")
    cls = _section_class(parent, root)
    if cls is None:
        return None
    return next((fld for fld in dataclasses.fields(cls) if fld.name == name), None)


def field_type(path: str, root: type = Config) -> tuple[Any, bool]:
    """``(type, optional)`` of the field at dotted ``path``; KeyError if the schema has no such field."""
    parent, _, name = path.rpartition(".")
    cls = _section_class(parent, root)
    types = {fld.name: tp for fld, tp in typed_fields(cls)} if cls is not None else {}
    if name not in types:
        raise KeyError(path)
    return unwrap_optional(types[name])


def section_keys(path: str, root: type = Config) -> list[str]:
    """The keys of the section at dotted ``path`` ('' for the top level), in schema order; [] if it is no section."""
    cls = _section_class(path, root)
    return [fld.name for fld in dataclasses.fields(cls)] if cls is not None else []
