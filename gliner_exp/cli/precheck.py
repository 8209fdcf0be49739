"""Check command-line overrides against the schema before Hydra composes anything.

Hydra reports only the first bad override, without the allowed values; this
reports them all in one message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gliner_exp.config.errors import ConfigError
from gliner_exp.config.validate import rule_problems, schema_field, type_problem, unknown_key_problem


def group_options(conf: Path) -> dict[str, list[str]]:
    """Config groups under ``conf`` and the option names each offers."""
    groups = {}
    for sub in sorted(p for p in conf.rglob("*") if p.is_dir()):
        names = sorted(p.stem for p in sub.glob("*.yaml"))
        if names:
            groups[sub.relative_to(conf).as_posix()] = names
    return groups


def _values(override: Any) -> list[Any]:
    from hydra.core.override_parser.types import ChoiceSweep, Glob, IntervalSweep, RangeSweep

    value = override.value()
    if isinstance(value, ChoiceSweep):
        return list(value.list)
    if isinstance(value, (RangeSweep, IntervalSweep, Glob)):
        return []
    return [value]


def _is_mapping_leaf(key: str) -> bool:
    import typing

    from gliner_exp.config.validate import _field_type, _unwrap_optional

    tp, _ = _unwrap_optional(_field_type(key))
    return typing.get_origin(tp) in (dict, typing.Dict)


def check_overrides(overrides: list[str], conf: Path, extra_groups: dict[str, list[str]] | None = None) -> None:
    """Raise ConfigError naming every unknown key, wrong type or missing group option in ``overrides``."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    groups = group_options(conf)
    groups.update(extra_groups or {})
    problems = []
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except Exception as exc:  # Hydra's own parse error is already precise
        raise ConfigError([str(exc).strip()]) from None
    for ov in parsed:
        key = ov.key_or_group
        if ov.is_delete() or key.startswith("hydra") or key.split("/")[0] == "hydra":
            continue
        if ov.package is not None:
            continue
        if key in groups:
            for value in _values(ov):
                names = value if isinstance(value, list) else [value]
                for name in names:
                    if name is not None and str(name) not in groups[key]:
                        problems.append(f"{key}={name}: no such option; allowed: {', '.join(groups[key])}")
            continue
        if ov.is_add() or ov.is_force_add():
            continue
        problem = unknown_key_problem(key)
        if problem:
            problems.append(problem)
            continue
        fld = schema_field(key)
        if fld is not None and isinstance(ov.value(), dict) and _is_mapping_leaf(key):
            # Hydra merges a dict override into the struct-mode typed mapping and fails on any new key.
            problems.append(f"{key}: a mapping cannot be merged into with '{ov.input_line}'; write "
                            f"'++{ov.input_line}' (replace) or '+{key}.<name>=<value>' (add one entry)")
            continue
        for value in _values(ov) if fld is not None else []:
            problem = type_problem(key, value)
            found = [problem] if problem else rule_problems(key, value, fld)
            if found:
                problems.extend(found)
                break
    if problems:
        raise ConfigError(problems)
