"""The job runner: skip / resume / fail bookkeeping of one Hydra job, driven with a fake train function.

Hydra's runtime (multirun or single run, the job's overrides) is set the way Hydra
sets it, through ``HydraConfig``, on a config composed exactly as the CLI does.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import open_dict

from gliner_exp.sweeps.job_runner import JobAttempt, run_job
from gliner_exp.sweeps.job_store import JOB_CONFIG_FILE, STATUS_FILE, effective_status, read_status


def _hydra_runtime(mode: RunMode, overrides: list[str], run_dir: Path):
    from hydra import compose, initialize_config_dir

    from gliner_exp.config.store import conf_dir, register

    register()
    with initialize_config_dir(str(conf_dir()), version_base="1.3"):
        cfg = compose("config", overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):  # what Hydra's launcher fills in for a job
        cfg.hydra.mode = mode
        cfg.hydra.job.num = 0
        cfg.hydra.job.id = "0"
        cfg.hydra.runtime.output_dir = str(run_dir)
    return cfg


@pytest.fixture
def hydra_job(monkeypatch, tmp_path):
    """``hydra_job(mode)``: make this test a Hydra job of that mode (undone afterwards)."""
    monkeypatch.setattr(HydraConfig.instance(), "cfg", None)

    def enter(mode: RunMode) -> None:
        HydraConfig.instance().set_config(_hydra_runtime(mode, ["loss.gamma=2"], tmp_path))

    return enter


@pytest.fixture
def multirun(hydra_job):
    hydra_job(RunMode.MULTIRUN)


@pytest.fixture
def single_run(hydra_job):
    hydra_job(RunMode.RUN)


def _cfg(run_dir, **run):
    return {"run": {"dir": str(run_dir), "resume": "auto", "dry_run": False, **run},
            "loss": {"gamma": 2.0}, "logger": {"csv": {"filename": "metrics.csv"}}}


def _fake_train(calls, dev_f1=0.5, resumed_from=None, error=None):
    def train(cfg):
        calls.append(cfg)
        if error is not None:
            raise error
        metrics = {"global_step": 6, "dev_f1": dev_f1, "test_f1": dev_f1 / 2, "resumed_from": resumed_from,
                   "wall_time_s": 1.5}
        Path(cfg["run"]["dir"], "metrics.json").write_text(json.dumps(metrics))
        return metrics
    return train


def test_run_job_ran_then_skipped_returns_stored_f1(tmp_path, multirun):
    calls = []
    assert run_job(_cfg(tmp_path), _fake_train(calls, 0.5)) == 0.5
    status = read_status(tmp_path)
    assert status["status"] == "ran" and status["dev_f1"] == 0.5 and status["error"] is None
    assert status["overrides"] == ["loss.gamma=2"] and status["job_num"] == 0
    assert (tmp_path / JOB_CONFIG_FILE).is_file()

    assert run_job(_cfg(tmp_path), _fake_train(calls, 0.9)) == 0.5  # stored value, not retrained
    assert len(calls) == 1
    status = read_status(tmp_path)
    assert status["status"] == "skipped" and [h["status"] for h in status["history"]] == ["ran"]
    assert status["total_wall_time_s"] >= status["history"][0]["wall_time_s"]


def test_run_job_resumed_status(tmp_path, multirun):
    assert run_job(_cfg(tmp_path), _fake_train([], 0.4, resumed_from=str(tmp_path / "checkpoint-2"))) == 0.4
    assert read_status(tmp_path)["status"] == "resumed"


def test_run_job_failure_is_recorded_and_returns_nan(tmp_path, multirun):
    out = run_job(_cfg(tmp_path), _fake_train([], error=RuntimeError("boom at step 3")))
    assert math.isnan(out)
    status = read_status(tmp_path)
    assert status["status"] == "failed"
    assert status["error"] == "RuntimeError: boom at step 3"
    assert "boom at step 3" in status["traceback"]
    # a failed job is tried again by the next run of the sweep
    calls = []
    assert run_job(_cfg(tmp_path), _fake_train(calls, 0.3)) == 0.3 and len(calls) == 1
    assert [h["status"] for h in read_status(tmp_path)["history"]] == ["failed"]


def test_single_run_failure_still_raises(tmp_path, single_run):
    with pytest.raises(RuntimeError):
        run_job(_cfg(tmp_path), _fake_train([], error=RuntimeError("boom")))
    assert read_status(tmp_path)["status"] == "failed"


def test_single_run_is_never_skipped(tmp_path, single_run):
    calls = []
    run_job(_cfg(tmp_path), _fake_train(calls))
    run_job(_cfg(tmp_path), _fake_train(calls))
    assert len(calls) == 2


def test_resume_never_retrains(tmp_path, multirun):
    calls = []
    run_job(_cfg(tmp_path), _fake_train(calls))
    run_job(_cfg(tmp_path, resume="never"), _fake_train(calls))
    assert len(calls) == 2


def test_changed_config_is_not_reused_silently(tmp_path, multirun):
    calls = []
    run_job(_cfg(tmp_path), _fake_train(calls))
    changed = _cfg(tmp_path)
    changed["loss"]["gamma"] = 3.0
    assert math.isnan(run_job(changed, _fake_train(calls)))
    status = read_status(tmp_path)
    assert status["status"] == "failed" and "loss.gamma: 2.0 -> 3.0" in status["error"]
    assert len(calls) == 1
    # keys that do not change results (loggers, tags, resume) do not count
    other = _cfg(tmp_path, tags=["x"])
    other["logger"] = {"wandb": {"project": "p"}}
    assert run_job(other, _fake_train(calls)) == 0.5 and len(calls) == 1


def test_interrupted_attempt_is_seen_as_interrupted(tmp_path, multirun):
    payload = JobAttempt(tmp_path, {"job_num": 0}).write("running")
    payload["pid"] = 2 ** 22 + 12345  # a pid that is not running
    (tmp_path / STATUS_FILE).write_text(json.dumps(payload))
    assert effective_status(read_status(tmp_path), False) == "interrupted"
    run_job(_cfg(tmp_path), _fake_train([]))
    assert [h["status"] for h in read_status(tmp_path)["history"]] == ["interrupted"]


def test_status_files_hold_no_secret(tmp_path, multirun, monkeypatch):
    secret = "hf_secret0123456789abcdef"
    monkeypatch.setenv("HF_TOKEN", secret)
    cfg = _cfg(tmp_path)
    cfg["loss"]["note"] = secret  # an experiment key: it lands in job_config.json too
    run_job(cfg, _fake_train([], error=RuntimeError(f"bad token {secret}")))
    for name in (STATUS_FILE, JOB_CONFIG_FILE):
        text = (tmp_path / name).read_text()
        assert secret not in text and "***" in text, name


@pytest.fixture
def held_elsewhere(tmp_path):
    """Another process holds ``tmp_path`` (the job dir) as a running job would; its status.json says so."""
    import os
    import signal
    import subprocess
    import sys

    code = ("import sys, time\n"
            "from gliner_exp.training.run_lock import hold_run_dir\n"
            "with hold_run_dir(sys.argv[1], rank_zero=True):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        running = {"status": "running", "pid": proc.pid, "job_num": 0, "history": []}
        (tmp_path / STATUS_FILE).write_text(json.dumps(running))
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)


def test_job_running_elsewhere_is_not_started_again(tmp_path, multirun, held_elsewhere):
    before = (tmp_path / STATUS_FILE).read_text()
    calls = []
    assert math.isnan(run_job(_cfg(tmp_path), _fake_train(calls)))
    assert calls == []
    assert (tmp_path / STATUS_FILE).read_text() == before  # the running job's record, untouched
    assert not (tmp_path / JOB_CONFIG_FILE).exists()


def test_single_run_into_a_job_running_elsewhere_raises(tmp_path, single_run, held_elsewhere):
    from gliner_exp.config.errors import ConfigError

    before = (tmp_path / STATUS_FILE).read_text()
    calls = []
    with pytest.raises(ConfigError, match=f"is in use by another run \\(pid {held_elsewhere.pid} "):
        run_job(_cfg(tmp_path), _fake_train(calls))
    assert calls == [] and (tmp_path / STATUS_FILE).read_text() == before
