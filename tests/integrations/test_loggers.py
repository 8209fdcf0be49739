"""The logger group: csv / tensorboard / wandb slots, and the callbacks each gives a run.

All of these inspect what gliner_exp *would* use (callbacks, their settings)
without training. The real offline wandb runs of a sweep (one per job, same
group, resumed id) are checked on the grid sweep of the sweeps tests.
"""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from conftest import compose_cfg
from gliner_exp.config.errors import ConfigError
from gliner_exp.integrations.loggers import trainer_callbacks


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
    from gliner_exp.training.arguments import training_args_kwargs
    from gliner_exp.training.callbacks import build_callbacks

    cfg = _cfg("logger=[csv,tensorboard,wandb]", run_dir=tmp_path)
    assert training_args_kwargs(cfg, tmp_path, True)["report_to"] == "none"  # no unconfigured duplicates
    by_name = {type(c).__name__: c for c in build_callbacks(cfg, tmp_path)}
    assert by_name["ResumingTensorBoardCallback"].logging_dir == str(tmp_path / "tensorboard")
    assert by_name["WandbRunCallback"].init_kwargs["dir"] == str(tmp_path)
    assert {type(c).__name__ for c in build_callbacks(_cfg("logger=csv"), tmp_path)} == {"CsvMetricsLogger"}
    assert trainer_callbacks(_cfg("logger=none"), tmp_path, context={}) == []


def test_tensorboard_subdir(tmp_path):
    cfg = _cfg("logger=tensorboard", "logger.tensorboard.subdir=tb/a")
    (callback,) = trainer_callbacks(cfg, tmp_path, context={})
    assert callback.logging_dir == str(tmp_path / "tb" / "a")
    cfg.logger.tensorboard.subdir = "../outside"
    with pytest.raises(ConfigError, match="logger.tensorboard.subdir"):
        trainer_callbacks(cfg, tmp_path, context={})
