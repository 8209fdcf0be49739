"""Digests of the final weights of every rank, for tests and drills (off unless asked for)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from gliner_exp.cluster.environment import dist_info
from gliner_exp.model.gliner_internals import core

#: Set (to anything but 0/"") to have every rank write the digest of its final weights
#: to ``<run dir>/debug/weights.rank<R>.json`` (tests compare them across ranks).
DEBUG_WEIGHTS_ENV = "GLINER_EXP_DEBUG_WEIGHTS"


def weights_digest(model: Any) -> str:
    """sha256 over the GLiNER core's state dict (names, dtypes, shapes, bytes), in name order."""
    import torch

    module = core(model) if hasattr(model, "model") else model
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().to("cpu").contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def debug_callbacks(run_dir: str | Path) -> list:
    """Callbacks switched on by environment variables, for tests and drills (none by default)."""
    if os.environ.get(DEBUG_WEIGHTS_ENV, "0") in ("", "0"):
        return []
    from transformers import TrainerCallback

    class WeightDigestCallback(TrainerCallback):
        """At the end of training every rank writes ``debug/weights.rank<R>.json``."""

        def on_train_end(self, args, state, control, model=None, **kwargs):
            info = dist_info()
            out = Path(run_dir) / "debug" / f"weights.rank{info.rank}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps({"rank": info.rank, "world_size": info.world_size,
                                       "global_step": state.global_step, "pid": os.getpid(),
                                       "digest": weights_digest(model)}) + "\n")

    return [WeightDigestCallback()]
