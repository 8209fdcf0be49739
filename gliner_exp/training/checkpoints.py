"""Find the checkpoint a run should resume from."""

from __future__ import annotations

import re
from pathlib import Path

_CKPT = re.compile(r"^checkpoint-(\d+)$")


def is_complete(ckpt: Path) -> bool:
    """HF writes ``trainer_state.json`` last: a checkpoint without it was interrupted mid-save."""
    has_weights = any((ckpt / f).is_file() for f in ("model.safetensors", "pytorch_model.bin"))
    return has_weights and (ckpt / "trainer_state.json").is_file()


def newest_complete(checkpoint_root: str | Path) -> Path | None:
    """The complete ``checkpoint-N`` with the largest N under ``checkpoint_root``, if any."""
    root = Path(checkpoint_root)
    if not root.is_dir():
        return None
    found = [(int(m.group(1)), p) for p in root.iterdir() if (m := _CKPT.match(p.name)) and p.is_dir()]
    for _, path in sorted(found, reverse=True):
        if is_complete(path):
            return path
    return None


class ResumeError(ValueError):
    """``run.resume`` names something that is not a complete checkpoint."""


def resolve_resume(setting: str, checkpoint_root: str | Path) -> Path | None:
    """``auto`` -> newest complete checkpoint (or None); ``never`` -> None; else that path, checked."""
    if setting == "never":
        return None
    if setting == "auto":
        return newest_complete(checkpoint_root)
    path = Path(setting)
    if not path.is_dir() or not is_complete(path):
        raise ResumeError(f"run.resume={setting!r}: not a complete checkpoint directory "
                          "(needs model weights and trainer_state.json); use auto, never, or a checkpoint-N path")
    return path
