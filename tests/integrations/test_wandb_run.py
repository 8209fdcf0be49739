"""wandb: the ``wandb.init`` keywords a run gets, its mode, and the run id kept for resume.

wandb itself only runs in ``disabled`` mode here.
"""

from __future__ import annotations

import json

import pytest
from omegaconf import OmegaConf

from conftest import compose_cfg
from gliner_exp.integrations.wandb_run import finish, start_with, stored_wandb_id, wandb_init_kwargs, wandb_mode

MULTIRUN = {"mode": "MULTIRUN", "sweep_dir": "/x/outputs/sweeps/focal", "override_dirname": "loss.gamma=2",
            "overrides": ["loss.gamma=2"], "job_num": 3}


def _cfg(*overrides, run_dir="/tmp/run"):
    from gliner_exp.training.run import as_config

    return as_config(OmegaConf.to_container(compose_cfg(["experiment=smoke", *overrides], run_dir=run_dir),
                                            resolve=True))


@pytest.mark.parametrize("leaf,value", [
    ("project", "other"), ("entity", "team"), ("group", "g"), ("job_type", "eval"), ("tags", ["t"]),
    ("notes", "n"), ("mode", "disabled"),
])
def test_every_wandb_leaf_reaches_wandb_init(leaf, value):
    cfg = _cfg("logger=wandb")
    base = wandb_init_kwargs(cfg, "/r", context={})
    cfg.logger.wandb[leaf] = value
    changed = wandb_init_kwargs(cfg, "/r", context={})
    assert {k for k in base if base[k] != changed[k]} - {"config"}, leaf


def test_no_wandb_logger_no_wandb_init():
    assert wandb_init_kwargs(_cfg("logger=csv"), "/r", context={}) is None


def test_wandb_kwargs_in_a_sweep_and_a_single_run():
    cfg = _cfg("logger=wandb", "run.tags=[r1]", "run.description=why", "logger.wandb.tags=[w1]",
               "logger.wandb.notes=what")
    kw = wandb_init_kwargs(cfg, "/r", context=MULTIRUN, environ={})
    assert kw["group"] == "focal" and kw["name"] == "loss.gamma=2"
    assert kw["tags"] == ["w1", "r1"] and kw["notes"] == "what\n\nwhy"
    assert kw["resume"] == "allow" and kw["dir"] == "/r" and kw["mode"] == "offline"
    assert kw["config"]["loss"]["gamma"] == cfg.loss.gamma and kw["config"]["job"]["job_num"] == 3
    json.dumps(kw["config"])  # plain containers only
    single = wandb_init_kwargs(cfg, "/r", context={"mode": "RUN"}, environ={})
    assert single["group"] is None and single["name"] == cfg.run.name
    cfg.logger.wandb.group = "mine"
    assert wandb_init_kwargs(cfg, "/r", context=MULTIRUN)["group"] == "mine"


@pytest.mark.parametrize("mode,env,expected", [
    ("auto", {}, "offline"),
    ("auto", {"WANDB_API_KEY": "k" * 40}, "online"),
    ("auto", {"WANDB_API_KEY": "k" * 40, "WANDB_MODE": "offline"}, "offline"),
    ("auto", {"WANDB_MODE": "disabled"}, "disabled"),
    ("offline", {"WANDB_API_KEY": "k" * 40}, "offline"),
    ("online", {}, "online"),
])
def test_wandb_mode(mode, env, expected):
    assert wandb_mode({"mode": mode}, env) == expected


def test_secrets_never_reach_wandb(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secret0123456789")
    cfg = _cfg("logger=wandb", "run.description='key hf_secret0123456789'")
    kw = wandb_init_kwargs(cfg, "/r", context={})
    assert "hf_secret" not in json.dumps(kw)


def test_wandb_run_id_is_kept_for_resume_and_renewed_otherwise(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_SILENT", "true")
    kwargs = wandb_init_kwargs(_cfg("logger=wandb", "logger.wandb.mode=disabled", run_dir=tmp_path),
                               tmp_path, context=MULTIRUN)
    try:
        first = start_with(kwargs, resumed=False)
        first_id = stored_wandb_id(tmp_path)
        assert first.id == first_id
        resumed = start_with(kwargs, resumed=True)  # finishes the first run before starting
        assert resumed.id == first_id
        fresh = start_with(kwargs, resumed=False)
        assert fresh.id != first_id and stored_wandb_id(tmp_path) == fresh.id
    finally:
        finish()
    import wandb

    assert wandb.run is None
