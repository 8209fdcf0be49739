"""Reading the ``logger`` group's slots (csv / tensorboard / wandb) from any form of the config.

The same readers serve the schema dataclasses, an OmegaConf node and a plain
mapping, so the loggers can be set up (and tested) from whichever a caller holds.
"""

from __future__ import annotations

from typing import Any, Mapping


def logger_slot(cfg: Any, name: str) -> Any:
    """The ``logger.<name>`` node of ``cfg``; None when that logger is not selected."""
    logger = cfg.get("logger") if isinstance(cfg, Mapping) else getattr(cfg, "logger", None)
    if logger is None:
        return None
    return logger.get(name) if isinstance(logger, Mapping) else getattr(logger, name, None)


def node_get(node: Any, key: str, default: Any = None) -> Any:
    """``node[key]`` for a mapping, ``node.key`` otherwise; ``default`` when missing or ``node`` is None."""
    if node is None:
        return default
    if isinstance(node, Mapping):
        return node.get(key, default)
    return getattr(node, key, default)
