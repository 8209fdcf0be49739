"""The sweep summary: ``python -m gliner_exp.cli.report <sweep dir>``, and the end of every multirun.

Works on a finished, running or interrupted sweep: it only reads what the jobs
wrote (``.hydra/overrides.yaml``, ``status.json``, ``metrics.json``,
``metrics.csv`` or checkpoints' ``trainer_state.json``). Jobs of a basic-sweeper
grid that have not started yet are listed as ``pending``.

One module per step: :mod:`.collect` reads the sweep dir into rows, :mod:`.analyse`
ranks them and computes marginal means, :mod:`.render` writes the tables and text,
:mod:`.plots` the figures, and :mod:`.summary` runs them all into ``<sweep dir>/summary/``.

Importing any of them pulls in neither torch nor matplotlib's pyplot (plots use
the Agg canvas directly).
"""
