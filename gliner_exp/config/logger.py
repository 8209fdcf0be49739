"""Schema of the ``logger`` group: where training metrics go.

Each option of ``conf/logger/`` fills its own slot (``# @package logger.<name>``),
so several can be selected at once: ``logger=[csv,wandb]``; ``logger=none``
leaves every slot empty. The slots are read by :mod:`gliner_exp.integrations.loggers`.
"""

from dataclasses import dataclass, field
from typing import List, Optional

from gliner_exp.config.fields import choice

WANDB_MODES = ("auto", "offline", "online", "disabled")


@dataclass
class CsvLoggerConfig:
    """A plain local log: every logged row appended to ``<run dir>/<filename>``."""

    filename: str = "metrics.csv"


@dataclass
class TensorBoardLoggerConfig:
    """TensorBoard event files under ``<run dir>/<subdir>`` (HF's TensorBoardCallback)."""

    subdir: str = "tensorboard"


@dataclass
class WandbLoggerConfig:
    """Weights & Biases, through HF's WandbCallback on a run gliner_exp starts itself.

    ``mode: auto`` is ``$WANDB_MODE`` when set, else online when ``WANDB_API_KEY``
    is set and offline otherwise. ``group: null`` is the sweep (its directory
    name) in a multirun and no group for a single run. ``run.tags`` and
    ``run.description`` are added to ``tags`` and ``notes``.
    """

    project: str = "gliner-exp"
    entity: Optional[str] = None
    group: Optional[str] = None
    job_type: str = "train"
    tags: List[str] = field(default_factory=list)
    notes: str = ""
    mode: str = choice("auto", *WANDB_MODES)


@dataclass
class LoggerConfig:
    """Each selected logger fills its own slot; ``logger=none`` leaves them all empty."""

    csv: Optional[CsvLoggerConfig] = None
    tensorboard: Optional[TensorBoardLoggerConfig] = None
    wandb: Optional[WandbLoggerConfig] = None
