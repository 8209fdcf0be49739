"""Hydra launcher plugin: submitit's local executor with a cap on the jobs that run at once.

``hydra/launcher=local`` (gliner_exp's preset) uses it. hydra-submitit-launcher's
own ``submitit_local`` starts every job of a ``-m`` sweep at once; on a small
machine a sweep of torch jobs then thrashes (measured ~10x slower per job on 2
cores). :class:`~hydra_plugins.gliner_exp_local_launcher.launcher.CappedLocalLauncher`
keeps at most ``hydra.launcher.array_parallelism`` of them running (the key and
meaning of the SLURM preset's ``--array=0-N%P``), starting the next as soon as
one ends, and gives each job its share of the cores as ``OMP_NUM_THREADS``.

Hydra imports every module of ``hydra_plugins`` at start-up: ``config`` only
registers the config node; submitit loads when a sweep is launched.
"""
