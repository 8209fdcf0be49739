"""A completeness manifest sealed into every checkpoint once all its files are on disk.

HF writes a checkpoint file by file (weights, optimizer, scheduler, RNG state,
``trainer_state.json`` last) with no fsync, so a crash of the machine while or
shortly after saving (power loss, node failure, a full disk) can leave a
checkpoint that has every file name but truncated or zero-filled contents; a
file deleted by hand looks the same to a reader that only checks names. Such
a checkpoint breaks the resume with a traceback from deep inside torch, or,
worse, resumes silently without its optimizer state.

:func:`write_manifest` runs after each save
(:class:`gliner_exp.training.callbacks.ManifestCallback`, once every rank has
written its share): it fsyncs every file, then records each one's size and a
sampled hash in ``checkpoint_manifest.json`` (temp file, fsync, rename, fsync
of the directory) -- the last thing written, so the manifest never vouches for
data that is not durable. :func:`manifest_problem` checks a checkpoint against it.

The hash covers the size and three 64 KiB samples (head, middle, tail), not
the whole file: constant time however large the model, and it still catches
truncation, zero-filled tails and a file replaced by another one. Nothing here
imports torch: the sweep reader checks checkpoints in milliseconds.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

MANIFEST_NAME = "checkpoint_manifest.json"
FORMAT = 1
_SAMPLE = 64 * 1024


def sampled_digest(path: Path, size: int) -> str:
    """sha256 over ``size`` and the file's first, middle and last 64 KiB."""
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as fh:
        for offset in sorted({0, max(0, size // 2 - _SAMPLE // 2), max(0, size - _SAMPLE)}):
            fh.seek(offset)
            h.update(fh.read(_SAMPLE))
    return h.hexdigest()


def _files(ckpt: Path) -> list[Path]:
    return sorted(p for p in ckpt.rglob("*") if p.is_file() and not p.name.startswith(MANIFEST_NAME)
                  and not p.name.startswith(f".{MANIFEST_NAME}"))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_manifest(ckpt: str | Path) -> Path:
    """Make every file of ``ckpt`` durable, then record it in ``ckpt/checkpoint_manifest.json``."""
    ckpt = Path(ckpt)
    entries = {}
    files = _files(ckpt)
    for path in files:
        _fsync(path)
        size = path.stat().st_size
        entries[path.relative_to(ckpt).as_posix()] = {"size": size, "sample_sha256": sampled_digest(path, size)}
    for d in sorted({p.parent for p in files}, key=lambda p: len(p.parts), reverse=True):
        _fsync(d)  # the directory entries of the files, not only their contents
    payload = json.dumps({"format": FORMAT, "files": entries}, indent=1, sort_keys=True) + "\n"
    tmp = ckpt / f".{MANIFEST_NAME}.{os.getpid()}.tmp"
    with open(tmp, "w") as fh:
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
    final = ckpt / MANIFEST_NAME
    tmp.replace(final)
    _fsync(ckpt)
    return final


def has_manifest(ckpt: str | Path) -> bool:
    """True if ``ckpt`` holds a manifest (valid or not)."""
    return (Path(ckpt) / MANIFEST_NAME).is_file()


def manifest_problem(ckpt: str | Path) -> str | None:
    """What in ``ckpt`` differs from its manifest (first problem found), or None if it all matches.

    A checkpoint without a manifest is not judged here (see :mod:`gliner_exp.training.checkpoints`).
    """
    ckpt = Path(ckpt)
    try:
        data = json.loads((ckpt / MANIFEST_NAME).read_text())
        files = data["files"]
        if data.get("format") != FORMAT or not isinstance(files, dict) or not files:
            raise ValueError("unknown format")
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"its {MANIFEST_NAME} is unreadable ({exc})"
    missing = [name for name in files if not (ckpt / name).is_file()]
    if missing:
        return (f"{len(missing)} of its {len(files)} files are missing ({', '.join(missing[:4])}"
                f"{', ...' if len(missing) > 4 else ''})")
    for name, entry in sorted(files.items()):
        path = ckpt / name
        try:
            size = path.stat().st_size
            if size != entry["size"]:
                return f"{name} is {size} bytes, {entry['size']} when it was saved (truncated or rewritten)"
            if sampled_digest(path, size) != entry["sample_sha256"]:
                return f"{name}: its contents differ from when it was saved"
        except OSError as exc:
            return f"{name} cannot be read ({exc.strerror})"
        except (KeyError, TypeError):
            return f"its {MANIFEST_NAME} is unreadable (bad entry for {name})"
    return None

