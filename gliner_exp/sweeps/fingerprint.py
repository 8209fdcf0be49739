"""A job's config fingerprint: the config keys that decide its results.

Two runs with the same fingerprint produce the same results, so a stored result or
checkpoint may be reused; keys the schema marks ``outside_experiment`` (loggers,
tags, ``run.resume``, ...) are left out. The same list keeps those keys out of the
run directory's name (Hydra's ``exclude_keys``, see
:mod:`gliner_exp.config.experiment_keys`), so a job finds its own directory again.
"""

from __future__ import annotations

from typing import Any

from gliner_exp.config.experiment_keys import is_experiment_key, non_experiment_keys


def _flatten(node: Any, prefix: str = "") -> dict:
    if isinstance(node, dict):
        out: dict = {}
        for key, value in node.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        # An empty section is kept as a leaf: adding keys to it later is a change.
        return out if out or not prefix else {prefix[:-1]: {}}
    return {prefix[:-1]: node}


def fingerprint(plain: dict) -> dict:
    """The flattened config keys (``loss.gamma``) of ``plain`` that decide a job's results, sorted.

    ``plain`` is the resolved config as a plain dict; its ``hydra`` section never counts.
    """
    flat = _flatten({k: v for k, v in plain.items() if k != "hydra"})
    excluded = non_experiment_keys()
    return {k: v for k, v in sorted(flat.items()) if is_experiment_key(k, excluded)}


def config_changes(old: dict, new: dict, limit: int = 8) -> list[str]:
    """``key: old -> new`` for every key that differs (at most ``limit``, then a count)."""
    missing = object()
    diffs = [f"{k}: {old.get(k, missing)!r} -> {new.get(k, missing)!r}".replace(repr(missing), "(absent)")
             for k in sorted(set(old) | set(new)) if old.get(k, missing) != new.get(k, missing)]
    if len(diffs) > limit:
        diffs = diffs[:limit] + [f"... and {len(diffs) - limit} more"]
    return diffs
