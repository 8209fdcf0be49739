"""How Hydra sees gliner_exp's configs: where the tree lives, the registered schema, the resolvers."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path


def conf_dir() -> Path:
    """The ``conf/`` directory: the repo's top-level one in a checkout, else the installed copy."""
    repo_conf = Path(__file__).resolve().parents[2] / "conf"
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


def register() -> None:
    """Register the root schema (``config_schema``) and the ``gx_*`` resolvers with Hydra (idempotent)."""
    from hydra.core.config_store import ConfigStore
    from omegaconf import OmegaConf

    from gliner_exp.config.compare import CompareConfig
    from gliner_exp.config.experiment_keys import override_exclude_keys
    from gliner_exp.config.export import ExportConfig
    from gliner_exp.config.predict import PredictConfig
    from gliner_exp.config.root import Config

    ConfigStore.instance().store(name="config_schema", node=Config)
    ConfigStore.instance().store(name="predict_schema", node=PredictConfig)  # conf/predict.yaml
    ConfigStore.instance().store(name="export_schema", node=ExportConfig)  # conf/export.yaml
    ConfigStore.instance().store(name="compare_schema", node=CompareConfig)  # conf/compare.yaml
    if not OmegaConf.has_resolver("gx_slug"):
        OmegaConf.register_new_resolver("gx_slug", slug)
    if not OmegaConf.has_resolver("gx_non_experiment_keys"):
        OmegaConf.register_new_resolver("gx_non_experiment_keys", override_exclude_keys)
