"""``hydra/launcher=local`` caps the jobs that run at once (``hydra.launcher.array_parallelism``).

Real sweeps, nothing mocked: the echo app (``tests/apps/echo_app.py``) as a
subprocess, and, where the launcher's returns must be read, Hydra's own
in-process sweep driver with a task function that records what each job
process did (pickled by value, as submitit ships ``python -m gliner_exp``'s).
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cloudpickle
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.utils import JobStatus
from hydra.utils import instantiate

from conftest import REPO
from hydra_plugins.gliner_exp_local_launcher.launcher import available_cores, job_threads

ECHO_APP = REPO / "tests" / "apps" / "echo_app.py"
ECHO_CONF = ECHO_APP.parent / "conf"
CAPPED_TARGET = "hydra_plugins.gliner_exp_local_launcher.launcher.CappedLocalLauncher"
# No GPU, and a timeout short enough that a stuck job cannot hang the suite.
LOCAL = ["hydra/launcher=local", "hydra.launcher.gpus_per_node=0", "hydra.launcher.timeout_min=2"]


def _env() -> dict:
    # no OMP_NUM_THREADS: the launcher's own choice is what is observed
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "OMP_NUM_THREADS"))}
    return {**env, "HYDRA_FULL_ERROR": "0"}


def _sweep(args: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ECHO_APP), "-m", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


# ------------------------------------------------------------------ composition and input


def test_local_preset_is_the_capped_launcher_one_job_at_a_time_by_default(tmp_path):
    def launcher(*overrides):
        with initialize_config_dir(version_base="1.3", config_dir=str(ECHO_CONF)):
            cfg = compose("echo", overrides=["hydra/launcher=local", f"hydra.sweep.dir={tmp_path}", *overrides],
                          return_hydra_config=True)
        assert cfg.hydra.launcher._target_ == CAPPED_TARGET
        return instantiate(cfg.hydra.launcher)

    default, three = launcher(), launcher("hydra.launcher.array_parallelism=3")
    # (Hydra's plugin scan re-executes the module: compare the class by name, not identity)
    assert f"{type(default).__module__}.{type(default).__name__}" == CAPPED_TARGET
    assert default.array_parallelism == 1
    assert three.array_parallelism == 3
    # submitit never sees the key (its local executor would refuse an unknown parameter)
    assert "array_parallelism" not in three.params and three.params["timeout_min"] == 240


def test_array_parallelism_below_one_exits_2_naming_the_key_before_any_job(tmp_path):
    sweep = tmp_path / "sweep"
    proc = _sweep([*LOCAL, "seed=1,2", f"hydra.sweep.dir={sweep}", "hydra.launcher.array_parallelism=0"],
                  tmp_path, _env())
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "hydra.launcher.array_parallelism: 0 is not allowed: an integer >= 1" in proc.stderr
    assert not sweep.exists()  # nothing was started


def test_each_jobs_threads_cpus_per_task_then_environment_then_a_share_of_the_cores():
    assert job_threads(3, {"OMP_NUM_THREADS": "8"}, cores=16, concurrent_jobs=4)[0] == "3"
    assert job_threads(None, {"OMP_NUM_THREADS": "8"}, cores=16, concurrent_jobs=4)[0] == "8"
    assert job_threads(None, {}, cores=16, concurrent_jobs=4)[0] == "4"
    assert job_threads(None, {}, cores=16, concurrent_jobs=4, tasks_per_node=2)[0] == "2"  # DDP ranks count
    assert job_threads(None, {}, cores=2, concurrent_jobs=3)[0] == "1"  # never 0


# ------------------------------------------------------------------ concurrency (echo app)


def test_cap_2_runs_two_at_once_and_starts_the_third_as_soon_as_a_slot_frees(tmp_path):
    """A sliding window, not batches: job 2 starts when short job 1 ends, while long job 0 still runs."""
    sweep = tmp_path / "sweep"
    proc = _sweep([*LOCAL, "sleep_s=4,0.2,0.2", f"hydra.sweep.dir={sweep}", "hydra.launcher.array_parallelism=2"],
                  tmp_path, _env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = [json.loads((sweep / str(i) / "echo.json").read_text()) for i in range(3)]
    assert [j["job_num"] for j in jobs] == [0, 1, 2]

    def stamp(job: dict, name: str) -> float:
        # submitit writes <id>_submitted.pkl just before it starts the job's process,
        # and the job's process writes <id>_0_result.pkl as it ends
        return (sweep / ".submitit" / job["job_id"] / f"{job['job_id']}_{name}.pkl").stat().st_mtime

    submitted = [stamp(j, "submitted") for j in jobs]
    finished = [stamp(j, "0_result") for j in jobs]
    assert submitted[1] < finished[0]  # 0 and 1 at once
    assert finished[1] <= submitted[2]  # never 3 at once: 2 waited for a free slot...
    assert submitted[2] < finished[0]  # ...the one 1 left, not for the whole first pair
    # no OMP_NUM_THREADS in the environment, no cpus_per_task: the cores shared by the 2 jobs at once
    assert {j["env"]["OMP_NUM_THREADS"] for j in jobs} == {str(max(1, available_cores() // 2))}


# ------------------------------------------------------------------ returns, requeue, failure (in process)


def _recording_task(cfg):
    """Each job process takes a lock it holds until it exits and logs its events; seed 1 is
    preempted once (USR2, what submitit's local controller sends before a timeout), seed 2 fails."""
    log = Path(cfg.events)
    lock = os.open(log.with_suffix(".lock"), os.O_CREAT | os.O_RDWR)
    try:  # held until the process exits (never closed): another job alive now would hold it
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        alone = "alone"
    except BlockingIOError:
        alone = "NOT-ALONE"

    def event(what: str) -> None:
        with open(log, "a") as fh:
            fh.write(f"{what} {cfg.seed} {alone} {os.environ.get('OMP_NUM_THREADS')}\n")

    event("start")
    marker = log.with_name("preempted")
    if cfg.seed == 1 and not marker.exists():
        marker.touch()
        event("preempted")
        os.kill(os.getpid(), signal.SIGUSR2)  # submitit checkpoints and requeues this job
        time.sleep(30)  # the signal handler exits first
    if cfg.seed == 2:
        event("fail")
        raise ValueError("seed 2 fails")
    event("end")
    return cfg.seed * 10


def test_cap_1_one_job_alive_at_a_time_through_a_requeue_and_a_failure_returns_in_sweep_order(
        tmp_path, hydra_restore_singletons):
    from hydra._internal.hydra import Hydra
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.plugins import Plugins
    from hydra.core.utils import setup_globals
    from hydra.types import HydraContext, RunMode
    from hydra._internal.callbacks import Callbacks

    events = tmp_path / "events.log"
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the job processes cannot import this module
    setup_globals()
    try:
        hydra_ = Hydra.create_main_hydra_file_or_module(calling_file=str(ECHO_APP), calling_module=None,
                                                        config_path="conf", job_name="echo_app")
        cfg = hydra_.compose_config("echo", run_mode=RunMode.MULTIRUN, with_log_configuration=False, overrides=[
            *LOCAL, f"hydra.sweep.dir={tmp_path / 'sweep'}", "hydra.launcher.array_parallelism=1",
            "hydra.launcher.cpus_per_task=3"])
        launcher = Plugins.instance().instantiate_launcher(
            hydra_context=HydraContext(config_loader=hydra_.config_loader, callbacks=Callbacks(cfg)),
            task_function=_recording_task, config=cfg)
        # as a sweeper hands them over: every job's overrides in full (the job re-composes from them)
        jobs = [[f"seed={s}", f"+events={events}"] for s in (1, 2, 3)]
        returns = launcher.launch(jobs, initial_job_idx=0)
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
        GlobalHydra.instance().clear()

    # one job process at a time, in sweep order; the preempted job's rerun kept its slot
    assert events.read_text().splitlines() == [f"{e} alone 3" for e in (
        "start 1", "preempted 1", "start 1", "end 1", "start 2", "fail 2", "start 3", "end 3")]
    assert [r.overrides for r in returns] == jobs
    assert [r.status for r in returns] == [JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.COMPLETED]
    assert (returns[0].return_value, returns[2].return_value) == (10, 30)
    with pytest.raises(ValueError, match="seed 2 fails"):
        _ = returns[1].return_value  # what the sweeper raises once the batch is back
