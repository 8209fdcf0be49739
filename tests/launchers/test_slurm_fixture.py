"""The ``slurm_cluster`` fixture stops the daemons it started, and only those.

Each test runs a child pytest session whose one test uses the fixture, on a cluster
of its own: a fresh ``LOCAL_SLURM_DIR`` and free ports, so that it neither clashes
with nor stops the shared cluster other sessions may be using. The daemons'
pids come from ``$LOCAL_SLURM_DIR/run/pids`` (written by start_slurm.sh).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import REPO
from slurm_cluster import start_script

pytestmark = pytest.mark.slurm

# The child session's test: record the daemons of the cluster the fixture handed it.
CHILD_TEST = '''
import os
from pathlib import Path

from conftest import slurm_cluster  # noqa: F401 - the fixture under test


def test_cluster(slurm_cluster):
    pids = Path(os.environ["LOCAL_SLURM_DIR"], "run", "pids").read_text()
    Path(os.environ["GX_PIDS_OUT"]).write_text(pids)
    print("started_here=%s" % slurm_cluster.started_here)
'''


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _alive(name: str, pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == name
    except OSError:
        return False


def _daemons(pids_text: str) -> list[tuple[str, int]]:
    return [(name, int(pid)) for name, pid in (line.split() for line in pids_text.splitlines() if line.strip())]


@pytest.fixture
def own_cluster_env():
    """Environment for a cluster of this test's own (dir, ports); whatever it left running is stopped."""
    if not start_script().is_file():
        pytest.skip(f"no SLURM start script at {start_script()}")
    if os.geteuid() != 0:
        pytest.skip("starting a SLURM cluster needs root")
    # Short: the munge socket lives under it, and a unix socket path has 107 characters at most.
    directory = Path(tempfile.mkdtemp(prefix="gx_slurm_", dir="/tmp"))
    directory.chmod(0o755)  # munged wants every directory above its socket o+x
    ctld, slurmd, dbd, db = _free_ports(4)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM", "SBATCH_", "SRUN_", "SALLOC_"))}
    env.update(LOCAL_SLURM_DIR=str(directory), SLURMCTLD_PORT=str(ctld), SLURMD_PORT=str(slurmd),
               SLURMDBD_PORT=str(dbd), SLURM_DB_PORT=str(db), SLURM_ACCOUNTING="1",
               GLINER_EXP_SLURM_ACCOUNTING="1", GX_PIDS_OUT=str(directory / "pids.seen"))
    try:
        yield env
    finally:
        subprocess.run(["bash", str(start_script().with_name("stop_slurm.sh"))], env=env, capture_output=True,
                       timeout=120)
        shutil.rmtree(directory, ignore_errors=True)
        directory.with_name(directory.name + ".gliner_exp.lock").unlink(missing_ok=True)  # slurm_cluster's start lock


def _child_session(env: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    (tmp_path / "test_child.py").write_text(CHILD_TEST)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    child_env = dict(env, PYTHONPATH=os.pathsep.join([str(REPO / "tests"), env.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-rs", "-p", "no:cacheprovider",
                           "-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path), "test_child.py"],
                          cwd=tmp_path, env=child_env, capture_output=True, text=True, timeout=600)


def _seen_daemons(env: dict, proc: subprocess.CompletedProcess) -> list[tuple[str, int]]:
    out = proc.stdout + proc.stderr
    if "SLURM unavailable" in out:
        pytest.skip("the fixture could not start a cluster: " + out.split("SLURM unavailable", 1)[1][:300])
    assert proc.returncode == 0 and "1 passed" in out, out[-3000:]
    return _daemons(Path(env["GX_PIDS_OUT"]).read_text())


def test_fixture_stops_the_cluster_it_started(own_cluster_env, tmp_path):
    started = time.monotonic()
    proc = _child_session(own_cluster_env, tmp_path)
    daemons = _seen_daemons(own_cluster_env, proc)
    assert "started_here=True" in proc.stdout
    assert {name for name, _ in daemons} == {"munged", "mariadbd", "slurmdbd", "slurmctld", "slurmd"}, daemons
    left = [(name, pid) for name, pid in daemons if _alive(name, pid)]
    assert not left, f"still running after the session ended: {left}"
    print(f"child session with its own cluster: {time.monotonic() - started:.1f}s")


@pytest.mark.slow
def test_fixture_leaves_a_cluster_it_did_not_start_running(own_cluster_env, tmp_path):
    up = subprocess.run(["bash", str(start_script())], env=own_cluster_env, capture_output=True, text=True,
                        timeout=300)
    if up.returncode != 0:
        pytest.skip(f"start_slurm.sh failed here (rc {up.returncode}): {(up.stdout + up.stderr)[-300:]}")
    proc = _child_session(own_cluster_env, tmp_path)
    daemons = _seen_daemons(own_cluster_env, proc)
    assert "started_here=False" in proc.stdout
    gone = [(name, pid) for name, pid in daemons if not _alive(name, pid)]
    assert not gone, f"the session stopped a cluster it had only reused: {gone}"
