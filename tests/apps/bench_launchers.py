"""Time a 2-job sweep per launcher: submit-to-start latency and total wall time.

    .venv/bin/python tests/apps/bench_launchers.py [--reps 3] [--real]

Needs the local SLURM cluster for the ``slurm`` rows (SLURM_CONF from
$LOCAL_SLURM_DIR). ``--real`` benchmarks ``python -m gliner_exp
experiment=smoke`` instead of the echo app. Not a test: numbers only.

* wall: the whole ``-m`` command, process start to exit.
* first/last start: when each task function began, from command start.
* submit->start: task start minus the mtime of that job's submitit pickle,
  which is written just before ``sbatch`` / the local Popen (not for basic).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from slurm_cluster import clean_env, cluster_dir  # noqa: E402

CPU_SLURM = ["hydra.launcher.partition=debug", "hydra.launcher.gpus_per_node=0",
             "hydra.launcher.cpus_per_task=1", "hydra.launcher.timeout_min=5"]


def _task_starts(sweep: Path, real: bool) -> list[float]:
    if not real:
        return sorted(json.loads(p.read_text())["started"] for p in sweep.glob("*/echo.json"))
    # The trainer writes no start stamp; its run dir's .hydra/ is made at task start.
    return sorted(p.stat().st_mtime for p in sweep.glob("*/.hydra/config.yaml"))


def _submit_times(sweep: Path) -> list[float]:
    return sorted(p.stat().st_mtime for p in (sweep / ".submitit").glob("*/*_submitted.pkl"))


def bench_once(launcher: str, real: bool, env: dict) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        sweep = Path(tmp) / "sweep"
        app = ["-m", "gliner_exp"] if real else [str(REPO / "tests" / "apps" / "echo_app.py")]
        sweep_args = ["experiment=smoke", "run.seed=1,2"] if real else ["seed=1,2"]
        # Hydra's -m (multirun) must precede the overrides.
        args = ["-m", *sweep_args, f"hydra.sweep.dir={sweep}"]
        if launcher != "basic":
            args.append(f"hydra/launcher={launcher}")
        if launcher == "slurm":
            args += CPU_SLURM + [f"hydra.launcher.mem_gb={4 if real else 1}"]
        t0 = time.time()
        proc = subprocess.run([sys.executable, *app, *args], cwd=tmp, env=env,
                              capture_output=True, text=True)
        wall = time.time() - t0
        if proc.returncode:
            raise RuntimeError(f"{launcher}: rc={proc.returncode}\n{proc.stderr[-2000:]}")
        starts = _task_starts(sweep, real)
        subs = _submit_times(sweep) if launcher != "basic" else []
        lat = [s - u for s, u in zip(starts, subs)] if len(subs) == len(starts) else []
        return {"wall": wall, "first": starts[0] - t0, "last": starts[-1] - t0,
                "lat": max(lat) if lat else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--real", action="store_true")
    parser.add_argument("--launchers", default="basic,local,slurm")
    opts = parser.parse_args()
    env = clean_env(cluster_dir() / "etc" / "slurm.conf")
    # The slurm preset exports OMP_NUM_THREADS=cpus_per_task (1 here); give the
    # other launchers the same, else torch oversubscribes the 2 cores and the
    # comparison measures thread thrashing (2-6x slower here), not launchers.
    env["OMP_NUM_THREADS"] = "1"
    print(f"{'launcher':8} {'wall s':>8} {'1st start':>10} {'2nd start':>10} "
          f"{'submit->start':>14}", flush=True)
    for launcher in opts.launchers.split(","):
        runs = [bench_once(launcher, opts.real, env) for _ in range(opts.reps)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(f"{launcher:8} {med['wall']:8.2f} {med['first']:10.2f} {med['last']:10.2f} "
              f"{med['lat']:14.2f}   (median of {opts.reps})", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
