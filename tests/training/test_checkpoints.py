"""Unit checks of what counts as a complete checkpoint, what is done with the others, and who agrees on it.

The end-to-end cases (a rerun of the CLI over a damaged run dir) are in test_fault_storage.py.
"""

from __future__ import annotations

import errno
import json
import logging
import os

import pytest
import torch

from gliner_exp.sweeps.job_store import has_checkpoint
from gliner_exp.training.checkpoint_manifest import MANIFEST_NAME, write_manifest
from gliner_exp.training.checkpoints import (
    checkpoint_problem, is_complete, newest_complete, resolve_resume, set_aside_incomplete,
)
from gliner_exp.training.storage_errors import RunDirWriteError, reported_storage_errors


def make_checkpoint(root, step, manifest=True, weights="pytorch_model.bin"):
    """A checkpoint-<step> with HF's file kinds (small), sealed with its manifest unless told not to."""
    ckpt = root / f"checkpoint-{step}"
    ckpt.mkdir(parents=True)
    if weights == "model.safetensors":
        from safetensors.torch import save_file

        save_file({"w": torch.arange(5000.0)}, str(ckpt / weights))
    else:
        torch.save({"w": torch.arange(5000.0)}, ckpt / weights)
    torch.save({"state": {0: torch.ones(3000)}}, ckpt / "optimizer.pt")
    torch.save({"last_epoch": step}, ckpt / "scheduler.pt")
    torch.save({"python": [1, 2, 3]}, ckpt / "rng_state.pth")
    (ckpt / "trainer_state.json").write_text(json.dumps({"global_step": step, "log_history": []}))
    if manifest:
        write_manifest(ckpt)
    return ckpt


@pytest.mark.parametrize("weights", ["pytorch_model.bin", "model.safetensors"])
@pytest.mark.parametrize("manifest", [True, False])
def test_truncated_weights_are_incomplete_with_or_without_manifest(tmp_path, weights, manifest):
    ckpt = make_checkpoint(tmp_path, 4, manifest=manifest, weights=weights)
    assert is_complete(ckpt)
    size = (ckpt / weights).stat().st_size
    os.truncate(ckpt / weights, size - 100)
    problem = checkpoint_problem(ckpt)
    assert problem is not None and weights in problem and "truncated" in problem


def test_deleted_files_are_incomplete_where_a_manifest_lists_them(tmp_path):
    ckpt = make_checkpoint(tmp_path, 4)
    (ckpt / "optimizer.pt").unlink()
    (ckpt / "scheduler.pt").unlink()
    assert checkpoint_problem(ckpt) == "2 of its 5 files are missing (optimizer.pt, scheduler.pt)"


def test_rewritten_contents_of_the_same_size_are_incomplete(tmp_path):
    ckpt = make_checkpoint(tmp_path, 4)
    path = ckpt / "pytorch_model.bin"
    size = path.stat().st_size
    with open(path, "r+b") as fh:  # the tail zero-filled, as after a power loss
        fh.seek(size - 4096)
        fh.write(b"\0" * 4096)
    assert checkpoint_problem(ckpt) == "pytorch_model.bin: its contents differ from when it was saved"


def test_interrupted_saves_are_incomplete(tmp_path):
    no_state = make_checkpoint(tmp_path, 2, manifest=False)
    (no_state / "trainer_state.json").unlink()
    assert "no trainer_state.json" in checkpoint_problem(no_state)
    cut = make_checkpoint(tmp_path, 4, manifest=False)
    (cut / "trainer_state.json").write_text('{"global_step": 4, "log_')
    assert "trainer_state.json is truncated" in checkpoint_problem(cut)
    bad_manifest = make_checkpoint(tmp_path, 6)
    (bad_manifest / MANIFEST_NAME).write_text("{")
    assert "unreadable" in checkpoint_problem(bad_manifest)


def test_auto_resume_skips_incomplete_ones_with_a_warning_and_sweeps_agree(tmp_path, caplog):
    job = tmp_path / "job"
    root = job / "checkpoints"
    make_checkpoint(root, 2)
    os.truncate(make_checkpoint(root, 4) / "optimizer.pt", 10)
    with caplog.at_level(logging.WARNING):
        chosen = resolve_resume("auto", root)
    assert chosen == root / "checkpoint-2" == newest_complete(root)
    assert f"checkpoint {root / 'checkpoint-4'} is incomplete, skipped: optimizer.pt is 10 bytes" in caplog.text
    assert "resuming from checkpoint-2 instead" in caplog.text
    assert has_checkpoint(job)

    os.truncate(root / "checkpoint-2" / "pytorch_model.bin", 10)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert resolve_resume("auto", root) is None
    assert "no complete checkpoint is left: starting from scratch" in caplog.text
    assert not has_checkpoint(job)


def test_named_incomplete_checkpoint_is_refused_with_the_reason(tmp_path):
    ckpt = make_checkpoint(tmp_path, 4)
    (ckpt / "rng_state.pth").unlink()
    with pytest.raises(ValueError, match=r"run.resume=.*not a complete checkpoint directory: 1 of its 5 files"):
        resolve_resume(str(ckpt), tmp_path)


def test_incomplete_checkpoints_are_set_aside_never_overwritten(tmp_path):
    make_checkpoint(tmp_path, 2)
    for _ in range(2):
        ckpt = make_checkpoint(tmp_path, 4)
        (ckpt / "trainer_state.json").unlink()
        set_aside_incomplete(tmp_path)
    assert sorted(p.name for p in (tmp_path / "incomplete").iterdir()) == ["checkpoint-4", "checkpoint-4.2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-2", "incomplete"]
    assert newest_complete(tmp_path) == tmp_path / "checkpoint-2"


def test_a_full_disk_while_saving_names_the_dir_and_the_checkpoint_a_rerun_resumes_from(tmp_path):
    make_checkpoint(tmp_path / "checkpoints", 2)
    with pytest.raises(RunDirWriteError) as exc:
        with reported_storage_errors(tmp_path):
            try:
                raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 9228864 vs 9228752")
            except RuntimeError:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    message = str(exc.value)
    assert message.startswith(f"gliner_exp: cannot write to the run directory {tmp_path}: No space left on device")
    assert "it resumes from checkpoint-2, its newest complete checkpoint" in message


def test_other_errors_keep_their_traceback(tmp_path):
    with pytest.raises(PermissionError):  # not inside the run dir: not a storage failure of the run
        with reported_storage_errors(tmp_path / "run"):
            raise PermissionError(errno.EACCES, "Permission denied", "/somewhere/else")
    with pytest.raises(RuntimeError):
        with reported_storage_errors(tmp_path):
            raise RuntimeError("CUDA out of memory")
