"""A dev evaluation runs one forward pass over dev (F1) unless the dev loss is asked for."""

import csv

import pytest

from conftest import TINY, compose_cfg
from gliner_exp.config.errors import ConfigError
from gliner_exp.training.run import train

SHORT = [*TINY, "train.max_steps=20", "train.eval_every=10", "train.save_every=10"]


def _eval_metrics(run_dir):
    with (run_dir / "metrics.csv").open(newline="") as fh:
        return {row["metric"] for row in csv.DictReader(fh) if row["metric"].startswith("eval_")}


@pytest.mark.parametrize("eval_loss", [False, True])
def test_dev_loss_logged_only_when_asked(tmp_path, eval_loss):
    train(compose_cfg([*SHORT, f"train.eval_loss={str(eval_loss).lower()}"], run_dir=tmp_path))
    logged = _eval_metrics(tmp_path)
    assert "eval_f1" in logged and "eval_runtime" in logged
    assert ("eval_loss" in logged) is eval_loss


def test_selecting_by_loss_requires_the_loss_pass(tmp_path):
    with pytest.raises(ConfigError) as exc:
        train(compose_cfg([*SHORT, "train.metric_for_best_model=loss"], run_dir=tmp_path))
    assert "train.metric_for_best_model=loss needs train.eval_loss=true" in str(exc.value)
    train(compose_cfg([*SHORT, "train.metric_for_best_model=loss", "train.eval_loss=true"], run_dir=tmp_path))
    assert "eval_loss" in _eval_metrics(tmp_path)
