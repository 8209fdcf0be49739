"""Launcher presets ``hydra/launcher=slurm|slurm_multigpu|local``.

Three levels, none of them mocked:
* composition: the presets are found through the installed SearchPathPlugin
  and every field can be overridden (no cluster needed);
* sbatch script: the real plugin + real submitit + real ``sbatch`` write the
  script for a GPU job; ``--test-only`` and the GPU-less local cluster make
  sbatch refuse it, so nothing is queued, and the script left in the submitit
  folder is inspected flag by flag;
* execution: 2-job sweeps really run as SLURM array jobs on the local cluster
  (echo app; the real trainer in a test marked ``slow``), and through
  submitit_local.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from hydra_plugins.gliner_exp_searchpath import PROVIDER
from slurm_cluster import job_states

from conftest import REPO
ECHO_APP = REPO / "tests" / "apps" / "echo_app.py"
ECHO_CONF = ECHO_APP.parent / "conf"
SLURM_TARGET = "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
# submitit_local with a cap on concurrent jobs (tests/launchers/test_local_cap.py)
LOCAL_TARGET = "hydra_plugins.gliner_exp_local_launcher.launcher.CappedLocalLauncher"


def compose_launcher(overrides: list[str]):
    """Compose the echo app's config as the CLI would; return cfg.hydra."""
    with initialize_config_dir(version_base="1.3", config_dir=str(ECHO_CONF)):
        cfg = compose("echo", overrides=overrides, return_hydra_config=True)
    return cfg.hydra


def run_app(args: list[str], cwd: Path, env: dict | None = None, timeout: float = 120,
            app: list[str] | None = None) -> subprocess.CompletedProcess:
    """Run a Hydra app in a subprocess (the task must be pickled, as for real use)."""
    cmd = [sys.executable, *(app or [str(ECHO_APP)]), *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def sbatch_flags(script: str) -> dict[str, str]:
    """``#SBATCH --key=value`` lines as a dict (flags without value map to '')."""
    flags = {}
    for m in re.finditer(r"^#SBATCH --([\w-]+)(?:=(.*))?$", script, re.M):
        flags[m.group(1)] = m.group(2) or ""
    return flags


# ----------------------------------------------------------------- composition


@pytest.mark.parametrize(
    ("preset", "target"),
    [("slurm", SLURM_TARGET), ("slurm_multigpu", SLURM_TARGET), ("local", LOCAL_TARGET)],
)
def test_preset_found_without_searchpath_override(preset, target):
    """The plugin alone makes hydra/launcher=<preset> resolvable."""
    hydra_cfg = compose_launcher([f"hydra/launcher={preset}"])
    assert hydra_cfg.launcher._target_ == target
    assert hydra_cfg.runtime.choices["hydra/launcher"] == preset
    ours = [(s.schema, s.path) for s in hydra_cfg.runtime.config_sources if s.provider == PROVIDER]
    # From a checkout the YAML is read in place, so edits need no reinstall.
    assert ours == [("file", str(REPO / "launchers"))]
    # Submitit files live under the sweep dir, so one `rm -r` cleans a sweep.
    assert hydra_cfg.launcher.submitit_folder == f"{hydra_cfg.sweep.dir}/.submitit/%j"


def test_slurm_preset_defaults_are_requeue_ready():
    """Requeue on timeout needs max_num_timeout > 0 and a requeueable job."""
    launcher = compose_launcher(["hydra/launcher=slurm"]).launcher
    assert launcher.max_num_timeout > 0
    assert launcher.signal_delay_s > 0
    assert launcher.additional_parameters.requeue is True
    assert launcher.gpus_per_node >= 1


def test_site_fields_default_from_environment(monkeypatch):
    """partition/account/qos: env var default, CLI still wins."""
    monkeypatch.setenv("GLINER_EXP_SLURM_PARTITION", "envpart")
    monkeypatch.setenv("GLINER_EXP_SLURM_ACCOUNT", "envacct")
    monkeypatch.delenv("GLINER_EXP_SLURM_QOS", raising=False)
    launcher = compose_launcher(["hydra/launcher=slurm", "hydra.launcher.account=cli"]).launcher
    assert launcher.partition == "envpart"
    assert launcher.account == "cli"
    assert launcher.qos is None


# Every field of each preset, overridden from the CLI, with the value the
# instantiated plugin must receive.
SLURM_OVERRIDES = {
    "partition": "gpuq", "account": "nlp", "qos": "high", "timeout_min": 37, "nodes": 2,
    "tasks_per_node": 2, "gpus_per_node": 2, "cpus_per_task": 3, "mem_gb": 12,
    "array_parallelism": 1, "signal_delay_s": 77, "max_num_timeout": 5, "name": "gx-test",
}
MULTIGPU_OVERRIDES = {"gpus_per_node": 8, "cpus_per_task": 6, "mem_per_gpu": "80G"}
LOCAL_OVERRIDES = {"timeout_min": 9, "gpus_per_node": 0, "tasks_per_node": 1,
                   "cpus_per_task": 2, "mem_gb": 3, "name": "gx-local"}


def _cli(fields: dict) -> list[str]:
    return [f"hydra.launcher.{k}={v}" for k, v in fields.items()]


@pytest.mark.parametrize(
    ("preset", "fields"),
    [("slurm", SLURM_OVERRIDES), ("slurm_multigpu", MULTIGPU_OVERRIDES),
     ("local", LOCAL_OVERRIDES)],
)
def test_cli_overrides_reach_the_plugin(preset, fields, tmp_path):
    """The real launcher class gets every overridden value, interpolations resolved."""
    extra = [f"hydra.sweep.dir={tmp_path}", "+hydra.launcher.additional_parameters.mail-type=END"]
    if preset == "local":
        extra = extra[:1]
    hydra_cfg = compose_launcher([f"hydra/launcher={preset}", *_cli(fields), *extra])
    launcher = instantiate(hydra_cfg.launcher)
    for key, value in fields.items():
        assert launcher.params[key] == value, key
    assert launcher.params["submitit_folder"] == f"{tmp_path}/.submitit/%j"
    if preset == "slurm_multigpu":
        assert launcher.params["tasks_per_node"] == 8  # follows gpus_per_node
        assert launcher.params["mem_gb"] is None
    if preset != "local":
        assert launcher.params["additional_parameters"] == {"requeue": True, "mail-type": "END"}
        # Expanded by the batch shell, so it follows the allocation (see array test).
        omp = "export OMP_NUM_THREADS=$(( SLURM_CPUS_PER_TASK > 0 ? SLURM_CPUS_PER_TASK : 1 ))"
        assert omp in launcher.params["setup"]


def test_real_app_cli_sees_presets(tmp_path):
    """`python -m gliner_exp hydra/launcher=... --cfg hydra`: the real entry point finds them."""
    if not (REPO / "gliner_exp" / "__main__.py").is_file():
        pytest.skip("gliner_exp/__main__.py not there yet")
    import yaml

    proc = run_app(["hydra/launcher=slurm_multigpu", "hydra.launcher.gpus_per_node=2",
                    "--cfg", "hydra", "-p", "hydra.launcher"],
                   app=["-m", "gliner_exp"], cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    launcher = yaml.safe_load(proc.stdout.split("\n", 1)[1])  # drop "# @package" line
    assert launcher["_target_"] == SLURM_TARGET
    assert launcher["gpus_per_node"] == 2 and launcher["tasks_per_node"] == "${.gpus_per_node}"


def test_pkg_fallback_serves_the_presets(monkeypatch, tmp_path):
    """Without a checkout next to the package, pkg://gliner_exp.launchers is used and loads."""
    import gliner_exp
    import hydra_plugins.gliner_exp_searchpath as plugin

    monkeypatch.setattr(plugin, "checkout_launchers_dirs", lambda: [tmp_path / "nowhere"])
    assert plugin.launchers_search_path() == plugin.PKG_PATH
    # Stand-in for an installed wheel: gliner_exp/launchers as package data.
    fake_pkg = tmp_path / "site" / "gliner_exp"
    fake_pkg.mkdir(parents=True)
    (fake_pkg / "launchers").symlink_to(REPO / "launchers")
    monkeypatch.setattr(gliner_exp, "__path__", [*gliner_exp.__path__, str(fake_pkg)])
    monkeypatch.delitem(sys.modules, "gliner_exp.launchers", raising=False)
    hydra_cfg = compose_launcher(["hydra/launcher=slurm"])
    assert hydra_cfg.launcher.max_num_timeout > 0
    sources = {(s.schema, s.path) for s in hydra_cfg.runtime.config_sources
               if s.provider == PROVIDER}
    assert sources == {("pkg", "gliner_exp.launchers")}


# -------------------------------------------------------------- sbatch script


def _failed_submission_script(sweep: Path) -> str:
    """The script submitit wrote before sbatch refused it (a file, not the success symlink)."""
    scripts = [p for p in (sweep / ".submitit").glob(".submission_file_*.sh") if not p.is_symlink()]
    assert len(scripts) == 1, scripts
    return scripts[0].read_text()


@pytest.mark.slurm
def test_gpu_fields_reach_sbatch_script(slurm_cluster, tmp_path):
    """slurm preset, every field overridden: each one appears in the real script."""
    sweep = tmp_path / "sweep"
    proc = run_app(
        ["-m", "hydra/launcher=slurm", "seed=1,2", f"hydra.sweep.dir={sweep}",
         *_cli(SLURM_OVERRIDES),
         "+hydra.launcher.additional_parameters.mail-type=END",
         # Never queue anything, even on a cluster that has GPUs.
         "+hydra.launcher.additional_parameters.test-only=true"],
        cwd=tmp_path, env=slurm_cluster.env,
    )
    assert proc.returncode != 0 and "sbatch" in proc.stderr, proc.stderr[-3000:]
    flags = sbatch_flags(_failed_submission_script(sweep))
    submitit_dir = f"{sweep}/.submitit"
    assert flags == {
        "partition": "gpuq", "account": "nlp", "qos": "high", "time": "37", "nodes": "2",
        "ntasks-per-node": "2", "gpus-per-node": "2", "cpus-per-task": "3", "mem": "12GB",
        "array": "0-1%1", "signal": "USR2@77", "job-name": "gx-test", "requeue": "",
        "mail-type": "END", "test-only": "", "open-mode": "append", "wckey": "submitit",
        "output": f"{submitit_dir}/%A_%a/%A_%a_0_log.out",
        "error": f"{submitit_dir}/%A_%a/%A_%a_0_log.err",
    }
    script = _failed_submission_script(sweep)
    omp = "export OMP_NUM_THREADS=$(( SLURM_CPUS_PER_TASK > 0 ? SLURM_CPUS_PER_TASK : 1 ))"
    assert f"\n# setup\nexport PYTHONUNBUFFERED=1\n{omp}\n" in script
    # max_num_timeout is no sbatch flag: it travels in each pickled job.
    from submitit.core.utils import DelayedSubmission

    pickles = list((sweep / ".submitit").glob("*.pkl"))
    assert len(pickles) == 2
    assert {DelayedSubmission.load(p)._timeout_countdown for p in pickles} == {5}
    squeue = slurm_cluster.run("squeue", "-h", "-n", "gx-test")
    assert squeue.stdout.strip() == ""


@pytest.mark.slurm
def test_multigpu_fields_reach_sbatch_script(slurm_cluster, tmp_path):
    """One job, N GPUs: N tasks, memory per GPU, setup overridable as a list."""
    sweep = tmp_path / "sweep"
    proc = run_app(
        ["-m", "hydra/launcher=slurm_multigpu", f"hydra.sweep.dir={sweep}",
         *_cli(MULTIGPU_OVERRIDES),
         "hydra.launcher.setup=['module load cuda','export NCCL_DEBUG=WARN']",
         "+hydra.launcher.additional_parameters.test-only=true"],
        cwd=tmp_path, env=slurm_cluster.env,
    )
    assert proc.returncode != 0 and "sbatch" in proc.stderr, proc.stderr[-3000:]
    script = _failed_submission_script(sweep)
    flags = sbatch_flags(script)
    assert flags["gpus-per-node"] == "8" and flags["ntasks-per-node"] == "8"
    assert flags["cpus-per-task"] == "6" and flags["mem-per-gpu"] == "80G"
    assert "mem" not in flags and "array" not in flags  # a single job, not an array
    assert "# setup\nmodule load cuda\nexport NCCL_DEBUG=WARN\n" in script


# ------------------------------------------------------------------ execution

# What fits the local cluster (2 CPUs, no GPU, 1 GB per CPU by default).
CPU_JOB = ["hydra.launcher.partition=debug", "hydra.launcher.gpus_per_node=0",
           "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=1",
           "hydra.launcher.timeout_min=3", "hydra.launcher.signal_delay_s=30",
           "hydra.launcher.comment=gliner_exp-test"]


@pytest.mark.slurm
def test_two_job_sweep_runs_as_slurm_array(slurm_cluster, tmp_path):
    """A 2-job multirun through hydra/launcher=slurm: both jobs are SLURM array tasks."""
    sweep = tmp_path / "sweep"
    # 2 CPUs each: the jobs take turns on the 2-CPU node, but OMP_NUM_THREADS
    # then proves the setup lines follow the allocation.
    two_cpus = [o.replace("cpus_per_task=1", "cpus_per_task=2") for o in CPU_JOB]
    proc = run_app(["-m", "hydra/launcher=slurm", "seed=1,2", f"hydra.sweep.dir={sweep}",
                    "hydra.launcher.name=gx-echo", *two_cpus],
                   cwd=tmp_path, env=slurm_cluster.env, timeout=90)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [json.loads((sweep / str(i) / "echo.json").read_text()) for i in (0, 1)]
    assert [r["seed"] for r in records] == [1, 2]
    array_ids = {r["env"]["SLURM_ARRAY_JOB_ID"] for r in records}
    assert len(array_ids) == 1 and None not in array_ids
    assert {r["env"]["SLURM_ARRAY_TASK_ID"] for r in records} == {"0", "1"}
    assert {r["job_id"] for r in records} == {f"{next(iter(array_ids))}_{i}" for i in (0, 1)}
    assert all(r["env"]["SUBMITIT_EXECUTOR"] == "slurm" for r in records)
    # The job inherits SLURM_CONF (sbatch --export=ALL) and runs in the submit cwd.
    assert all(r["env"]["SLURM_CONF"] == str(slurm_cluster.conf) for r in records)
    assert all(r["cwd"] == str(tmp_path) for r in records)
    assert all(r["env"]["OMP_NUM_THREADS"] == "2" for r in records)

    array_id = next(iter(array_ids))
    flags = sbatch_flags((sweep / ".submitit" / array_id / f"{array_id}_submission.sh").read_text())
    assert {k: flags[k] for k in ("partition", "time", "cpus-per-task", "mem", "gpus-per-node",
                                  "signal", "comment", "job-name", "array", "requeue")} == {
        "partition": "debug", "time": "3", "cpus-per-task": "2", "mem": "1GB",
        "gpus-per-node": "0", "signal": "USR2@30", "comment": "gliner_exp-test",
        "job-name": "gx-echo", "array": "0-1%2", "requeue": ""}
    # The controller agrees (finished jobs stay visible for MinJobAge=300 s).
    assert job_states(slurm_cluster, array_id) == {"0": "COMPLETED", "1": "COMPLETED"}
    show = slurm_cluster.run("scontrol", "show", "job", array_id).stdout
    assert "Partition=debug" in show and "TimeLimit=00:03:00" in show


@pytest.mark.slurm
def test_multigpu_preset_runs_one_job_with_a_task_per_rank(slurm_cluster, tmp_path):
    """slurm_multigpu = one job of N tasks; each task runs the whole Hydra job.

    No GPUs here, so tasks_per_node is set directly instead of following
    gpus_per_node; the point is the shape: one SLURM job, N ranks, same dir.
    """
    sweep = tmp_path / "sweep"
    proc = run_app(["-m", "hydra/launcher=slurm_multigpu", f"hydra.sweep.dir={sweep}",
                    *CPU_JOB, "hydra.launcher.tasks_per_node=2", "hydra.launcher.mem_per_gpu=null"],
                   cwd=tmp_path, env=slurm_cluster.env, timeout=90)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [json.loads((sweep / "0" / name).read_text())
               for name in ("echo.json", "echo.rank1.json")]
    assert [r["env"]["SLURM_PROCID"] for r in records] == ["0", "1"]
    assert {r["env"]["SLURM_NTASKS"] for r in records} == {"2"}
    assert len({r["env"]["SLURM_JOB_ID"] for r in records}) == 1
    assert records[0]["env"]["SLURM_ARRAY_JOB_ID"] is None  # not an array


def test_two_job_sweep_runs_with_submitit_local(tmp_path):
    """hydra/launcher=local: two separate processes, no SLURM involved."""
    sweep = tmp_path / "sweep"
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("SLURM_")}
    proc = run_app(["-m", "hydra/launcher=local", "seed=1,2", f"hydra.sweep.dir={sweep}",
                    "hydra.launcher.timeout_min=2"], cwd=tmp_path, env=env, timeout=90)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [json.loads((sweep / str(i) / "echo.json").read_text()) for i in (0, 1)]
    assert [r["seed"] for r in records] == [1, 2]
    assert len({r["pid"] for r in records}) == 2
    assert all(r["env"]["SUBMITIT_EXECUTOR"] == "local" for r in records)
    assert all(r["env"]["SLURM_JOB_ID"] is None for r in records)
    assert all(r["env"]["CUDA_VISIBLE_DEVICES"] == "0" for r in records)  # gpus_per_node: 1


@pytest.mark.slurm
@pytest.mark.slow
def test_real_app_sweep_on_slurm(slurm_cluster, tmp_path):
    """`python -m gliner_exp -m hydra/launcher=slurm experiment=smoke run.seed=1,2` trains twice."""
    if not (REPO / "gliner_exp" / "train.py").is_file() or not (
        REPO / "conf" / "experiment" / "smoke.yaml"
    ).is_file():
        pytest.skip("gliner_exp.training.run / experiment=smoke not there yet")
    sweep = tmp_path / "sweep"
    cpu_job = [o.replace("mem_gb=1", "mem_gb=4") for o in CPU_JOB]  # torch + model > 1 GB
    proc = run_app(["-m", "hydra/launcher=slurm", "experiment=smoke", "run.seed=1,2",
                    f"hydra.sweep.dir={sweep}", *cpu_job],
                   app=["-m", "gliner_exp"], cwd=tmp_path, env=slurm_cluster.env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = sorted(sweep.glob("*/metrics.json"))
    assert len(metrics) == 2, list(sweep.iterdir())
    for path in metrics:
        assert "dev_f1" in json.loads(path.read_text())
    # Each run's Hydra log and submitit log belong to a SLURM array task.
    job_dirs = [p.name for p in (sweep / ".submitit").iterdir() if re.fullmatch(r"\d+_\d", p.name)]
    assert sorted(d.rsplit("_", 1)[1] for d in job_dirs) == ["0", "1"]
    array_id = job_dirs[0].split("_")[0]
    assert job_states(slurm_cluster, array_id) == {"0": "COMPLETED", "1": "COMPLETED"}
