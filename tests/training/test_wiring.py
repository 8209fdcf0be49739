"""No dead fields: every leaf of every option of every config group changes what gets built.

For each option of each group, every leaf of the composed group node is
changed to another value; the test asserts that the built objects
(TrainingArguments kwargs, GLiNER config, model, data, callbacks, evaluator,
runtime and adapter info) change, or that validation rejects the new value
with a message naming exactly that leaf. A rejection that only says the leaf
is unused (``lora.r`` under ``lora=none``, an architecture key under a
pretrained checkpoint) guards it but proves no wiring: every leaf must change
a build, or be refused for its value, in at least one option of its group. Cheap stages are compared first; the model
is built only when they show no difference. A new field without wiring fails
here, unless it is on NON_BUILD with a reason.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import typing
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from conftest import SHARED_DATA, compose_cfg
from gliner_exp.config.errors import ConfigError
from gliner_exp.config.schema import field_type, schema_field
from gliner_exp.config.store import conf_dir
from gliner_exp.model.gliner_internals import core, text_encoder

# Leaves whose effect is not on built objects but on the run's lifecycle; each is proven elsewhere.
NON_BUILD = {
    "run.resume": "which checkpoint training resumes from: tests/test_end_to_end.py::test_kill_and_resume_*",
    "run.dry_run": "stop after building: tests/test_end_to_end.py::test_dry_run_*",
    "train.tune_threshold": "decoding after training: tests/training/test_decoding_settings.py",
    # the synthetic labels are single words, which the split leaves as they are
    "data.label_names_auto": "label words: tests/data/test_label_names.py::test_auto_split_*",
    "eval.extra": "scored after training (metrics.json zero_shot) and by the evaluate verb, builds nothing: "
                  "tests/cli/test_evaluate.py::test_eval_extra_after_training_is_in_metrics_and_summary",
}

# Valid alternative values for leaves that cannot be derived from type and metadata.
ALTERNATIVES = {
    "model.backbone": ["builtin:tiny-deberta", "builtin:tiny-bert"],
    "model.ent_token": ["<<E>>"],
    "model.sep_token": ["<<S>>"],
    "model.freeze": [["text_encoder"]],
    "run.name": ["other_name"],
    "run.tags": [["tag-a"]],
    "run.description": ["another description"],
    "data.label_names": [{"city": "town"}],
    "data.labels": [["city", "date", "organization", "person", "product", "extra_label"]],
    "data.train": ["__bad_path__.jsonl"],
    "data.dev": ["__bad_path__.jsonl"],
    "data.test": ["__bad_path__.jsonl"],
    "hub.model_id": ["someone/some-model"],
    "logger.csv.filename": ["other.csv"],
    "lora.target_modules": [["query"], ["query", "value"]],
    "lora.exclude_modules": [["output.dense"]],
    "lora.modules_to_save": [["embeddings.LayerNorm"]],
    "lora.layers_to_transform": [[0]],
    "lora.rank_pattern": [{"query": 4}],
    "hardware.fsdp": ["full_shard auto_wrap", "shard_grad_op auto_wrap", "full_shard offload auto_wrap"],
    "train.eval_every": [20, 10],
    "lora.alpha_pattern": [{"query": 4}],
}

# Leaves that only act together with another one: the other is set along with them.
COMPANIONS = {
    "train.epochs": {"train.max_steps": None},
    "hub.push": {"hub.model_id": "someone/some-model"},
}
# Rejections that guard a leaf the option does not use; they prove no wiring.
GUARDS = ("would be ignored", "fixed by the checkpoint")

BASE = ["experiment=smoke"]
SHARED = SHARED_DATA
# Offline stand-ins for presets that need the hub.
HUB_STAND_INS = {
    ("model", "deberta_v3_small"): ["model.backbone=builtin:tiny-deberta", "model.hidden_size=64"],
    ("model", "deberta_v3_base"): ["model.backbone=builtin:tiny-deberta", "model.hidden_size=64"],
    ("model", "deberta_v3_large"): ["model.backbone=builtin:tiny-deberta", "model.hidden_size=64"],
    ("model", "mdeberta_v3_base"): ["model.backbone=builtin:tiny-deberta", "model.hidden_size=64"],
}


GROUPS = ("model", "loss", "optimizer", "hardware", "lora", "data", "logger")


def _options(group: str) -> list[str]:
    return [path.stem for path in sorted((conf_dir() / group).glob("*.yaml"))]


def _leaves(node, prefix):
    for key, value in node.items():
        path = f"{prefix}.{key}"
        if isinstance(value, dict) and schema_field(path) is not None and not _is_dict_leaf(path):
            yield from _leaves(value, path)
        else:
            yield path, value


def _is_dict_leaf(path):
    tp, _ = field_type(path)
    return not dataclasses.is_dataclass(tp)


def _rejection(exc: ConfigError, path: str) -> str | None:
    """``rejected`` (a problem names exactly ``path``), ``guarded`` (only to say it is unused), or None."""
    naming = [p for p in exc.problems if re.search(rf"(?<![\w.]){re.escape(path)}(?![\w.])", p)]
    if not naming:
        return None
    return "guarded" if all(any(g in p for g in GUARDS) for p in naming) else "rejected"


def _candidates(path, value):
    if path in ALTERNATIVES:
        return [v for v in ALTERNATIVES[path] if v != value]
    fld = schema_field(path)
    md = fld.metadata if fld is not None else {}
    if "choices" in md:
        return [c for c in md["choices"] if c != value]
    if isinstance(value, bool):
        return [not value]
    lo, hi = md.get("range", (None, None))
    if value is None:
        tp, _ = field_type(path)
        if tp is bool:
            return [True, False]
        if tp is int:
            return [c for c in (lo, 1, 2, 4) if c is not None]
        if tp is float:
            return [c for c in (0.5, lo, 0.1, 1.0) if c is not None]
        if typing.get_origin(tp) in (list, typing.List):
            return [["x"]]
        if dataclasses.is_dataclass(tp):
            return [{}]
        return ["x"]
    if isinstance(value, int):
        cands = [value + 1, value - 1, value * 2, value + 10]
    elif isinstance(value, float):
        cands = [value * 0.5, value + 0.1, 0.5, 0.1, value * 2 if value else 1e-3]
    elif isinstance(value, list):
        return [value + ["x"], value[:-1]]
    else:
        return [str(value) + "_x"]
    return [c for c in cands if (lo is None or c >= lo) and (hi is None or c <= hi) and c != value]


def _digest(obj) -> str:
    return hashlib.sha1(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def _cheap(cfg_dict, run_dir):
    """Build everything that does not need a model; raises ConfigError if the config is rejected."""
    from gliner_exp.training.callbacks import build_callbacks
    from gliner_exp.model.build import gliner_config_dict
    from gliner_exp.training.arguments import training_args_kwargs
    from gliner_exp.data import summarize
    from gliner_exp.training.run import as_config, load_data, run_dir_of

    cfg = as_config(cfg_dict)
    splits = load_data(cfg)
    run_dir = run_dir_of(cfg)
    out = {
        "training_args": training_args_kwargs(cfg, run_dir, bool(splits.dev)),
        "data": [summarize(splits), _digest([splits.train, splits.dev, splits.test])],
        "callbacks": [(type(c).__name__, {k: str(v) for k, v in vars(c).items()})
                      for c in build_callbacks(cfg, Path(run_dir))],
        "evaluation": [cfg.train.threshold, cfg.train.flat_ner, cfg.train.eval_batch_size],
        "runtime": _runtime(cfg),
    }
    if cfg.model.backbone is not None:
        out["gliner_config"] = gliner_config_dict(cfg.model)
    return out


def _runtime(cfg):
    import torch

    from gliner_exp.training.assemble import apply_runtime

    threads = torch.get_num_threads()
    # A sentinel start, so the comparison does not depend on what earlier tests left behind.
    torch.set_num_threads(7)
    try:
        return apply_runtime(cfg.hardware)
    finally:
        torch.set_num_threads(threads)


def _expensive(cfg_dict, run_dir):
    """Build the model and trainer and describe them."""
    import torch

    from gliner_exp.training.assemble import build_all
    from gliner_exp.training.run import as_config, load_data

    threads = torch.get_num_threads()
    try:
        cfg = as_config(cfg_dict)
        built = build_all(cfg, Path(run_dir), load_data(cfg))
        model = built.model
        params = {n: [list(p.shape), p.requires_grad] for n, p in model.named_parameters()}
        checksum = float(sum(p.detach().double().abs().sum() for p in model.parameters()))
        encoder = text_encoder(model)
        return {
            "gliner_config": model.config.to_dict(),
            "params": params,
            "checksum": round(checksum, 3),
            "core_type": type(model.model).__name__,
            "unwrapped_core_type": type(core(model)).__name__,
            "gradient_checkpointing": bool(getattr(encoder, "is_gradient_checkpointing", False)),
            "attn_implementation": encoder.config._attn_implementation,
            "records": built.records(),
            "evaluator": built.evaluator.settings() if built.evaluator else None,
            "args": built.args.to_dict(),
            "train_sampler": type(built.trainer._get_train_sampler()).__name__,
            "eval_loss_pass": built.trainer.eval_loss,
        }
    finally:
        torch.set_num_threads(threads)


def _compose_dict(overrides, run_dir):
    cfg = compose_cfg(overrides, run_dir=run_dir)
    return OmegaConf.to_container(cfg, resolve=True)


def _set(d, path, value):
    parts = path.split(".")
    for p in parts[:-1]:
        d = d[p]
    d[parts[-1]] = value


@pytest.fixture(scope="module")
def pretrained_dirs(tmp_path_factory):
    """Two tiny GLiNER checkpoints on disk (stand-ins for hub checkpoints)."""
    from gliner_exp.model.build import build_model
    from gliner_exp.training.run import as_config

    dirs = []
    for seed in (0, 1):
        import torch

        torch.manual_seed(seed)
        cfg = as_config(_compose_dict(BASE, "/tmp/unused"))
        model = build_model(cfg.model)
        d = tmp_path_factory.mktemp(f"gliner{seed}")
        model.save_pretrained(d)
        dirs.append(str(d))
    return dirs


def _option_overrides(group, option, pretrained_dirs):
    overrides = BASE + [f"{group}={option}"]
    overrides += HUB_STAND_INS.get((group, option), [])
    if group == "model" and option.startswith("gliner_"):
        overrides.append(f"model.pretrained={pretrained_dirs[0]}")
    if group == "data" and option == "files":
        overrides += ["data.train=" + str(SHARED / "crossner/politics/train.txt"),
                      "data.dev=" + str(SHARED / "crossner/politics/dev.txt")]
    return overrides


class _Stages:
    """The cheap and (lazily) expensive description of one base config, compared against mutations."""

    def __init__(self, base, run_dir):
        self.base, self.run_dir = base, run_dir
        self.cheap = _cheap(base, run_dir)
        self._expensive = None

    def expensive(self):
        if self._expensive is None:
            self._expensive = _expensive(self.base, self.run_dir)
        return self._expensive

    def outcome(self, path, candidates):
        """``changed`` (a build differs), ``rejected`` (refused, naming ``path``), ``guarded`` or None."""
        found = set()
        for cand in candidates:
            mutated = json.loads(json.dumps(self.base))
            _set(mutated, path, cand)
            for other, value in COMPANIONS.get(path, {}).items():
                _set(mutated, other, value)
            try:
                if _cheap(mutated, self.run_dir) != self.cheap:
                    return "changed"
                if _expensive(mutated, self.run_dir) != self.expensive():
                    return "changed"
            except ConfigError as exc:
                found.add(_rejection(exc, path))
        return "rejected" if "rejected" in found else "guarded" if "guarded" in found else None


@pytest.mark.parametrize("group", GROUPS)
def test_every_leaf_of_every_option_is_wired(group, tmp_path, pretrained_dirs):
    dead, proven, seen = [], set(), set()
    for option in _options(group):
        if group == "data" and option not in ("synthetic", "synthetic_small") and not (SHARED / "crossner").is_dir():
            continue  # the CrossNER options are checked where the data is (test below skips with the reason)
        run_dir = str(tmp_path / option / "run")
        base = _compose_dict(_option_overrides(group, option, pretrained_dirs), run_dir)
        if group == "data" and base["data"]["synthetic"] is None:  # shrink real data so each build stays fast
            base["data"]["max_train_examples"] = base["data"]["max_train_examples"] or 50
        stages = _Stages(base, run_dir)
        for path, value in _leaves(base[group], group):
            if path in NON_BUILD:
                continue
            seen.add(path)
            if group == "model" and path == "model.pretrained" and value is not None:
                candidates = [pretrained_dirs[1]]
            else:
                candidates = _candidates(path, value)
            outcome = stages.outcome(path, candidates)
            if outcome in ("changed", "rejected"):
                proven.add(path)
            elif outcome is None:
                dead.append(f"{group}={option}: {path}={value!r} (tried {candidates!r})")
    assert not dead, f"leaves with no observable effect and no error naming them: {dead}"
    unproven = sorted(seen - proven)
    assert not unproven, f"{group}: leaves only ever guarded as unused, never shown to act: {unproven}"


def test_crossner_options_compose_where_the_data_is():
    if not (SHARED / "crossner").is_dir():
        pytest.skip(f"CrossNER not found at {SHARED}/crossner (set GLINER_EXP_SHARED_DATA); "
                    "the data=crossner_* options were not wired-checked")
    for option in _options("data"):
        assert _compose_dict(["experiment=smoke", f"data={option}"], "/tmp/unused")["data"]


def test_top_level_sections_are_wired(tmp_path):
    run_dir = str(tmp_path / "run")
    base = _compose_dict(BASE, run_dir)
    stages = _Stages(base, run_dir)
    dead = []
    for section in ("run", "train", "hub"):
        for path, value in _leaves(base[section], section):
            if path not in NON_BUILD and stages.outcome(path, _candidates(path, value)) not in ("changed", "rejected"):
                dead.append(path)
    assert not dead, f"leaves with no observable effect and no error naming them: {dead}"


def test_non_build_list_names_real_leaves():
    for path in [*NON_BUILD, *ALTERNATIVES, *COMPANIONS]:
        assert schema_field(path) is not None, path


def test_rejections_are_told_from_guards():
    exc = ConfigError(["lora.r: set but lora.enabled is false, so it would be ignored; choose an adapter",
                       "lora.rank: 3 is out of range", "loss.gamma: 11 is out of range; allowed: [0.0, 10.0]"])
    assert _rejection(exc, "lora.r") == "guarded"
    assert _rejection(exc, "loss.gamma") == "rejected"
    assert _rejection(exc, "loss") is None and _rejection(exc, "lora.ra") is None
