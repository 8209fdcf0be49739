"""Schema of ``python -m gliner_exp.cli.compare`` (``conf/compare.yaml``): the training config plus ``tuned``.

The compare verb reads the training config as a training run does: its
``model`` section and ``run.seed`` describe the model the run started from (the
*base*: ``model.pretrained``, or a new GLiNER over ``model.backbone`` seeded
with ``run.seed``), ``data`` and ``eval.extra`` what both models are scored on,
``train.threshold`` how a model without saved decoding settings decodes. The
one key of its own, ``tuned``, names the fine-tuned model. Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
import typing

from omegaconf import MISSING

from gliner_exp.config.paths import resolved_path
from gliner_exp.config.root import Config

#: The compare verb's own key, beside the training config's sections.
TUNED_KEY = "tuned"
#: What a saved GLiNER directory holds (``save_pretrained``), whoever trained it.
GLINER_CONFIG_FILE = "gliner_config.json"
#: Where a run keeps its final model (``<run dir>/model``).
RUN_MODEL_DIR = "model"
TUNED_HELP = ("the fine-tuned model: a saved model directory (<run dir>/model, or any GLiNER directory) "
              "or a run directory holding model/")


def _compare_schema() -> type:
    """``Config`` plus ``tuned``, with every inherited section left MISSING.

    ``conf/compare.yaml`` lists this schema after ``config``: OmegaConf merges a
    subclass onto the composed training config (it refuses the other order), and a
    MISSING value keeps what is already there, so the training sections keep
    their composed values and only ``tuned`` is added. Derived from ``Config``'s
    fields, so a section added there needs nothing here.
    """
    hints = typing.get_type_hints(Config)
    inherited = [(f.name, hints[f.name], dataclasses.field(default=MISSING)) for f in dataclasses.fields(Config)]
    tuned = (TUNED_KEY, str, dataclasses.field(default=MISSING, metadata={"help": TUNED_HELP}))
    cls = dataclasses.make_dataclass("CompareConfig", [*inherited, tuned], bases=(Config,))
    cls.__doc__ = "What ``python -m gliner_exp.cli.compare`` composes; see ``conf/compare.yaml``."
    cls.__module__ = __name__
    return cls


CompareConfig = _compare_schema()


def tuned_dir(raw: typing.Any) -> tuple[typing.Any, list[str]]:
    """``(model directory, [])`` for a good ``tuned`` value, else ``(None, [the problem])``.

    A run directory stands for its ``model/``. Nothing is loaded (the hub is never asked).
    """
    if raw is None or raw == MISSING or not str(raw).strip():
        return None, [f"{TUNED_KEY}: required: {TUNED_HELP} (e.g. tuned=outputs/runs/<run.name>/<overrides>/model)"]
    path = resolved_path(str(raw))
    if not path.is_dir():
        return None, [f"{TUNED_KEY}: not a directory: {path} (expected {TUNED_HELP})"]
    if (path / GLINER_CONFIG_FILE).is_file():
        return path, []
    if (path / RUN_MODEL_DIR / GLINER_CONFIG_FILE).is_file():
        return path / RUN_MODEL_DIR, []
    return None, [f"{TUNED_KEY}: no {GLINER_CONFIG_FILE} in {path} or in its {RUN_MODEL_DIR}/ "
                  "(neither a saved GLiNER model nor a run directory)"]
