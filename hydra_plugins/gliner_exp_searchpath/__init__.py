"""Hydra SearchPathPlugin: makes gliner_exp's launcher presets discoverable.

Hydra imports every module under the ``hydra_plugins`` namespace package at
start-up, so once gliner_exp is installed ``hydra/launcher=slurm``,
``slurm_multigpu`` and ``local`` resolve in any Hydra app without the user
touching ``hydra.searchpath``.

The presets are appended (not prepended): an app's own ``hydra/launcher/*.yaml``
of the same name wins over ours.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

PROVIDER = "gliner_exp-launchers"
PKG_PATH = "pkg://gliner_exp.launchers"
# A candidate folder only counts if it really holds the presets.
_MARKER = Path("hydra") / "launcher" / "slurm.yaml"


def checkout_launchers_dirs() -> list[Path]:
    """Candidate ``launchers/`` folders of a source checkout (editable install)."""
    # This file sits at <repo>/hydra_plugins/gliner_exp_searchpath/__init__.py.
    candidates = [Path(__file__).resolve().parents[2] / "launchers"]
    # ...and the folder next to the gliner_exp package. find_spec only locates
    # it, it does not import gliner_exp (plugins are scanned on every Hydra start).
    spec = importlib.util.find_spec("gliner_exp")
    if spec is not None and spec.origin:
        candidates.append(Path(spec.origin).resolve().parents[1] / "launchers")
    return candidates


def launchers_search_path() -> str:
    """Search path entry for the presets.

    ``file://`` of the checkout's ``launchers/`` when present, so edits to the
    YAML apply without reinstalling; else the installed package data.
    """
    for folder in checkout_launchers_dirs():
        if (folder / _MARKER).is_file():
            return f"file://{folder}"
    return PKG_PATH


class GlinerExpSearchPathPlugin(SearchPathPlugin):
    """Appends the gliner_exp launcher presets to every Hydra search path."""

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        search_path.append(provider=PROVIDER, path=launchers_search_path())
