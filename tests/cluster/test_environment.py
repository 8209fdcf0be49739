"""The environment a rank sees: torch's variables from torchrun, SLURM steps or submitit tasks.

Also the argv Hydra gets from torch's launchers, and ``torch.load`` onto
``cpu:0`` (what HF's resume does in a CPU DDP run).
"""

from __future__ import annotations

import os

import pytest

from gliner_exp.cluster.cpu_map_location import allow_cpu_index_map_location
from gliner_exp.cluster.environment import dist_info, export_slurm_env, slurm_world
from gliner_exp.cluster.launch_argv import hydra_argv

TORCH_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@pytest.fixture
def clean_env(monkeypatch):
    """No torch/SLURM variables; whatever the code under test exports is undone afterwards."""
    for var in [*TORCH_VARS, "SLURM_RESTART_COUNT", "SUBMITIT_EXECUTOR",
                *(k for k in os.environ if k.startswith(("SLURM_", "SUBMITIT_LOCAL_")))]:
        monkeypatch.setenv(var, "x")  # recorded with its original state, then removed
        monkeypatch.delenv(var)
    return monkeypatch


def test_slurm_step_exports_torch_env(clean_env):
    env = {"SLURM_STEP_NUM_TASKS": "4", "SLURM_PROCID": "3", "SLURM_LOCALID": "1", "SLURM_NODEID": "1",
           "SLURM_STEP_TASKS_PER_NODE": "2(x2)", "SLURM_STEP_NODELIST": "gpu[07-08]", "SLURM_JOB_ID": "123",
           "SLURM_NTASKS": "4"}
    for k, v in env.items():
        clean_env.setenv(k, v)
    info = export_slurm_env()
    assert (info.rank, info.world_size, info.local_rank, info.local_world_size) == (3, 4, 1, 2)
    assert info.master_addr == "gpu07" and 20000 <= info.master_port <= 60000
    assert {k: os.environ[k] for k in TORCH_VARS} == {
        "RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2",
        "MASTER_ADDR": "gpu07", "MASTER_PORT": str(info.master_port)}
    assert export_slurm_env() is None  # RANK/WORLD_SIZE already set: left alone (torchrun wins)
    # every task of the step derives the same port; a requeued run another one
    for var in TORCH_VARS:
        clean_env.delenv(var)
    clean_env.setenv("SLURM_PROCID", "0")
    assert slurm_world().master_port == info.master_port
    clean_env.setenv("SLURM_RESTART_COUNT", "1")
    assert slurm_world().master_port != info.master_port


def test_batch_script_and_single_task_are_not_distributed(clean_env):
    clean_env.setenv("SLURM_NTASKS", "2")  # an --ntasks=2 job's batch script: no step, one process
    clean_env.setenv("SLURM_PROCID", "0")
    assert export_slurm_env() is None and dist_info().world_size == 1
    clean_env.setenv("SLURM_STEP_NUM_TASKS", "1")
    assert export_slurm_env() is None and "RANK" not in os.environ


def test_submitit_local_tasks_export_torch_env(clean_env):
    for k, v in {"SUBMITIT_EXECUTOR": "local", "SUBMITIT_LOCAL_NTASKS": "2", "SUBMITIT_LOCAL_GLOBALID": "1",
                 "SUBMITIT_LOCAL_LOCALID": "1", "SUBMITIT_LOCAL_JOB_ID": "4242"}.items():
        clean_env.setenv(k, v)
    info = export_slurm_env()
    assert (info.rank, info.world_size, info.source, info.master_addr) == (1, 2, "submitit_local", "127.0.0.1")
    assert os.environ["WORLD_SIZE"] == "2" and os.environ["RANK"] == "1"


def test_torchrun_env_is_used_as_is(clean_env):
    for k, v in {"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1", "MASTER_ADDR": "h", "MASTER_PORT": "29500"}.items():
        clean_env.setenv(k, v)
    info = dist_info()
    assert (info.rank, info.world_size, info.source) == (1, 2, "torch")
    assert not info.is_main


def test_hydra_argv_for_torch_launchers(clean_env):
    # torch.distributed.launch appends --local-rank=N (--local_rank before torch 2.0); Hydra rejects both
    assert hydra_argv(["gx", "a=1", "--local-rank=1"]) == ["gx", "a=1"]
    assert os.environ["LOCAL_RANK"] == "1"
    assert hydra_argv(["gx", "--local_rank", "0", "b=2"]) == ["gx", "b=2"]
    # rank 0 writes .hydra/, the others do not; a user's own setting is kept
    clean_env.setenv("RANK", "1")
    assert hydra_argv(["gx", "-m", "a=1", "--cfg", "hydra", "-p", "hydra.output_subdir"]) == \
        ["gx", "hydra.output_subdir=null", "-m", "a=1", "--cfg", "hydra", "-p", "hydra.output_subdir"]
    assert hydra_argv(["gx", "hydra.output_subdir=x"]) == ["gx", "hydra.output_subdir=x"]
    clean_env.setenv("RANK", "0")
    assert hydra_argv(["gx", "a=1"]) == ["gx", "a=1"]


def test_cpu_index_map_location_loads():
    """HF resumes the optimizer with map_location=args.device, which is cpu:0 in CPU DDP."""
    import io

    import torch

    buf = io.BytesIO()
    torch.save({"x": torch.arange(3.0)}, buf)
    allow_cpu_index_map_location()
    allow_cpu_index_map_location()  # again: harmless (every multi-process job calls it)
    buf.seek(0)
    assert torch.equal(torch.load(buf, map_location=torch.device("cpu", 0), weights_only=True)["x"],
                       torch.arange(3.0))
