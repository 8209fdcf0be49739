"""``python -m gliner_exp`` / ``gliner-exp``: a thin Hydra wrapper over :func:`gliner_exp.training.run.train`.

Nothing heavy is imported here: ``--help`` and ``--cfg job`` answer without torch.
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig, OmegaConf

from gliner_exp.config.errors import ConfigError, exit_with
from gliner_exp.config.store import conf_dir, register

register()


@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="config")
def _hydra_entry(cfg: DictConfig) -> float | None:
    from gliner_exp.sweeps.jobs import run_job

    try:
        # Sweepers (Optuna) maximise what the task returns: the dev F1 (the stored one when
        # a multirun skips a finished job). In a multirun a failing job is recorded
        # (status.json) and the sweep goes on; a single run raises as before.
        return run_job(cfg)
    except ConfigError as exc:
        exit_with(exc)


def _cli_overrides(argv: list[str]) -> list[str]:
    return [a for a in argv if "=" in a and not a.startswith("-")]


def main() -> None:
    """Console entry point: check overrides, then hand over to Hydra."""
    from gliner_exp.cluster.distributed import hydra_argv

    sys.argv = hydra_argv(sys.argv)  # torch.distributed.launch's --local-rank; .hydra/ from rank 0 only
    if not any(a in ("--help", "-h", "--hydra-help", "--info", "-i") for a in sys.argv[1:]):
        from gliner_exp.cli.precheck import check_overrides

        try:
            check_overrides(_cli_overrides(sys.argv[1:]), conf_dir())
        except ConfigError as exc:
            exit_with(exc)
    _hydra_entry()
    from gliner_exp.sweeps.callback import exit_code

    code = exit_code()  # a multirun with a failed job exits non-zero once all jobs ran
    if code:
        sys.exit(code)


if __name__ == "__main__":
    main()
