"""Save the final model as a plain GLiNER directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def save_final_model(model: Any, out_dir: str | Path, adapter_dir: str | Path | None = None) -> Path:
    """Save ``model`` so that ``GLiNER.from_pretrained(out_dir, strict=True)`` reproduces it.

    LoRA: the adapters are merged into the text encoder first, in place (the
    model stays usable and predicts the same); ``adapter_dir`` also receives
    the adapter alone, in peft format, before merging. A state dict that still
    holds adapter keys is never written.
    """
    from gliner_exp.model.lora.export import assert_no_adapter_keys, merge_adapters, save_adapter

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    inner = getattr(model.model, "_orig_mod", None)
    if inner is not None:  # torch.compile wraps the core; save the original module's weights
        model.model = inner
    if adapter_dir is not None:
        save_adapter(model, adapter_dir)
    merge_adapters(model)
    assert_no_adapter_keys(model.model.state_dict().keys(), str(out_dir))
    model.save_pretrained(out_dir)
    return out_dir
