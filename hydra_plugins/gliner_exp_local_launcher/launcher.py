"""CappedLocalLauncher: hydra-submitit-launcher's LocalLauncher, at most ``array_parallelism`` jobs at a time.

Everything a job sees is the stock plugin's: the same executor, one submitit
controller process per job with its timeout, its USR2 signal and its requeue
(the controller restarts a requeued job itself, so a requeue keeps the job's
slot), the same ``__call__`` in the job and ``checkpoint`` for resubmission.
Only the submission changes: jobs are submitted in sweep order, each when a
slot is free, and the results come back in sweep order once all have ended,
failed ones included (the sweeper raises for those, as with the stock plugin).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path
from typing import Any, Iterator, List, Mapping, Optional, Sequence

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, filter_overrides
from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
from hydra_plugins.hydra_submitit_launcher.submitit_launcher import LocalLauncher
from omegaconf import OmegaConf

log = logging.getLogger(__name__)

#: Seconds between two looks at the running jobs (a look is one waitpid per job).
POLL_S = 0.1
#: The config key, as error messages name it.
KEY = "hydra.launcher.array_parallelism"


def _bad_parallelism(value: int) -> str | None:
    # The config node types it as int (Hydra rejects other types itself); the range is checked here.
    if value < 1:
        return (f"{KEY}: {value!r} is not allowed: an integer >= 1 (the most jobs of a sweep "
                "that run at the same time)")
    return None


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, which taskset and cgroup cpusets narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def job_threads(cpus_per_task: Optional[int], environ: Mapping[str, str], cores: int,
                concurrent_jobs: int, tasks_per_node: int = 1) -> tuple[str, str]:
    """Each job's ``OMP_NUM_THREADS`` and where it comes from.

    ``cpus_per_task`` when set (what the job asks for, as on SLURM); else an
    ``OMP_NUM_THREADS`` already in ``environ`` (the user's choice); else the
    cores shared out among the processes that run at once (``concurrent_jobs``
    jobs of ``tasks_per_node`` ranks each), at least 1: torch otherwise starts
    one thread per core in every job, and N jobs on N cores then spend their
    time switching threads (2-6x slower per job on 2 cores).
    """
    if cpus_per_task:
        return str(cpus_per_task), "hydra.launcher.cpus_per_task"
    if environ.get("OMP_NUM_THREADS"):
        return environ["OMP_NUM_THREADS"], "the environment"
    share = max(1, cores // max(1, concurrent_jobs * max(1, tasks_per_node)))
    return str(share), f"{cores} cores / {concurrent_jobs} jobs at once"


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    # submitit's local controller copies os.environ when it starts a job: set the
    # job's variables for the submission only, so the sweep's own process keeps its own.
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


class CappedLocalLauncher(LocalLauncher):
    """submitit's local executor with at most ``array_parallelism`` jobs running at once."""

    def __init__(self, array_parallelism: int = 1, **params: Any) -> None:
        problem = _bad_parallelism(array_parallelism)
        if problem:
            # The project's one way to report bad input (exit 2, nothing started);
            # a plain exception would reach the user wrapped in Hydra's instantiate error.
            from gliner_exp.config.errors import ConfigError, exit_with

            exit_with(ConfigError([problem]))
        self.array_parallelism = array_parallelism
        super().__init__(**params)

    def _executor(self) -> Any:
        """The executor the stock plugin builds (same folder, timeouts, resources)."""
        import submitit

        params = self.params
        specific_init_keys = {"max_num_timeout"}
        init_params = {"folder": params["submitit_folder"]}
        init_params.update({f"{self._EXECUTOR}_{k}": v for k, v in params.items() if k in specific_init_keys})
        executor = submitit.AutoExecutor(cluster=self._EXECUTOR, **init_params)
        init_keys = specific_init_keys | {"submitit_folder"}
        base = set(OmegaConf.structured(BaseQueueConf).keys())
        executor.update_parameters(**{k if k in base else f"{self._EXECUTOR}_{k}": v
                                      for k, v in params.items() if k not in init_keys})
        return executor

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        """Run the jobs, at most ``array_parallelism`` at once, in sweep order; their returns in that order."""
        assert self.config is not None
        num_jobs = len(job_overrides)
        assert num_jobs > 0
        executor = self._executor()
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        if "mode" in self.config.hydra.sweep:
            os.chmod(sweep_dir, mode=int(str(self.config.hydra.sweep.mode), 8))
        concurrent = min(self.array_parallelism, num_jobs)
        threads, source = job_threads(self.params.get("cpus_per_task"), os.environ, available_cores(),
                                      concurrent, self.params.get("tasks_per_node") or 1)
        log.info(f"Submitit '{self._EXECUTOR}' sweep output dir : {sweep_dir}")
        log.info(f"{num_jobs} jobs, at most {concurrent} at a time ({KEY}={self.array_parallelism}); "
                 f"OMP_NUM_THREADS={threads} each ({source})")
        pending: List[tuple] = []
        for offset, overrides in enumerate(job_overrides):
            idx = initial_job_idx + offset
            log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
            pending.append((list(overrides), "hydra.sweep.dir", idx, f"job_id_for_{idx}", Singleton.get_state()))

        jobs: List[Any] = [None] * num_jobs
        running: set[int] = set()
        submitted = 0
        while submitted < num_jobs or running:
            while submitted < num_jobs and len(running) < self.array_parallelism:
                with _environ(OMP_NUM_THREADS=threads):
                    jobs[submitted] = executor.submit(self, *pending[submitted])
                running.add(submitted)
                submitted += 1
            ended = {i for i in running if jobs[i].done()}
            running -= ended
            if not ended:
                time.sleep(POLL_S)
        return [job.results()[0] for job in jobs]

