"""One run per run directory: an ``flock`` on ``<run dir>/run.lock`` held for the life of the run.

Two copies of the same command (a double-submitted job, a sweep relaunched while it
runs) would otherwise train into the same ``checkpoints/`` and ``model/`` at once.
The lock is a kernel lock on an open file, not a pid file: whatever way its holder
ends (exit, exception, kill -9, a node reboot releasing its NFS locks) the lock is
released with it, and a stale ``run.lock`` left behind means nothing. The file only
says who holds the lock (pid, host, start time), for the second writer's message.

* :func:`hold_run_dir` takes it (a context manager). A second process gets
  :class:`RunDirBusy`, a :class:`~gliner_exp.config.errors.ConfigError`: the CLI
  prints it and exits with status 2 before anything heavy is loaded. Within one
  process the hold is re-entrant (the job runner holds it around ``train()``, which
  takes it again).
* In a multi-process (DDP) job every rank works in the same run directory: only
  rank 0 takes the lock; a second copy of the job stops at its rank 0.
* :func:`run_dir_holder` answers who holds it now, without taking it for long.

Processes forked while the lock is held (data-loader workers) share it and keep it
until they exit too; exec'd children (wandb's service) do not inherit it.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from gliner_exp.config.errors import ConfigError

log = logging.getLogger(__name__)

LOCK_FILE = "run.lock"

# realpath of a run dir -> [fd or None (no flock support), depth]: the holds of this process.
_held: dict[str, list] = {}
_guard = threading.Lock()


class RunDirBusy(ConfigError):
    """Another process holds the run directory's lock; ``holder`` is what it wrote (or None)."""

    def __init__(self, run_dir: str | Path, holder: dict | None):
        self.run_dir = Path(run_dir)
        self.holder = holder
        super().__init__([f"run.dir: {run_dir} is in use by another run ({describe_holder(holder)}); "
                          "two runs in one directory would overwrite each other's checkpoints and model. "
                          "Wait for that run to end (its lock goes with it, however it ends), "
                          "or give this one another run.name or run.dir"])


def describe_holder(holder: dict | None) -> str:
    """``pid 123 on host node7 since 2025-01-01T10:00:00+0000``, or what is known of it."""
    if not holder:
        return "holder unknown"
    parts = [f"pid {holder.get('pid', '?')}", f"on host {holder.get('host', '?')}"]
    if holder.get("started_at"):
        parts.append(f"since {holder['started_at']}")
    return " ".join(parts)


def _read_holder(fd: int) -> dict | None:
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode() or "null")
    except (OSError, ValueError):
        return None  # being (re)written right now, or not ours
    return data if isinstance(data, dict) else None


def _write_holder(fd: int) -> None:
    info = {"pid": os.getpid(), "host": socket.gethostname(),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
    except OSError as exc:  # a full disk: the lock holds all the same, a second writer only learns less
        log.warning("could not record this run in its lock file: %s", exc.strerror or exc)


def _is_rank_zero() -> bool:
    from gliner_exp.cluster.environment import dist_info

    return dist_info().is_main


def _flock_exclusive(fd: int, tries: int = 5) -> None:
    """Take the lock without waiting for a holder; a few retries only ride out a
    :func:`run_dir_holder` that looks at the lock this very instant."""
    for attempt in range(tries):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if attempt == tries - 1:
                raise
            time.sleep(0.05)


def _acquire(run_dir: Path) -> str:
    key = os.path.realpath(run_dir)
    with _guard:
        if key in _held:
            _held[key][1] += 1
            return key
        path = run_dir / LOCK_FILE
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise ConfigError([f"run.dir: {run_dir} is not writable ({exc.strerror} creating {path}); "
                               "a run needs to write its checkpoints, model and metrics there"]) from None
        try:
            _flock_exclusive(fd)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise RunDirBusy(run_dir, holder) from None
        except OSError as exc:
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                os.close(fd)
                raise
            os.close(fd)
            log.warning("%s: the file system does not support locks (%s); nothing stops a second "
                        "copy of this run from writing into the same directory", run_dir, exc.strerror)
            _held[key] = [None, 1]
            return key
        _write_holder(fd)
        _held[key] = [fd, 1]
        return key


def _release(key: str) -> None:
    with _guard:
        entry = _held[key]
        entry[1] -= 1
        if entry[1] > 0:
            return
        del _held[key]
        if entry[0] is not None:
            # The file stays: unlinking it would let a newcomer lock a new inode while
            # a waiter still holds the old one.
            fcntl.flock(entry[0], fcntl.LOCK_UN)
            os.close(entry[0])


@contextmanager
def hold_run_dir(run_dir: str | Path, rank_zero: bool | None = None) -> Iterator[None]:
    """Hold ``run_dir``'s lock for the block; raise :class:`RunDirBusy` if another process holds it.

    ``rank_zero`` None asks the environment (torchrun/SLURM); ranks other than 0
    take no lock. Creates ``run_dir`` if needed; an unwritable one is a ConfigError.
    """
    if not (_is_rank_zero() if rank_zero is None else rank_zero):
        yield
        return
    key = _acquire(Path(run_dir))
    try:
        yield
    finally:
        _release(key)


def run_dir_holder(run_dir: str | Path) -> dict | None:
    """Who holds ``run_dir``'s lock (``{"pid", "host", "started_at"}``, ``{}`` if unknown), or None if free.

    A hold of this very process counts as held.
    """
    path = Path(run_dir) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None  # never locked (or unreadable: nobody can be holding it for us to see)
    try:
        try:
            # Shared and let go at once: a starting run's exclusive attempt is in the way only this instant.
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fd) or {}
        except OSError:
            return None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
