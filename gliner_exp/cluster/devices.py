"""Whether the device a config asks for is there, checked before any model is loaded.

Without it, ``hardware.device=cuda`` on a node where torch sees no GPU trains
on the CPU and exits 0: on a cluster the job burns its allocation for nothing.
The check needs torch, so it runs once the config and the data are accepted.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from gliner_exp.config.errors import ConfigError

log = logging.getLogger(__name__)


def device_problem(hw: Any) -> str | None:
    """Why ``hw.device`` (the ``hardware`` section) cannot be used on this machine, or None where it can."""
    if hw.device != "cuda":
        return None
    import torch

    if torch.cuda.is_available():
        return None
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    build = ("this torch is a CPU-only build" if torch.version.cuda is None
             else f"torch {torch.__version__} is built for CUDA {torch.version.cuda}")
    return (f"hardware.device=cuda: torch sees no CUDA device (torch.cuda.is_available() is False; "
            f"CUDA_VISIBLE_DEVICES={'unset' if visible is None else repr(visible)}; {build}); "
            "run it where a GPU is visible, or use hardware=cpu")


def check_device(cfg: Any) -> None:
    """Raise ConfigError if the run's device is missing; a dry run (``run.dry_run``) only warns, on stderr.

    A dry run is how a config is checked on a login node without a GPU.
    """
    problem = device_problem(cfg.hardware)
    if problem is None:
        return
    if not cfg.run.dry_run:
        raise ConfigError([problem])
    print(f"gliner_exp: warning: {problem} (a dry run goes on)", file=sys.stderr, flush=True)
    log.warning("%s (a dry run goes on)", problem)
