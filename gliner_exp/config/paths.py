"""Whether the paths a config names are there: data files found, regular files, readable; a resume directory.

Checked with every other config problem (:mod:`gliner_exp.config.rules`), so a
missing file comes in the same message, before Hydra or torch start; the data
loader words its own checks with :func:`file_problem` too. Relative paths are
taken from the directory the command was started in. Nothing here imports torch.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gliner_exp.config.data import data_files

#: ``run.resume`` values that are settings, not paths.
RESUME_SETTINGS = ("auto", "never")


def resolved_path(raw: str | Path, base_dir: str | Path | None = None) -> Path:
    """``raw`` (``~`` expanded) made absolute against ``base_dir`` (default: the current directory)."""
    base = Path(os.getcwd() if base_dir is None else base_dir)
    # abspath (not resolve) normalizes "a/../b" without following symlinks.
    return Path(os.path.abspath(base / Path(raw).expanduser()))


def file_problem(key: str, raw: Any, base_dir: str | Path | None = None) -> str | None:
    """What keeps config key ``key`` from naming a readable file (worded for the user), or None."""
    if not isinstance(raw, (str, Path)) or not str(raw).strip():
        return f"{key}: must be a file path, got {raw!r}"
    path = resolved_path(raw, base_dir)
    if not path.exists():
        return f"{key}: file not found: {path}"
    if not path.is_file():
        return f"{key}: not a file: {path}"
    try:
        with open(path, "rb"):
            pass
    except PermissionError:
        return f"{key}: cannot be read (permission denied): {path}"
    except OSError as exc:
        return f"{key}: cannot be read ({exc.strerror or exc}): {path}"
    return None


def path_problems(cfg: Any) -> list[str]:
    """The problems of the paths in a field-wise valid config: ``data.train/dev/test`` (each source of a mix) and ``run.resume``.

    Data paths are checked only for file data (with ``data.synthetic`` set, the
    rules ask for them to be null instead). A ``run.resume`` path is only checked
    to be a directory here; whether it holds a complete checkpoint is decided
    when the run starts.
    """
    out: list[str] = []
    data = cfg.data
    if data.synthetic is None:
        for key, raw in data_files(data):  # each split, and each source of a training mix
            problem = file_problem(key, raw)
            if problem is not None:
                out.append(problem)
    resume = cfg.run.resume
    if not str(resume).strip():
        out.append(f"run.resume: {resume!r} is not allowed; use auto, never, or a checkpoint-N path")
    elif resume not in RESUME_SETTINGS and not resolved_path(resume).is_dir():
        out.append(f"run.resume={resume!r}: not a complete checkpoint directory (no directory "
                   f"{resolved_path(resume)}); use auto, never, or a checkpoint-N path")
    return out
