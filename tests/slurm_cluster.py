"""Start (or reuse) the throw-away single-node SLURM cluster for tests.

The cluster itself comes from ``../shared/tools/slurm/start_slurm.sh`` (munged +
slurmctld + slurmd on this machine, config under ``$LOCAL_SLURM_DIR``). This
module only decides whether it can be used, starts it idempotently, and hands
tests a clean environment for talking to it. ``tests/conftest.py`` wraps
:func:`ensure_cluster` in the session fixture ``slurm_cluster``, which skips
(with the reason given here) when no cluster can be had.

Knobs (environment):
  LOCAL_SLURM_DIR               cluster dir, as for start_slurm.sh [/tmp/local_slurm]
  GLINER_EXP_SLURM_START        path of start_slurm.sh [<repo>/../shared/tools/slurm/start_slurm.sh]
  GLINER_EXP_SLURM_ACCOUNTING   1/0, only used when the fixture starts the cluster [1]

Accounting (slurmdbd + MariaDB) is ON by default: measured here it costs ~4 s
per cold start (cluster ready 4.1 s after daemon start vs 0.2 s) plus ~7 s of
extra apt installs once. In exchange sacct works, which submitit polls to see
jobs that end without a result file (scancel, OOM kill, node loss); without it
such a job leaves the multirun, and with it the test, waiting forever. A
healthy cluster that is already running is reused as is, with or without
accounting: restarting it would kill other sessions' jobs.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parents[1]
DEFAULT_START = REPO.parent / "shared" / "tools" / "slurm" / "start_slurm.sh"
START_TIMEOUT_S = 300  # apt install on a cold machine included

# Variables that must not travel from the test process into sbatch: SBATCH_*
# *override* the #SBATCH lines of the generated script (sbatch precedence is
# CLI > env > script), and SLURM_* of an enclosing job (pytest run inside
# salloc/srun) leak into the new job, where srun reads e.g. SLURM_MEM_PER_CPU
# and conflicts with the job's --mem.
_LEAKY_PREFIXES = ("SBATCH_", "SALLOC_", "SRUN_", "SLURM_")


class ClusterUnavailable(RuntimeError):
    """No usable SLURM cluster; the message says what to do about it."""


@dataclass(frozen=True)
class SlurmCluster:
    """A running cluster: its config file and how it was obtained."""

    conf: Path
    started_here: bool
    accounting: bool
    start_seconds: float
    env: dict[str, str] = field(repr=False)

    def run(self, *cmd: str, timeout: float = 30) -> subprocess.CompletedProcess:
        """Run a SLURM client command (sacct, scontrol, ...) against this cluster."""
        return subprocess.run(
            list(cmd), env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )


def clean_env(conf: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """Copy of ``base`` (default os.environ) pointed at ``conf``, minus leaky SLURM vars."""
    env = {
        k: v for k, v in (os.environ if base is None else base).items()
        if not k.startswith(_LEAKY_PREFIXES)
    }
    env["SLURM_CONF"] = str(conf)
    return env


def cluster_dir() -> Path:
    return Path(os.environ.get("LOCAL_SLURM_DIR", "/tmp/local_slurm"))


def stop_cluster(cluster: SlurmCluster) -> None:
    """Stop the daemons of ``cluster`` if this process started them (stop_slurm.sh beside start_slurm.sh)."""
    if not cluster.started_here:
        return  # someone else's cluster: leave it running
    script = start_script().with_name("stop_slurm.sh")
    env = dict(os.environ, LOCAL_SLURM_DIR=str(cluster_dir()))
    subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=120)


def start_script() -> Path:
    return Path(os.environ.get("GLINER_EXP_SLURM_START", DEFAULT_START))


def is_healthy(conf: Path) -> tuple[bool, bool]:
    """(controller answers and the node can run jobs, accounting configured)."""
    if not conf.is_file() or shutil.which("scontrol") is None:
        return False, False
    env = clean_env(conf)
    try:
        ping = subprocess.run(
            ["scontrol", "ping"], env=env, capture_output=True, text=True, timeout=5
        )
        state = subprocess.run(
            ["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return False, False
    states = set(state.stdout.split())
    usable = "is UP" in ping.stdout and bool(states & {"idle", "mixed", "allocated", "completing"})
    accounting = "accounting_storage/slurmdbd" in conf.read_text()
    return usable, accounting


@contextmanager
def _start_lock(directory: Path) -> Iterator[None]:
    """Serialise check-and-start across concurrent pytest processes on this host."""
    lock = directory.with_name(directory.name + ".gliner_exp.lock")
    try:
        fh = open(lock, "a")  # noqa: SIM115 - held for the whole block
    except OSError:  # e.g. another user's lock file: only root can start anyway
        yield
        return
    with fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_cluster() -> SlurmCluster:
    """Return a running local cluster, starting it if needed.

    Raises :class:`ClusterUnavailable` with an actionable message when it can
    neither be found running nor started.
    """
    directory = cluster_dir()
    conf = directory / "etc" / "slurm.conf"
    t0 = time.monotonic()
    with _start_lock(directory):
        up, acct = is_healthy(conf)
        if up:
            return SlurmCluster(conf, False, acct, time.monotonic() - t0, clean_env(conf))
        script = start_script()
        if not script.is_file():
            raise ClusterUnavailable(
                f"no SLURM cluster running at {conf} and no start script at {script}. "
                "Start one (../shared/tools/slurm/start_slurm.sh) or set GLINER_EXP_SLURM_START "
                "/ LOCAL_SLURM_DIR, or deselect with -m 'not slurm'."
            )
        if os.geteuid() != 0:
            raise ClusterUnavailable(
                f"no SLURM cluster running at {conf}, and {script.name} needs root (apt-get, "
                f"daemons). Run `sudo {script}` once, then rerun pytest; or -m 'not slurm'."
            )
        accounting = os.environ.get("GLINER_EXP_SLURM_ACCOUNTING", "1") == "1"
        env = dict(os.environ, SLURM_ACCOUNTING="1" if accounting else "0")
        try:
            proc = subprocess.run(
                ["bash", str(script)], env=env, capture_output=True, text=True,
                timeout=START_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            raise ClusterUnavailable(
                f"{script} did not finish in {START_TIMEOUT_S}s; see {directory}/log/"
            ) from None
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-8:])
            raise ClusterUnavailable(
                f"{script} failed (rc={proc.returncode}); logs in {directory}/log/. "
                f"Last lines:\n{tail}"
            )
        up, acct = is_healthy(conf)
        if not up:
            raise ClusterUnavailable(f"{script} succeeded but the cluster at {conf} is not usable")
        return SlurmCluster(conf, True, acct, time.monotonic() - t0, clean_env(conf))


# Jobs in these states will not change any more.
_FINAL_STATES = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL",
                 "PREEMPTED", "BOOT_FAIL", "DEADLINE"}


def job_states(cluster: SlurmCluster, job_id: str, timeout: float = 20) -> dict[str, str]:
    """``{array task id or job id: JobState}`` once every task is final.

    The batch script's result file appears before SLURM has finished the job
    (epilogue, COMPLETING), so a test that checks right after the multirun
    returns must wait. Uses scontrol, which needs no accounting and keeps
    finished jobs for MinJobAge (300 s on the local cluster).
    """
    deadline = time.monotonic() + timeout
    while True:
        out = cluster.run("scontrol", "-o", "show", "job", job_id).stdout
        states = {}
        for line in out.splitlines():
            fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
            task = fields.get("ArrayTaskId", fields.get("JobId", "?"))
            states[task] = fields.get("JobState", "?")
        if states and set(states.values()) <= _FINAL_STATES or time.monotonic() > deadline:
            return states
        time.sleep(0.25)
