"""The shipped YAML options: each composes and validates, and none restates a default.

Defaults are stated once, in the schema (``gliner_exp/config/``): the default
composition equals the schema wherever the schema gives a value, and an option
file states only what differs from what it would inherit.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from conftest import SHARED_DATA, compose_cfg
from gliner_exp.config.root import Config
from gliner_exp.config.store import conf_dir
from gliner_exp.training.run import as_config

GROUPS = ("model", "loss", "optimizer", "hardware", "lora", "data", "logger", "experiment")


def options() -> list[tuple[str, str]]:
    return [(g, p.stem) for g in GROUPS for p in sorted((conf_dir() / g).glob("*.yaml"))]


def flat(node, prefix: str = "") -> dict:
    out = {}
    for key, value in (node or {}).items():
        if isinstance(value, dict) and value:
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def schema() -> dict:
    return OmegaConf.to_container(OmegaConf.structured(Config))


def package_of(group: str, text: str) -> str:
    first = text.splitlines()[0] if text else ""
    if "@package" in first:
        pkg = first.split("@package", 1)[1].strip()
        return "" if pkg == "_global_" else pkg
    return group


def own_and_parents(group: str, option: str, root: Path | None = None) -> tuple[dict, list[str]]:
    """An option file's own keys and the sibling options it builds on (its defaults list)."""
    content = yaml.safe_load(((root or conf_dir()) / group / f"{option}.yaml").read_text()) or {}
    parents = [d for d in content.pop("defaults", []) if isinstance(d, str) and d != "_self_"]
    return content, parents


def effective(group: str, option: str, root: Path | None = None) -> dict:
    own, parents = own_and_parents(group, option, root)
    merged = OmegaConf.create({})
    for parent in parents:
        merged = OmegaConf.merge(merged, effective(group, parent, root))
    return OmegaConf.to_container(OmegaConf.merge(merged, own))


def inherited(group: str, option: str, root: Path | None = None) -> dict:
    """What the option's keys would be without the option itself: schema, then its parents."""
    pkg = package_of(group, ((root or conf_dir()) / group / f"{option}.yaml").read_text())
    base = schema()
    for part in pkg.split(".") if pkg else []:
        base = base.get(part) if isinstance(base, dict) else None
    merged = OmegaConf.create(base or {})
    for parent in own_and_parents(group, option, root)[1]:
        merged = OmegaConf.merge(merged, effective(group, parent, root))
    return flat(OmegaConf.to_container(merged))


@pytest.mark.parametrize("group,option", options(), ids=[f"{g}={o}" for g, o in options()])
def test_option_states_only_what_differs(group, option):
    own = flat(own_and_parents(group, option)[0])
    base = inherited(group, option)
    restated = {k: v for k, v in own.items() if k in base and base[k] == v}
    assert not restated, f"conf/{group}/{option}.yaml restates inherited values {restated}; drop them"


def test_default_composition_is_the_schema():
    composed = flat(OmegaConf.to_container(compose_cfg([], run_dir="/tmp/unused")))
    declared = flat(schema())
    # Null in the schema means "unset" (gliner's or the checkpoint's value): a default option may fill it.
    differ = {k: (v, composed.get(k)) for k, v in declared.items()
              if v is not None and k != "run.dir" and composed.get(k) != v}
    assert not differ, f"schema default vs default composition (schema, composed): {differ}"


def validation_overrides(group: str, option: str, tmp_path: Path) -> list[str]:
    extra = [f"{group}={option}"]
    if (group, option) == ("data", "files"):
        path = tmp_path / "train.jsonl"
        path.write_text('{"tokenized_text": ["Alice", "sleeps"], "ner": [[0, 0, "person"]]}\n')
        extra += [f"data.train={path}", "train.load_best_model_at_end=false"]
    return extra


@pytest.mark.parametrize("group,option", options(), ids=[f"{g}={o}" for g, o in options()])
def test_option_composes_and_validates(group, option, tmp_path):
    if option.startswith("crossner_") and not (SHARED_DATA / "crossner").is_dir():
        pytest.skip(f"CrossNER not found at {SHARED_DATA}/crossner (set GLINER_EXP_SHARED_DATA): its paths are checked")
    cfg = as_config(compose_cfg(validation_overrides(group, option, tmp_path), run_dir=str(tmp_path / "run")))
    assert cfg.run.dir == str(tmp_path / "run")


def test_restatement_is_detected(tmp_path):
    """The check itself: an option repeating the schema's or its parent's value is caught."""
    (tmp_path / "loss").mkdir()
    (tmp_path / "loss" / "mine.yaml").write_text("reduction: sum\ngamma: 1.0\n")
    (tmp_path / "loss" / "child.yaml").write_text("defaults:\n  - mine\n  - _self_\ngamma: 1.0\nalpha: 0.5\n")
    for option, restated in (("mine", {"reduction"}), ("child", {"gamma"})):
        own = flat(own_and_parents("loss", option, tmp_path)[0])
        base = inherited("loss", option, tmp_path)
        assert {k for k, v in own.items() if base.get(k) == v} == restated
