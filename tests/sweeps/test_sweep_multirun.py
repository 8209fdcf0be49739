"""Real multiruns of the tiny backbone through the CLI: status, skip/resume/failure, summary, Optuna.

* a 4-job loss x masking grid, killed during job 3 and re-run with the same
  command (jobs 1-2 skipped, 3 resumed from its checkpoint, 4 ran), with
  ``logger=[csv,wandb,tensorboard]`` offline -- its wandb, TensorBoard and secret checks are at the end;
* a sweep with a per-job invalid combination: the others run, exit code 1;
* an Optuna sweep of 3 trials, then its replay (all skipped, same best).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from conftest import REPO

from gliner_exp.sweeps.job_store import sweep_jobs
from gliner_exp.sweeps.report.collect import collect
from gliner_exp.sweeps.report.summary import write_summary

# Seconds-long jobs: 6 steps of 8 examples, eval + checkpoint every 2 steps.
_SMALL = {"experiment": "smoke", "train.max_steps": 6, "train.eval_every": 2, "train.save_every": 2,
          "train.logging_steps": 1, "data.synthetic.n_train": 16, "data.synthetic.n_dev": 8,
          "data.synthetic.n_test": 8, "hardware.torch_threads": 1}


def small(**changes):
    """The shrunk smoke overrides, with ``changes`` (``train__max_steps=2`` -> ``train.max_steps=2``)."""
    merged = {**_SMALL, **{k.replace("__", "."): v for k, v in changes.items()}}
    return [f"{k}={v}" for k, v in merged.items()]
SECRETS = {"WANDB_API_KEY": "wandb-secret-0123456789abcdef", "HF_TOKEN": "hf_secret0123456789abcdef"}


# =========================================================================== end to end
def _cli(args, sweep_dir, env=None, **kw):
    full_env = dict(os.environ, HYDRA_FULL_ERROR="0", WANDB_SILENT="true", **(env or {}))
    return subprocess.Popen([sys.executable, "-m", "gliner_exp", "-m", *args, f"hydra.sweep.dir={sweep_dir}"],
                            cwd=REPO, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            **kw)


def _run(args, sweep_dir, env=None, timeout=600):
    proc = _cli(args, sweep_dir, env)
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out


def _status_by_num(sweep_dir):
    return {s["job_num"]: s for s in sweep_jobs(sweep_dir)}


GRID = ["loss.gamma=0,2", "loss.masking=none,global"]  # jobs: (0,none) (0,global) (2,none) (2,global)
WANDB = ["logger=[csv,wandb,tensorboard]", "logger.wandb.mode=offline", "run.tags=[sweep-test]"]


@pytest.fixture(scope="module")
def grid_sweep(tmp_path_factory):
    """The 4-job grid, killed during job 3 (after its first checkpoint), then re-run with the same command."""
    sweep_dir = tmp_path_factory.mktemp("grid") / "sweep"
    args = [*small(), *WANDB, "run.name=grid", *GRID]
    timings = {}
    started = time.time()
    proc = _cli(args, sweep_dir, SECRETS, start_new_session=True)
    killed_at = None
    deadline = time.time() + 400
    try:
        while time.time() < deadline and proc.poll() is None:
            job3 = _status_by_num(sweep_dir).get(2)
            if job3 and (Path(job3["job_dir"]) / "checkpoints" / "checkpoint-2" / "trainer_state.json").is_file():
                os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its wandb service: a crash, no cleanup
                killed_at = time.time()
                break
            time.sleep(0.1)
    finally:
        if proc.poll() is None and killed_at is None:
            os.killpg(proc.pid, signal.SIGKILL)
        first_out, _ = proc.communicate(timeout=60)
    assert killed_at is not None, f"job 3 never reached its first checkpoint:\n{first_out[-3000:]}"
    timings["first"] = killed_at - started
    job3_dir = Path(_status_by_num(sweep_dir)[2]["job_dir"])
    assert not (job3_dir / "metrics.json").exists(), "job 3 finished before it could be killed"

    interrupted = write_summary(sweep_dir)

    started = time.time()
    code, out = _run(args, sweep_dir, SECRETS)
    timings["second"] = time.time() - started
    return {"dir": sweep_dir, "code": code, "out": out, "first_out": first_out, "interrupted": interrupted,
            "timings": timings}


def test_grid_sweep_resumes_where_it_was_killed(grid_sweep):
    assert grid_sweep["code"] == 0, grid_sweep["out"][-4000:]
    jobs = _status_by_num(grid_sweep["dir"])
    assert {n: j["status"] for n, j in jobs.items()} == {0: "skipped", 1: "skipped", 2: "resumed", 3: "ran"}
    assert [h["status"] for h in jobs[2]["history"]] == ["interrupted"]
    metrics3 = json.loads((Path(jobs[2]["job_dir"]) / "metrics.json").read_text())
    assert "checkpoint-" in metrics3["resumed_from"] and metrics3["global_step"] == 6
    out = grid_sweep["out"]
    assert "skipped (complete metrics.json)" in out and "resumed from checkpoint-" in out
    assert "2 skipped" in out and "1 resumed" in out and "1 ran" in out


def test_report_on_the_interrupted_sweep(grid_sweep):
    rows = grid_sweep["interrupted"]["rows"]
    assert [r["status"] for r in rows] == ["ran", "ran", "interrupted", "pending"]
    assert (rows[3]["params"]["loss.gamma"], rows[3]["params"]["loss.masking"]) == ("2", "global")


def test_grid_summary_matches_every_job(grid_sweep):
    summary = grid_sweep["dir"] / "summary"
    for name in ("summary.csv", "summary.md", "summary.json", "marginals.csv", "f1_by_param.png", "curves.png"):
        assert (summary / name).is_file() and (summary / name).stat().st_size > 0, name
    data = json.loads((summary / "summary.json").read_text())
    assert data["params"] == ["loss.gamma", "loss.masking"]
    assert len(data["jobs"]) == 4
    import csv

    with (summary / "summary.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 4
    for row in table:
        metrics = json.loads((grid_sweep["dir"] / row["job"] / "metrics.json").read_text())
        assert float(row["dev_f1"]) == metrics["dev_f1"]
        assert float(row["test_f1"]) == metrics["test_f1"]
        assert int(row["steps"]) == metrics["global_step"] == 6
    devs = [float(r["dev_f1"]) for r in table]
    assert devs == sorted(devs, reverse=True)
    assert "python -m gliner_exp" in data["best"]["command"]
    md = (summary / "summary.md").read_text()
    assert "## Best configuration" in md and "**loss.masking**" in md


@pytest.fixture(scope="module")
def failing_sweep(tmp_path_factory):
    # eval_every=3 with save_every=2 is rejected per job (a cross-field rule the CLI pre-check cannot see)
    sweep_dir = tmp_path_factory.mktemp("failing") / "sweep"
    code, out = _run([*small(train__max_steps=2, train__eval_every="3,2"), "run.name=failing"], sweep_dir)
    return {"dir": sweep_dir, "code": code, "out": out}


def test_failed_job_does_not_sink_the_sweep(failing_sweep):
    assert failing_sweep["code"] == 1, failing_sweep["out"][-3000:]
    jobs = _status_by_num(failing_sweep["dir"])
    assert jobs[0]["status"] == "failed" and "save_every=2 must be a multiple" in jobs[0]["error"]
    assert jobs[1]["status"] == "ran"
    rows = collect(failing_sweep["dir"])
    by_status = {r["status"]: r for r in rows}
    assert "multiple of train.eval_every" in by_status["failed"]["error"]
    md = (failing_sweep["dir"] / "summary" / "summary.md").read_text()
    assert "| failed |" in md and "save_every=2 must be a multiple" in md


@pytest.fixture(scope="module")
def optuna_sweep(tmp_path_factory):
    sweep_dir = tmp_path_factory.mktemp("optuna") / "sweep"
    args = [*small(train__max_steps=2), "run.name=optuna", "hparams_search=loss_optuna",
            "hydra.sweeper.n_trials=3"]
    first = _run(args, sweep_dir)
    first_jobs = sweep_jobs(sweep_dir)
    results = OmegaConf.to_container(OmegaConf.load(sweep_dir / "optimization_results.yaml"))
    summary = json.loads((sweep_dir / "summary" / "summary.json").read_text())
    replay = _run(args, sweep_dir)
    return {"dir": sweep_dir, "first": first, "first_jobs": first_jobs, "replay": replay, "results": results,
            "summary": summary}


def test_optuna_sweep_reports_best_trial(optuna_sweep):
    code, out = optuna_sweep["first"]
    assert code == 0, out[-3000:]
    jobs = optuna_sweep["first_jobs"]
    assert len(jobs) == 3 and {j["status"] for j in jobs} == {"ran"}
    results = optuna_sweep["results"]
    best_dev = max(j["dev_f1"] for j in jobs)
    assert results["best_value"] == pytest.approx(best_dev)
    assert set(results["best_params"]) == {"loss.gamma", "loss.alpha", "loss.masking", "loss.negatives"}
    summary = optuna_sweep["summary"]
    assert summary["best"]["dev_f1"] == pytest.approx(best_dev)
    assert summary["optuna"]["best_value"] == pytest.approx(best_dev)
    assert "Best value" in out


def test_optuna_replay_skips_finished_trials(optuna_sweep):
    code, out = optuna_sweep["replay"]
    assert code == 0, out[-3000:]
    jobs = sweep_jobs(optuna_sweep["dir"])
    assert len(jobs) == 3 and {j["status"] for j in jobs} == {"skipped"}
    replayed = OmegaConf.to_container(OmegaConf.load(optuna_sweep["dir"] / "optimization_results.yaml"))
    assert replayed == optuna_sweep["results"]


# --------------------------------------------------------------------------- loggers in the grid sweep
def _wandb_records(path):
    """Records of an offline ``run-<id>.wandb`` file (leveldb-log framing of protobuf Records)."""
    import struct

    from wandb.proto import wandb_internal_pb2 as pb

    data, pos, block, buf = Path(path).read_bytes(), 7, 32768, b""
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if length == 0 and kind == 0:
            pos += left
            continue
        chunk, pos = data[pos + 7:pos + 7 + length], pos + 7 + length
        if kind in (1, 4):
            rec = pb.Record()
            rec.ParseFromString(buf + chunk if kind == 4 else chunk)
            buf = b""
            yield rec
        else:
            buf = chunk if kind == 2 else buf + chunk


def _wandb_runs(job_dir):
    """[(run record, [global steps logged])] of every offline wandb run under ``job_dir``, oldest first."""
    out = []
    for path in sorted(Path(job_dir).glob("wandb/offline-run-*/run-*.wandb")):
        run, steps = None, []
        for rec in _wandb_records(path):
            kind = rec.WhichOneof("record_type")
            if kind == "run":
                run = rec.run
            elif kind == "history":
                for item in rec.history.item:
                    if "/".join([item.key, *item.nested_key]).strip("/") in ("train/global_step",):
                        steps.append(int(float(item.value_json)))
        out.append((run, steps))
    return out


def test_wandb_one_run_per_job_in_the_sweep_group(grid_sweep):
    jobs = _status_by_num(grid_sweep["dir"])
    ids = {}
    for num in (0, 1, 3):
        runs = _wandb_runs(jobs[num]["job_dir"])
        assert len(runs) == 1, (num, runs)
        run, _ = runs[0]
        assert run.run_group == "sweep" and run.job_type == "train" and "sweep-test" in run.tags
        config = {u.key: json.loads(u.value_json) for u in run.config.update}
        masking = jobs[num]["overrides"][-1].split("=")[1]
        assert config["loss"]["masking"] == masking and config["job"]["job_num"] == num
        ids[num] = run.run_id
        stored = json.loads((Path(jobs[num]["job_dir"]) / "wandb_run.json").read_text())
        assert stored["id"] == run.run_id
    assert len(set(ids.values())) == 3


def test_wandb_resumed_job_continues_its_run(grid_sweep):
    job3 = _status_by_num(grid_sweep["dir"])[2]
    # the killed attempt and the resumed one: two offline dirs of the same run id
    dirs = sorted(Path(job3["job_dir"]).glob("wandb/offline-run-*"))
    assert len(dirs) == 2 and len({d.name.rsplit("-", 1)[1] for d in dirs}) == 1, dirs
    run_id = dirs[0].name.rsplit("-", 1)[1]
    assert json.loads((Path(job3["job_dir"]) / "wandb_run.json").read_text())["id"] == run_id
    # (SIGKILL of the whole process group may leave the first attempt's file unflushed)
    second, steps2 = _wandb_runs(job3["job_dir"])[-1]
    assert second.run_id == run_id
    resumed_from = int(json.loads((Path(job3["job_dir"]) / "metrics.json").read_text())["resumed_from"]
                       .rsplit("-", 1)[1])
    assert steps2 and min(steps2) > resumed_from and max(steps2) == 6


def test_tensorboard_events_in_each_run_dir(grid_sweep):
    for job in _status_by_num(grid_sweep["dir"]).values():
        assert list((Path(job["job_dir"]) / "tensorboard").glob("events.out.tfevents.*")), job["job_dir"]
        assert not (Path(job["job_dir"]) / "checkpoints" / "runs").exists()


def test_no_secret_in_any_file_of_the_sweep(grid_sweep):
    secrets = [v.encode() for v in SECRETS.values()]
    checked = 0
    for path in grid_sweep["dir"].rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(s in data for s in secrets), path
            checked += 1
    assert checked > 50
