"""``train.group_by_length``: batches of similar length, drawn reproducibly, resumed exactly.

The batches a run trains on are read where the training dataloader fetches
them (``IndexedExamples.__getitems__``, one call per batch). Smoke data: 120
training examples, 15 batches of 8 an epoch.
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

from conftest import REPO, TINY, compose_cfg, saved_model_digest
import gliner_exp.training.assemble as assemble
from gliner_exp.training.collator import IndexedExamples
from gliner_exp.training.debug_pause import MARKER, PAUSE_AT_ENV, PAUSE_S_ENV
from gliner_exp.training.run import train

EPOCH = 15  # batches an epoch
BATCH_ARGS = [*TINY, f"train.max_steps={2 * EPOCH}", f"train.eval_every={2 * EPOCH}",
              f"train.save_every={2 * EPOCH}"]


class RecordingExamples(IndexedExamples):
    """``IndexedExamples`` that records the indices of every batch fetched from it."""

    made: list[RecordingExamples] = []

    def __init__(self, examples):
        super().__init__(examples)
        self.batches: list[list[int]] = []
        RecordingExamples.made.append(self)

    def __getitems__(self, indices):
        self.batches.append(list(indices))
        return [self[i] for i in indices]


def trained_batches(tmp_path: Path, monkeypatch, *overrides: str) -> tuple[list[list[int]], list[int]]:
    """A run's training batches (example indices, one list a step) and the lengths of its training examples."""
    RecordingExamples.made = []
    monkeypatch.setattr(assemble, "IndexedExamples", RecordingExamples)
    run_dir = tmp_path / f"run{len(list(tmp_path.iterdir()))}"  # a fresh one each call: never a resume
    metrics = train(compose_cfg([*BATCH_ARGS, *overrides], run_dir=run_dir))
    assert metrics["global_step"] == 2 * EPOCH
    data = RecordingExamples.made[0]  # build_all builds the training set first, then dev
    assert len(data) == 8 * EPOCH
    return data.batches[:2 * EPOCH], [len(ex["tokenized_text"]) for ex in data.examples]


def padding(batches: list[list[int]], lengths: list[int]) -> int:
    """Pad tokens the batches need: each example padded to its batch's longest."""
    return sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches)


def test_group_by_length_batches_similar_lengths_in_a_seeded_order(tmp_path, monkeypatch):
    grouped, lengths = trained_batches(tmp_path, monkeypatch, "train.group_by_length=true")
    again, _ = trained_batches(tmp_path, monkeypatch, "train.group_by_length=true")
    reseeded, _ = trained_batches(tmp_path, monkeypatch, "train.group_by_length=true", "run.seed=7")
    shuffled, _ = trained_batches(tmp_path, monkeypatch)  # the default: random order

    assert again == grouped, "same seed, same batches"
    assert reseeded != grouped and shuffled != grouped
    # every example once an epoch, in a new order each epoch
    for batches in (grouped, shuffled):
        epochs = [sorted(i for b in batches[e * EPOCH:(e + 1) * EPOCH] for i in b) for e in (0, 1)]
        assert epochs == [list(range(len(lengths)))] * 2
    assert grouped[:EPOCH] != grouped[EPOCH:]
    # grouped by length: far less padding than the random order (here about 40%)
    assert padding(grouped, lengths) < 0.7 * padding(shuffled, lengths), (padding(grouped, lengths),
                                                                           padding(shuffled, lengths))
    # HF puts the batch holding the longest example first
    assert max(lengths[i] for i in grouped[0]) == max(lengths)


# --------------------------------------------------------------------------- kill -9 and resume
# checkpoint-20 falls inside the second epoch (15 batches an epoch): the resumed run must draw the
# same order for it. Final weights are those of step 40 (not the best checkpoint's).
RESUME_ARGS = [*TINY, "train.group_by_length=true", "train.max_steps=40", "train.save_every=20",
               "train.eval_every=20", "train.logging_steps=3", "train.load_best_model_at_end=false"]
KILL_AT = "step:27"  # after checkpoint-20, before checkpoint-40
RUN_SPECIFIC = ("wall_time_s", "resumed_from", "model_dir", "best_checkpoint")


def launch(run_dir: Path, log: Path, pause_at: str | None = None) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", HYDRA_FULL_ERROR="0")
    env.pop(PAUSE_AT_ENV, None)
    if pause_at:
        env.update({PAUSE_AT_ENV: pause_at, PAUSE_S_ENV: "300"})
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, "-m", "gliner_exp", *RESUME_ARGS, f"run.dir={run_dir}"],
                                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def test_kill9_and_resume_with_group_by_length_gives_the_uninterrupted_result(tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    reference = launch(straight, tmp_path / "straight.log")
    victim = launch(killed, tmp_path / "killed.log", pause_at=KILL_AT)
    try:
        marker = killed / MARKER
        deadline = time.monotonic() + 300
        while not marker.is_file():
            assert victim.poll() is None, (tmp_path / "killed.log").read_text()[-4000:]
            assert time.monotonic() < deadline, f"{KILL_AT} not reached"
            time.sleep(0.05)
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=60)
        marker.unlink()
        assert reference.wait(timeout=300) == 0, (tmp_path / "straight.log").read_text()[-4000:]
    finally:
        for proc in (reference, victim):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    assert not (killed / "metrics.json").exists()

    rerun = launch(killed, tmp_path / "rerun.log")
    assert rerun.wait(timeout=300) == 0, (tmp_path / "rerun.log").read_text()[-4000:]

    a, b = (json.loads((d / "metrics.json").read_text()) for d in (straight, killed))
    assert b["resumed_from"].endswith("checkpoint-20") and b["global_step"] == a["global_step"] == 40
    assert {k: v for k, v in b.items() if k not in RUN_SPECIFIC} == {
        k: v for k, v in a.items() if k not in RUN_SPECIFIC}
    assert saved_model_digest(killed / "model") == saved_model_digest(straight / "model")
