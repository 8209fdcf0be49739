"""Schema of the ``hardware`` group: device, precision and data-loading throughput."""

from dataclasses import dataclass
from typing import Optional

from .fields import bounded, choice


@dataclass
class HardwareConfig:
    """Where and how fast to run. ``torch_threads: 0`` keeps torch's own default."""

    device: str = choice("cpu", "cpu", "cuda")
    fp16: bool = False
    bf16: bool = False
    tf32: bool = False
    num_workers: int = bounded(0, 0, 64)
    pin_memory: bool = False
    persistent_workers: bool = False
    prefetch_factor: Optional[int] = bounded(None, 1, 64)
    torch_threads: int = bounded(0, 0, 512)
