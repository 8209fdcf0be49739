"""What DDP and FSDP need from a GLiNER model before training.

The unused BERT pooler
----------------------
GLiNER reads the encoder's ``last_hidden_state`` and never the pooler output, so
the pooler's parameters never get a gradient. Plain DDP
(``find_unused_parameters=False``) then fails at the second step ("Expected to
have finished reduction in the prior iteration"). :func:`freeze_unused_pooler`
sets ``requires_grad=False`` on it, in every run and whatever the world size:
the weights are exactly as before (they never had a gradient, and AdamW skips
parameters without one), the state dict and saved models keep the pooler keys,
and the optimizer is the same whether a run has 1 or N processes. DDP then runs
without ``find_unused_parameters`` (which costs a graph traversal every step and
does not combine with reentrant gradient checkpointing);
``hardware.ddp_find_unused_parameters=true`` is there for exotic models.
"""

from __future__ import annotations

from typing import Any

from gliner_exp.model.gliner_internals import encoders


def freeze_unused_pooler(model: Any) -> list[str]:
    """``requires_grad=False`` on the backbones' poolers (never used by GLiNER); returns the names frozen."""
    frozen = []
    for encoder in encoders(model):
        for name, module in encoder.named_modules():
            if name.rsplit(".", 1)[-1] != "pooler":
                continue
            for pname, param in module.named_parameters():
                if param.requires_grad:
                    param.requires_grad_(False)
                    frozen.append(f"{name}.{pname}")
    return frozen


def encoder_layer_classes(model: Any) -> list[str]:
    """Class names FSDP should wrap one by one: the backbone's ``_no_split_modules``, else its repeated layer."""
    import torch.nn as nn

    names: list[str] = []
    for encoder in encoders(model):
        base = getattr(encoder, "get_base_model", lambda: encoder)()
        split = list(getattr(base, "_no_split_modules", None) or [])
        if not split:
            for module in base.modules():
                if isinstance(module, nn.ModuleList) and len(module) and len({type(m) for m in module}) == 1:
                    split = [type(module[0]).__name__]
                    break
        names += [n for n in split if n not in names]
    return names
