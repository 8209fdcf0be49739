"""Check a command line before Hydra runs anything, with every problem in one message.

Hydra reports only the first bad override, without the allowed values. The
command line is read here with Hydra's own pieces (its argument parser, its
override parser, its config loader over the app's search path, with
``--config-dir``, ``hydra.searchpath`` and search-path plugins), so whatever
Hydra accepts passes: interpolations, a user's own group options, Hydra's own
flags and keys. The one schema engine (:mod:`gliner_exp.config.validate`)
checks each override's value on its own, then the config that Hydra composes
from the good ones, resolved. Nothing here imports torch.
"""

from __future__ import annotations

import os
import re
import typing
from pathlib import Path
from typing import Any, Callable

from gliner_exp.config.errors import ConfigError
from gliner_exp.config.schema import field_type, schema_field
from gliner_exp.config.validate import config_problems

# Commands that compose no config for a job: Hydra answers them alone.
_NO_COMPOSE = ("help", "hydra_help", "shell_completion", "info", "experimental_rerun")


class _Unparsable(Exception):
    """Hydra's argument parser refused the command line."""


def _hydra_args(argv: list[str]) -> Any:
    """``argv`` read by Hydra's own parser, or None where Hydra will reject it itself."""
    from hydra._internal.utils import get_args_parser

    parser = get_args_parser()

    def error(message: str) -> None:
        raise _Unparsable(message)

    parser.error = error  # type: ignore[method-assign]  # Hydra prints the usage error itself
    try:
        return parser.parse_args(argv)
    except _Unparsable:
        return None


def _config_loader(args: Any, config_path: str, task_function: Callable | None) -> Any:
    """Hydra's config loader over the search path Hydra builds for this app, or None if it cannot be built."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.utils import create_automatic_config_search_path, detect_calling_file_or_module_from_task_function
    from hydra.core.config_search_path import SearchPathQuery

    calling_file, calling_module = (detect_calling_file_or_module_from_task_function(task_function)
                                    if task_function is not None else (None, __name__))
    search_path = create_automatic_config_search_path(calling_file, calling_module, args.config_path or config_path)
    if args.config_dir is not None:
        if not os.path.isdir(args.config_dir):
            return None  # Hydra names the missing directory itself
        search_path.prepend(provider="command-line", path=f"file://{os.path.abspath(args.config_dir)}",
                            anchor=SearchPathQuery(provider="schema"))
    return ConfigLoaderImpl(config_search_path=search_path)


def _has_interpolation(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_interpolation(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_interpolation(v) for v in value)
    return isinstance(value, str) and "${" in value


def _nested(key: str, value: Any) -> dict:
    for part in reversed(key.split(".")):
        value = {part: value}
    return value


def _choices(ov: Any) -> tuple[list[Any], list[str]]:
    """The values ``ov`` asks for (each of a sweep) and the single-value override lines to compose them."""
    from hydra.core.override_parser.types import IntervalSweep

    value = ov.value()
    if isinstance(value, IntervalSweep):  # not enumerable: its ends are checked, the key is left unsettled
        cast = int if "int" in value.tags else float
        return [cast(value.start), cast(value.end)], []
    if ov.is_sweep_override():
        key = ov.get_key_element()
        return list(ov.sweep_iterator()), [f"{key}={s}" for s in ov.sweep_string_iterator()]
    return [value], [ov.input_line]


def _override_problems(ov: Any, values: list[Any], is_group: bool, repo: Any) -> list[str]:
    """What is wrong with ``ov``'s values on their own (a group's options, a key's type, choices and range)."""
    from hydra.core.object_type import ObjectType

    key = ov.key_or_group
    if is_group:
        options = repo.get_group_options(key, results_filter=ObjectType.CONFIG)
        names = [n for v in values for n in (v if isinstance(v, list) else [v]) if n is not None]
        return [f"{key}={n}: no such option; allowed: {', '.join(options)}" for n in names if str(n) not in options]
    if not (ov.is_add() or ov.is_force_add()) and isinstance(ov.value(), dict) and _is_mapping_leaf(key):
        # Hydra merges a dict override into the struct-mode typed mapping and fails on any new key.
        return [f"{key}: a mapping cannot be merged into with '{ov.input_line}'; write "
                f"'++{ov.input_line}' (replace) or '+{key}.<name>=<value>' (add one entry)"]
    for value in values:  # the first bad value of a sweep stands for the others
        found = [] if _has_interpolation(value) else config_problems(_nested(key, value), rules=False)
        if found:  # (an interpolation is checked once resolved, in the composed config)
            return found
    return []


def _is_mapping_leaf(key: str) -> bool:
    return schema_field(key) is not None and typing.get_origin(field_type(key)[0]) in (dict, typing.Dict)


def _drop(plain: dict, key: str) -> None:
    *parents, name = re.split(r"\[", key)[0].split(".")
    for part in parents:
        plain = plain.get(part) if isinstance(plain, dict) else None
    if isinstance(plain, dict):
        plain.pop(name, None)


def _resolved(cfg: Any) -> tuple[dict, list[str]] | None:
    """The job's part of ``cfg`` with interpolations resolved, and the keys that cannot be resolved yet.

    Hydra's runtime values (``${hydra:...}``, e.g. the output directory) exist
    only once a job starts, and an interpolation may fail only then as well: such
    keys are left out, unsettled, for Hydra to resolve or report.
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    raw = OmegaConf.to_container(cfg, resolve=False)
    raw.pop("hydra", None)
    unsettled: list[str] = []
    while True:
        try:
            return OmegaConf.to_container(OmegaConf.create(raw), resolve=True), unsettled
        except OmegaConfBaseException as exc:
            key = getattr(exc, "full_key", None)
            if not key or key in unsettled:
                return None
            unsettled.append(re.split(r"\[", key)[0])
            _drop(raw, key)


def _composed_problems(loader: Any, config_name: str, overrides: list[str], unsettled: list[str],
                       rules: bool) -> list[str]:
    """The engine's problems with the config Hydra composes from ``overrides`` ([] where Hydra cannot compose it)."""
    from hydra.types import RunMode

    try:
        cfg = loader.load_configuration(config_name=config_name, overrides=overrides, run_mode=RunMode.RUN)
    except Exception:  # Hydra reports why it cannot compose, in its own words, when it runs
        return []
    resolved = _resolved(cfg)
    if resolved is None:
        return []
    plain, pending = resolved
    return config_problems(plain, unsettled=[*unsettled, *pending], rules=rules)


def check_command_line(argv: list[str], config_path: str | Path | None = None, config_name: str = "config",
                       task_function: Callable | None = None) -> None:
    """Raise ConfigError naming every problem of the command line ``argv`` (without the program name).

    Unknown keys, wrong types, choices, ranges and missing group options of
    every override (each value of a sweep), and, for a single run, the
    cross-field rules of the composed config. Commands that compose nothing
    (``--help``, ``--info``, ``--shell-completion``, ...) and what Hydra itself
    rejects (a malformed command line, a missing ``--config-dir``) are left to
    Hydra. ``config_path``/``config_name``/``task_function`` are the app's
    ``hydra.main`` settings (``config_path`` defaults to gliner_exp's ``conf/``).
    """
    from hydra.errors import HydraException, OverrideParseException

    args = _hydra_args(argv)
    if args is None or any(getattr(args, flag) for flag in _NO_COMPOSE):
        return
    if config_path is None:
        from gliner_exp.config.store import conf_dir

        config_path = conf_dir()
    loader = _config_loader(args, str(config_path), task_function)
    if loader is None:
        return
    config_name = args.config_name or config_name
    try:
        parsed, repo = loader._parse_overrides_and_create_caching_repo(config_name, args.overrides)
    except OverrideParseException as exc:  # Hydra's own parse error is already precise
        raise ConfigError([str(exc).strip()]) from None
    except HydraException:
        return
    problems: list[tuple[int, str]] = []
    lines: list[list[str]] = []  # per override: the single-value lines it composes as ([] if none)
    unsettled: list[str] = []
    varied: list[bool] = []  # whether each further value needs a composition of its own
    for i, ov in enumerate(parsed):
        ov.config_loader = loader  # a glob sweep lists the group's options through it
        values, concrete = _choices(ov)
        is_group = repo.group_exists(ov.key_or_group) and not isinstance(ov.value(), dict)
        passes = ov.is_hydra_override() or ov.is_delete() or (ov.package is not None and not is_group)
        found = [] if passes else _override_problems(ov, values, is_group, repo)
        problems.extend((i, p) for p in found)
        if found or not concrete:
            unsettled.append(ov.key_or_group.replace("/", "."))
        lines.append([] if found else concrete)
        # A group option or an interpolation is only known once composed; other values were checked above.
        varied.append(is_group or any(_has_interpolation(v) for v in values))
    base = [group[0] for group in lines if group]
    composed = [base]
    for i, group in enumerate(lines):
        for line in group[1:] if varied[i] else []:
            composed.append([line if j == i else g[0] for j, g in enumerate(lines) if g])
    single_run = not args.multirun and args.cfg is None
    keys = [ov.key_or_group for ov in parsed]
    for overrides in composed:
        for problem in _composed_problems(loader, config_name, overrides, unsettled, rules=single_run):
            named = re.split(r"[:=\s]", problem, maxsplit=1)[0]
            problems.append((keys.index(named) if named in keys else len(keys), problem))
    ordered = list(dict.fromkeys(p for _, p in sorted(problems, key=lambda item: item[0])))
    if ordered:
        raise ConfigError(ordered)


# --------------------------------------------------------------------------- verbs with a schema of their own
def single_run_overrides(argv: list[str]) -> list[Any] | None:
    """``argv``'s overrides as Hydra parses them, Hydra's own keys included, for a single job.

    None where no single job runs: a command that composes nothing or only
    prints (``--help``, ``--cfg``, ...), a sweep (each job is checked when it
    runs), or a line Hydra rejects itself (it words its own usage and parse errors).
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    args = _hydra_args(argv)
    if args is None or args.cfg or args.multirun or any(getattr(args, flag) for flag in _NO_COMPOSE):
        return None
    try:
        return OverridesParser.create().parse_overrides(args.overrides)
    except OverrideParseException:
        return None


def verb_overrides(argv: list[str]) -> list[Any] | None:
    """:func:`single_run_overrides` for a verb that checks its own schema (predict, export).

    Hydra's own keys and deletions are left out.
    """
    parsed = single_run_overrides(argv)
    if parsed is None:
        return None
    return [ov for ov in parsed if not (ov.is_hydra_override() or ov.is_delete() or ov.is_sweep_override())]


def set_dotted(into: dict, key: str, value: Any) -> None:
    """``into[a][b][c] = value`` for ``key`` ``a.b.c``, replacing any non-mapping on the way."""
    *parents, name = key.split(".")
    for part in parents:
        node = into.get(part)
        into[part] = node = node if isinstance(node, dict) else {}
        into = node
    into[name] = value
