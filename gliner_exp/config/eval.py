"""Schema of the ``eval`` section: data sets scored beside the run's own (zero-shot suites).

``eval.extra`` names other options of the ``data`` group (``crossner_ai``,
``synthetic_small``, ...). Each is composed on its own, exactly as ``data=<name>``
would compose it, and scored on its dev split (its test split where it has no
dev) with its own label set and label names: at the end of a training run
(``metrics.json``: ``zero_shot``) and by ``python -m gliner_exp.cli.evaluate``.

``eval.compare_base=true`` adds the forgetting report at the end of a training
run: the final model against the one the run started from (``model.pretrained``
reloaded from disk, or a new GLiNER on ``model.backbone`` seeded with
``run.seed``) on the dev split and each ``eval.extra`` suite, per label, in
``<run dir>/comparison/`` (:mod:`gliner_exp.training.comparison`; the same
report as ``python -m gliner_exp.cli.compare``).

An unknown name, or an option whose files are not there, is reported with every
other config problem (:func:`eval_problems`, called by
:mod:`gliner_exp.config.rules`) before torch is imported. Nothing here imports torch.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List

from gliner_exp.config.fields import listed, outside_experiment

#: The config group whose options ``eval.extra`` names.
DATA_GROUP = "data"


@dataclass
class EvalConfig:
    """What is scored besides the composed ``data`` option's dev and test splits."""

    extra: List[str] = listed(list, help="other data options, each scored on its dev split "
                                         "(or test) with its own labels, e.g. [crossner_ai,crossner_literature]")
    # Outside the experiment: it trains nothing differently, so switching it on for a finished
    # run continues that run (its last checkpoint) and only adds the report.
    compare_base: bool = outside_experiment(False, help="after training, write <run dir>/comparison/: the "
                                                        "final model vs the one the run started from, per label")


def conf_root() -> Path:
    """The ``conf/`` directory, found as :func:`gliner_exp.config.store.conf_dir` finds it.

    Not imported from there: ``store`` registers the apps' schemas, whose
    validation imports :mod:`gliner_exp.config.rules`, which imports this module
    (an import cycle). ``tests/cli/test_evaluate.py`` checks the two agree.
    """
    repo_conf = Path(__file__).resolve().parents[2] / "conf"
    if (repo_conf / "config.yaml").is_file():
        return repo_conf
    from importlib.resources import files

    return Path(str(files("gliner_exp.conf")))


def _loader() -> Any:
    """Hydra's config loader: the running app's (its search path, ``--config-dir`` included), else one over conf/."""
    from hydra.core.global_hydra import GlobalHydra

    gh = GlobalHydra.instance()
    if gh.is_initialized():
        loader = gh.config_loader()
        # Another app's search path (one without our groups) would make every name unknown.
        if loader.get_group_options(DATA_GROUP):
            return loader
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.utils import create_config_search_path

    return ConfigLoaderImpl(config_search_path=create_config_search_path(f"file://{conf_root()}"))


def data_options() -> list[str]:
    """The options of the ``data`` group that ``eval.extra`` may name, sorted."""
    from hydra.core.object_type import ObjectType

    return sorted(_loader().get_group_options(DATA_GROUP, results_filter=ObjectType.CONFIG))


def data_option(name: str) -> dict:
    """The ``data`` section that ``data=<name>`` composes (schema defaults filled in, interpolations resolved).

    The option alone is composed by Hydra (no primary config, so no run's
    settings mix in), so one that inherits from another (``defaults:``) or reads
    the environment (``${oc.env:...}``) comes out as it would for a run of its
    own; it is then typed by :class:`~gliner_exp.config.data.DataConfig`, as the
    root schema types it.
    """
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from gliner_exp.config.data import DataConfig

    cfg = _loader().load_configuration(config_name=None, overrides=[f"+{DATA_GROUP}={name}"], run_mode=RunMode.RUN)
    typed = OmegaConf.merge(OmegaConf.structured(DataConfig), cfg[DATA_GROUP])
    return OmegaConf.to_container(typed, resolve=True, throw_on_missing=False)


def _unknown(name: str, options: list[str]) -> str:
    hint = difflib.get_close_matches(name, options, n=1)
    did = f" (did you mean '{hint[0]}'?)" if hint else ""
    return f"eval.extra: {name!r} is not a data option{did}; allowed: {', '.join(options)}"


def _option_problems(name: str) -> list[str]:
    """What keeps data option ``name`` from being scored as it composes (missing files, no dev or test)."""
    from gliner_exp.config.data import data_files
    from gliner_exp.config.paths import file_problem

    prefix = f"eval.extra={name}"
    try:
        data = data_option(name)
    except Exception as exc:  # noqa: BLE001  any composition failure is reported as this option's problem
        return [f"{prefix}: cannot be composed ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"]
    out = []
    if data.get("synthetic") is None:
        for key, raw in data_files(data):  # each split, and each source of a training mix
            problem = file_problem(key, raw)
            if problem is not None:
                out.append(f"{prefix}: {problem}")
        if data.get("dev") is None and data.get("test") is None:
            # eval.extra takes names only: paths an option leaves to the command line cannot be given.
            out.append(f"{prefix}: has neither data.dev nor data.test to score on (eval.extra takes "
                       "options whose file sets them)")
    return out


def eval_problems(cfg: Any) -> list[str]:
    """Every problem of ``cfg.eval`` (attribute access): unknown data options, duplicates, missing files."""
    names = list(cfg.eval.extra or [])
    if not names:
        return []  # nothing to compose: validation of every other config stays as fast as before
    options = data_options()
    out = [_unknown(str(n), options) for n in dict.fromkeys(names) if n not in options]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        out.append(f"eval.extra: {dupes} listed more than once")
    for name in dict.fromkeys(n for n in names if n in options):
        out.extend(_option_problems(name))
    return out
