"""``sys.argv`` rewritten for Hydra when torch's launchers start the process."""

from __future__ import annotations

import os
import re

from gliner_exp.cluster.environment import env_int

_LOCAL_RANK_ARG = re.compile(r"^--local[-_]rank(?:=(\d+))?$")


def hydra_argv(argv: list[str]) -> list[str]:
    """``sys.argv`` for Hydra in a multi-process launch.

    * ``torch.distributed.launch`` (without ``--use-env``) appends
      ``--local-rank=N`` (``--local_rank`` before torch 2.0), which Hydra rejects
      as an unknown argument: it is removed and exported as ``LOCAL_RANK``.
    * A non-zero rank of a torchrun launch gets ``hydra.output_subdir=null``:
      only rank 0 writes ``.hydra/`` (the run directory is the same for all).
    """
    out: list[str] = [argv[0]] if argv else []
    rest = iter(argv[1:])
    for arg in rest:
        m = _LOCAL_RANK_ARG.match(arg)
        if not m:
            out.append(arg)
            continue
        value = m.group(1)
        if value is None:  # "--local-rank N"
            value = next(rest, "")
        if value.isdigit():
            os.environ.setdefault("LOCAL_RANK", value)
    rank = env_int("RANK")
    if rank and not any("=" in a and a.split("=", 1)[0].lstrip("+~") == "hydra.output_subdir" for a in out[1:]):
        out.insert(1, "hydra.output_subdir=null")  # first: argparse takes the overrides as one positional run
    return out
