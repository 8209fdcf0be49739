"""Throwaway Hydra app for launcher tests: each task writes ``echo.json``.

Run as a *script* (``python tests/apps/echo_app.py -m ...``) on purpose: the
task function then lives in ``__main__`` and submitit must cloudpickle it by
value, which is the same situation as ``python -m gliner_exp``.

The JSON records where and when the task ran (SLURM ids, host, pid, cwd,
start/end time) so tests can prove that each sweep job was a SLURM job and
measure submit-to-start latency.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

# SLURM/submitit variables worth recording; the full environment is too noisy.
_ENV_KEYS = (
    "SLURM_JOB_ID",
    "SLURM_ARRAY_JOB_ID",
    "SLURM_ARRAY_TASK_ID",
    "SLURM_PROCID",
    "SLURM_NTASKS",
    "SLURM_CPUS_PER_TASK",
    "SLURM_CONF",
    "SUBMITIT_EXECUTOR",
    "OMP_NUM_THREADS",
    "CUDA_VISIBLE_DEVICES",
)


@hydra.main(version_base="1.3", config_path="conf", config_name="echo")
def main(cfg: DictConfig) -> float:
    """Record the run context, optionally sleep, return the seed as the score."""
    started = time.time()
    time.sleep(float(cfg.sleep_s))
    hc = HydraConfig.get()
    record = {
        "seed": int(cfg.seed),
        "job_num": hc.job.num,
        "job_id": hc.job.get("id"),
        "overrides": list(hc.overrides.task),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "cwd": os.getcwd(),
        "started": started,
        "ended": time.time(),
        "env": {k: os.environ.get(k) for k in _ENV_KEYS},
    }
    # Multi-task jobs (slurm_multigpu) run this whole function once per rank,
    # in the same output dir: keep one file per rank instead of a last-writer-wins.
    rank = int(os.environ.get("SLURM_PROCID", "0"))
    out = Path(hc.runtime.output_dir) / ("echo.json" if rank == 0 else f"echo.rank{rank}.json")
    out.write_text(json.dumps(record, indent=2))
    return float(cfg.seed)


if __name__ == "__main__":
    main()
