"""Secrets (``WANDB_API_KEY``, ``HF_TOKEN``, ...) scrubbed from everything gliner_exp writes or sends."""

from __future__ import annotations

import os
import re
from typing import Any, Mapping

_SECRET_NAME = re.compile(r"(TOKEN|API_KEY|APIKEY|SECRET|PASSWORD|PASSWD|CREDENTIAL)", re.I)
REDACTED = "***"


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of environment variables whose names look secret (longest first)."""
    env = os.environ if environ is None else environ
    # shorter values would scrub ordinary words and numbers out of the output
    values = {v for k, v in env.items() if _SECRET_NAME.search(k) and v and len(v) >= 6}
    # longest first: a secret that contains another is replaced whole
    return sorted(values, key=len, reverse=True)


def redact(obj: Any, secrets: list[str] | None = None) -> Any:
    """``obj`` with every secret value (see :func:`secret_values`) in its strings replaced by ``***``."""
    secrets = secret_values() if secrets is None else secrets
    if not secrets:
        return obj
    if isinstance(obj, str):
        for value in secrets:
            obj = obj.replace(value, REDACTED)
        return obj
    if isinstance(obj, Mapping):
        return {redact(k, secrets): redact(v, secrets) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(redact(v, secrets) for v in obj)
    return obj
