"""Merge adapters for export, save the adapter alone, and refuse unmerged state dicts.

gliner's ``from_pretrained`` loads with ``strict=False``: a GLiNER directory
holding an *unmerged* peft encoder (keys ``...base_model.model...base_layer...``,
``lora_A``/``lora_B``) reloads without error and silently keeps an untrained
encoder. The final model is therefore always merged first, and its keys are
checked before anything is written.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, Iterable

from gliner_exp.model.gliner_internals import set_text_encoder, text_encoder

# Substrings that only peft-wrapped modules put into state-dict keys.
ADAPTER_MARKERS = (
    "lora_A.", "lora_B.", "lora_embedding_A", "lora_embedding_B", "lora_magnitude_vector", ".base_layer.",
    "base_model.model.", "modules_to_save.", "original_module.", "trainable_tokens_delta", "token_adapter.",
)
INITIAL_ADAPTER_ATTR = "_gliner_exp_initial_adapter"


class UnmergedAdapterError(RuntimeError):
    """A state dict or model directory still carries peft adapter keys."""


def is_peft(module: Any) -> bool:
    """True for a peft-wrapped module (a PeftModel around the text encoder)."""
    return hasattr(module, "peft_config") and hasattr(module, "merge_and_unload")


def adapter_keys(keys: Iterable[str]) -> list[str]:
    """The keys among ``keys`` that belong to peft adapters or peft's wrappers."""
    return [k for k in keys if any(m in k for m in ADAPTER_MARKERS)]


def assert_no_adapter_keys(keys: Iterable[str], where: str) -> None:
    """Raise UnmergedAdapterError if ``keys`` hold adapter keys (an unmerged encoder)."""
    found = adapter_keys(keys)
    if found:
        raise UnmergedAdapterError(
            f"{where}: {len(found)} peft adapter keys (e.g. {found[0]}); this is an unmerged LoRA encoder, which "
            "GLiNER.from_pretrained (strict=False by default) would silently drop, leaving an untrained encoder. "
            "Merge the adapters first (gliner_exp.model.lora.export.merge_adapters).")


def saved_shapes(model_dir: str | Path) -> dict[str, tuple]:
    """``{key: shape}`` of the state dict stored in a GLiNER directory or checkpoint, without loading it.

    safetensors aliases (shared tensors gliner stores once) are included.
    """
    model_dir = Path(model_dir)
    st = model_dir / "model.safetensors"
    if st.is_file():
        from safetensors import safe_open

        with safe_open(str(st), framework="pt") as fh:
            shapes = {k: tuple(fh.get_slice(k).get_shape()) for k in fh.keys()}
            meta = fh.metadata() or {}
        shapes.update({alias: shapes[target] for alias, target in meta.items()
                       if target in shapes and alias not in shapes})
        return shapes
    bin_file = model_dir / "pytorch_model.bin"
    if bin_file.is_file():
        import torch

        state = torch.load(bin_file, map_location="cpu", weights_only=True, mmap=True)
        return {k: tuple(v.shape) for k, v in state.items()}
    raise FileNotFoundError(f"{model_dir}: no model.safetensors or pytorch_model.bin")


def saved_keys(model_dir: str | Path) -> list[str]:
    """The state-dict keys stored in a GLiNER directory or checkpoint."""
    return list(saved_shapes(model_dir))


def assert_plain_gliner_dir(model_dir: str | Path) -> None:
    """Raise UnmergedAdapterError if the GLiNER saved in ``model_dir`` holds adapter keys."""
    assert_no_adapter_keys(saved_keys(model_dir), str(model_dir))


def merge_adapters(model: Any) -> bool:
    """Fold the text encoder's adapters into its weights, in place; False when there are none.

    Afterwards the GLiNER is a plain one (same predictions, no peft modules),
    so ``save_pretrained`` writes a directory ``from_pretrained(strict=True)`` loads.
    """
    encoder = text_encoder(model)
    if not is_peft(encoder):
        return False
    merged = encoder.merge_and_unload(safe_merge=True)
    set_text_encoder(model, merged)
    return True


def save_adapter(model: Any, out_dir: str | Path) -> Path | None:
    """Write the text encoder's adapter alone, in peft format (``PeftModel.from_pretrained(encoder, out_dir)``).

    Adapters whose init rewrote the base weights (PiSSA, OLoRA) are converted
    with peft's ``path_initial_model_for_weight_conversion`` so they apply to
    the original backbone. The GLiNER head is not part of it: ``model/`` is the
    complete, merged model. None if the model has no adapters.
    """
    encoder = text_encoder(model)
    if not is_peft(encoder):
        return None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    initial = getattr(encoder, INITIAL_ADAPTER_ATTR, None)
    converted = False
    if initial is None:
        encoder.save_pretrained(str(out_dir))
    else:
        from safetensors.torch import save_file

        from peft import get_peft_model_state_dict
        from safetensors.torch import load_file

        with tempfile.TemporaryDirectory(prefix="gliner_exp_init_adapter_") as tmp:
            save_file({k: v.contiguous() for k, v in initial.items()}, str(Path(tmp) / "adapter_model.safetensors"))
            encoder.save_pretrained(str(out_dir), path_initial_model_for_weight_conversion=tmp)
        # peft's conversion keeps only lora_A/lora_B; the trainable-token rows (and the resized
        # embedding they sit on) and modules_to_save do not depend on the base mutation: put them back.
        path = out_dir / "adapter_model.safetensors"
        state = load_file(str(path))
        for key, value in get_peft_model_state_dict(encoder).items():
            state.setdefault(key, value.detach().contiguous().cpu())
        save_file(state, str(path), metadata={"format": "pt"})
        converted = True
    note = {
        "format": "peft adapter for the GLiNER text encoder (token_rep_layer.bert_layer.model)",
        "base": "the text encoder of the model the run started from (model.pretrained or model.backbone)",
        "converted_from_base_mutating_init": converted,
        "head_included": False,
        "complete_model": "../model (adapters merged)",
    }
    (out_dir / "gliner_exp_adapter.json").write_text(json.dumps(note, indent=2) + "\n")
    return out_dir
