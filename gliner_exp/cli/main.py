"""``python -m gliner_exp`` / ``gliner-exp``: a thin Hydra app over :func:`gliner_exp.training.run.train`.

Nothing heavy is imported here: ``--help`` and ``--cfg job`` answer without torch.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from gliner_exp.cli.precheck import check_command_line, single_run_overrides
from gliner_exp.cluster.launch_argv import hydra_argv
from gliner_exp.config.errors import ConfigError, exit_with
from gliner_exp.config.store import conf_dir, register
from gliner_exp.sweeps.callback import exit_code
from gliner_exp.sweeps.job_runner import run_job

register()


@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="config")
def _hydra_entry(cfg: DictConfig) -> float | None:
    try:
        # Sweepers (Optuna) maximise what the task returns: the dev F1 (the stored one when
        # a multirun skips a finished job). In a multirun a failing job is recorded
        # (status.json) and the sweep goes on; a single run raises as before.
        return run_job(cfg)
    except ConfigError as exc:
        exit_with(exc)


def _writable(path: str) -> bool:
    """Whether ``path``, or its nearest existing parent where it does not exist yet, can be written."""
    where = Path(path).expanduser().absolute()
    while not where.exists() and where != where.parent:
        where = where.parent
    return os.access(where, os.W_OK)


def hydra_dir_follows_run_dir(argv: list[str]) -> list[str]:
    """``argv`` with ``hydra.run.dir`` set to a given ``run.dir`` (single runs only).

    Without it Hydra would write ``.hydra/`` and ``gliner_exp.log`` under
    ``outputs/runs/...`` while the run writes elsewhere: the run's own config,
    its log and the overrides its model card quotes would live apart from it,
    shared by every run with the same other overrides.
    """
    given = {ov.key_or_group: ov for ov in single_run_overrides(argv[1:]) or () if not ov.is_delete()}
    if "run.dir" not in given or "hydra.run.dir" in given:
        return argv
    value = given["run.dir"].value()
    if value is None or not _writable(str(value)):
        return argv  # an unwritable run.dir is reported by the run, as one message, not by Hydra's log setup
    run_dir = given["run.dir"].get_value_element_as_str()
    return [argv[0], f"hydra.run.dir={run_dir}", *argv[1:]]  # first: argparse takes the overrides as one run


def main() -> None:
    """Console entry point: check overrides, then hand over to Hydra."""
    sys.argv = hydra_argv(sys.argv)  # torch.distributed.launch's --local-rank; .hydra/ from rank 0 only
    sys.argv = hydra_dir_follows_run_dir(sys.argv)
    try:
        check_command_line(sys.argv[1:], conf_dir(), "config", _hydra_entry)
    except ConfigError as exc:
        exit_with(exc)
    _hydra_entry()
    code = exit_code()  # a multirun with a failed job exits non-zero once all jobs ran
    if code:
        sys.exit(code)


if __name__ == "__main__":
    main()
