"""Multi-process training: one process per device, under torchrun or as SLURM tasks.

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
on CPUs (``ddp_backend`` is set to ``gloo`` only when the world has more than one
process: accelerate refuses an explicit backend in a single process).

Every rank runs the whole Hydra job in the same run directory (Hydra derives it
from ``run.name`` and the overrides, never from a rank or a time stamp). Only
rank 0 writes: ``resolved/``, ``metrics.json``, ``status.json``, the final model
and the checkpoints' shared files (HF); the other ranks write their
``rng_state_<rank>.pth`` into checkpoints, their log to ``<job>.rank<R>.log``
(:func:`setup_distributed`) and, under torchrun, no ``.hydra/`` (:func:`hydra_argv`).
SLURM tasks all write ``.hydra/`` (Hydra does it before any gliner_exp code runs);
the files are byte-identical, so the last writer changes nothing.

The unused BERT pooler
----------------------
GLiNER reads the encoder's ``last_hidden_state`` and never the pooler output, so
the pooler's parameters never get a gradient. Plain DDP
(``find_unused_parameters=False``) then fails at the second step ("Expected to
have finished reduction in the prior iteration"). :func:`freeze_unused_pooler`
sets ``requires_grad=False`` on it, in every run and whatever the world size:
the weights are exactly as before (they never had a gradient, and AdamW skips
parameters without one), the state dict and saved models keep the pooler keys,
and the optimizer is the same whether a run has 1 or N processes. DDP then runs
without ``find_unused_parameters`` (which costs a graph traversal every step and
does not combine with reentrant gradient checkpointing);
``hardware.ddp_find_unused_parameters=true`` is there for exotic models.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gliner_exp.model.gliner_internals import core, encoders

log = logging.getLogger(__name__)

#: Set (to anything but 0/"") to have every rank write the digest of its final weights
#: to ``<run dir>/debug/weights.rank<R>.json`` (tests compare them across ranks).
DEBUG_WEIGHTS_ENV = "GLINER_EXP_DEBUG_WEIGHTS"
_TORCH_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


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
        return self.rank == 0

    def as_dict(self) -> dict:
        return asdict(self)


def _int(name: str, default: int | None = None) -> int | None:
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
    world = _int("SLURM_STEP_NUM_TASKS")
    rank = _int("SLURM_PROCID")
    if world is None or rank is None or world < 2:
        return None
    node = _int("SLURM_NODEID", 0) or 0
    local_world = _tasks_on_node(os.environ.get("SLURM_STEP_TASKS_PER_NODE", ""), node) \
        if os.environ.get("SLURM_STEP_TASKS_PER_NODE") else max(1, world // max(1, _int("SLURM_STEP_NUM_NODES", 1) or 1))
    nodelist = os.environ.get("SLURM_STEP_NODELIST") or os.environ.get("SLURM_JOB_NODELIST") or "localhost"
    port = _int("MASTER_PORT")
    if port is None:
        # Same on every task of the step; a new one after a requeue (the old
        # rendezvous port may still be in TIME_WAIT), different across jobs on a node.
        key = f"{os.environ.get('SLURM_JOB_ID', '')}:{os.environ.get('SLURM_RESTART_COUNT', '0')}"
        port = random.Random(key).randint(20000, 60000)
    return DistInfo(rank=rank, world_size=world, local_rank=_int("SLURM_LOCALID", 0) or 0,
                    local_world_size=local_world, source="slurm",
                    master_addr=os.environ.get("MASTER_ADDR") or _first_host(nodelist), master_port=port)


def submitit_local_world() -> DistInfo | None:
    """The world of a multi-task ``hydra/launcher=local`` (submitit's local executor) job, else None."""
    world = _int("SUBMITIT_LOCAL_NTASKS")
    rank = _int("SUBMITIT_LOCAL_GLOBALID")
    if os.environ.get("SUBMITIT_EXECUTOR") != "local" or world is None or rank is None or world < 2:
        return None
    port = _int("MASTER_PORT") or random.Random(os.environ.get("SUBMITIT_LOCAL_JOB_ID", "")).randint(20000, 60000)
    return DistInfo(rank=rank, world_size=world, local_rank=_int("SUBMITIT_LOCAL_LOCALID", rank) or 0,
                    local_world_size=world, source="submitit_local",
                    master_addr=os.environ.get("MASTER_ADDR") or "127.0.0.1", master_port=port)


def dist_info() -> DistInfo:
    """This process's place in the world, from the environment (nothing is exported)."""
    if _int("WORLD_SIZE") is not None and _int("RANK") is not None:
        world = _int("WORLD_SIZE") or 1
        return DistInfo(rank=_int("RANK") or 0, world_size=world, local_rank=_int("LOCAL_RANK", 0) or 0,
                        local_world_size=_int("LOCAL_WORLD_SIZE", world) or world,
                        source="torch" if world > 1 else "single",
                        master_addr=os.environ.get("MASTER_ADDR"), master_port=_int("MASTER_PORT"))
    return slurm_world() or submitit_local_world() or DistInfo()


def world_size() -> int:
    return dist_info().world_size


def export_slurm_env() -> DistInfo | None:
    """Export RANK/WORLD_SIZE/LOCAL_RANK/LOCAL_WORLD_SIZE/MASTER_ADDR/MASTER_PORT from SLURM
    (or from submitit's local executor with tasks_per_node > 1).

    Does nothing (returns None) when a launcher already set RANK and WORLD_SIZE,
    or outside a multi-task SLURM step / submitit job.
    """
    if _int("WORLD_SIZE") is not None and _int("RANK") is not None:
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


def _cpu_index_deserializer(storage: Any, location: str) -> Any:
    """``cpu:N`` -> the CPU storage as is (see :func:`allow_cpu_index_map_location`)."""
    return storage if location.startswith("cpu:") and storage.device.type == "cpu" else None


_CPU_INDEX_REGISTERED = False


def allow_cpu_index_map_location() -> None:
    """Let ``torch.load(map_location=torch.device("cpu", 0))`` work.

    In a multi-process CPU run accelerate names each rank's device ``cpu:0``,
    and HF's Trainer resumes the optimizer with ``map_location=args.device``,
    which torch rejects ("don't know how to restore data location ... (tagged
    with cpu:0)"): a CPU DDP run could never resume. The deserializer added here
    only answers for ``cpu:<N>`` locations, which torch has no answer for.
    """
    global _CPU_INDEX_REGISTERED
    if _CPU_INDEX_REGISTERED:
        return
    import torch.serialization

    torch.serialization.register_package(5, lambda storage: None, _cpu_index_deserializer)
    _CPU_INDEX_REGISTERED = True


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


def ddp_backend(hw: Any) -> str | None:
    """``gloo`` for a multi-process CPU run; None (accelerate's choice: NCCL on GPUs, or single process)."""
    # WORLD_SIZE, not dist_info(): what accelerate reads (exported from SLURM by setup_distributed)
    return "gloo" if hw.device == "cpu" and (_int("WORLD_SIZE", 1) or 1) > 1 else None


# --------------------------------------------------------------------------- launcher argv
_LOCAL_RANK_ARG = re.compile(r"^--local[-_]rank(?:=(\d+))?$")


def hydra_argv(argv: list[str]) -> list[str]:
    """``sys.argv`` for Hydra in a multi-process launch.

    * ``torch.distributed.launch`` (without ``--use-env``) appends
      ``--local-rank=N`` (``--local_rank`` before torch 2.0), which Hydra rejects
      as an unknown argument: it is removed and exported as ``LOCAL_RANK``.
    * A non-zero rank of a torchrun launch gets ``hydra.output_subdir=null``:
      only rank 0 writes ``.hydra/`` (the run directory is the same for all).
    """
    out: list[str] = [argv[0]] if argv else []
    rest = iter(argv[1:])
    for arg in rest:
        m = _LOCAL_RANK_ARG.match(arg)
        if not m:
            out.append(arg)
            continue
        value = m.group(1)
        if value is None:  # "--local-rank N"
            value = next(rest, "")
        if value.isdigit():
            os.environ.setdefault("LOCAL_RANK", value)
    rank = _int("RANK")
    if rank and not any("=" in a and a.split("=", 1)[0].lstrip("+~") == "hydra.output_subdir" for a in out[1:]):
        out.insert(1, "hydra.output_subdir=null")  # first: argparse takes the overrides as one positional run
    return out


# --------------------------------------------------------------------------- model preparation
def freeze_unused_pooler(model: Any) -> list[str]:
    """``requires_grad=False`` on the backbones' poolers (never used by GLiNER); returns the names frozen."""
    frozen = []
    for encoder in encoders(model):
        for name, module in encoder.named_modules():
            if name.rsplit(".", 1)[-1] != "pooler":
                continue
            for pname, param in module.named_parameters():
                if param.requires_grad:
                    param.requires_grad_(False)
                    frozen.append(f"{name}.{pname}")
    return frozen


def encoder_layer_classes(model: Any) -> list[str]:
    """Class names FSDP should wrap one by one: the backbone's ``_no_split_modules``, else its repeated layer."""
    import torch.nn as nn

    names: list[str] = []
    for encoder in encoders(model):
        base = getattr(encoder, "get_base_model", lambda: encoder)()
        split = list(getattr(base, "_no_split_modules", None) or [])
        if not split:
            for module in base.modules():
                if isinstance(module, nn.ModuleList) and len(module) and len({type(m) for m in module}) == 1:
                    split = [type(module[0]).__name__]
                    break
        names += [n for n in split if n not in names]
    return names


def model_class_names(model: Any) -> set[str]:
    return {type(m).__name__ for m in model.modules()}


# --------------------------------------------------------------------------- weight digests (tests, drills)
def weights_digest(model: Any) -> str:
    """sha256 over the GLiNER core's state dict (names, dtypes, shapes, bytes), in name order."""
    import torch

    module = core(model) if hasattr(model, "model") else model
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().to("cpu").contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def debug_callbacks(run_dir: str | Path) -> list:
    """Callbacks switched on by environment variables, for tests and drills (none by default)."""
    if os.environ.get(DEBUG_WEIGHTS_ENV, "0") in ("", "0"):
        return []
    from transformers import TrainerCallback

    class WeightDigestCallback(TrainerCallback):
        """At the end of training every rank writes ``debug/weights.rank<R>.json``."""

        def on_train_end(self, args, state, control, model=None, **kwargs):
            import json

            info = dist_info()
            out = Path(run_dir) / "debug" / f"weights.rank{info.rank}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps({"rank": info.rank, "world_size": info.world_size,
                                       "global_step": state.global_step, "pid": os.getpid(),
                                       "digest": weights_digest(model)}) + "\n")

    return [WeightDigestCallback()]


# --------------------------------------------------------------------------- DeepSpeed / FSDP arguments
def deepspeed_config(stage: str, offload: bool = False) -> dict:
    """The DeepSpeed config dict for ``hardware.deepspeed=zero2|zero3`` (TrainingArguments(deepspeed=...)).

    "auto" values are filled in by HF from the TrainingArguments (batch sizes,
    accumulation, clipping, fp16/bf16), so the run config stays the one source.
    No "optimizer"/"scheduler" sections: gliner's Trainer keeps its own AdamW
    with separate encoder/head learning rates and its scheduler. Bucket sizes are
    DeepSpeed's defaults as numbers: HF's "auto" for them reads
    ``model.config.hidden_size``, which on a GLiNER is the head's, not the encoder's.
    ``offload``: optimizer states (and with zero3 the parameters) in CPU memory.
    """
    level = {"zero2": 2, "zero3": 3}[stage]
    zero: dict = {"stage": level, "overlap_comm": True, "contiguous_gradients": True,
                  "reduce_bucket_size": 500_000_000}
    if level == 2:
        zero.update(allgather_partitions=True, allgather_bucket_size=500_000_000, reduce_scatter=True)
    else:
        zero.update(stage3_prefetch_bucket_size=50_000_000, stage3_param_persistence_threshold=100_000,
                    stage3_max_live_parameters=1_000_000_000, stage3_max_reuse_distance=1_000_000_000,
                    sub_group_size=1_000_000_000,
                    # checkpoints and the final model get full (gathered) weights, loadable by GLiNER
                    stage3_gather_16bit_weights_on_model_save=True)
    config: dict = {
        "zero_optimization": zero,
        "fp16": {"enabled": "auto"},
        "bf16": {"enabled": "auto"},
        "train_batch_size": "auto",
        "train_micro_batch_size_per_gpu": "auto",
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto",
        "steps_per_print": 1_000_000,
        "wall_clock_breakdown": False,
    }
    if offload:
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": True}
        if level == 3:
            zero["offload_param"] = {"device": "cpu", "pin_memory": True}
        # gliner's torch AdamW (two learning rates) stays; DeepSpeed would otherwise insist on its CPUAdam.
        config["zero_force_ds_cpu_optimizer"] = False
    return config


def fsdp_config(hw: Any) -> dict:
    """TrainingArguments(fsdp_config=...) for ``hardware.fsdp`` (FSDP2; HF's string form is deprecated)."""
    words = str(hw.fsdp).split()
    cfg: dict = {
        "version": 2,
        # full_shard: parameters resharded after forward (ZeRO-3-like); shard_grad_op: kept (ZeRO-2-like)
        "reshard_after_forward": "full_shard" in words,
        "cpu_offload": "offload" in words,
        "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
        # one HF-format model.safetensors per checkpoint: what auto-resume and GLiNER.from_pretrained read
        "state_dict_type": "FULL_STATE_DICT",
        "activation_checkpointing": bool(hw.fsdp_config.activation_checkpointing),
    }
    wrap = hw.fsdp_config.transformer_layer_cls_to_wrap
    if wrap is not None:
        cfg["transformer_layer_cls_to_wrap"] = list(wrap)
    return cfg


def fsdp_wrap_defaults(kwargs: dict, model: Any) -> None:
    """Fill FSDP's wrap classes from the model when unset; reject names the model does not have."""
    from gliner_exp.config.errors import ConfigError

    cfg = kwargs.get("fsdp_config")
    if not kwargs.get("fsdp") or not isinstance(cfg, dict):
        return
    present = model_class_names(model)
    wrap = cfg.get("transformer_layer_cls_to_wrap")
    if wrap is None:
        wrap = [n for n in encoder_layer_classes(model) if n in present]
        if not wrap:
            raise ConfigError(["hardware.fsdp_config.transformer_layer_cls_to_wrap: could not find the text "
                               "encoder's layer class; name it (e.g. [BertLayer])"])
        cfg["transformer_layer_cls_to_wrap"] = wrap
    missing = [n for n in wrap if n not in present]
    if missing:
        raise ConfigError([f"hardware.fsdp_config.transformer_layer_cls_to_wrap: {missing} not in this model; "
                           f"its encoder layers are {encoder_layer_classes(model)}"])


def check_sharding_runtime(hw: Any) -> None:
    """Fail early, with the fix, when a sharding option cannot run here (checked at build, not validation)."""
    import importlib.util

    from gliner_exp.config.errors import ConfigError

    if hw.deepspeed == "zero3" or str(hw.fsdp or "").split():
        # gliner's Trainer.save_model/_save write the *local* module (HF's gathered state_dict is
        # dropped) and gliner_exp saves the final model from rank 0 alone: with parameters
        # sharded, both need a gather first. Not verified on GPUs yet.
        log.warning("hardware.%s shards the parameters: GLiNER-format checkpoints/final model need the "
                    "weights gathered across ranks, which is not verified yet; check <run dir>/model "
                    "(GLiNER.from_pretrained(..., strict=True)) before relying on it",
                    "deepspeed=zero3" if hw.deepspeed == "zero3" else f"fsdp={hw.fsdp!r}")
    if hw.deepspeed and importlib.util.find_spec("deepspeed") is None:
        raise ConfigError([f"hardware.deepspeed={hw.deepspeed}: the deepspeed package is not installed in this "
                           "environment (pip install deepspeed, on a machine with the CUDA toolkit); "
                           "or use hardware=gpu_fsdp, which needs nothing beyond torch"])
