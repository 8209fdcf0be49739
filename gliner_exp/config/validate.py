"""Validate a config against the schema in one pass, with every problem reported at once.

Hydra stops at the first bad key and never checks value ranges or gliner's
silently-ignored choices. A pydantic model derived from the dataclass schema
(types, Optional, and the choices and ranges declared next to each field with
:mod:`gliner_exp.config.fields`) checks a plain container in one call and
collects every error; the cross-field rules of :mod:`gliner_exp.config.rules`
follow. One printer words each problem: the key, what is wrong, what is
allowed. Nothing here imports torch.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import re
import typing
from typing import Annotated, Any, Iterable, Literal, Mapping, Optional

from omegaconf import DictConfig, OmegaConf
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model
from pydantic_core import PydanticCustomError

from gliner_exp.config.errors import ConfigError
from gliner_exp.config.root import Config
from gliner_exp.config.rules import cross_field_problems
from gliner_exp.config.schema import field_type, schema_field, section_keys, typed_fields, unwrap_optional

# The input types OmegaConf's typed nodes convert (nodes.py); pydantic's lax mode takes
# more (True as 1, 2.0 as an int), which Hydra would refuse when it composes.
_OMEGACONF_INPUTS = {int: (int, str), float: (float, int, str), bool: (bool, int, str)}
# Words for the type a pydantic error type expects ("int_parsing" -> int).
_TYPE_WORDS = {"int": "int", "float": "float", "bool": "bool", "string": "str", "list": "list",
               "dict": "mapping", "model": "mapping", "dataclass": "mapping"}


# --------------------------------------------------------------------------- the model
def _omegaconf_inputs(tp: type) -> BeforeValidator:
    kinds = _OMEGACONF_INPUTS[tp]

    def check(value: Any) -> Any:
        if type(value) not in kinds:
            raise PydanticCustomError(f"{tp.__name__}_type", "not a valid {t}", {"t": tp.__name__})
        return value

    return BeforeValidator(check)


def _scalar_as_str(value: Any) -> Any:
    # OmegaConf stores any scalar in a str field as its str().
    return str(value) if isinstance(value, (bool, int, float)) else value


def _scalar(tp: Any) -> Any:
    if tp in _OMEGACONF_INPUTS:
        return Annotated[tp, _omegaconf_inputs(tp)]
    if tp is str:
        return Annotated[str, BeforeValidator(_scalar_as_str)]
    return tp


def _annotation(hint: Any, md: Mapping[str, Any]) -> Any:
    tp, optional = unwrap_optional(hint)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        ann = model_of(tp)
    elif "choices" in md:
        ann = Literal[tuple(md["choices"])]
    elif origin in (list, typing.List):
        ann = list[Literal[tuple(md["item_choices"])] if "item_choices" in md else _scalar(args[0])]
    elif origin in (dict, typing.Dict):
        ann = dict[_scalar(args[0]), _scalar(args[1])]
    else:
        ann = _scalar(tp)
    if "range" in md:
        lo, hi = md["range"]
        ann = Annotated[ann, Field(ge=lo, le=hi)]
    return Optional[ann] if optional else ann


def _default(fld: dataclasses.Field, hint: Any) -> Any:
    tp, _ = unwrap_optional(hint)
    if fld.default is not dataclasses.MISSING:
        return Field(default=fld.default)
    if dataclasses.is_dataclass(tp):
        return Field(default_factory=lambda: model_of(tp).model_validate(dataclasses.asdict(fld.default_factory())))
    return Field(default_factory=fld.default_factory)


@functools.cache
def model_of(cls: type) -> type[BaseModel]:
    """The pydantic model of the schema section ``cls``: unknown keys forbidden, every field typed and bounded."""
    fields = {fld.name: (_annotation(hint, fld.metadata), _default(fld, hint)) for fld, hint in typed_fields(cls)}
    return create_model(cls.__name__, __config__=ConfigDict(extra="forbid"), **fields)


# --------------------------------------------------------------------------- the one printer
def _path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f"{'.' if out else ''}{part}"
    return out


def _key(loc: tuple) -> str:
    """The schema key an error is about: ``loc`` up to its first list index."""
    keys = []
    for part in loc:
        if isinstance(part, int):
            break
        keys.append(part)
    return ".".join(keys)


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) in (list, typing.List):
        return "list"
    if typing.get_origin(tp) in (dict, typing.Dict) or dataclasses.is_dataclass(tp):
        return "mapping"
    return getattr(tp, "__name__", str(tp))


def _choice_words(choices: Iterable[Any]) -> str:
    return ", ".join("null" if c is None else repr(c) if c == "" else str(c) for c in choices)


def _unknown_key(path: str, root: type = Config) -> str:
    parent, _, name = path.rpartition(".")
    allowed = section_keys(parent, root)
    hint = difflib.get_close_matches(name, allowed, n=1)
    did = f" (did you mean '{(parent + '.' if parent else '') + hint[0]}'?)" if hint else ""
    where = f"in '{parent}'" if parent else "at the top level"
    return f"{path}: unknown key{did}; allowed {where}: {', '.join(allowed)}"


def _describe(err: Mapping[str, Any], root: type = Config) -> str:
    loc, kind, value = err["loc"], err["type"], err.get("input")
    path, key = _path(loc), _key(loc)
    fld = schema_field(key, root) if key == path else None
    md = fld.metadata if fld is not None else {}
    if kind == "extra_forbidden":
        return _unknown_key(path, root)
    if value is None and fld is not None:
        return f"{path}: null is not allowed; expected {_type_name(field_type(path, root)[0])}"
    if kind == "literal_error" and "choices" in md:
        return f"{path}: {value!r} is not allowed; allowed: {_choice_words(md['choices'])}"
    if kind in ("greater_than_equal", "less_than_equal") and "range" in md:
        lo, hi = md["range"]
        return f"{path}: {value!r} is out of range; allowed: [{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
    word = _TYPE_WORDS.get(kind.split("_")[0])
    if word is not None:
        return f"{path}: {'null' if value is None else repr(value)} is not a valid {word}"
    return f"{path}: {err['msg']}"


def _problems(errors: list, root: type = Config) -> list[str]:
    """One message per bad key of pydantic's ``errors``; bad items of a list with item choices are named together."""
    bad_items: dict[str, list[Any]] = {}
    for err in errors:
        fld = schema_field(_key(err["loc"]), root)
        if err["type"] == "literal_error" and fld is not None and "item_choices" in fld.metadata:
            bad_items.setdefault(_key(err["loc"]), []).append(err["input"])
    out: list[str] = []
    for err in errors:
        key = _key(err["loc"])
        if key in bad_items:
            allowed = ", ".join(schema_field(key, root).metadata["item_choices"])
            message = f"{key}: {bad_items[key]} not allowed; each item must be one of: {allowed}"
        else:
            message = _describe(err, root)
        if message not in out:
            out.append(message)
    return out


def schema_problems(plain: Mapping[str, Any], root: type, skip: Iterable[str] = ()) -> list[str]:
    """Each field's problem in ``plain`` against the schema dataclass ``root``, worded as the training config's.

    For the verbs' own schemas (predict, export). Errors about a top-level key in
    ``skip`` are left out: the verb words those itself (e.g. a required path).
    """
    skip = set(skip)
    try:
        model_of(root).model_validate({k: v for k, v in plain.items() if k != "hydra"})
    except ValidationError as exc:
        return _problems([e for e in exc.errors() if e["loc"][0] not in skip], root)
    return []


# --------------------------------------------------------------------------- checking
def _without(plain: dict, keys: Iterable[str]) -> dict:
    out = copy.deepcopy(plain)
    for key in keys:
        *parents, name = key.split(".")
        node: Any = out
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(name, None)
    return out


def _names_any(problem: str, keys: Iterable[str]) -> bool:
    return any(re.search(rf"(?<![\w.]){re.escape(k)}(?!\w)", problem) for k in keys)


def config_problems(cfg: Any, unsettled: Iterable[str] = (), rules: bool = True) -> list[str]:
    """Every problem of ``cfg`` (a plain mapping or DictConfig, resolved): each field, then the cross-field rules.

    A top-level ``hydra`` node is Hydra's and not checked. Keys missing from
    ``cfg`` take the schema default. The rules see the default in place of a
    value that failed its own check; a rule's problem that names such a key, or
    one of ``unsettled`` (keys whose value is not known yet), is left out: it
    would be about the stand-in, not about what was asked for.
    """
    plain = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg
    plain = {k: v for k, v in dict(plain).items() if k != "hydra"}
    root = model_of(Config)
    try:
        typed, problems, bad = root.model_validate(plain), [], []
    except ValidationError as exc:
        problems, bad = _problems(exc.errors()), list(dict.fromkeys(_key(e["loc"]) for e in exc.errors()))
        try:
            typed = root.model_validate(_without(plain, bad))
        except ValidationError:
            return problems
    if rules:
        skip = [*bad, *unsettled]
        found = cross_field_problems(OmegaConf.create(typed.model_dump()))
        problems.extend(p for p in found if not _names_any(p, skip))
    return problems


def validate_config(cfg: Any) -> None:
    """Raise ConfigError listing every problem in ``cfg`` (unknown keys, types, choices, ranges, rules)."""
    problems = config_problems(cfg)
    if problems:
        raise ConfigError(problems)
