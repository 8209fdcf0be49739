"""The logger group: csv / tensorboard / wandb slots, what each builds, secrets.

All of these inspect what gliner_exp *would* use (callbacks, wandb.init
keywords) without training; wandb itself only runs in ``disabled`` mode here.
The real offline wandb runs of a sweep (one per job, same group, resumed id)
are checked in test_sweeps.py on its grid sweep.
"""

from __future__ import annotations

import json

import pytest
from omegaconf import OmegaConf

from conftest import compose_cfg

from gliner_exp.integrations import loggers
from gliner_exp.config.errors import ConfigError

MULTIRUN = {"mode": "MULTIRUN", "sweep_dir": "/x/outputs/sweeps/focal", "override_dirname": "loss.gamma=2",
            "overrides": ["loss.gamma=2"], "job_num": 3}


def _cfg(*overrides, run_dir="/tmp/run"):
    from gliner_exp.training.run import as_config

    return as_config(OmegaConf.to_container(compose_cfg(["experiment=smoke", *overrides], run_dir=run_dir),
                                            resolve=True))


def test_logger_options_fill_their_slots():
    assert _cfg("logger=none").logger == {"csv": None, "tensorboard": None, "wandb": None}
    cfg = _cfg("logger=[csv,tensorboard,wandb]")
    assert cfg.logger.csv.filename == "metrics.csv"
    assert cfg.logger.tensorboard.subdir == "tensorboard"
    assert cfg.logger.wandb.project == "gliner-exp" and cfg.logger.wandb.mode == "auto"


def test_report_to_is_none_and_callbacks_are_configured(tmp_path):
    from gliner_exp.training.callbacks import build_callbacks
    from gliner_exp.training.arguments import training_args_kwargs

    cfg = _cfg("logger=[csv,tensorboard,wandb]", run_dir=tmp_path)
    assert training_args_kwargs(cfg, tmp_path, True)["report_to"] == "none"  # no unconfigured duplicates
    by_name = {type(c).__name__: c for c in build_callbacks(cfg, tmp_path)}
    assert by_name["TensorBoardCallback"].logging_dir == str(tmp_path / "tensorboard")
    assert by_name["WandbRunCallback"].init_kwargs["dir"] == str(tmp_path)
    assert {type(c).__name__ for c in build_callbacks(_cfg("logger=csv"), tmp_path)} == {"CsvMetricsLogger"}


@pytest.mark.parametrize("leaf,value", [
    ("project", "other"), ("entity", "team"), ("group", "g"), ("job_type", "eval"), ("tags", ["t"]),
    ("notes", "n"), ("mode", "disabled"),
])
def test_every_wandb_leaf_reaches_wandb_init(leaf, value):
    cfg = _cfg("logger=wandb")
    base = loggers.wandb_init_kwargs(cfg, "/r", context={})
    cfg.logger.wandb[leaf] = value
    changed = loggers.wandb_init_kwargs(cfg, "/r", context={})
    assert {k for k in base if base[k] != changed[k]} - {"config"}, leaf


def test_tensorboard_subdir(tmp_path):
    cfg = _cfg("logger=tensorboard", "logger.tensorboard.subdir=tb/a")
    assert loggers.plan(cfg, tmp_path, context={})["tensorboard"] == str(tmp_path / "tb" / "a")
    cfg.logger.tensorboard.subdir = "../outside"
    with pytest.raises(ConfigError, match="logger.tensorboard.subdir"):
        loggers.trainer_callbacks(cfg, tmp_path, context={})


def test_wandb_kwargs_in_a_sweep_and_a_single_run():
    cfg = _cfg("logger=wandb", "run.tags=[r1]", "run.description=why", "logger.wandb.tags=[w1]",
               "logger.wandb.notes=what")
    kw = loggers.wandb_init_kwargs(cfg, "/r", context=MULTIRUN, environ={})
    assert kw["group"] == "focal" and kw["name"] == "loss.gamma=2"
    assert kw["tags"] == ["w1", "r1"] and kw["notes"] == "what\n\nwhy"
    assert kw["resume"] == "allow" and kw["dir"] == "/r" and kw["mode"] == "offline"
    assert kw["config"]["loss"]["gamma"] == cfg.loss.gamma and kw["config"]["job"]["job_num"] == 3
    json.dumps(kw["config"])  # plain containers only
    single = loggers.wandb_init_kwargs(cfg, "/r", context={"mode": "RUN"}, environ={})
    assert single["group"] is None and single["name"] == cfg.run.name
    cfg.logger.wandb.group = "mine"
    assert loggers.wandb_init_kwargs(cfg, "/r", context=MULTIRUN)["group"] == "mine"


@pytest.mark.parametrize("mode,env,expected", [
    ("auto", {}, "offline"),
    ("auto", {"WANDB_API_KEY": "k" * 40}, "online"),
    ("auto", {"WANDB_API_KEY": "k" * 40, "WANDB_MODE": "offline"}, "offline"),
    ("auto", {"WANDB_MODE": "disabled"}, "disabled"),
    ("offline", {"WANDB_API_KEY": "k" * 40}, "offline"),
    ("online", {}, "online"),
])
def test_wandb_mode(mode, env, expected):
    assert loggers.wandb_mode({"mode": mode}, env) == expected


def test_secrets_are_redacted(monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", "wandb-secret-0123456789")
    monkeypatch.setenv("HF_TOKEN", "hf_secret0123456789")
    monkeypatch.setenv("SHORT_TOKEN", "abc")  # too short to scrub meaningfully
    assert loggers.redact({"a": ["x wandb-secret-0123456789 y", 3], "hf_secret0123456789": None}) == \
        {"a": ["x *** y", 3], "***": None}
    cfg = _cfg("logger=wandb", "run.description='key hf_secret0123456789'")
    kw = loggers.wandb_init_kwargs(cfg, "/r", context={})
    assert "hf_secret" not in json.dumps(kw)


def test_wandb_run_id_is_kept_for_resume_and_renewed_otherwise(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_SILENT", "true")
    kwargs = loggers.wandb_init_kwargs(_cfg("logger=wandb", "logger.wandb.mode=disabled", run_dir=tmp_path),
                                       tmp_path, context=MULTIRUN)
    try:
        first = loggers.start_with(kwargs, resumed=False)
        first_id = loggers.stored_wandb_id(tmp_path)
        assert first.id == first_id
        resumed = loggers.start_with(kwargs, resumed=True)  # finishes the first run before starting
        assert resumed.id == first_id
        fresh = loggers.start_with(kwargs, resumed=False)
        assert fresh.id != first_id and loggers.stored_wandb_id(tmp_path) == fresh.id
    finally:
        loggers.finish()
    import wandb

    assert wandb.run is None
