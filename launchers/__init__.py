"""Hydra launcher presets (``hydra/launcher=slurm|slurm_multigpu|local``).

Only YAML lives here. The ``__init__.py`` makes this folder a regular package
(``gliner_exp.launchers`` once installed) so that ``pkg://gliner_exp.launchers``
resolves through importlib.resources when the repository checkout is absent.
"""
