"""``python -m gliner_exp.cli.compare tuned=<model dir> <the run's overrides>``: the forgetting report.

A thin Hydra app over the training config (``conf/compare.yaml`` is
``conf/config.yaml`` plus ``tuned``, :mod:`gliner_exp.config.compare`). The config
reads as the training run's own: its ``model`` section and ``run.seed`` give the
*base*, the model that run started from (``model.pretrained=<dir>``, reloaded
from disk; or a new, untrained GLiNER over ``model.backbone`` drawn from
``run.seed``, as training draws it), and ``tuned`` the model it ended with. Both
are scored on the ``data`` option's dev split (test where it has none) and on
each ``eval.extra`` suite; the report (:mod:`gliner_exp.training.comparison`)
gives per label P/R/F1 of base and tuned and tuned - base.

Written to the run directory (``run.dir``): ``comparison.json``, ``comparison.md``
(also printed) and ``comparison.png``. Where ``tuned`` is a run's ``model/``, the
base is checked against what that run recorded (``resolved/run.json``,
``resolved/gliner_config.json``) and a mismatch is reported as a warning. Bad
input exits 2 with one message before torch is imported; ``--help`` and
``--cfg job`` answer without torch.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from gliner_exp.cli.precheck import check_command_line
from gliner_exp.config.compare import TUNED_KEY, tuned_dir
from gliner_exp.config.errors import ConfigError, exit_with
from gliner_exp.config.store import conf_dir, register

register()
log = logging.getLogger("gliner_exp.compare")

CONFIG_NAME = "compare"
#: The training app's primary config: what every key but ``tuned`` is checked against.
TRAINING_CONFIG_NAME = "config"


# --------------------------------------------------------------------------- config (no torch)
def typed(cfg: Any) -> tuple[DictConfig, Path]:
    """``cfg`` checked (``tuned`` and, by the training engine, everything else; every problem at once).

    Returns the training part typed by the training schema, and the tuned model's directory.
    """
    from gliner_exp.config.root import Config
    from gliner_exp.config.validate import config_problems

    plain = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
    plain = {k: v for k, v in plain.items() if k != "hydra"}
    tuned, problems = tuned_dir(plain.pop(TUNED_KEY, None))
    problems += config_problems(plain)
    if problems:
        raise ConfigError(problems)
    return OmegaConf.merge(OmegaConf.structured(Config), plain), tuned


_TOP_LEVEL_UNKNOWN = re.compile(r"^(?P<key>[^.:\s]+): unknown key(?: \(did you mean '[^']*'\?\))?; "
                                r"allowed at the top level: (?P<allowed>.*)$")


def _with_tuned(problem: str) -> str:
    """A top-level unknown-key message of the training engine, with ``tuned`` among the keys allowed."""
    found = _TOP_LEVEL_UNKNOWN.match(problem)
    if found is None:
        return problem
    allowed = [TUNED_KEY, *found["allowed"].split(", ")]
    hint = difflib.get_close_matches(found["key"], allowed, n=1)
    did = f" (did you mean '{hint[0]}'?)" if hint else ""
    return f"{found['key']}: unknown key{did}; allowed at the top level: {', '.join(allowed)}"


def check_compare_command_line(argv: list[str]) -> None:
    """Raise ConfigError naming every problem of ``argv``: ``tuned`` here, every other key as training checks it.

    Commands that compose nothing (``--help``, ...) and lines Hydra cannot
    parse are left to Hydra; ``--cfg`` does not need ``tuned``.
    """
    from hydra._internal.utils import get_args_parser
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        args = get_args_parser().parse_args(argv)
        parsed = OverridesParser.create().parse_overrides(args.overrides)
    except (SystemExit, Exception):  # noqa: BLE001  Hydra words its own usage and parse errors
        return
    if args.help or args.hydra_help or args.info or args.shell_completion:
        return
    ours = [ov for ov in parsed if ov.key_or_group == TUNED_KEY]
    problems: list[str] = []
    for ov in ours:
        values = list(ov.sweep_string_iterator()) if ov.is_sweep_override() else [ov.value()]
        for value in values:
            problems += [p for p in tuned_dir(value)[1] if p not in problems]
    if not ours and args.cfg is None:
        problems += tuned_dir(None)[1]
    rest = [a for a in argv if a not in {ov.input_line for ov in ours}]
    try:
        check_command_line(rest, conf_dir(), TRAINING_CONFIG_NAME, _hydra_entry)
    except ConfigError as exc:
        problems += [_with_tuned(p) for p in exc.problems]
    if problems:
        raise ConfigError(problems)


# --------------------------------------------------------------------------- the job
def _run_warnings(tuned: Path, cfg: DictConfig, base_model: Any) -> list[str]:
    """Where ``tuned`` is a run's ``model/``: how the base differs from what that run recorded it started from."""
    from gliner_exp.training.artifacts import read_json

    resolved = tuned.parent / "resolved"
    run, built = read_json(resolved / "run.json"), read_json(resolved / "gliner_config.json")
    out = []
    if not cfg.model.pretrained and isinstance(run, dict) and run.get("seed") not in (None, cfg.run.seed):
        out.append(f"run.seed={cfg.run.seed}, but {tuned.parent} was trained with run.seed={run['seed']} "
                   f"({resolved / 'run.json'}): the base's new head is not the one that run started from")
    encoder = getattr(getattr(base_model, "config", None), "model_name", None)
    if isinstance(built, dict) and encoder and built.get("model_name") not in (None, encoder):
        out.append(f"the base's encoder is {encoder}, but {tuned.parent} was built over {built['model_name']} "
                   f"({resolved / 'gliner_config.json'}): give compare the run's own model overrides")
    for warning in out:
        log.warning(warning)
    return out


def compare(cfg: Any) -> dict:
    """Compare the base (the config's model section and seed) with ``tuned``; write and print the report.

    Returns the report (what ``comparison.json`` holds). Raises ConfigError
    (before torch is imported) for a bad config, ``tuned`` or data file.
    """
    from gliner_exp.cli.evaluate import label_names_of, primary_data

    cfg, tuned_path = typed(cfg)
    if not cfg.run.dir:
        from gliner_exp.config.errors import run_dir_missing

        raise run_dir_missing()
    run_dir = Path(cfg.run.dir)
    splits, labels = primary_data(cfg)
    from gliner_exp.training.evaluation import load_suites  # light: the model layer's torch loads lazily
    from gliner_exp.training.scored_sets import data_option_name

    primary = data_option_name()
    suites = load_suites([name for name in cfg.eval.extra if name != primary], os.getcwd())

    from gliner_exp.cluster.devices import check_device

    check_device(cfg)  # cuda asked for but not visible: say so before loading
    from gliner_exp.training.assemble import apply_runtime
    from gliner_exp.training.comparison import (
        base_contender, compare_contenders, comparison_sets, render_markdown, saved_contender, write_comparison,
    )

    apply_runtime(cfg.hardware)
    tuned = saved_contender(tuned_path, cfg)
    base = base_contender(cfg)
    warnings = _run_warnings(tuned_path, cfg, base.model)
    sets = comparison_sets(primary, splits, labels, label_names_of(cfg, labels), suites)
    doc = compare_contenders(base, tuned, sets, cfg.train.eval_batch_size, warnings)
    paths = write_comparison(run_dir, doc)
    print(render_markdown(doc) + "\nwritten: " + ", ".join(str(p) for p in paths.values()), flush=True)
    return doc


@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name=CONFIG_NAME)
def _hydra_entry(cfg: DictConfig) -> None:
    try:
        compare(cfg)
    except ConfigError as exc:
        exit_with(exc)  # in a multirun too: a bad job stops the sweep with its message


def main() -> None:
    """Console entry point: check the command line (every problem at once), then hand over to Hydra."""
    try:
        check_compare_command_line(sys.argv[1:])
    except ConfigError as exc:
        exit_with(exc)
    _hydra_entry()


if __name__ == "__main__":
    main()
