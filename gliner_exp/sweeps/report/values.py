"""The values a sweep's rows hold: override strings and numbers that may be missing or NaN."""

from __future__ import annotations

import math
from typing import Any


def split_override(item: str) -> tuple[str, str]:
    """``'loss.gamma=2'`` -> ``('loss.gamma', '2')`` (``+``/``++``/``~`` prefixes dropped)."""
    key, _, value = item.partition("=")
    return key.lstrip("+~"), value


def as_number(value: Any) -> float | None:
    """``value`` as a float; None for anything that is not a number, and for NaN (a failed trial)."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def value_sort_key(value: Any) -> tuple:
    """Sorts the values of one parameter: numbers first, by value, then the rest as text."""
    num = as_number(value)
    return (0, num, "") if num is not None else (1, 0.0, str(value))
