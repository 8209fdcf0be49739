"""Preemption and time limits: checkpoint when told to stop, requeue, resume exactly.

* unit: the signal state machine of :class:`gliner_exp.training.preemption.PreemptionCallback`
  (stop vs save-and-go-on, chaining to submitit's handler, ranks agreeing);
* in-process: SIGTERM in a plain run -> checkpoint at the next step, exit 143,
  the rerun resumes from it and ends with the weights of an uninterrupted run;
* SLURM (local cluster, ``slow``): submitit's USR2 (``scancel --signal=USR2``,
  what ``--signal=USR2@N`` sends before the time limit) -> checkpoint, submitit
  requeues, the requeued job says "resuming from checkpoint-N" and ends with the
  weights of a plain local run; the same with the callback off (the figures to
  compare: steps redone); an external ``scontrol requeue`` (SIGTERM + SIGKILL);
  and a 2-task DDP job requeued the same way.

Figures (time lost, steps redone) are printed; run with ``-s`` to see them.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import TINY, compose_cfg
from gliner_exp.training import preemption as gp
from gliner_exp.training.checkpoints import newest_complete
from gliner_exp.cluster.debug_weights import DEBUG_WEIGHTS_ENV
from conftest import read_digests, saved_model_digest, slurm_cpu_job

STEPS, SAVE_EVERY = 60, 20
PRE_ARGS = [*TINY, "train.load_best_model_at_end=false", f"train.max_steps={STEPS}",
            f"train.save_every={SAVE_EVERY}", f"train.eval_every={SAVE_EVERY}", "hardware.torch_threads=1"]
STEP_SLEEP = "0.15"


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Digest of the final weights of an uninterrupted single-process run of PRE_ARGS."""
    from gliner_exp.training.run import train

    run_dir = tmp_path_factory.mktemp("reference")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(DEBUG_WEIGHTS_ENV, "1")
        mp.delenv(gp.STEP_SLEEP_ENV, raising=False)
        metrics = train(compose_cfg(PRE_ARGS, run_dir=run_dir))
    assert metrics["global_step"] == STEPS and metrics["resumed_from"] is None
    digest = read_digests(run_dir)[0]["digest"]
    assert saved_model_digest(run_dir / "model") == digest
    return digest


# --------------------------------------------------------------------------- the state machine
class _Recorder:
    def __init__(self, exit_code=None):
        self.calls, self.exit_code = [], exit_code

    def __call__(self, signum, frame):
        self.calls.append(signum)
        if self.exit_code is not None:
            raise SystemExit(self.exit_code)


@pytest.fixture
def handlers(monkeypatch):
    """Fake 'submitit' handlers for USR2/TERM, restored afterwards."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGUSR2, signal.SIGTERM)}
    usr2, term = _Recorder(exit_code=-1), _Recorder()
    signal.signal(signal.SIGUSR2, usr2)
    signal.signal(signal.SIGTERM, term)
    monkeypatch.delenv("SUBMITIT_PREEMPT_SIGNAL", raising=False)
    monkeypatch.delenv(gp.DISABLE_ENV, raising=False)
    monkeypatch.delenv(gp.STEP_SLEEP_ENV, raising=False)
    yield usr2, term
    for s, h in saved.items():
        signal.signal(s, h)


def _loop(cb, steps=1):
    from transformers import TrainerControl, TrainerState

    args = SimpleNamespace(device="cpu", output_dir="/nonexistent", process_index=0)
    state, control = TrainerState(), TrainerControl()
    for _ in range(steps):
        state.global_step += 1
        cb.on_step_end(args, state, control)
    return control


def test_submitit_usr2_stops_then_hands_over_to_submitit(handlers, monkeypatch):
    usr2, term = handlers
    monkeypatch.setenv("SUBMITIT_EXECUTOR", "slurm")
    cb = gp.PreemptionCallback()
    cb.on_train_begin(None, None, None)
    os.kill(os.getpid(), signal.SIGUSR2)
    assert usr2.calls == [] and cb.request == gp.STOP  # submitit's requeue deferred to after the save
    control = _loop(cb)
    assert control.should_save and control.should_training_stop and cb.stop_step == 1
    cb.on_train_end(None, None, None)
    os.kill(os.getpid(), signal.SIGUSR2)  # a late duplicate must not requeue twice
    assert usr2.calls == []
    trainer = SimpleNamespace(args=SimpleNamespace(output_dir="/nonexistent", process_index=0))
    with pytest.raises(SystemExit) as exc:
        cb.finish(trainer)
    assert exc.value.code == -1 and usr2.calls == [signal.SIGUSR2]  # submitit's requeue + exit


def test_submitit_sigterm_saves_and_goes_on(handlers, monkeypatch):
    usr2, term = handlers
    monkeypatch.setenv("SUBMITIT_EXECUTOR", "slurm")
    cb = gp.PreemptionCallback()
    cb.on_train_begin(None, None, None)
    os.kill(os.getpid(), signal.SIGTERM)
    control = _loop(cb)
    assert control.should_save and not control.should_training_stop and cb.saves == [1]
    control = _loop(cb)  # one save per signal
    assert not control.should_save
    cb.on_train_end(None, None, None)
    assert signal.getsignal(signal.SIGTERM) is term and term.calls == []  # restored, never called
    cb.finish(None)  # not stopped: nothing to do


def test_plain_run_stops_with_128_plus_signal(handlers, monkeypatch):
    monkeypatch.delenv("SUBMITIT_EXECUTOR", raising=False)
    cb = gp.PreemptionCallback()
    cb.on_train_begin(None, None, None)
    os.kill(os.getpid(), signal.SIGTERM)
    assert _loop(cb).should_training_stop
    cb.on_train_end(None, None, None)
    with pytest.raises(gp.Preempted) as exc:
        cb.finish(SimpleNamespace(args=SimpleNamespace(output_dir="/nonexistent", process_index=0)))
    assert exc.value.code == 143


def test_disabled_leaves_handlers_alone(handlers, monkeypatch):
    usr2, _ = handlers
    monkeypatch.setenv(gp.DISABLE_ENV, "off")
    cb = gp.PreemptionCallback()
    cb.on_train_begin(None, None, None)
    assert signal.getsignal(signal.SIGUSR2) is usr2
    assert not _loop(cb).should_save


# --------------------------------------------------------------------------- a plain run, in process
def test_sigterm_checkpoints_stops_and_rerun_resumes_exactly(tmp_path, monkeypatch, reference):
    from gliner_exp.training.run import train

    monkeypatch.setenv(DEBUG_WEIGHTS_ENV, "1")
    monkeypatch.setenv(gp.STEP_SLEEP_ENV, STEP_SLEEP)
    monkeypatch.delenv("SUBMITIT_EXECUTOR", raising=False)
    run_dir = tmp_path / "run"
    marker = run_dir / "checkpoints" / f"checkpoint-{SAVE_EVERY}" / "trainer_state.json"

    def kill_after_first_checkpoint():
        deadline = time.time() + 300
        while not marker.is_file() and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=kill_after_first_checkpoint, daemon=True).start()
    with pytest.raises(SystemExit) as exc:
        train(compose_cfg(PRE_ARGS, run_dir=run_dir))
    assert exc.value.code == 143
    stop = newest_complete(run_dir / "checkpoints")
    stop_step = int(stop.name.split("-")[1])
    assert SAVE_EVERY < stop_step < STEPS and stop_step % SAVE_EVERY, stop
    assert not (run_dir / "metrics.json").exists()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers restored

    monkeypatch.delenv(gp.STEP_SLEEP_ENV)
    metrics = train(compose_cfg(PRE_ARGS, run_dir=run_dir))
    assert metrics["resumed_from"] == str(stop) and metrics["global_step"] == STEPS
    assert read_digests(run_dir)[0]["digest"] == reference


# --------------------------------------------------------------------------- SLURM + submitit
_STAMP = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})")


def _stamp(line: str) -> float:
    return datetime.strptime(_STAMP.search(line).group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()


def _first(lines: list[str], needle: str, after: float = 0.0) -> tuple[float, str] | None:
    for line in lines:
        if needle in line and _STAMP.search(line) and _stamp(line) >= after:
            return _stamp(line), line
    return None


def _launch(tmp_path, env_extra, args=PRE_ARGS, tasks=1):
    from conftest import REPO

    sweep = tmp_path / "sweep"
    proc = subprocess.Popen([sys.executable, "-m", "gliner_exp", "-m", "hydra/launcher=slurm", *args,
                             f"hydra.sweep.dir={sweep}", *slurm_cpu_job(tasks=tasks)],
                            cwd=tmp_path, env=env_extra, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    return proc, sweep, REPO


def _wait_for(path_glob_root: Path, pattern: str, proc, timeout=300) -> Path:
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = sorted(path_glob_root.glob(pattern))
        if found:
            return found[0]
        assert proc.poll() is None, proc.stdout.read()[-3000:]
        time.sleep(0.1)
    raise AssertionError(f"{pattern} never appeared under {path_glob_root}")


def _interrupt_and_finish(slurm_cluster, tmp_path, how: str, extra_env=None, args=PRE_ARGS, tasks=1):
    """Run a SLURM job, interrupt it after checkpoint-SAVE_EVERY, wait for the requeued run to end."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    env = dict(slurm_cluster.env, **{DEBUG_WEIGHTS_ENV: "1", gp.STEP_SLEEP_ENV: STEP_SLEEP}, **(extra_env or {}))
    proc, sweep, _ = _launch(tmp_path, env, args=args, tasks=tasks)
    marker = _wait_for(sweep, f"*/checkpoints/checkpoint-{SAVE_EVERY}/trainer_state.json", proc)
    job_dir = marker.parents[2]
    (job_id,) = [p.name for p in (sweep / ".submitit").iterdir() if p.name.isdigit()]
    time.sleep(0.5)
    sent = time.time()
    cmd = {"usr2": ["scancel", "--signal=USR2", job_id], "scontrol": ["scontrol", "requeue", job_id]}[how]
    res = slurm_cluster.run(*cmd)
    assert res.returncode == 0, res.stderr
    first_err = ""
    outs = sweep / ".submitit" / job_id
    deadline = time.time() + 120
    while how == "usr2" and time.time() < deadline:  # the first attempt's progress, before the rerun writes
        if "Exiting gracefully" in (outs / f"{job_id}_0_log.out").read_text(errors="replace"):
            first_err = (outs / f"{job_id}_0_log.err").read_text(errors="replace")
            break
        time.sleep(0.1)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-4000:]
    lines = (outs / f"{job_id}_0_log.out").read_text(errors="replace").splitlines()
    return SimpleNamespace(job_dir=job_dir, job_id=job_id, sent=sent, lines=lines, first_err=first_err,
                           sweep=sweep)


def _figures(run, label, reached=None):
    """Time lost to the interruption and steps redone, from the job's own log.

    ``reached``: the last step the first attempt finished, when the test knows it;
    else the highest step its progress bar showed before submitit exited.
    """
    resumed = _first(run.lines, "resuming from", after=run.sent)
    assert resumed is not None, "\n".join(run.lines[-30:])
    resumed_step = int(re.search(r"checkpoint-(\d+)", resumed[1]).group(1))
    restarted = _first(run.lines, "Starting with", after=run.sent)
    if reached is None and run.first_err:
        progress = [int(m) for m in re.findall(rf"\b(\d+)/{STEPS} \[", run.first_err)]
        reached = max(progress) if progress else None
    fig = {"label": label, "resumed_from_step": resumed_step, "step_reached": reached,
           "steps_redone": None if reached is None else reached - resumed_step, "save_every": SAVE_EVERY,
           "signal_to_restart_s": round(restarted[0] - run.sent, 1) if restarted else None,
           "signal_to_resumed_training_s": round(resumed[0] - run.sent, 1)}
    print(f"\nPREEMPTION FIGURES {json.dumps(fig)}")
    return fig


@pytest.mark.slurm
def test_usr2_checkpoints_requeues_and_resumes_exactly(slurm_cluster, tmp_path, reference):
    from slurm_cluster import job_states

    run = _interrupt_and_finish(slurm_cluster, tmp_path, "usr2")
    text = "\n".join(run.lines)
    stop = re.search(r"SIGUSR2: saving checkpoint-(\d+) and stopping", text)
    assert stop, text[-3000:]
    stop_step = int(stop.group(1))
    assert "Requeued job" in text and f"checkpoints/checkpoint-{stop_step}" in text.split("resuming from", 1)[1]
    metrics = json.loads((run.job_dir / "metrics.json").read_text())
    assert metrics["global_step"] == STEPS and metrics["resumed_from"].endswith(f"checkpoint-{stop_step}")
    assert read_digests(run.job_dir)[0]["digest"] == reference  # = an uninterrupted local run
    status = json.loads((run.job_dir / "status.json").read_text())
    assert status["status"] == "resumed" and status["history"]
    assert job_states(slurm_cluster, run.job_id) == {run.job_id: "COMPLETED"}
    fig = _figures(run, "USR2 with gliner_exp.training.preemption", reached=stop_step)
    assert fig["steps_redone"] == 0


@pytest.mark.slurm
@pytest.mark.slow
def test_usr2_without_the_callback_redoes_steps(slurm_cluster, tmp_path, reference):
    """The baseline: submitit alone requeues mid-step; the rerun starts from the last periodic checkpoint."""
    run = _interrupt_and_finish(slurm_cluster, tmp_path, "usr2", extra_env={gp.DISABLE_ENV: "off"})
    fig = _figures(run, "USR2, submitit alone (GLINER_EXP_PREEMPTION=off)")
    assert fig["resumed_from_step"] == SAVE_EVERY and fig["steps_redone"] > 0
    assert read_digests(run.job_dir)[0]["digest"] == reference


@pytest.mark.slurm
@pytest.mark.slow
def test_scontrol_requeue_sigterm_checkpoint_and_resume(slurm_cluster, tmp_path, reference):
    """External `scontrol requeue`: SIGTERM (checkpoint, go on), SIGKILL after KillWait, SLURM requeues."""
    run = _interrupt_and_finish(slurm_cluster, tmp_path, "scontrol")
    text = "\n".join(run.lines)
    saved = re.search(r"SIGTERM: saving checkpoint-(\d+), training goes on", text)
    assert saved, text[-3000:]
    # training went on until SIGKILL (srun stops forwarding output at the cancel, so the
    # step reached is unknown); the rerun starts from the newest complete checkpoint
    fig = _figures(run, "scontrol requeue (SIGTERM, SIGKILL after KillWait=5s)", reached=None)
    assert fig["resumed_from_step"] >= int(saved.group(1)) > SAVE_EVERY
    assert read_digests(run.job_dir)[0]["digest"] == reference


@pytest.mark.slurm
@pytest.mark.slow
def test_ddp_job_requeued_on_usr2_resumes_on_both_ranks(slurm_cluster, tmp_path):
    """2 SLURM tasks: the ranks agree on the stop step, rank 0 requeues, both resume; same weights as uninterrupted."""
    ref = tmp_path / "ref"
    env = dict(slurm_cluster.env, **{DEBUG_WEIGHTS_ENV: "1"})
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "gliner_exp", *PRE_ARGS, f"hydra.run.dir={ref}"], cwd=tmp_path,
                          env=dict(env, OMP_NUM_THREADS="1"), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    expected = read_digests(ref)[0]["digest"]

    run = _interrupt_and_finish(slurm_cluster, tmp_path / "slurm", "usr2", tasks=2)
    digests = read_digests(run.job_dir)
    assert sorted(digests) == [0, 1] and {d["digest"] for d in digests.values()} == {expected}
    rank1 = (run.sweep / ".submitit" / run.job_id / f"{run.job_id}_1_log.out").read_text()
    assert "waits up to" in rank1 and rank1.count("resuming from") == 1
    stop = re.search(r"SIGUSR2: saving checkpoint-(\d+) and stopping", "\n".join(run.lines))
    assert stop
    assert _figures(run, "USR2, 2-task DDP job", reached=int(stop.group(1)))["steps_redone"] == 0


def test_handlers_left_by_a_crashed_run_are_skipped(handlers, monkeypatch):
    """A run that raised inside trainer.train() never restored its handlers; the next one chains past them."""
    usr2, _ = handlers
    monkeypatch.setenv("SUBMITIT_EXECUTOR", "slurm")
    crashed = gp.PreemptionCallback()
    crashed.on_train_begin(None, None, None)  # ... and no on_train_end
    cb = gp.PreemptionCallback()
    cb.on_train_begin(None, None, None)
    assert cb.previous[signal.SIGUSR2] is usr2
    cb.on_train_end(None, None, None)
    assert signal.getsignal(signal.SIGUSR2) is usr2
