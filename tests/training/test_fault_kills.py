"""Fault matrix, kills and signals: a killed run, rerun as typed, ends as if it had never been killed.

Each case drives the real CLI (``python -m gliner_exp``, one fixed ``run.dir``),
stops it at a point chosen by a seeded RNG (``SEED``, printed), reruns the same
command and checks the invariant: the final ``model/`` weights (digest, tensor
by tensor) and ``metrics.json`` (wall time, ``resumed_from`` and paths aside)
equal those of one uninterrupted run of the same command.

The points are hit exactly with ``GLINER_EXP_DEBUG_PAUSE_AT``
(:mod:`gliner_exp.training.debug_pause`): the run writes a marker and sleeps
there, the test kills it. The kill -9 during a checkpoint save runs in the
default suite; the other cases are ``slow``. ``pytest -s`` prints the matrix
(fault, where injected, result, steps redone).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, TINY, saved_model_digest
from gliner_exp.training.debug_pause import MARKER, PAUSE_AT_ENV, PAUSE_S_ENV

SEED = 1109
MAX_STEPS, SAVE_EVERY = 48, 16  # 15 batches an epoch: the final checkpoint falls inside an epoch
# logging every 5 steps: every checkpoint falls between two logging steps
ARGS = [*TINY, f"train.max_steps={MAX_STEPS}", f"train.save_every={SAVE_EVERY}",
        f"train.eval_every={SAVE_EVERY}", "train.logging_steps=5"]
CHECKPOINTS = list(range(SAVE_EVERY, MAX_STEPS + 1, SAVE_EVERY))
NOT_RESULTS = ("wall_time_s", "resumed_from", "model_dir")

_rng = random.Random(SEED)
BEFORE_FIRST_CHECKPOINT = _rng.randint(2, SAVE_EVERY - 1)
MID_STEP = _rng.choice([s for s in range(SAVE_EVERY + 2, MAX_STEPS) if s % SAVE_EVERY])
DURING_SAVE = _rng.choice(CHECKPOINTS[:-1])  # a checkpoint with a later one to come
SIGTERM_STEP, SIGINT_STEP = _rng.sample([s for s in range(2, MAX_STEPS) if s % SAVE_EVERY], 2)

MATRIX: list[tuple[str, str, str, str]] = []


@pytest.fixture(scope="module", autouse=True)
def matrix():
    """Prints the rows the module's cases recorded, as a table, when the module ends."""
    print(f"\nfault matrix seed {SEED}: before-first-checkpoint step {BEFORE_FIRST_CHECKPOINT}, "
          f"mid-step {MID_STEP}, save {DURING_SAVE}, SIGTERM step {SIGTERM_STEP}, SIGINT step {SIGINT_STEP}")
    yield MATRIX
    if MATRIX:
        lines = ["", f"fault matrix (seed {SEED}; {' '.join(ARGS)})",
                 "| fault | where injected | result | steps redone |", "|---|---|---|---|"]
        lines += [f"| {' | '.join(row)} |" for row in MATRIX]
        print("\n".join(lines))


class Runs:
    """Launches CLI runs in their own process groups and kills whatever is left of them at teardown."""

    def __init__(self, root: Path):
        self.root, self.procs = root, []

    def start(self, run_dir: Path, pause_at: str | None = None, pause_s: float = 300) -> subprocess.Popen:
        env = dict(os.environ, OMP_NUM_THREADS="1", HYDRA_FULL_ERROR="0")
        env.pop(PAUSE_AT_ENV, None)
        if pause_at:
            env.update({PAUSE_AT_ENV: pause_at, PAUSE_S_ENV: str(pause_s)})
        log = open(self.root / f"{run_dir.name}.{len(self.procs)}.log", "w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "gliner_exp", *ARGS, f"run.dir={run_dir}"], cwd=REPO, env=env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            # a background child of a non-interactive shell inherits SIGINT ignored; a terminal's is not
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        proc.log_path = Path(log.name)
        log.close()
        self.procs.append(proc)
        return proc

    def run(self, run_dir: Path, timeout: float = 300) -> subprocess.Popen:
        proc = self.start(run_dir)
        proc.wait(timeout=timeout)
        return proc

    def kill_all(self) -> None:
        for proc in self.procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    runner = Runs(tmp_path_factory.mktemp("fault_kills"))
    yield runner
    runner.kill_all()


def tail(proc) -> str:
    return proc.log_path.read_text()[-4000:]


def comparable(metrics: dict) -> dict:
    out = {k: v for k, v in metrics.items() if k not in NOT_RESULTS}
    out["best_checkpoint"] = Path(out["best_checkpoint"]).name if out.get("best_checkpoint") else None
    return out


@pytest.fixture(scope="module")
def reference(runs):
    """One uninterrupted run of ARGS: its metrics.json and final-weights digest."""
    run_dir = runs.root / "reference"
    proc = runs.run(run_dir)
    assert proc.returncode == 0, tail(proc)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["global_step"] == MAX_STEPS
    return metrics, saved_model_digest(run_dir / "model")


def wait_paused(proc, run_dir: Path, point: str, timeout: float = 300) -> dict:
    """The marker the run writes on reaching ``point`` (fails if the run ends first)."""
    marker = run_dir / MARKER
    deadline = time.monotonic() + timeout
    while not marker.is_file():
        assert proc.poll() is None, f"run ended (rc {proc.returncode}) before reaching {point}:\n{tail(proc)}"
        assert time.monotonic() < deadline, f"{point} not reached in {timeout}s"
        time.sleep(0.05)
    found = json.loads(marker.read_text())
    assert found["point"] == point
    marker.unlink()  # the rerun must not look paused
    return found


def interrupt(runs, run_dir: Path, point: str, how: signal.Signals, pause_s: float = 300) -> tuple[int, int]:
    """Start a run, send ``how`` when it reaches ``point``; (exit status, steps it had completed)."""
    proc = runs.start(run_dir, pause_at=point, pause_s=pause_s)
    found = wait_paused(proc, run_dir, point)
    if how == signal.SIGKILL:
        os.killpg(proc.pid, signal.SIGKILL)
    else:
        proc.send_signal(how)  # to the run itself, as a terminal's Ctrl-C or a scheduler's TERM
    proc.wait(timeout=300)
    done = found["global_step"] if found["global_step"] is not None else MAX_STEPS
    return proc.returncode, done


def rerun_and_check(runs, run_dir: Path, reference, fault: str, where: str, exit_status: int,
                    steps_done: int) -> dict:
    """Rerun the same command; record the matrix row; assert weights and metrics equal the reference."""
    proc = runs.run(run_dir)
    assert proc.returncode == 0, tail(proc)
    ref_metrics, ref_digest = reference
    metrics = json.loads((run_dir / "metrics.json").read_text())
    resumed = metrics["resumed_from"]
    resumed_step = int(Path(resumed).name.split("-")[1]) if resumed else 0
    same_weights = saved_model_digest(run_dir / "model") == ref_digest
    differing = sorted(k for k in set(comparable(metrics)) | set(comparable(ref_metrics))
                       if comparable(metrics).get(k) != comparable(ref_metrics).get(k))
    result = (f"exit {exit_status}; rerun resumed from {Path(resumed).name if resumed else 'scratch'}: "
              + ("weights and metrics.json equal" if same_weights and not differing else
                 f"DIFFERS (weights {'equal' if same_weights else 'differ'}; metrics {differing})"))
    row = (fault, where, result, str(max(steps_done - resumed_step, 0)))
    MATRIX.append(row)
    print("| " + " | ".join(row) + " |")
    assert same_weights, result
    assert not differing, result
    return metrics


# --------------------------------------------------------------------------- default suite
def test_kill9_during_a_checkpoint_save_resumes_to_the_uninterrupted_result(runs, reference):
    run_dir = runs.root / "kill_mid_save"
    status, done = interrupt(runs, run_dir, f"save:{DURING_SAVE}", signal.SIGKILL)
    assert status == -signal.SIGKILL
    metrics = rerun_and_check(runs, run_dir, reference, "kill -9", f"saving checkpoint-{DURING_SAVE} "
                              "(weights written, optimizer/RNG/trainer_state not)", status, done)
    # the half-written checkpoint is never taken for a complete one
    assert not metrics["resumed_from"] or not metrics["resumed_from"].endswith(f"checkpoint-{DURING_SAVE}")


# --------------------------------------------------------------------------- slow: the rest of the matrix
KILL9_POINTS = [
    ("before the first checkpoint", f"step:{BEFORE_FIRST_CHECKPOINT}"),
    ("mid-step (gradients computed, weights not updated)", f"step:{MID_STEP}"),
    ("saving the final checkpoint", f"save:{MAX_STEPS}"),
    ("after the last checkpoint", f"saved:{MAX_STEPS}"),
    ("final evaluation (dev predictions written, test not)", "final_eval"),
    ("after the export, before metrics.json", "export"),
]


@pytest.mark.slow
@pytest.mark.parametrize("where,point", KILL9_POINTS, ids=[p for _, p in KILL9_POINTS])
def test_kill9_resumes_to_the_uninterrupted_result(runs, reference, where, point):
    run_dir = runs.root / f"kill_{point.replace(':', '_')}"
    status, done = interrupt(runs, run_dir, point, signal.SIGKILL)
    assert status == -signal.SIGKILL
    assert not (run_dir / "metrics.json").exists()
    rerun_and_check(runs, run_dir, reference, "kill -9", f"{where} [{point}]", status, done)


@pytest.mark.slow
@pytest.mark.parametrize("sig,step", [(signal.SIGTERM, SIGTERM_STEP), (signal.SIGINT, SIGINT_STEP)],
                         ids=["SIGTERM", "SIGINT"])
def test_stop_signal_checkpoints_at_the_step_and_the_rerun_redoes_nothing(runs, reference, sig, step):
    """A scheduler's SIGTERM or a Ctrl-C: checkpoint at the end of the step, exit 128+signal (143 / 130)."""
    run_dir = runs.root / sig.name.lower()
    status, done = interrupt(runs, run_dir, f"step:{step}", sig, pause_s=2)
    assert status == 128 + sig, f"{sig.name}: checkpoint at the end of the step, exit {128 + sig}"
    metrics = rerun_and_check(runs, run_dir, reference, sig.name, f"during step {step}", status, step)
    assert metrics["resumed_from"].endswith(f"checkpoint-{step}")
