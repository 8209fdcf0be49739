"""The storage half of the fault matrix: what a crash, a disk or a hand leaves in a run dir, and the rerun.

Each case drives the real CLI into a run directory in the state a fault leaves
and asserts the invariant of the matrix: the rerun ends with the final weights
and ``metrics.json`` of an uninterrupted run (wall time, the resume point and
the run dir's own paths aside), or stops with one clear message and no
traceback, leaving the run dir resumable.

"Killed after checkpoint-N" states are built from the uninterrupted reference
run: training is bit-exact on CPU, so its checkpoints are byte for byte those a
killed run would leave, and only the resume needs to run. Rows of the matrix
(fault, where injected, result, steps redone) are printed: ``pytest -s``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from conftest import TINY, run_cli
from gliner_exp.data import write_examples
from gliner_exp.data.synthetic import generate_synthetic

STEPS, EVERY = 60, 20
ARGS = [*TINY, f"train.max_steps={STEPS}", f"train.save_every={EVERY}", f"train.eval_every={EVERY}",
        "train.save_total_limit=3", "hardware.torch_threads=1"]
ENV = {"OMP_NUM_THREADS": "1"}
# Differ between any two runs, or name the run's own directory.
NOT_COMPARED = {"wall_time_s", "resumed_from", "model_dir", "best_checkpoint"}


def _row(fault: str, where: str, result: str, redone: object) -> None:
    print(f"\n| {fault} | {where} | {result} | {redone} |")


def _cli(*extra: str, run_dir: Path):
    return run_cli([*ARGS, *extra, f"run.dir={run_dir}"], env=ENV, timeout=600)


def _weights(model_dir: Path) -> dict:
    return torch.load(model_dir / "pytorch_model.bin", map_location="cpu", weights_only=True)


def _metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def assert_same_result(reference: Path, run_dir: Path) -> None:
    """Same final weights and metrics.json as the uninterrupted run (see NOT_COMPARED)."""
    a, b = _metrics(reference), _metrics(run_dir)
    assert {k: v for k, v in a.items() if k not in NOT_COMPARED} == \
        {k: v for k, v in b.items() if k not in NOT_COMPARED}
    assert Path(a["best_checkpoint"]).name == Path(b["best_checkpoint"]).name
    wa, wb = _weights(reference / "model"), _weights(run_dir / "model")
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """An uninterrupted run of ARGS: checkpoints 20, 40, 60, model, metrics.json."""
    run_dir = tmp_path_factory.mktemp("reference")
    res = _cli(run_dir=run_dir)
    assert res.returncode == 0, res.stderr[-3000:]
    return run_dir


def killed_after(reference: Path, run_dir: Path, step: int) -> Path:
    """``run_dir`` as a run of ARGS killed right after it wrote checkpoint-``step``."""
    (run_dir / "checkpoints").mkdir(parents=True)
    for n in range(EVERY, step + 1, EVERY):
        shutil.copytree(reference / "checkpoints" / f"checkpoint-{n}", run_dir / "checkpoints" / f"checkpoint-{n}")
    for name in ("job_config.json", "data_fingerprint.json"):
        if (reference / name).is_file():
            shutil.copy2(reference / name, run_dir / name)
    shutil.copytree(reference / "resolved", run_dir / "resolved")
    return run_dir / "checkpoints" / f"checkpoint-{step}"


def _resumes_past(reference: Path, run_dir: Path, damaged: Path, why: str) -> None:
    res = _cli(run_dir=run_dir)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert "Traceback" not in out
    assert f"checkpoint {damaged} is incomplete, skipped: {why}" in out, out[-3000:]
    assert "resuming from checkpoint-20 instead" in out
    assert _metrics(run_dir)["resumed_from"] == str(run_dir / "checkpoints" / "checkpoint-20")
    assert_same_result(reference, run_dir)
    # Set aside, not deleted, and the step saved afresh.
    assert (run_dir / "checkpoints" / "incomplete" / "checkpoint-40").is_dir()
    assert (run_dir / "checkpoints" / "checkpoint-40" / "checkpoint_manifest.json").is_file()


def test_truncated_newest_checkpoint_is_skipped_and_the_run_ends_as_uninterrupted(reference, tmp_path):
    newest = killed_after(reference, tmp_path, 40)
    weights = newest / "pytorch_model.bin"
    full = weights.stat().st_size
    os.truncate(weights, full // 2)  # what a crash while the file was written back leaves
    _resumes_past(reference, tmp_path, newest, f"pytorch_model.bin is {full // 2} bytes, {full} when it was saved")
    _row("newest checkpoint truncated", "checkpoint-40/pytorch_model.bin cut to half", "skipped with a warning, "
         "resumed from checkpoint-20, same weights and metrics.json", 20)


def test_half_deleted_newest_checkpoint_is_skipped_and_the_run_ends_as_uninterrupted(reference, tmp_path):
    newest = killed_after(reference, tmp_path, 40)
    # Weights and trainer_state.json stay: without the manifest this looked complete, and HF would have
    # resumed silently with a fresh optimizer and scheduler.
    gone = ["optimizer.pt", "rng_state.pth", "scheduler.pt", "tokenizer.json"]
    listed = sum(1 for p in newest.iterdir() if p.name != "checkpoint_manifest.json")
    for name in gone:
        (newest / name).unlink()
    _resumes_past(reference, tmp_path, newest, f"4 of its {listed} files are missing ({', '.join(gone)})")
    _row("newest checkpoint half deleted", "checkpoint-40: optimizer, scheduler, RNG state, tokenizer removed",
         "skipped with a warning, resumed from checkpoint-20, same weights and metrics.json", 20)


def test_resume_from_a_named_corrupted_checkpoint_is_a_config_error(reference, tmp_path):
    newest = killed_after(reference, tmp_path, 40)
    os.truncate(newest / "optimizer.pt", 1000)
    res = _cli(f"run.resume={newest}", run_dir=tmp_path)
    assert res.returncode == 2, res.stderr[-3000:]
    assert "Traceback" not in res.stderr
    assert "gliner_exp: invalid configuration:\n  - run.resume=" in res.stderr
    assert "not a complete checkpoint directory: optimizer.pt is 1000 bytes" in res.stderr
    assert not (tmp_path / "metrics.json").exists() and (tmp_path / "checkpoints" / "checkpoint-40").is_dir()
    _row("run.resume=<corrupted checkpoint>", "checkpoint-40/optimizer.pt truncated", "exit 2, run.resume named, "
         "nothing touched", "-")


@pytest.mark.slow
def test_no_complete_checkpoint_left_starts_from_scratch(reference, tmp_path):
    only = killed_after(reference, tmp_path, 20)
    (only / "trainer_state.json").write_text('{"global_step": 2')  # cut short mid-write
    res = _cli(run_dir=tmp_path)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert "trainer_state.json is truncated" in out
    assert "no complete checkpoint is left: starting from scratch" in out
    assert _metrics(tmp_path)["resumed_from"] is None
    assert_same_result(reference, tmp_path)
    _row("only checkpoint damaged", "checkpoint-20/trainer_state.json cut short", "warning, trained from scratch, "
         "same weights and metrics.json", 20)


# --------------------------------------------------------------------------- the file system itself
def _mount_tmpfs(where: Path, options: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root and mount rights): {res.stderr.strip()}")


@pytest.fixture
def mounts():
    """Mount points to unmount at teardown."""
    points: list[Path] = []
    yield points
    for point in reversed(points):
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def test_unwritable_run_dir_is_one_clear_error(tmp_path, mounts):
    run_dir = tmp_path / "ro"
    # chmod does not stop root (the tests' usual user): a read-only mount does.
    _mount_tmpfs(run_dir, "ro,size=1m")
    mounts.append(run_dir)
    res = _cli(run_dir=run_dir)
    assert res.returncode != 0
    assert "Traceback" not in res.stderr, res.stderr[-3000:]
    assert f"run.dir: {run_dir} is not writable" in res.stderr
    _row("unwritable run dir", "run.dir on a read-only mount", f"exit {res.returncode}, one message naming "
         "run.dir, no traceback", "-")


@pytest.mark.slow
def test_full_disk_mid_checkpoint_is_one_clear_error_and_the_run_dir_resumes(reference, tmp_path, mounts):
    disk = tmp_path / "disk"
    ckpt_bytes = sum(p.stat().st_size for p in (reference / "checkpoints" / "checkpoint-20").iterdir())
    # Room for checkpoint-20 and half of checkpoint-40.
    _mount_tmpfs(disk, f"size={int(ckpt_bytes * 1.5) // 2**20 + 1}m")
    mounts.append(disk)
    run_dir = disk / "run"
    res = _cli(run_dir=run_dir)
    assert res.returncode == 1, res.stderr[-3000:]
    assert "Traceback" not in res.stderr, res.stderr[-3000:]
    assert f"gliner_exp: cannot write to the run directory {run_dir}: No space left on device" in res.stderr
    assert "it resumes from checkpoint-20, its newest complete checkpoint" in res.stderr

    subprocess.run(["mount", "-o", "remount,size=512m", str(disk)], check=True)
    again = _cli(run_dir=run_dir)
    out = again.stdout + again.stderr
    assert again.returncode == 0, out[-3000:]
    assert "checkpoint-40 is incomplete, skipped" in out and "resuming from checkpoint-20 instead" in out
    assert_same_result(reference, run_dir)
    _row("disk full", "tmpfs run dir with room for 1.5 checkpoints (ENOSPC in checkpoint-40)",
         "exit 1, one message; after space is back: resumed from checkpoint-20, same weights and metrics.json", 20)


# --------------------------------------------------------------------------- the data
def test_data_changed_between_kill_and_resume_is_refused(tmp_path):
    data = generate_synthetic(seed=3, n_train=40, n_dev=10, n_test=10)
    files = {split: tmp_path / f"{split}.jsonl" for split in data}
    for split, examples in data.items():
        write_examples(examples, files[split])
    run_dir = tmp_path / "run"
    args = [*TINY, "data=files", *(f"data.{s}={p}" for s, p in files.items()), "train.max_steps=4",
            "train.save_every=2", "train.eval_every=2", "hardware.torch_threads=1", f"run.dir={run_dir}"]
    first = run_cli(args, env=ENV, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    checkpoints = sorted(p.name for p in (run_dir / "checkpoints").iterdir())

    write_examples(data["train"][:-1], files["train"])  # an example dropped while the run was down
    res = run_cli(args, env=ENV, timeout=600)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr[-3000:]
    assert (f"data.train: the examples read from {files['train']} differ from those this run started with "
            "(40 examples then, 39 now)") in res.stderr
    assert "resuming would mix old and new data" in res.stderr
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == checkpoints  # nothing touched

    # The test split never reaches a checkpoint: said loudly, not refused.
    write_examples(data["train"], files["train"])
    write_examples(data["test"][:-1], files["test"])
    dry = run_cli([*args, "run.dry_run=true"], env=ENV, timeout=600)
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert f"data.test: the examples read from {files['test']} differ" in dry.stdout + dry.stderr
    _row("data file changed", "data.train lost an example between kill and resume", "exit 2, data.train and the "
         "file named, checkpoints untouched (data.test changed: a warning)", "-")
