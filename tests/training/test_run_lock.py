"""One run per run directory: a second writer is turned away, a killed holder frees the directory.

The fast tests hold the directory from a small helper process (the same
``hold_run_dir`` that ``train()`` and the job runner use) and drive the real CLI
as the second writer. The slow one races two real training runs.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, TINY, run_cli

from gliner_exp.training.run_lock import run_dir_holder

HOLD = ("import sys, time\n"
        "from gliner_exp.training.run_lock import hold_run_dir\n"
        "with hold_run_dir(sys.argv[1], rank_zero=True):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(600)\n")


def start_holder(run_dir: Path) -> subprocess.Popen:
    """A process holding ``run_dir``'s lock, as a running training run would."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir)], cwd=REPO, stdout=subprocess.PIPE,
                            text=True, start_new_session=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def kill_group(proc: subprocess.Popen) -> None:
    """kill -9 the process and everything it started, and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=60)


@pytest.fixture
def holders():
    started: list[subprocess.Popen] = []
    yield started
    for proc in started:
        kill_group(proc)


def test_second_run_into_a_busy_run_dir_exits_2_naming_the_holder(tmp_path, holders):
    run_dir = tmp_path / "run"
    holder = start_holder(run_dir)
    holders.append(holder)

    started = time.monotonic()
    proc = run_cli([*TINY, f"hydra.run.dir={run_dir}"], env={"OMP_NUM_THREADS": "1"}, timeout=120)
    took = time.monotonic() - started

    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("gliner_exp: invalid configuration:\n  - run.dir: "), proc.stderr
    assert (f"run.dir: {run_dir} is in use by another run (pid {holder.pid} on host {socket.gethostname()} "
            in proc.stderr), proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert took < 30, f"turned away only after {took:.1f}s"  # before torch and the model load
    # the running run's files are its own
    assert not any((run_dir / name).exists() for name in ("status.json", "job_config.json", "resolved",
                                                          "checkpoints", "model", "metrics.json"))

    kill_group(holder)  # a crash of the holder frees the directory: no stale pid file to clear
    assert run_dir_holder(run_dir) is None


def test_relaunched_multirun_does_not_start_a_job_that_runs_elsewhere(tmp_path, holders):
    sweep_dir = tmp_path / "sweep"
    job_dir = sweep_dir / "job"
    holder = start_holder(job_dir)
    holders.append(holder)

    proc = run_cli(["-m", *TINY, f"hydra.sweep.dir={sweep_dir}", "hydra.sweep.subdir=job"],
                   env={"OMP_NUM_THREADS": "1"}, timeout=120)
    out = proc.stdout + proc.stderr

    assert proc.returncode == 0, out  # not a failure of the relaunch: the job is being done
    assert f"running elsewhere (pid {holder.pid} on host {socket.gethostname()}" in out, out
    assert "1 running_elsewhere" in out, out
    assert not any((job_dir / name).exists() for name in ("status.json", "job_config.json", "checkpoints"))


# Long enough to race against; checkpoints early so that a kill leaves one to resume from.
LONG = [*TINY, "train.max_steps=100000", "train.save_every=4", "train.eval_every=100000",
        "train.load_best_model_at_end=false", "hardware.torch_threads=1"]


def _popen_cli(args: list[str], log: Path) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", HYDRA_FULL_ERROR="0")
    with log.open("w") as fh:
        return subprocess.Popen([sys.executable, "-m", "gliner_exp", *args], cwd=REPO, env=env, stdout=fh,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for(predicate, proc: subprocess.Popen, log: Path, what: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, f"exited ({proc.returncode}) before {what}:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"no {what} after {timeout}s:\n{log.read_text()[-3000:]}"
        time.sleep(0.2)


@pytest.mark.slow
def test_two_real_runs_on_one_dir_one_trains_and_a_killed_one_is_resumed(tmp_path, holders):
    sweep_dir = tmp_path / "sweep"
    job_dir = sweep_dir / "job"
    sweep = ["-m", *LONG, f"hydra.sweep.dir={sweep_dir}", "hydra.sweep.subdir=job"]
    first = _popen_cli(sweep, tmp_path / "first.log")
    holders.append(first)
    _wait_for(lambda: (job_dir / "checkpoints" / "checkpoint-4" / "trainer_state.json").is_file(),
              first, tmp_path / "first.log", "first checkpoint")

    # the same run as a single run into that directory: turned away, exit 2
    single = run_cli([*LONG, f"hydra.run.dir={job_dir}"], env={"OMP_NUM_THREADS": "1"}, timeout=120)
    assert single.returncode == 2, single.stdout + single.stderr
    assert f"is in use by another run (pid {first.pid} " in single.stderr
    # the sweep relaunched while it runs: the job is not started twice
    again = run_cli(sweep, env={"OMP_NUM_THREADS": "1"}, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "1 running_elsewhere" in again.stdout + again.stderr
    status = json.loads((job_dir / "status.json").read_text())
    assert (status["status"], status["pid"]) == ("running", first.pid)
    assert first.poll() is None

    kill_group(first)  # kill -9: the lock goes with the process
    rerun_log = tmp_path / "rerun.log"
    rerun = _popen_cli(sweep, rerun_log)
    holders.append(rerun)
    _wait_for(lambda: "resuming from" in rerun_log.read_text(), rerun, rerun_log, "resume")
    assert json.loads((job_dir / "run.lock").read_text())["pid"] == rerun.pid
    resumed = next(line for line in rerun_log.read_text().splitlines() if "resuming from" in line)
    assert str(job_dir / "checkpoints" / "checkpoint-") in resumed, resumed
