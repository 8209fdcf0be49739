"""Let a multi-process CPU run resume: ``torch.load`` onto ``cpu:<N>``.

In a multi-process CPU run accelerate names each rank's device ``cpu:0``, and
HF's Trainer resumes the optimizer with ``map_location=args.device``, which
torch rejects ("don't know how to restore data location ... (tagged with
cpu:0)"): a CPU DDP run could never resume.
"""

from __future__ import annotations

import functools
from typing import Any


def _cpu_index_deserializer(storage: Any, location: str) -> Any:
    """``cpu:N`` -> the CPU storage as is; None (not ours) for every other location."""
    return storage if location.startswith("cpu:") and storage.device.type == "cpu" else None


@functools.cache  # torch keeps every registration: once per process is enough
def allow_cpu_index_map_location() -> None:
    """Let ``torch.load(map_location=torch.device("cpu", 0))`` work.

    The deserializer added here only answers for ``cpu:<N>`` locations, which
    torch has no answer for; every other location goes to torch's own.
    """
    import torch.serialization

    torch.serialization.register_package(5, lambda storage: None, _cpu_index_deserializer)
