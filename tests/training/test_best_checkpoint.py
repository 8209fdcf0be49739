"""Where the best checkpoint is, once a run dir has moved: what a resume uses and what metrics.json records.

The moved run end to end (best weights loaded from the new place) is in
``test_resume_metrics.py``; these are the cases around it, on real directories
and HF's own state and arguments objects.
"""

import logging

from transformers import TrainerState, TrainingArguments

from gliner_exp.training.callbacks import BestCheckpointLocator, checkpoint_callbacks
from gliner_exp.training.checkpoints import best_checkpoint_here, run_relative


def _checkpoints(root, *steps):
    for step in steps:
        (root / "checkpoints" / f"checkpoint-{step}").mkdir(parents=True)
    return root / "checkpoints"


def test_the_run_dirs_own_copy_wins_over_the_recorded_path_even_where_that_still_exists(tmp_path):
    old, new = _checkpoints(tmp_path / "old", 8), _checkpoints(tmp_path / "new", 8, 16)
    # a copied run dir: the old place is still there, but resuming must not read another dir's weights
    assert best_checkpoint_here(str(old / "checkpoint-8"), new) == str(new / "checkpoint-8")


def test_a_best_checkpoint_only_elsewhere_is_kept_and_one_gone_everywhere_is_none(tmp_path):
    other = _checkpoints(tmp_path / "other", 8)  # run.resume=<another run's checkpoint>: its best is there
    here = _checkpoints(tmp_path / "here", 16)
    assert best_checkpoint_here(str(other / "checkpoint-8"), here) == str(other / "checkpoint-8")
    assert best_checkpoint_here(str(tmp_path / "gone" / "checkpoints" / "checkpoint-8"), here) is None
    assert best_checkpoint_here(None, here) is None


def test_metrics_json_records_the_best_checkpoint_relative_to_the_run_dir(tmp_path):
    run_dir = tmp_path / "run"
    assert run_relative(str(run_dir / "checkpoints" / "checkpoint-8"), run_dir) == "checkpoints/checkpoint-8"
    outside = tmp_path / "other" / "checkpoints" / "checkpoint-8"
    assert run_relative(str(outside), run_dir) == str(outside)  # not in this run dir: stays absolute
    assert run_relative(None, run_dir) is None


def test_every_run_locates_its_best_checkpoint_on_resume_and_says_when_it_is_gone(tmp_path, caplog):
    assert any(isinstance(c, BestCheckpointLocator) for c in checkpoint_callbacks())
    root = _checkpoints(tmp_path / "moved", 8, 16)
    args = TrainingArguments(output_dir=str(root), use_cpu=True, report_to="none")

    moved = TrainerState(global_step=16, best_global_step=8,
                         best_model_checkpoint=str(tmp_path / "old" / "checkpoints" / "checkpoint-8"))
    BestCheckpointLocator().on_train_begin(args, moved, None)
    assert moved.best_model_checkpoint == str(root / "checkpoint-8")

    lost = TrainerState(global_step=16, best_global_step=4,
                        best_model_checkpoint=str(tmp_path / "old" / "checkpoints" / "checkpoint-4"))
    with caplog.at_level(logging.WARNING):
        BestCheckpointLocator().on_train_begin(args, lost, None)
    # None, not the stale path: HF would warn and keep the last weights, or fail (save_total_limit=1)
    assert lost.best_model_checkpoint is None
    assert "checkpoint-4 (step 4), is gone" in caplog.text
