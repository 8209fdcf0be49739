"""Save the final model as a plain GLiNER directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def save_final_model(model: Any, out_dir: str | Path) -> Path:
    """Save ``model`` so that ``GLiNER.from_pretrained(out_dir, strict=True)`` reproduces it."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    inner = getattr(model.model, "_orig_mod", None)
    if inner is not None:  # torch.compile wraps the core; save the original module's weights
        model.model = inner
    model.save_pretrained(out_dir)
    return out_dir
