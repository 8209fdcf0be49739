"""Multi-process training: the env a rank sees, the built arguments, and real 2-process runs.

* unit: torch env from SLURM step variables, torchrun/launch argv for Hydra,
  gloo only for multi-process CPU, the pooler frozen, DeepSpeed/FSDP options
  as TrainingArguments kwargs (no GPU needed) and their validation;
* real: 2-process CPU DDP (gloo) under ``torchrun``, and 2 SLURM tasks of one
  submitit job on the local cluster: one run directory, identical final weights
  on both ranks (each rank writes a digest when ``GLINER_EXP_DEBUG_WEIGHTS`` is
  set), one ``metrics.json``, rank 1's log in its own file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, TINY, compose_cfg
from gliner_exp.cluster import distributed as gd
from gliner_exp.config.errors import ConfigError

DDP_ARGS = [*TINY, "train.load_best_model_at_end=false"]
TORCH_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@pytest.fixture
def clean_env(monkeypatch):
    """No torch/SLURM variables; whatever the code under test exports is undone afterwards."""
    for var in [*TORCH_VARS, "SLURM_RESTART_COUNT", "SUBMITIT_EXECUTOR",
                *(k for k in os.environ if k.startswith(("SLURM_", "SUBMITIT_LOCAL_")))]:
        monkeypatch.setenv(var, "x")  # recorded with its original state, then removed
        monkeypatch.delenv(var)
    return monkeypatch


def _kwargs(overrides, tmp_path):
    from gliner_exp.training.arguments import training_args_kwargs
    from gliner_exp.training.run import as_config

    return training_args_kwargs(as_config(compose_cfg([*TINY, *overrides], run_dir=tmp_path)), tmp_path, True)


# --------------------------------------------------------------------------- environment
def test_slurm_step_exports_torch_env(clean_env):
    env = {"SLURM_STEP_NUM_TASKS": "4", "SLURM_PROCID": "3", "SLURM_LOCALID": "1", "SLURM_NODEID": "1",
           "SLURM_STEP_TASKS_PER_NODE": "2(x2)", "SLURM_STEP_NODELIST": "gpu[07-08]", "SLURM_JOB_ID": "123",
           "SLURM_NTASKS": "4"}
    for k, v in env.items():
        clean_env.setenv(k, v)
    info = gd.export_slurm_env()
    assert (info.rank, info.world_size, info.local_rank, info.local_world_size) == (3, 4, 1, 2)
    assert info.master_addr == "gpu07" and 20000 <= info.master_port <= 60000
    assert {k: os.environ[k] for k in TORCH_VARS} == {
        "RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2",
        "MASTER_ADDR": "gpu07", "MASTER_PORT": str(info.master_port)}
    assert gd.export_slurm_env() is None  # RANK/WORLD_SIZE already set: left alone (torchrun wins)
    # every task of the step derives the same port; a requeued run another one
    for var in TORCH_VARS:
        clean_env.delenv(var)
    clean_env.setenv("SLURM_PROCID", "0")
    assert gd.slurm_world().master_port == info.master_port
    clean_env.setenv("SLURM_RESTART_COUNT", "1")
    assert gd.slurm_world().master_port != info.master_port


def test_batch_script_and_single_task_are_not_distributed(clean_env):
    clean_env.setenv("SLURM_NTASKS", "2")  # an --ntasks=2 job's batch script: no step, one process
    clean_env.setenv("SLURM_PROCID", "0")
    assert gd.export_slurm_env() is None and gd.dist_info().world_size == 1
    clean_env.setenv("SLURM_STEP_NUM_TASKS", "1")
    assert gd.export_slurm_env() is None and "RANK" not in os.environ


def test_submitit_local_tasks_export_torch_env(clean_env):
    for k, v in {"SUBMITIT_EXECUTOR": "local", "SUBMITIT_LOCAL_NTASKS": "2", "SUBMITIT_LOCAL_GLOBALID": "1",
                 "SUBMITIT_LOCAL_LOCALID": "1", "SUBMITIT_LOCAL_JOB_ID": "4242"}.items():
        clean_env.setenv(k, v)
    info = gd.export_slurm_env()
    assert (info.rank, info.world_size, info.source, info.master_addr) == (1, 2, "submitit_local", "127.0.0.1")
    assert os.environ["WORLD_SIZE"] == "2" and os.environ["RANK"] == "1"


def test_torchrun_env_is_used_as_is(clean_env):
    for k, v in {"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1", "MASTER_ADDR": "h", "MASTER_PORT": "29500"}.items():
        clean_env.setenv(k, v)
    info = gd.dist_info()
    assert (info.rank, info.world_size, info.source) == (1, 2, "torch")


def test_hydra_argv_for_torch_launchers(clean_env):
    # torch.distributed.launch appends --local-rank=N (--local_rank before torch 2.0); Hydra rejects both
    assert gd.hydra_argv(["gx", "a=1", "--local-rank=1"]) == ["gx", "a=1"]
    assert os.environ["LOCAL_RANK"] == "1"
    assert gd.hydra_argv(["gx", "--local_rank", "0", "b=2"]) == ["gx", "b=2"]
    # rank 0 writes .hydra/, the others do not; a user's own setting is kept
    clean_env.setenv("RANK", "1")
    assert gd.hydra_argv(["gx", "-m", "a=1", "--cfg", "hydra", "-p", "hydra.output_subdir"]) == \
        ["gx", "hydra.output_subdir=null", "-m", "a=1", "--cfg", "hydra", "-p", "hydra.output_subdir"]
    assert gd.hydra_argv(["gx", "hydra.output_subdir=x"]) == ["gx", "hydra.output_subdir=x"]
    clean_env.setenv("RANK", "0")
    assert gd.hydra_argv(["gx", "a=1"]) == ["gx", "a=1"]


def test_gloo_only_for_multi_process_cpu(clean_env, tmp_path):
    assert _kwargs([], tmp_path)["ddp_backend"] is None  # accelerate refuses a backend in one process
    clean_env.setenv("RANK", "0")
    clean_env.setenv("WORLD_SIZE", "2")
    assert _kwargs([], tmp_path)["ddp_backend"] == "gloo"
    assert _kwargs(["hardware=gpu"], tmp_path)["ddp_backend"] is None  # NCCL, accelerate's choice


def test_cpu_index_map_location_loads():
    """HF resumes the optimizer with map_location=args.device, which is cpu:0 in CPU DDP."""
    import io

    import torch

    buf = io.BytesIO()
    torch.save({"x": torch.arange(3.0)}, buf)
    gd.allow_cpu_index_map_location()
    buf.seek(0)
    assert torch.equal(torch.load(buf, map_location=torch.device("cpu", 0), weights_only=True)["x"],
                       torch.arange(3.0))


def test_pooler_frozen_and_fsdp_wrap_classes(clean_env, tmp_path):
    from gliner_exp.training.assemble import build_all
    from gliner_exp.training.run import as_config, load_data

    cfg = as_config(compose_cfg(TINY, run_dir=tmp_path))
    built = build_all(cfg, tmp_path, load_data(cfg))
    frozen = {n for n, p in built.model.named_parameters() if not p.requires_grad}
    assert frozen and all(".pooler." in n for n in frozen)
    assert built.extra["distributed"]["frozen_unused"] == ["pooler.dense.weight", "pooler.dense.bias"]
    assert built.args.ddp_find_unused_parameters is False
    assert sorted(gd.encoder_layer_classes(built.model)) == ["BertEmbeddings", "BertLayer"]
    kwargs = {"fsdp": True, "fsdp_config": {"version": 2}}
    gd.fsdp_wrap_defaults(kwargs, built.model)
    assert sorted(kwargs["fsdp_config"]["transformer_layer_cls_to_wrap"]) == ["BertEmbeddings", "BertLayer"]
    with pytest.raises(ConfigError, match="NoSuchLayer"):
        gd.fsdp_wrap_defaults({"fsdp": True, "fsdp_config": {"transformer_layer_cls_to_wrap": ["NoSuchLayer"]}},
                              built.model)


# --------------------------------------------------------------------------- DeepSpeed / FSDP arguments
def test_deepspeed_presets_build_the_config(tmp_path):
    zero2 = _kwargs(["hardware=gpu_zero2"], tmp_path)
    ds = zero2["deepspeed"]
    assert ds["zero_optimization"]["stage"] == 2 and "offload_optimizer" not in ds["zero_optimization"]
    # what HF fills from the TrainingArguments (trainer_config_process): one source of truth
    assert {k for k, v in ds.items() if v == "auto"} == {
        "train_batch_size", "train_micro_batch_size_per_gpu", "gradient_accumulation_steps", "gradient_clipping"}
    assert ds["bf16"] == {"enabled": "auto"} and zero2["bf16"] is True and zero2["fsdp"] is None
    assert "optimizer" not in ds and "scheduler" not in ds  # gliner's two-LR AdamW stays
    zero3 = _kwargs(["hardware=gpu_zero3", "hardware.deepspeed_offload=true"], tmp_path)["deepspeed"]
    z = zero3["zero_optimization"]
    assert z["stage"] == 3 and z["stage3_gather_16bit_weights_on_model_save"] is True
    assert z["offload_optimizer"]["device"] == z["offload_param"]["device"] == "cpu"
    assert zero3["zero_force_ds_cpu_optimizer"] is False
    assert json.loads(json.dumps(zero3)) == zero3


def test_fsdp_preset_reaches_hf_plugin_args(tmp_path):
    from gliner.training import TrainingArguments

    kw = _kwargs(["hardware=gpu_fsdp", "hardware.fsdp=shard_grad_op offload",
                  "hardware.fsdp_config.activation_checkpointing=true"], tmp_path)
    assert kw["fsdp"] is True and kw["deepspeed"] is None
    assert kw["fsdp_config"] == {"version": 2, "reshard_after_forward": False, "cpu_offload": True,
                                 "auto_wrap_policy": "TRANSFORMER_BASED_WRAP", "state_dict_type": "FULL_STATE_DICT",
                                 "activation_checkpointing": True}
    # HF turns them into accelerate's FSDP plugin arguments (built on CPU here: no GPU needed for that)
    kw = dict(kw, use_cpu=True, bf16=False, tf32=None, dataloader_pin_memory=False,
              dataloader_persistent_workers=False, dataloader_num_workers=0, dataloader_prefetch_factor=None,
              fsdp_config=dict(kw["fsdp_config"], transformer_layer_cls_to_wrap=["BertLayer"]))
    plugin = TrainingArguments(**kw).fsdp_plugin_args
    assert plugin["fsdp_version"] == 2 and plugin["reshard_after_forward"] is False
    assert plugin["cpu_offload"] is True and plugin["transformer_cls_names_to_wrap"] == "BertLayer"
    assert plugin["activation_checkpointing"] is True and plugin["state_dict_type"] == "FULL_STATE_DICT"


@pytest.mark.parametrize("overrides,message", [
    (["hardware.deepspeed=zero2"], "hardware.deepspeed: needs hardware.device=cuda"),
    (["hardware.fsdp=full_shard"], "hardware.fsdp: needs hardware.device=cuda"),
    (["hardware=gpu_zero2", "hardware.fsdp=full_shard"], "choose one"),
    (["hardware=gpu", "hardware.fsdp=full_shard shard_grad_op"], "exactly one sharding strategy"),
    (["hardware=gpu", "hardware.fsdp=full_shard hybrid"], "unknown word(s) ['hybrid']"),
    (["hardware.deepspeed_offload=true"], "hardware.deepspeed_offload: only with"),
    (["hardware.fsdp_config.activation_checkpointing=true"], "hardware.fsdp_config.activation_checkpointing: set"),
])
def test_sharding_rules(overrides, message, tmp_path):
    with pytest.raises(ConfigError) as exc:
        _kwargs(overrides, tmp_path)
    assert message in str(exc.value)


def test_deepspeed_missing_is_reported_at_build(clean_env, tmp_path, monkeypatch):
    import importlib.util

    from gliner_exp.training.arguments import build_training_args
    from gliner_exp.training.run import as_config

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "deepspeed" else real(name, *a))
    cfg = as_config(compose_cfg([*TINY, "hardware=gpu_zero2"], run_dir=tmp_path))
    with pytest.raises(ConfigError, match="pip install deepspeed"):
        build_training_args(cfg, tmp_path, True)


# --------------------------------------------------------------------------- real 2-process runs
def read_digests(run_dir: Path) -> dict[int, dict]:
    return {int(p.stem.rsplit("rank", 1)[1]): json.loads(p.read_text())
            for p in sorted((run_dir / "debug").glob("weights.rank*.json"))}


def saved_model_digest(model_dir: Path) -> str:
    from gliner import GLiNER

    return gd.weights_digest(GLiNER.from_pretrained(str(model_dir), strict=True))


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
    env = dict(os.environ, OMP_NUM_THREADS="1", HYDRA_FULL_ERROR="1", **{gd.DEBUG_WEIGHTS_ENV: "1"})
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
    env = dict(slurm_cluster.env, **{gd.DEBUG_WEIGHTS_ENV: "1"})
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


def slurm_cpu_job(tasks: int = 1, timeout_min: int = 5) -> list[str]:
    """Launcher overrides that fit the local cluster (2 CPUs, no GPU)."""
    return ["hydra.launcher.partition=debug", "hydra.launcher.gpus_per_node=0",
            f"hydra.launcher.tasks_per_node={tasks}", "hydra.launcher.cpus_per_task=1",
            f"hydra.launcher.mem_gb={2 * tasks + 2}", f"hydra.launcher.timeout_min={timeout_min}",
            "hydra.launcher.comment=gliner_exp-test"]


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
    assert f"python -m gliner_exp.sweeps.report {sweep}" in res.stdout and f"squeue -j {array_id}" in res.stdout
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
    report = subprocess.run([sys.executable, "-m", "gliner_exp.sweeps.report", str(sweep)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr
    print(f"gliner_exp.cli.submit returned after {took:.1f}s; sweep done after {time.time() - started:.1f}s")
