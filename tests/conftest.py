"""Shared pytest fixtures."""

import pytest


@pytest.fixture(scope="session")
def slurm_cluster():
    """The local single-node SLURM cluster (started once per session if needed).

    Skips, with the reason and how to fix it, where SLURM can be neither found
    running nor started (not root, no ../shared/tools/slurm, start failure).
    A cluster this session started is stopped when the session ends (a suite
    stops what it started); one that was already running is left alone. Use
    ``slurm_cluster.env`` for subprocesses: it sets SLURM_CONF and drops
    SBATCH_*/SLURM_* variables that would override the generated scripts.
    """
    from slurm_cluster import ClusterUnavailable, ensure_cluster, stop_cluster

    try:
        cluster = ensure_cluster()
    except ClusterUnavailable as exc:
        pytest.skip(f"SLURM unavailable: {exc}")
    yield cluster
    stop_cluster(cluster)


# --------------------------------------------------------------------------- gliner_exp core
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Real data beside the repo (../shared/data), or wherever GLINER_EXP_SHARED_DATA points.
SHARED_DATA = Path(os.environ.get("GLINER_EXP_SHARED_DATA") or REPO.parent / "shared" / "data")
# Fast, learnable settings on the tiny random BERT: a few seconds a run.
TINY = ["experiment=smoke"]


def compose_cfg(overrides=(), run_dir=None):
    """Compose the app's config exactly as the CLI does (schema, groups, resolvers)."""
    from gliner_exp.config.store import register

    register()
    from hydra import compose, initialize_config_dir

    from gliner_exp.config.store import conf_dir

    overrides = list(overrides)
    if run_dir is not None:
        overrides.append(f"run.dir={run_dir}")
    with initialize_config_dir(str(conf_dir()), version_base="1.3"):
        return compose("config", overrides=overrides)


def run_cli(args, cwd=None, env=None, timeout=600):
    """Run ``python -m gliner_exp ARGS``; returns the CompletedProcess (text, both streams)."""
    full_env = dict(os.environ, **(env or {}))
    full_env.setdefault("HYDRA_FULL_ERROR", "0")
    return subprocess.run([sys.executable, "-m", "gliner_exp", *args], cwd=cwd or REPO, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def compose():
    return compose_cfg


@pytest.fixture
def cli():
    return run_cli


# --------------------------------------------------------------------------- multi-process runs (cluster, preemption)
def read_digests(run_dir: Path) -> dict:
    """Every rank's final-weights digest of a run made with ``GLINER_EXP_DEBUG_WEIGHTS`` set, by rank."""
    import json

    return {int(p.stem.rsplit("rank", 1)[1]): json.loads(p.read_text())
            for p in sorted((Path(run_dir) / "debug").glob("weights.rank*.json"))}


def saved_model_digest(model_dir: Path) -> str:
    """The weights digest of a saved GLiNER model, comparable with :func:`read_digests`."""
    from gliner import GLiNER

    from gliner_exp.cluster.debug_weights import weights_digest

    return weights_digest(GLiNER.from_pretrained(str(model_dir), strict=True))


def slurm_cpu_job(tasks: int = 1, timeout_min: int = 5) -> list:
    """Launcher overrides that fit the local cluster (2 CPUs, no GPU)."""
    return ["hydra.launcher.partition=debug", "hydra.launcher.gpus_per_node=0",
            f"hydra.launcher.tasks_per_node={tasks}", "hydra.launcher.cpus_per_task=1",
            f"hydra.launcher.mem_gb={2 * tasks + 2}", f"hydra.launcher.timeout_min={timeout_min}",
            "hydra.launcher.comment=gliner_exp-test"]
