"""Where this process sits in a multi-process job: torchrun's variables, or exported from SLURM.

Where the process group comes from
----------------------------------
* ``torchrun --nproc_per_node N -m gliner_exp ...`` (or any launcher that sets
  ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``/``MASTER_ADDR``/``MASTER_PORT``): used as is.
* SLURM tasks (``hydra/launcher=slurm hydra.launcher.tasks_per_node=N``, the
  ``slurm_multigpu`` preset, ``nodes>1``, or a plain ``srun -n N python -m gliner_exp``):
  :func:`setup_distributed` exports the same variables from ``SLURM_*`` before the
  TrainingArguments are built, the way ``submitit.helpers.TorchDistributedEnvironment``
  does, with two differences: the world is the *step*'s tasks (``SLURM_STEP_NUM_TASKS``;
  a batch script's own ``python`` never joins a group it would wait for forever),
  and ``CUDA_VISIBLE_DEVICES`` is left alone (accelerate picks ``cuda:LOCAL_RANK %
  device_count``, which is right whether each task sees all GPUs of the node or
  only its own).

Then HF's Trainer (accelerate) initialises the process group: NCCL on GPUs, gloo
on CPUs (see :func:`gliner_exp.cluster.sharding.ddp_backend`).

Every rank runs the whole Hydra job in the same run directory (Hydra derives it
from ``run.name`` and the overrides, never from a rank or a time stamp). Only
rank 0 writes: ``resolved/``, ``metrics.json``, ``status.json``, the final model
and the checkpoints' shared files (HF); the other ranks write their
``rng_state_<rank>.pth`` into checkpoints, their log to ``<job>.rank<R>.log``
(:func:`setup_distributed`) and, under torchrun, no ``.hydra/``
(:func:`gliner_exp.cluster.launch_argv.hydra_argv`). SLURM tasks all write
``.hydra/`` (Hydra does it before any gliner_exp code runs); the files are
byte-identical, so the last writer changes nothing.
"""

from __future__ import annotations

import logging
import os
import random
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from gliner_exp.cluster.cpu_map_location import allow_cpu_index_map_location

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in the job; ``source``: torch (env given), slurm (exported by us), single."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1
    source: str = "single"
    master_addr: str | None = None
    master_port: int | None = None

    @property
    def is_main(self) -> bool:
        """True on rank 0, the one rank that writes the run's shared files."""
        return self.rank == 0

    def as_dict(self) -> dict:
        """The fields as a plain dict (what ``resolved/distributed.json`` holds)."""
        return asdict(self)


def env_int(name: str, default: int | None = None) -> int | None:
    """The integer in environment variable ``name``; ``default`` when unset or not an integer."""
    value = os.environ.get(name, "")
    return int(value) if value.strip().lstrip("-").isdigit() else default


def _tasks_on_node(spec: str, node: int) -> int:
    """Tasks on node ``node`` from a SLURM tasks-per-node spec such as ``2(x3),1``."""
    counts: list[int] = []
    for part in spec.split(","):
        m = re.fullmatch(r"\s*(\d+)(?:\(x(\d+)\))?\s*", part)
        if not m:
            return 1
        counts += [int(m.group(1))] * int(m.group(2) or 1)
    return counts[node] if 0 <= node < len(counts) else (counts[0] if counts else 1)


def _first_host(nodelist: str) -> str:
    """First host name of a SLURM node list (``gpu[03-05,07],cpu1`` -> ``gpu03``)."""
    try:
        from submitit.slurm.slurm import _parse_node_list

        hosts = _parse_node_list(nodelist)
        if hosts:
            return hosts[0]
    except Exception:  # noqa: BLE001 - private helper; fall back to a plain parse
        pass
    m = re.match(r"([^,\[]+)(?:\[(\d+))?", nodelist)
    return (m.group(1) + (m.group(2) or "")) if m else nodelist


def slurm_world() -> DistInfo | None:
    """The torch world described by the SLURM step this process is a task of (None outside one).

    Only an ``srun`` step counts (``SLURM_STEP_NUM_TASKS``): the batch script of
    an ``--ntasks=4`` job has ``SLURM_NTASKS=4`` too but is a single process.
    """
    world = env_int("SLURM_STEP_NUM_TASKS")
    rank = env_int("SLURM_PROCID")
    if world is None or rank is None or world < 2:
        return None
    node = env_int("SLURM_NODEID", 0) or 0
    local_world = _tasks_on_node(os.environ.get("SLURM_STEP_TASKS_PER_NODE", ""), node) \
        if os.environ.get("SLURM_STEP_TASKS_PER_NODE") else max(1, world // max(1, env_int("SLURM_STEP_NUM_NODES", 1) or 1))
    nodelist = os.environ.get("SLURM_STEP_NODELIST") or os.environ.get("SLURM_JOB_NODELIST") or "localhost"
    port = env_int("MASTER_PORT")
    if port is None:
        # Same on every task of the step; a new one after a requeue (the old
        # rendezvous port may still be in TIME_WAIT), different across jobs on a node.
        key = f"{os.environ.get('SLURM_JOB_ID', '')}:{os.environ.get('SLURM_RESTART_COUNT', '0')}"
        port = random.Random(key).randint(20000, 60000)
    return DistInfo(rank=rank, world_size=world, local_rank=env_int("SLURM_LOCALID", 0) or 0,
                    local_world_size=local_world, source="slurm",
                    master_addr=os.environ.get("MASTER_ADDR") or _first_host(nodelist), master_port=port)


def submitit_local_world() -> DistInfo | None:
    """The world of a multi-task ``hydra/launcher=local`` (submitit's local executor) job, else None."""
    world = env_int("SUBMITIT_LOCAL_NTASKS")
    rank = env_int("SUBMITIT_LOCAL_GLOBALID")
    if os.environ.get("SUBMITIT_EXECUTOR") != "local" or world is None or rank is None or world < 2:
        return None
    port = env_int("MASTER_PORT") or random.Random(os.environ.get("SUBMITIT_LOCAL_JOB_ID", "")).randint(20000, 60000)
    return DistInfo(rank=rank, world_size=world, local_rank=env_int("SUBMITIT_LOCAL_LOCALID", rank) or 0,
                    local_world_size=world, source="submitit_local",
                    master_addr=os.environ.get("MASTER_ADDR") or "127.0.0.1", master_port=port)


def dist_info() -> DistInfo:
    """This process's place in the world, from the environment (nothing is exported)."""
    if env_int("WORLD_SIZE") is not None and env_int("RANK") is not None:
        world = env_int("WORLD_SIZE") or 1
        return DistInfo(rank=env_int("RANK") or 0, world_size=world, local_rank=env_int("LOCAL_RANK", 0) or 0,
                        local_world_size=env_int("LOCAL_WORLD_SIZE", world) or world,
                        source="torch" if world > 1 else "single",
                        master_addr=os.environ.get("MASTER_ADDR"), master_port=env_int("MASTER_PORT"))
    return slurm_world() or submitit_local_world() or DistInfo()


def export_slurm_env() -> DistInfo | None:
    """Export RANK/WORLD_SIZE/LOCAL_RANK/LOCAL_WORLD_SIZE/MASTER_ADDR/MASTER_PORT from SLURM
    (or from submitit's local executor with tasks_per_node > 1).

    Does nothing (returns None) when a launcher already set RANK and WORLD_SIZE,
    or outside a multi-task SLURM step / submitit job.
    """
    if env_int("WORLD_SIZE") is not None and env_int("RANK") is not None:
        return None
    info = slurm_world() or submitit_local_world()
    if info is None:
        return None
    os.environ.update({
        "RANK": str(info.rank), "WORLD_SIZE": str(info.world_size),
        "LOCAL_RANK": str(info.local_rank), "LOCAL_WORLD_SIZE": str(info.local_world_size),
        "MASTER_ADDR": str(info.master_addr), "MASTER_PORT": str(info.master_port),
    })
    return info


def _redirect_file_logs(run_dir: Path, rank: int) -> list[str]:
    """Point this rank's file handlers that write into ``run_dir`` at ``<name>.rank<R>.log``."""
    moved = []
    root = logging.getLogger()
    run_dir = Path(run_dir).resolve()
    for handler in list(root.handlers):
        if not isinstance(handler, logging.FileHandler):
            continue
        path = Path(handler.baseFilename)
        if path.parent != run_dir or ".rank" in path.name:
            continue
        target = path.with_name(f"{path.stem}.rank{rank}{path.suffix}")
        replacement = logging.FileHandler(target, mode="a", encoding=handler.encoding)
        replacement.setFormatter(handler.formatter)
        replacement.setLevel(handler.level)
        for flt in handler.filters:
            replacement.addFilter(flt)
        root.removeHandler(handler)
        handler.close()
        root.addHandler(replacement)
        moved.append(str(target))
    return moved


def setup_distributed(run_dir: str | Path | None = None) -> DistInfo:
    """Call once per job, before anything torch.distributed-related is built.

    Exports the torch variables from SLURM when needed and moves a non-zero
    rank's Hydra log file to ``<job>.rank<R>.log`` so the run's log is rank 0's.
    """
    exported = export_slurm_env()
    info = dist_info()
    if info.world_size > 1:
        allow_cpu_index_map_location()
    if info.rank > 0 and run_dir is not None:
        _redirect_file_logs(Path(run_dir), info.rank)
    if exported is not None:
        log.info("torch.distributed from %s: rank %d of %d (local %d of %d), master %s:%s",
                 "SLURM" if exported.source == "slurm" else "submitit (local)", info.rank, info.world_size, info.local_rank, info.local_world_size,
                 info.master_addr, info.master_port)
    return info
