"""TensorBoard after a kill and a resume shows what an uninterrupted run logged: each step once, same values.

The kill is simulated by what it leaves: checkpoint-40 and the event files of
a run that had logged up to step 80 (the reference run's own).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import TINY, compose_cfg
from gliner_exp.training.run import train

ARGS = [*TINY, "train.logging_steps=5", "logger=[csv,tensorboard]"]  # smoke: 80 steps, checkpoints at 40, 80
TIMINGS = ("runtime", "per_second")


def scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar tag's (step, value) list as TensorBoard shows it (orphaned events purged), timings aside."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir / "tensorboard"), purge_orphaned_data=True)
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)]
            for tag in events.Tags()["scalars"] if not any(t in tag for t in TIMINGS)}


def test_resume_after_a_kill_leaves_each_step_once_with_the_uninterrupted_values(tmp_path):
    reference = tmp_path / "reference"
    train(compose_cfg(ARGS, run_dir=reference))
    expected = scalars(reference)
    assert [step for step, _ in expected["train/loss"]] == list(range(5, 81, 5))

    resumed = tmp_path / "resumed"
    shutil.copytree(reference / "checkpoints" / "checkpoint-40", resumed / "checkpoints" / "checkpoint-40")
    shutil.copytree(reference / "tensorboard", resumed / "tensorboard")  # logged to 80, then killed
    train(compose_cfg(ARGS, run_dir=resumed))
    assert scalars(resumed) == expected
