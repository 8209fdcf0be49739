"""Sweeps that can be trusted: the job runner every Hydra job goes through, the files it
leaves in a job dir, the multirun callback and its outcome, and the sweep report (``report/``)."""
