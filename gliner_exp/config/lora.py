"""Schema of the ``lora`` group (``none`` here; the variants extend it)."""

from dataclasses import dataclass


@dataclass
class LoraConfig:
    """Parameter-efficient fine-tuning of the text encoder; off by default."""

    enabled: bool = False
