"""The config node of the capped local launcher (``hydra/launcher: submitit_local_capped``)."""

# No `from __future__ import annotations`: Hydra execs plugin modules before they are in
# sys.modules, and dataclasses cannot resolve string annotations of such a module.
from dataclasses import dataclass

from hydra.core.config_store import ConfigStore
from hydra_plugins.hydra_submitit_launcher.config import LocalQueueConf

PROVIDER = "gliner_exp-local-launcher"
NODE_NAME = "submitit_local_capped"


@dataclass
class CappedLocalQueueConf(LocalQueueConf):
    """submitit_local's fields, plus ``array_parallelism``.

    ``array_parallelism``: at most this many jobs of one launch run at the same
    time (the SLURM preset's key; there it is sbatch's ``--array=0-N%P``). 1 by
    default: the jobs of a local sweep share one machine with no scheduler to
    share it out -- the same GPUs (``gpus_per_node`` makes every job see GPUs
    0..n-1), memory nobody reserves, and cores torch already spreads one job
    over -- so one at a time is the value that is safe everywhere; raise it
    where jobs are small enough to share. ``cpus_per_task`` (if set) becomes
    each job's ``OMP_NUM_THREADS``; unset, an ``OMP_NUM_THREADS`` already in the
    environment is kept, else each job gets an equal share of the cores.
    """

    _target_: str = "hydra_plugins.gliner_exp_local_launcher.launcher.CappedLocalLauncher"
    array_parallelism: int = 1


ConfigStore.instance().store(group="hydra/launcher", name=NODE_NAME, node=CappedLocalQueueConf(), provider=PROVIDER)
