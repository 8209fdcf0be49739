"""Find the checkpoint a run should resume from, and say why the others cannot be used.

A checkpoint is *complete* when a resume from it restores exactly what was
saved. Checked, in order (the first failure is the reason given):

* ``trainer_state.json`` is there and parses (HF writes it after the weights,
  optimizer, scheduler and RNG state: without it the save was interrupted);
* model weights are there;
* with a manifest (:mod:`gliner_exp.training.checkpoint_manifest`, written by
  every run since it existed): every file it lists is there with its size and
  sampled hash -- catches truncated, rewritten and deleted files;
* without one (a checkpoint from before manifests, or a process killed between
  ``trainer_state.json`` and its manifest, when every file is whole anyway):
  each torch/safetensors file is structurally whole (a zip's central directory
  and a safetensors header both describe the full length: a truncated file
  fails). Files deleted from such a checkpoint cannot be told from ones never
  written.

Nothing here imports torch: the sweep reader calls it for every job.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from gliner_exp.training.checkpoint_manifest import has_manifest, manifest_problem

log = logging.getLogger(__name__)

_CKPT = re.compile(r"^checkpoint-(\d+)$")
_WEIGHTS = ("model.safetensors", "pytorch_model.bin")
_TORCH_SUFFIXES = (".bin", ".pt", ".pth")
#: Where incomplete checkpoints are moved when a run resumes past them (``checkpoints/incomplete/``).
INCOMPLETE_DIR = "incomplete"


def _safetensors_problem(path: Path) -> str | None:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            return f"{path.name} is truncated ({size} bytes)"
        (n,) = struct.unpack("<Q", head)
        if 8 + n > size:
            return f"{path.name} is truncated ({size} bytes, its header alone needs {8 + n})"
        try:
            header = json.loads(fh.read(n))
            end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
        except (ValueError, KeyError, TypeError, IndexError):
            return f"{path.name}: its header is damaged"
    if 8 + n + end != size:
        return f"{path.name} is {size} bytes, its header describes {8 + n + end} (truncated)"
    return None


def _structure_problem(ckpt: Path) -> str | None:
    for path in sorted(p for p in ckpt.rglob("*") if p.is_file()):
        try:
            if path.suffix == ".safetensors":
                problem = _safetensors_problem(path)
                if problem:
                    return problem
            elif path.suffix in _TORCH_SUFFIXES:
                with zipfile.ZipFile(path):  # torch.save's format; truncated: no central directory
                    pass
        except zipfile.BadZipFile:
            return f"{path.relative_to(ckpt)} is truncated or damaged (not a whole torch file)"
        except OSError as exc:
            return f"{path.relative_to(ckpt)} cannot be read ({exc.strerror})"
    return None


def checkpoint_problem(ckpt: str | Path) -> str | None:
    """Why ``ckpt`` cannot be resumed from (one sentence), or None if it is complete."""
    ckpt = Path(ckpt)
    if not ckpt.is_dir():
        return "not a directory"
    state = ckpt / "trainer_state.json"
    if not state.is_file():
        return "no trainer_state.json (the save was interrupted)"
    try:
        json.loads(state.read_text())
    except (OSError, ValueError):
        return "trainer_state.json is truncated or unreadable (the save was interrupted)"
    if not any((ckpt / f).is_file() for f in _WEIGHTS):
        return f"no model weights ({' or '.join(_WEIGHTS)})"
    if has_manifest(ckpt):
        return manifest_problem(ckpt)
    return _structure_problem(ckpt)


def is_complete(ckpt: Path) -> bool:
    """True if a resume from ``ckpt`` restores exactly what was saved (see the module docstring)."""
    return checkpoint_problem(ckpt) is None


def checkpoint_step(path: Path) -> int | None:
    """N of a ``checkpoint-N`` directory name, else None."""
    m = _CKPT.match(Path(path).name)
    return int(m.group(1)) if m else None


@dataclass
class CheckpointScan:
    """The newest complete checkpoint under a root, and the newer ones passed over (path, reason)."""

    newest: Path | None = None
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def scan_checkpoints(checkpoint_root: str | Path) -> CheckpointScan:
    """Walk ``checkpoint-N`` from the largest N down to the first complete one."""
    root = Path(checkpoint_root)
    scan = CheckpointScan()
    if not root.is_dir():
        return scan
    found = [(step, p) for p in root.iterdir() if (step := checkpoint_step(p)) is not None and p.is_dir()]
    for _, path in sorted(found, reverse=True):
        problem = checkpoint_problem(path)
        if problem is None:
            scan.newest = path
            break
        scan.skipped.append((path, problem))
    return scan


def newest_complete(checkpoint_root: str | Path) -> Path | None:
    """The complete ``checkpoint-N`` with the largest N under ``checkpoint_root``, if any."""
    return scan_checkpoints(checkpoint_root).newest


def _set_aside(ckpt: Path) -> Path:
    target_dir = ckpt.parent / INCOMPLETE_DIR
    target_dir.mkdir(exist_ok=True)
    target, n = target_dir / ckpt.name, 1
    while target.exists():
        n += 1
        target = target_dir / f"{ckpt.name}.{n}"
    shutil.move(str(ckpt), str(target))
    return target


def _size_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def set_aside_incomplete(checkpoint_root: str | Path) -> list[Path]:
    """Move the incomplete checkpoints newer than the newest complete one to ``<root>/incomplete/``.

    Once a run resumes past them, training writes those steps again into fresh
    directories instead of over half a checkpoint. Nothing is deleted (a new name
    is chosen if one is taken); returns where they went.
    """
    moved = []
    for ckpt, _ in scan_checkpoints(checkpoint_root).skipped:
        size = _size_mib(ckpt)
        target = _set_aside(ckpt)
        log.warning("moved incomplete %s to %s (%.1f MiB; delete it once you no longer need it)",
                    ckpt.name, target, size)
        moved.append(target)
    return moved


class ResumeError(ValueError):
    """``run.resume`` names something that is not a complete checkpoint."""


def resolve_resume(setting: str, checkpoint_root: str | Path) -> Path | None:
    """``auto`` -> newest complete checkpoint (or None); ``never`` -> None; else that path, checked."""
    if setting == "never":
        return None
    if setting == "auto":
        scan = scan_checkpoints(checkpoint_root)
        instead = (f"resuming from {scan.newest.name} instead" if scan.newest is not None
                   else "no complete checkpoint is left: starting from scratch")
        for ckpt, problem in scan.skipped:
            log.warning("checkpoint %s is incomplete, skipped: %s; %s", ckpt, problem, instead)
        return scan.newest
    path = Path(setting)
    problem = checkpoint_problem(path)
    if problem is not None:
        raise ResumeError(f"run.resume={setting!r}: not a complete checkpoint directory: {problem}. "
                          "Use auto, never, or the path of a complete checkpoint-N")
    return path


def best_checkpoint_here(recorded: str | None, checkpoint_root: str | Path) -> str | None:
    """Where the best checkpoint a trainer state records is now, for a resume (None: nowhere).

    HF records ``best_model_checkpoint`` as a path under the output dir of the
    time, absolute when the run dir was given absolute (Hydra's always is). A
    run dir moved (or copied, or a SLURM job's scratch moved back) leaves it
    pointing at the old place: HF would then load the best weights from there
    at the end (``load_best_model_at_end``), or warn that it cannot find them
    and keep the last weights, and with ``save_total_limit=1`` fail on the
    missing path. So: this run's own ``checkpoint-N`` of the same step when
    there is one; else the recorded path while it still exists (a run resumed
    from another run's checkpoint keeps that run's best); else None.
    """
    if not recorded:
        return None
    step = checkpoint_step(Path(recorded))
    here = Path(checkpoint_root) / f"checkpoint-{step}" if step is not None else None
    if here is not None and here.is_dir():
        return str(here)
    if Path(recorded).is_dir():
        return recorded
    return None


def run_relative(path: str | Path | None, run_dir: str | Path) -> str | None:
    """``path`` relative to ``run_dir`` (``checkpoints/checkpoint-N``), so a moved run dir's record stays true.

    A path outside the run dir (the best checkpoint of the run this one was
    resumed from) stays absolute; None stays None.
    """
    if not path:
        return None
    absolute = Path(path).resolve()
    try:
        return absolute.relative_to(Path(run_dir).resolve()).as_posix()
    except ValueError:
        return str(absolute)
