"""The multirun callback: it counts the jobs of its own multirun and sets the exit code."""

from __future__ import annotations

import os
import time

from omegaconf import OmegaConf

from gliner_exp.sweeps.callback import SweepCallback, exit_code, last_outcome
from gliner_exp.sweeps.job_runner import JobAttempt
from gliner_exp.sweeps.job_store import STATUS_FILE, SWEEP_ID_ENV


def test_callback_counts_this_sweeps_jobs_and_sets_exit_code(tmp_path, monkeypatch):
    monkeypatch.delenv(SWEEP_ID_ENV, raising=False)
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
    old = tmp_path / "old"  # a failure of an earlier sweep in the same dir does not count
    JobAttempt(old, {}).write("failed", error="old")
    os.utime(old / STATUS_FILE, (0, 0))
    callback = SweepCallback(summary=False)
    callback.on_multirun_start(config)
    assert os.environ[SWEEP_ID_ENV]
    JobAttempt(tmp_path / "a", {}).write("ran")
    JobAttempt(tmp_path / "b", {}).write("failed", error="RuntimeError: b")
    callback.on_multirun_end(config)
    assert exit_code() == 1
    outcome = last_outcome()
    assert outcome.counts == {"ran": 1, "failed": 1}
    assert outcome.failed == [{"job_dir": str(tmp_path / "b"), "status": "failed", "error": "RuntimeError: b"}]
    assert SWEEP_ID_ENV not in os.environ

    # a launcher that does not pass the sweep id on to its jobs: the jobs written since the start count
    time.sleep(0.1)
    callback.on_multirun_start(config)
    sweep_id = os.environ.pop(SWEEP_ID_ENV)  # the job's process lacks it
    JobAttempt(tmp_path / "a", {}).write("ran")
    os.environ[SWEEP_ID_ENV] = sweep_id
    callback.on_multirun_end(config)
    assert last_outcome().counts == {"ran": 1} and exit_code() == 0
    assert SWEEP_ID_ENV not in os.environ


def test_callback_restores_an_outer_sweep_id(tmp_path, monkeypatch):
    monkeypatch.setenv(SWEEP_ID_ENV, "outer")
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
    callback = SweepCallback(summary=False)
    callback.on_multirun_start(config)
    assert os.environ[SWEEP_ID_ENV] != "outer"
    callback.on_multirun_end(config)
    assert os.environ[SWEEP_ID_ENV] == "outer"
    assert last_outcome().counts == {} and exit_code() == 0


def test_callback_writes_the_summary(tmp_path, capsys):
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
    callback = SweepCallback()
    callback.on_multirun_start(config)
    JobAttempt(tmp_path / "a", {"overrides": ["loss.gamma=0"]}).write("ran", dev_f1=0.25, global_step=4)
    callback.on_multirun_end(config)
    assert (tmp_path / "summary" / "summary.md").is_file()
    assert "summary: " + str(tmp_path / "summary" / "summary.md") in capsys.readouterr().out
