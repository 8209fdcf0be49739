"""A resumed run reports what the uninterrupted run reports: same metrics.json (wall time aside), same loss log.

The kill is simulated by what it leaves on disk: the run directory as it was
right after ``checkpoint-N`` was written (later checkpoints and the final
outputs removed). ``train.logging_steps=3`` makes the checkpoint steps (40,
80) fall between two logging steps, so loss logged before the checkpoint and
not yet drained into a log line must survive the resume too; 80 steps of 15
batches an epoch make the final checkpoint fall inside an epoch.
metrics.csv is compared row for row (timings aside): a resume must neither lose
rows nor keep those it logs again, the end-of-training summary included.
metrics.json names the best checkpoint relative to the run dir, so a run dir
moved before its resume still gives the same metrics and the same best weights.
"""

import json
import logging
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import TINY, compose_cfg, saved_model_digest
from gliner_exp.training.checkpoint_manifest import write_manifest
from gliner_exp.training.run import train

ARGS = [*TINY, "train.logging_steps=3"]  # smoke: 80 steps, checkpoints at 40 and 80
#: Run-specific, not results: they may differ between a run and its resumed twin.
NOT_RESULTS = ("wall_time_s", "resumed_from", "model_dir")
#: metrics.csv rows that time the run rather than measure the model.
TIMINGS = ("runtime", "per_second")


def comparable(metrics: dict) -> dict:
    # best_checkpoint is compared as is: relative to the run dir, it is the same wherever the run dir is
    return {k: v for k, v in metrics.items() if k not in NOT_RESULTS}


def logged_rows(run_dir: Path, after_step: int = 0) -> list[str]:
    """metrics.csv rows logged after ``after_step``, timings left out."""
    lines = (run_dir / "metrics.csv").read_text().splitlines()[1:]
    return [r for r in lines if int(r.split(",")[0]) > after_step and not any(t in r for t in TIMINGS)]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run: its metrics, final-weights digest, loss log, and a spare copy of checkpoint-40."""
    run_dir = tmp_path_factory.mktemp("reference")
    train(compose_cfg(ARGS, run_dir=run_dir))
    spare = tmp_path_factory.mktemp("spare") / "checkpoint-40"
    shutil.copytree(run_dir / "checkpoints" / "checkpoint-40", spare)
    return SimpleNamespace(dir=run_dir, metrics=json.loads((run_dir / "metrics.json").read_text()),
                           digest=saved_model_digest(run_dir / "model"), rows=logged_rows(run_dir),
                           checkpoint_40=spare)


def killed_after(checkpoint: Path, run_dir: Path) -> Path:
    """A run directory holding only ``checkpoint`` (as a kill right after writing it leaves it)."""
    target = run_dir / "checkpoints" / checkpoint.name
    shutil.copytree(checkpoint, target)
    return run_dir


def test_resume_from_the_final_checkpoint_trains_no_extra_step(reference):
    # killed after checkpoint-80 was written, before metrics.json, model/ and predictions/
    run_dir = reference.dir
    for name in ("metrics.json", "model", "predictions"):
        path = run_dir / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    assert reference.metrics["global_step"] == 80

    metrics = train(compose_cfg(ARGS, run_dir=run_dir))

    assert metrics["resumed_from"].endswith("checkpoint-80")
    on_disk = json.loads((run_dir / "metrics.json").read_text())
    assert (on_disk["global_step"], on_disk["epoch"], on_disk["train_loss"]) == (
        80, reference.metrics["epoch"], reference.metrics["train_loss"])
    assert comparable(on_disk) == comparable(reference.metrics)
    assert reference.metrics["best_checkpoint"] == "checkpoints/checkpoint-80"
    assert saved_model_digest(run_dir / "model") == reference.digest
    # the end-of-training summary (train_loss, total_flos, epoch at step 80) is logged once, not once per attempt
    assert logged_rows(run_dir) == reference.rows

    # and the same command once more, now that the run has finished: still the uninterrupted run's log
    train(compose_cfg(ARGS, run_dir=run_dir))
    assert logged_rows(run_dir) == reference.rows


def test_resumed_run_reports_the_whole_runs_train_loss_and_loss_log(reference, tmp_path):
    run_dir = killed_after(reference.checkpoint_40, tmp_path)
    # killed later than checkpoint-40 (the later checkpoints lost): metrics.csv holds rows it is about to log again
    shutil.copy(reference.dir / "metrics.csv", run_dir / "metrics.csv")

    metrics = train(compose_cfg(ARGS, run_dir=run_dir))

    assert metrics["resumed_from"].endswith("checkpoint-40")
    on_disk = json.loads((run_dir / "metrics.json").read_text())
    assert on_disk["train_loss"] == reference.metrics["train_loss"]
    assert comparable(on_disk) == comparable(reference.metrics)
    assert saved_model_digest(run_dir / "model") == reference.digest
    # the first loss logged after the resume (step 42) averages steps 40-42, as uninterrupted;
    # every row up to 40 is there once, every later one is logged once more
    assert logged_rows(run_dir) == reference.rows


def test_checkpoint_from_before_the_loss_tally_resumes_and_says_what_is_missing(reference, tmp_path, caplog):
    run_dir = killed_after(reference.checkpoint_40, tmp_path)
    state_file = run_dir / "checkpoints" / "checkpoint-40" / "trainer_state.json"
    state = json.loads(state_file.read_text())
    del state["stateful_callbacks"]["LossTally"]  # as written by gliner_exp before the tally existed
    state_file.write_text(json.dumps(state))
    write_manifest(state_file.parent)  # sealed again, as a whole checkpoint of that time would be

    with caplog.at_level(logging.WARNING):
        metrics = train(compose_cfg(ARGS, run_dir=run_dir))

    assert metrics["global_step"] == 80 and metrics["resumed_from"].endswith("checkpoint-40")
    assert "train_loss covers only the steps after step 40" in caplog.text
    assert saved_model_digest(run_dir / "model") == reference.digest


def test_resume_of_an_early_stopped_run_moved_to_another_dir_trains_no_further_and_loads_its_best(tmp_path):
    # early stopping's patience used up at a checkpoint, killed before the final outputs were written,
    # then the run dir moved (as a SLURM job's scratch dir is moved back): trainer_state.json still
    # names the best checkpoint by its old, now missing, absolute path
    args = [*TINY, "train.early_stopping_patience=1", "train.eval_every=8", "train.save_every=8"]
    first = train(compose_cfg(args, run_dir=tmp_path / "run"))
    stop = first["global_step"]
    assert stop < 80, "the run was meant to stop early"
    assert first["best_checkpoint"] == f"checkpoints/checkpoint-{stop - 8}"  # not the last: load_best_model_at_end matters
    digest = saved_model_digest(tmp_path / "run" / "model")
    for name in ("metrics.json", "model", "predictions"):
        path = tmp_path / "run" / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    run_dir = tmp_path / "moved"
    shutil.move(tmp_path / "run", run_dir)

    again = train(compose_cfg(args, run_dir=run_dir))

    assert again["resumed_from"].endswith(f"checkpoint-{stop}")
    assert comparable(json.loads((run_dir / "metrics.json").read_text())) == comparable(first)
    assert saved_model_digest(run_dir / "model") == digest  # the best weights, loaded from the moved dir


def test_resume_mid_patience_stops_where_the_uninterrupted_run_stops(tmp_path):
    # patience 2, stopped at step S: at checkpoint S-8 one non-improving evaluation was already counted
    args = [*TINY, "train.early_stopping_patience=2", "train.eval_every=8", "train.save_every=8",
            "train.save_total_limit=null"]
    first = train(compose_cfg(args, run_dir=tmp_path / "reference"))
    stop = first["global_step"]
    assert stop < 80, "the run was meant to stop early"
    run_dir = killed_after(tmp_path / "reference" / "checkpoints" / f"checkpoint-{stop - 8}", tmp_path / "resumed")

    again = train(compose_cfg(args, run_dir=run_dir))

    assert again["global_step"] == stop, "the resumed run must keep early stopping's count"
    assert saved_model_digest(run_dir / "model") == saved_model_digest(tmp_path / "reference" / "model")
