"""Where gliner_exp's config tree lives, in a checkout and when installed."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path


def conf_dir() -> Path:
    """The ``conf/`` directory: the repo's top-level one in a checkout, else the installed copy."""
    repo_conf = Path(__file__).resolve().parent.parent / "conf"
    if (repo_conf / "config.yaml").is_file():
        return repo_conf
    from importlib.resources import files

    return Path(str(files("gliner_exp.conf")))


def slug(override_dirname: str, max_len: int = 120) -> str:
    """A filesystem-safe, stable directory name for a job's overrides.

    Identical overrides give the same name (so re-runs find their runs);
    long ones are shortened with a hash so different ones never collide.
    """
    if not override_dirname:
        return "_"
    safe = re.sub(r"[^A-Za-z0-9._=,+-]+", "_", override_dirname)
    if len(safe) <= max_len and safe == override_dirname:
        return safe
    digest = hashlib.sha1(override_dirname.encode()).hexdigest()[:10]
    return f"{safe[: max_len - 11]}-{digest}"
