"""A run that cannot write its run directory (disk full, quota, read-only) stops with one clear message.

Without this, a full disk mid-checkpoint surfaces as a chain of tracebacks
from torch's zip writer, followed by another one from the status bookkeeping.
:func:`reported_storage_errors` turns any such failure into
:class:`RunDirWriteError`: the errno's meaning, the file, the free space left,
and what a rerun will do (resume from the newest complete checkpoint, which a
half-written one never passes for: see :mod:`gliner_exp.training.checkpoints`).
"""

from __future__ import annotations

import errno
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from gliner_exp.training.checkpoints import newest_complete

# What "the run dir cannot take more data" looks like; other OSErrors are bugs and keep their traceback.
# Permission errors count only for a file inside the run dir; a write() on an open file names none.
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_DENIED = {errno.EROFS, errno.EACCES, errno.EPERM}
# torch's zip writer reports some failed writes as a RuntimeError without errno.
_TORCH_WRITE_FAILURES = ("PytorchStreamWriter failed", "unexpected pos")


class RunDirWriteError(SystemExit):
    """Writing into the run directory failed; exits with status 1 and the message (no traceback)."""


def _inside(filename: object, run_dir: Path) -> bool:
    try:
        return Path(str(filename)).resolve().is_relative_to(run_dir.resolve())
    except (OSError, ValueError):
        return False


def _chain(exc: BaseException | None) -> list[BaseException]:
    out: list[BaseException] = []
    while exc is not None and all(exc is not e for e in out):
        out.append(exc)
        exc = exc.__cause__ or exc.__context__
    return out


def _storage_failure(exc: BaseException, run_dir: Path) -> BaseException | None:
    """The OSError (or torch writer error) in ``exc``'s chain that says the run dir took no more data."""
    chain = _chain(exc)
    for e in chain:  # an errno, wherever torch's zip writer put it in the chain, says most
        if isinstance(e, OSError) and e.errno in _FULL | _DENIED:
            if e.filename is not None and _inside(e.filename, run_dir):
                return e
            if e.filename is None and e.errno in _FULL:
                return e
    for e in chain:
        if isinstance(e, RuntimeError) and any(s in str(e) for s in _TORCH_WRITE_FAILURES):
            return e
    return None


def _free_bytes(path: Path) -> float:
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return float("inf")


def _free(path: Path) -> str:
    free = _free_bytes(path)
    return "free space unknown" if free == float("inf") else f"{free / 2**20:.1f} MiB free there"


def explain(failure: BaseException, run_dir: Path) -> str:
    """The message for a write into ``run_dir`` that failed with ``failure``."""
    if isinstance(failure, OSError):
        what = failure.strerror or str(failure)
        where = f" ({failure.filename})" if failure.filename else ""
    else:
        what, where = f"a checkpoint file could not be written ({str(failure).splitlines()[0][:200]})", ""
        if _free_bytes(run_dir) < 2**20:  # what torch's writer does not say: why
            what = f"{os.strerror(errno.ENOSPC)} ({what})"
    newest = newest_complete(run_dir / "checkpoints")
    then = (f"it resumes from {newest.name}, its newest complete checkpoint" if newest is not None
            else "it starts from scratch (no complete checkpoint was written)")
    return (f"gliner_exp: cannot write to the run directory {run_dir}: {what}{where}; {_free(run_dir)}. "
            f"Nothing complete is lost: once space (or write access) is back, run the same command again and "
            f"{then}; a checkpoint cut short by this error is skipped.")


@contextmanager
def reported_storage_errors(run_dir: str | Path) -> Iterator[None]:
    """Turn a failed write into the run dir inside the block into :class:`RunDirWriteError`."""
    try:
        yield
    except (OSError, RuntimeError) as exc:
        failure = _storage_failure(exc, Path(run_dir))
        if failure is None:
            raise
        raise RunDirWriteError(explain(failure, Path(run_dir))) from exc
