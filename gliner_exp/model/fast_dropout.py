"""Dropout for CPU training whose mask costs a fifth of torch's.

torch's CPU ``bernoulli_`` draws one float per element (about 8-12 ns each on
these cores); a training step of GLiNER on MiniLM spends 10-12 % of its time
there, in the encoder's and the span layer's dropouts. Here four 16-bit lanes
come from each 64-bit draw of torch's generator, and an element is kept when its
lane is below ``round((1 - p) * 2**16)``. The kept elements are scaled by the
inverse of that realized rate, so the expectation is exact; ``p`` itself is
rounded to a multiple of 2**-16 (at most 7.6e-6 off). Draws come from torch's
global generator: a seeded run repeats itself and a resumed one continues it,
but they are not the draws ``nn.Dropout`` would take. Other devices, and rates
that round to 0 or 1, use torch's own dropout.
"""

from __future__ import annotations

import functools
import math
import types
from typing import Any

_LANES = 1 << 16


def _threshold(p: float) -> int:
    return round((1.0 - p) * _LANES)


def _usable(x: Any, p: float) -> bool:
    return x.device.type == "cpu" and 0 < _threshold(p) < _LANES


def keep_mask(shape: Any, p: float) -> Any:
    """A bool tensor of ``shape``, each element True with probability ``round((1 - p) * 2**16) / 2**16``."""
    import torch

    n = math.prod(shape)
    words = torch.empty((n + 3) // 4, dtype=torch.int64).random_(-(1 << 63), None)  # all 64 bits uniform
    return words.view(torch.int16)[:n].view(shape) < _threshold(p) - _LANES // 2


@functools.cache
def _masked_scale() -> Any:
    import torch

    class MaskedScale(torch.autograd.Function):
        """``x * keep / rate`` with ``keep`` from :func:`keep_mask`, also zero where ``x <= 0`` if ``relu``."""

        @staticmethod
        def forward(ctx, x, p, relu):
            keep = keep_mask(x.shape, p)
            if relu:
                keep &= x > 0
            ctx.scale = _LANES / _threshold(p)
            ctx.save_for_backward(keep)
            return x.mul(keep).mul_(ctx.scale)

        @staticmethod
        def backward(ctx, grad):
            (keep,) = ctx.saved_tensors
            return grad.mul(keep).mul_(ctx.scale), None, None

    return MaskedScale


def dropout(x: Any, p: float) -> Any:
    """Training-mode ``dropout(x, p)`` with the cheaper mask (module docstring)."""
    import torch.nn.functional as F

    if not _usable(x, p):
        return F.dropout(x, p, training=True)
    return _masked_scale().apply(x, p, False)


def relu_dropout(x: Any, p: float) -> Any:
    """``dropout(relu(x), p)`` in one pass; the same draws as :func:`dropout` would take on ``x``."""
    import torch.nn.functional as F

    if not _usable(x, p):
        return F.dropout(F.relu(x), p, training=True)
    return _masked_scale().apply(x, p, True)


def _dropout_module_forward(self: Any, x: Any) -> Any:
    if self.training and 0 < self.p < 1 and not self.inplace:
        return dropout(x, self.p)
    return type(self).forward(self, x)


def install(model: Any) -> int:
    """Route every ``nn.Dropout`` inside ``model`` through :func:`dropout`; the number routed.

    Only those modules' own calls change: parameters, ``state_dict`` and saved
    checkpoints are untouched, evaluation is unaffected (dropout is off there).
    """
    import torch

    routed = 0
    for module in model.modules():
        if type(module) is torch.nn.Dropout:
            module.forward = types.MethodType(_dropout_module_forward, module)
            routed += 1
    return routed
