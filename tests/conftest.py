"""Shared pytest fixtures."""

import pytest


@pytest.fixture(scope="session")
def slurm_cluster():
    """The local single-node SLURM cluster (started once per session if needed).

    Skips, with the reason and how to fix it, where SLURM can be neither found
    running nor started (not root, no ../shared/tools/slurm, start failure).
    The cluster is left running afterwards: other sessions may share it and a
    restart costs seconds. Use ``slurm_cluster.env`` for subprocesses: it sets
    SLURM_CONF and drops SBATCH_*/SLURM_* variables that would override the
    generated scripts.
    """
    from slurm_cluster import ClusterUnavailable, ensure_cluster

    try:
        return ensure_cluster()
    except ClusterUnavailable as exc:
        pytest.skip(f"SLURM unavailable: {exc}")
