"""Real multi-process runs: 2-process CPU DDP (gloo) under ``torchrun``, and 2 SLURM tasks.

Both on one run directory, with identical final weights on both ranks (each
rank writes a digest when ``GLINER_EXP_DEBUG_WEIGHTS`` is set), one
``metrics.json``, rank 1's log in its own file. Also: a SLURM submission
that returns at once while the sweep completes in the background.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import TINY, read_digests, saved_model_digest, slurm_cpu_job
from gliner_exp.cluster.debug_weights import DEBUG_WEIGHTS_ENV

DDP_ARGS = [*TINY, "train.load_best_model_at_end=false"]
TORCH_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


# --------------------------------------------------------------------------- real 2-process runs
def check_ddp_run_dir(run_dir: Path, world: int = 2) -> str:
    """One run dir written by `world` ranks: equal weights, rank-0-only files. Returns the digest."""
    digests = read_digests(run_dir)
    assert sorted(digests) == list(range(world)), digests
    assert len({d["digest"] for d in digests.values()}) == 1, digests
    assert {d["world_size"] for d in digests.values()} == {world}
    assert len({d["pid"] for d in digests.values()}) == world
    digest = digests[0]["digest"]
    assert saved_model_digest(run_dir / "model") == digest  # rank 0 saved what every rank trained
    metrics = list(run_dir.rglob("metrics.json"))
    assert metrics == [run_dir / "metrics.json"], metrics
    assert json.loads((run_dir / "resolved" / "distributed.json").read_text())["world_size"] == world
    assert json.loads((run_dir / "resolved" / "training_args.json").read_text())["ddp_backend"] == "gloo"
    ckpt = sorted((run_dir / "checkpoints").glob("checkpoint-*"))[-1]
    assert {p.name for p in ckpt.glob("rng_state*")} == {f"rng_state_{r}.pth" for r in range(world)}
    # rank 1 logs to its own file, never into the run's log
    assert (run_dir / "gliner_exp.rank1.log").is_file()
    main_log = (run_dir / "gliner_exp.log").read_text() if (run_dir / "gliner_exp.log").is_file() else ""
    assert "rank 1 of" not in main_log
    return digest


_DIGESTS: dict[str, str] = {}


def test_torchrun_two_process_cpu_ddp(tmp_path):
    run_dir = tmp_path / "run"
    env = dict(os.environ, OMP_NUM_THREADS="1", HYDRA_FULL_ERROR="1", **{DEBUG_WEIGHTS_ENV: "1"})
    for var in TORCH_VARS:
        env.pop(var, None)
    started = time.time()
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "gliner_exp", *DDP_ARGS, f"hydra.run.dir={run_dir}"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    _DIGESTS["torchrun"] = check_ddp_run_dir(run_dir)
    # Hydra's own files: written once, by rank 0 (rank 1 got hydra.output_subdir=null)
    assert (run_dir / ".hydra" / "config.yaml").is_file()
    hydra_overrides = (run_dir / ".hydra" / "hydra.yaml").read_text()
    assert "hydra.output_subdir=null" not in hydra_overrides
    print(f"torchrun 2x1 CPU DDP smoke: {time.time() - started:.1f}s wall")


@pytest.mark.slurm
def test_slurm_two_tasks_ddp(slurm_cluster, tmp_path):
    """hydra/launcher=slurm tasks_per_node=2: one SLURM job, 2 ranks, one run directory."""
    from slurm_cluster import job_states

    sweep = tmp_path / "sweep"
    env = dict(slurm_cluster.env, **{DEBUG_WEIGHTS_ENV: "1"})
    started = time.time()
    proc = subprocess.run([sys.executable, "-m", "gliner_exp", "-m", "hydra/launcher=slurm", *DDP_ARGS,
                           f"hydra.sweep.dir={sweep}", *slurm_cpu_job(tasks=2)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    job_dirs = [p.parent for p in sweep.glob("*/.hydra")]
    assert len(job_dirs) == 1, list(sweep.iterdir())
    digest = check_ddp_run_dir(job_dirs[0])
    if "torchrun" in _DIGESTS:  # same world size, same numbers, whoever launched the ranks
        assert digest == _DIGESTS["torchrun"]
    (job_id,) = [p.name for p in (sweep / ".submitit").iterdir() if p.name.isdigit()]
    assert job_states(slurm_cluster, job_id) == {job_id: "COMPLETED"}
    outs = sorted((sweep / ".submitit" / job_id).glob("*_log.out"))
    assert len(outs) == 2 and all("torch.distributed from SLURM" in p.read_text() for p in outs)
    print(f"SLURM 2-task CPU DDP smoke: {time.time() - started:.1f}s wall")


# --------------------------------------------------------------------------- non-blocking submission
@pytest.mark.slurm
def test_submit_returns_at_once_and_the_sweep_completes_in_the_background(slurm_cluster, tmp_path):
    import re

    from slurm_cluster import job_states

    sweep = tmp_path / "sweep"
    started = time.time()
    res = subprocess.run([sys.executable, "-m", "gliner_exp.cli.submit", "hydra/launcher=slurm", *TINY,
                          "run.dry_run=true", "run.seed=1,2", f"hydra.sweep.dir={sweep}", *slurm_cpu_job()],
                         cwd=tmp_path, env=slurm_cluster.env, capture_output=True, text=True, timeout=120)
    took = time.time() - started
    assert res.returncode == 0, res.stdout + res.stderr
    m = re.search(r"submitted 2 job\(s\): (\d+)_\[0,1\] \(array \1\)", res.stdout)
    assert m, res.stdout
    array_id = m.group(1)
    assert f"python -m gliner_exp.cli.report {sweep}" in res.stdout and f"squeue -j {array_id}" in res.stdout
    record = json.loads((sweep / "submit.json").read_text())
    assert record["jobs"] == {array_id: [f"{array_id}_0", f"{array_id}_1"]}
    assert not (sweep / "summary").exists()  # returned before the jobs ended
    # the detached client waits for the jobs and writes the summary, as a foreground multirun would
    deadline = time.time() + 300
    while not (sweep / "summary" / "summary.md").is_file() and time.time() < deadline:
        time.sleep(0.5)
    assert (sweep / "summary" / "summary.md").is_file(), (sweep / "submit.log").read_text()[-3000:]
    assert job_states(slurm_cluster, array_id) == {"0": "COMPLETED", "1": "COMPLETED"}
    log = (sweep / "submit.log").read_text()
    assert "Submitit 'slurm' sweep output dir" in log and "summary:" in log
    report = subprocess.run([sys.executable, "-m", "gliner_exp.cli.report", str(sweep)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr
    print(f"gliner_exp.cli.submit returned after {took:.1f}s; sweep done after {time.time() - started:.1f}s")
