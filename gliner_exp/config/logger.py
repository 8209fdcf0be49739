"""Schema of the ``logger`` group: where training metrics go."""

from dataclasses import dataclass
from typing import Optional


@dataclass
class CsvLoggerConfig:
    """A plain local log: every logged row appended to ``<run dir>/<filename>``."""

    filename: str = "metrics.csv"


@dataclass
class LoggerConfig:
    """Each selected logger fills its own slot; ``logger=none`` leaves them all empty."""

    csv: Optional[CsvLoggerConfig] = None
