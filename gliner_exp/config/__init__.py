"""Typed config schema of gliner_exp (no torch imports here)."""

from .root import Config, register_configs

__all__ = ["Config", "register_configs"]
