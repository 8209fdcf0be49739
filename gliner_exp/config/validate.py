"""Validate a composed config (and CLI overrides) against the schema, all at once.

Hydra stops at the first bad key and never checks value ranges or gliner's
silently-ignored choices. Here every problem is collected and reported in one
message that names each key and what is allowed. Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from typing import Any, Iterator

from omegaconf import DictConfig, ListConfig, OmegaConf

from gliner_exp.config.hardware import hardware_problems
from gliner_exp.config.lora import lora_problems
from gliner_exp.config.model import ARCHITECTURE_KEYS
from gliner_exp.config.errors import ConfigError
from gliner_exp.config.root import Config


# --------------------------------------------------------------------------- schema walking
def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    args = typing.get_args(tp)
    if typing.get_origin(tp) is typing.Union and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0], True
    return tp, False


def schema_field(path: str, root: type = Config) -> dataclasses.Field | None:
    """The dataclass field at dotted ``path`` in the schema, or None if there is none."""
    cls: Any = root
    fld = None
    for part in path.split("."):
        if not dataclasses.is_dataclass(cls):
            return None
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if part not in fields:
            return None
        fld = fields[part]
        cls, _ = _unwrap_optional(typing.get_type_hints(cls)[part] if isinstance(cls, type) else fld.type)
    return fld


def _field_type(path: str, root: type = Config) -> Any:
    parent, _, name = path.rpartition(".")
    cls: Any = root
    for part in parent.split(".") if parent else []:
        cls, _ = _unwrap_optional(typing.get_type_hints(cls)[part])
    return typing.get_type_hints(cls)[name]


def _keys_at(parent: str, root: type = Config) -> list[str]:
    cls: Any = root
    for part in parent.split(".") if parent else []:
        cls, _ = _unwrap_optional(typing.get_type_hints(cls)[part])
    return [f.name for f in dataclasses.fields(cls)] if dataclasses.is_dataclass(cls) else []


def unknown_key_problem(path: str, root: type = Config) -> str | None:
    """A message if ``path`` is not in the schema (with the keys that are), else None."""
    parts = path.split(".")
    for i in range(len(parts)):
        prefix = ".".join(parts[: i + 1])
        if schema_field(prefix, root) is None:
            parent = ".".join(parts[:i])
            allowed = _keys_at(parent, root)
            if not allowed:
                return None if i else f"{path}: unknown key"
            hint = difflib.get_close_matches(parts[i], allowed, n=1)
            did = f" (did you mean '{(parent + '.' if parent else '') + hint[0]}'?)" if hint else ""
            where = f"in '{parent}'" if parent else "at the top level"
            return f"{prefix}: unknown key{did}; allowed {where}: {', '.join(allowed)}"
        _, optional = _unwrap_optional(_field_type(prefix, root))
    return None


def type_problem(path: str, value: Any, root: type = Config) -> str | None:
    """A message if ``value`` cannot be stored at ``path``, else None."""
    tp, optional = _unwrap_optional(_field_type(path, root))
    if value is None:
        return None if optional else f"{path}: null is not allowed; expected {_type_name(tp)}"
    origin = typing.get_origin(tp)
    ok: bool
    if origin in (list, typing.List):
        ok = isinstance(value, (list, tuple, ListConfig))
    elif origin in (dict, typing.Dict):
        ok = isinstance(value, (dict, DictConfig))
    elif dataclasses.is_dataclass(tp):
        ok = isinstance(value, (dict, DictConfig))
    elif tp is bool:
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:  # str accepts any scalar, as OmegaConf does
        ok = isinstance(value, (str, int, float, bool))
    return None if ok else f"{path}: {value!r} is not a valid {_type_name(tp)}"


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) in (list, typing.List):
        return "list"
    if typing.get_origin(tp) in (dict, typing.Dict):
        return "mapping"
    if dataclasses.is_dataclass(tp):
        return "mapping"
    return getattr(tp, "__name__", str(tp))


# --------------------------------------------------------------------------- value rules
def _leaves(node: Any, cls: Any, prefix: str = "") -> Iterator[tuple[str, Any, dataclasses.Field]]:
    for fld in dataclasses.fields(cls):
        path = f"{prefix}{fld.name}"
        value = node.get(fld.name) if isinstance(node, (dict, DictConfig)) else getattr(node, fld.name, None)
        sub, _ = _unwrap_optional(typing.get_type_hints(cls)[fld.name])
        if dataclasses.is_dataclass(sub):
            if value is not None:
                yield from _leaves(value, sub, path + ".")
        else:
            yield path, value, fld


def rule_problems(path: str, value: Any, fld: dataclasses.Field) -> list[str]:
    md = fld.metadata
    out = []
    if "choices" in md and value not in md["choices"]:
        allowed = ", ".join("null" if c is None else repr(c) if c == "" else str(c) for c in md["choices"])
        out.append(f"{path}: {value!r} is not allowed; allowed: {allowed}")
    if "range" in md and value is not None and isinstance(value, (int, float)):
        lo, hi = md["range"]
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            lo_s = "-inf" if lo is None else lo
            hi_s = "inf" if hi is None else hi
            out.append(f"{path}: {value!r} is out of range; allowed: [{lo_s}, {hi_s}]")
    if "item_choices" in md and value is not None:
        bad = [v for v in value if v not in md["item_choices"]]
        if bad:
            out.append(f"{path}: {bad} not allowed; each item must be one of: {', '.join(md['item_choices'])}")
    return out


def _cross_field_problems(cfg: Any) -> list[str]:
    out = []
    hw, tr, data, hub, run, model = cfg.hardware, cfg.train, cfg.data, cfg.hub, cfg.run, cfg.model
    if (model.backbone is None) == (model.pretrained is None):
        out.append("model.backbone and model.pretrained: set exactly one (a backbone for a new GLiNER, "
                   "or a GLiNER checkpoint to continue from)")
    if model.pretrained is not None:
        for key in ARCHITECTURE_KEYS:
            if model[key] is not None:
                out.append(f"model.{key}: fixed by the checkpoint in model.pretrained; must be null "
                           f"(got {model[key]!r})")
    if hw.fp16 and hw.bf16:
        out.append("hardware.fp16 and hardware.bf16: at most one may be true")
    if hw.device == "cpu" and (hw.fp16 or hw.tf32):
        out.append("hardware.fp16/hardware.tf32 need hardware.device=cuda (use hardware=gpu_fp16); "
                   "on cpu only bf16 is allowed")
    if hw.num_workers == 0 and (hw.persistent_workers or hw.prefetch_factor is not None):
        out.append("hardware.persistent_workers / hardware.prefetch_factor need hardware.num_workers > 0")
    if (tr.max_steps is None) == (tr.epochs is None):
        out.append("train.max_steps and train.epochs: set exactly one of them (the other null); "
                   f"got max_steps={tr.max_steps}, epochs={tr.epochs}")
    has_dev = data.synthetic is not None or data.dev is not None
    if data.synthetic is None and data.train is None:
        out.append("data.train: required unless data.synthetic is set (use data=synthetic or give a file)")
    if data.synthetic is not None and any(getattr(data, k) is not None for k in ("train", "dev", "test")):
        out.append("data.synthetic and data.train/dev/test: choose one source (set the paths to null)")
    if data.synthetic is not None and data.format != "auto":
        out.append(f"data.format={data.format}: only for files; must stay auto with data.synthetic")
    if not has_dev:
        if tr.load_best_model_at_end:
            out.append("train.load_best_model_at_end: needs evaluation data (data.dev); set it false or give data.dev")
        if tr.early_stopping_patience:
            out.append("train.early_stopping_patience: needs evaluation data (data.dev)")
    else:
        if tr.load_best_model_at_end and tr.save_every % tr.eval_every:
            out.append(f"train.save_every={tr.save_every} must be a multiple of train.eval_every={tr.eval_every} "
                       "when train.load_best_model_at_end is true")
    if tr.early_stopping_patience and not tr.load_best_model_at_end:
        out.append("train.early_stopping_patience: needs train.load_best_model_at_end=true")
    if hub.push and not hub.model_id:
        out.append("hub.model_id: required when hub.push is true")
    if not str(run.name).strip() or "/" in str(run.name):
        out.append(f"run.name: {run.name!r} must be non-empty and contain no '/'")
    if data.labels is not None and (not data.labels or len(set(data.labels)) != len(data.labels)):
        out.append("data.labels: must be a non-empty list without duplicates, or null to take labels from the data")
    out.extend(lora_problems(cfg.lora))
    out.extend(hardware_problems(hw))
    return out


def validate_config(cfg: Any) -> None:
    """Raise ConfigError listing every problem in ``cfg`` (unknown keys, types, choices, ranges, rules)."""
    problems: list[str] = []
    plain = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg
    if isinstance(plain, dict):
        for path, value in _walk_plain(plain):
            problem = unknown_key_problem(path)
            if problem is None and schema_field(path) is not None:
                problem = type_problem(path, value)
            if problem:
                problems.append(problem)
    if problems:
        raise ConfigError(problems)
    for path, value, fld in _leaves(plain, Config):
        problems.extend(rule_problems(path, value, fld))
    problems.extend(_cross_field_problems(OmegaConf.create(plain)))
    if problems:
        raise ConfigError(problems)


def _walk_plain(node: dict, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in node.items():
        path = f"{prefix}{key}"
        fld_tp = None
        if schema_field(path) is not None:
            fld_tp, _ = _unwrap_optional(_field_type(path))
        if isinstance(value, dict) and (fld_tp is None or dataclasses.is_dataclass(fld_tp)):
            if fld_tp is None and schema_field(path) is None and prefix == "" and key == "hydra":
                continue
            yield from _walk_plain(value, path + ".")
        else:
            yield path, value
