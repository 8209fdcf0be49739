"""Schema of ``python -m gliner_exp.cli.export`` (``conf/export.yaml``), and its one-pass validation.

Like :mod:`gliner_exp.config.predict`: the app's keys are checked with the
training engine's pydantic model builder and worded the same way (key, what is
wrong, what is allowed), every problem in one
:class:`~gliner_exp.config.errors.ConfigError`. Paths are checked here too: the
model directory, where the export goes (never over something that is not an
export) and, by default, the run's own data. Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from gliner_exp.config.data import DataConfig
from gliner_exp.config.fields import bounded, prob
from gliner_exp.config.paths import resolved_path

#: ONNX opsets the export accepts: the backbones' attention (``scaled_dot_product_attention``) needs 14,
#: and torch's TorchScript exporter, which gliner's ``export_to_onnx`` uses, stops at 20.
OPSET_RANGE = (14, 20)
#: What a saved GLiNER directory holds, whoever trained it.
GLINER_CONFIG_FILE = "gliner_config.json"
#: The report an export leaves in its directory; also what marks a directory as an export.
REPORT_FILE = "onnx_export.json"
#: Where a run's composed config lies, relative to the run directory (Hydra writes it).
RUN_CONFIG = Path(".hydra") / "config.yaml"
#: The default export directory, inside the model directory.
DEFAULT_OUT = "onnx"


@dataclass
class ExportConfig:
    """What ``python -m gliner_exp.cli.export`` composes; see ``conf/export.yaml``."""

    model_dir: str = field(default="???", metadata={"help": "a saved gliner_exp model (<run dir>/model)"})
    out: Optional[str] = field(default=None, metadata={"help": f"export directory; null: <model_dir>/{DEFAULT_OUT}"})
    quantize: bool = field(default=False, metadata={"help": "also write an int8 (dynamic) model_quantized.onnx"})
    opset: int = bounded(19, *OPSET_RANGE, help="ONNX opset of the exported graph")
    tolerance: float = prob(0.01, help="largest |F1 onnx - F1 torch| (absolute, on the dev split) that passes")
    # The data group's options compose into it (data=crossner_ai, data=files data.train=... data.dev=...).
    data: Optional[DataConfig] = field(default=None, metadata={
        "help": "data=<option>: its dev split gates the export; null: the data the run trained on"})
    verify_only: bool = field(default=False, metadata={
        "help": "gate the export already at out (e.g. after an onnxruntime upgrade or a graph optimizer)"})


def field_problems(plain: dict) -> list[str]:
    """Each key's problem in ``plain`` (unknown keys, types, ranges; ``???`` is a missing ``model_dir``)."""
    from gliner_exp.config.validate import schema_problems

    missing = ["model_dir"] if plain.get("model_dir") in (None, "???") else []
    problems = ["model_dir: required (e.g. model_dir=outputs/runs/<run.name>/<overrides>/model)"] if missing else []
    return problems + schema_problems(plain, ExportConfig, skip=missing)


def out_dir(plain: dict) -> Path:
    """The export directory: ``out``, or ``<model_dir>/onnx``."""
    raw = plain.get("out")
    return resolved_path(raw) if raw else resolved_path(plain["model_dir"]) / DEFAULT_OUT


def is_export(path: Path) -> bool:
    """Whether ``path`` is a directory an export wrote (it holds the export's report)."""
    return (path / REPORT_FILE).is_file()


def _replaceable(path: Path) -> bool:
    """Whether the export may replace ``path``: absent, an empty directory or an earlier export."""
    return not path.exists() or (path.is_dir() and (is_export(path) or not any(path.iterdir())))


def _model_dir_problems(model_dir: Path, settings_file: str) -> list[str]:
    if not model_dir.is_dir():
        return [f"model_dir: not a directory: {model_dir}"]
    if not (model_dir / GLINER_CONFIG_FILE).is_file():
        return [f"model_dir: no {GLINER_CONFIG_FILE} in {model_dir} (not a saved GLiNER model)"]
    if not (model_dir / settings_file).is_file():
        return [f"model_dir: no {settings_file} in {model_dir}: the gate scores with the labels and threshold "
                "a gliner_exp run saves with its model (<run dir>/model)"]
    return []


def _out_problems(plain: dict, model_dir: Path) -> list[str]:
    out = out_dir(plain)
    if out == model_dir or model_dir.is_relative_to(out):
        return [f"out: {out} would replace the model directory {model_dir}; give a directory outside it "
                f"(or null: {model_dir / DEFAULT_OUT})"]
    if plain.get("verify_only"):
        if not is_export(out):
            return [f"out: no export to verify at {out} (no {REPORT_FILE}); export first (verify_only=false)"]
        return []
    if not _replaceable(out):
        return [f"out: {out} exists and is not an export (no {REPORT_FILE}); the export would replace it: "
                "choose another directory or empty it"]
    return []


def _data_problems(plain: dict, model_dir: Path) -> list[str]:
    if plain.get("data") is None:
        config = model_dir.parent / RUN_CONFIG
        if not config.is_file():
            from gliner_exp.config.eval import data_options

            return [f"data: required: no {config} (the data the run trained on); choose the data whose dev "
                    f"split gates the export, e.g. data=synthetic; options: {', '.join(data_options())}"]
    return []


def data_option_problem(name: Any) -> str | None:
    """What is wrong with ``data=<name>`` on the command line (not one of the data group's options), or None."""
    from gliner_exp.config.eval import data_options

    options = data_options()
    if name is None or name in options:
        return None
    hint = difflib.get_close_matches(str(name), options, n=1)
    did = f" (did you mean '{hint[0]}'?)" if hint else ""
    return f"data: {name!r} is not a data option{did}; allowed: {', '.join(options)}"


def _rule_problems(plain: dict) -> list[str]:
    if plain.get("verify_only") and plain.get("quantize"):
        return ["quantize: only applies to a new export; with verify_only=true the files already at out are "
                "gated as they are"]
    return []


def path_problems(plain: dict, settings_file: str) -> list[str]:
    """What is wrong with the paths of a field-wise valid config: model directory, export directory, data.

    ``settings_file`` is the name of the decoding settings a gliner_exp model
    carries (the model layer owns it; this layer cannot import it).
    """
    raw = plain.get("model_dir")
    if not isinstance(raw, str) or raw == "???":
        return []
    model_dir = resolved_path(raw)
    problems = _model_dir_problems(model_dir, settings_file)
    if not problems:
        problems += _out_problems(plain, model_dir)
    if model_dir.is_dir():
        problems += _data_problems(plain, model_dir)
    return problems


def export_problems(plain: Any, settings_file: str) -> list[str]:
    """Every problem of an export config (a plain mapping): fields first, then rules and paths (see :func:`path_problems`)."""
    plain = dict(plain)
    problems = field_problems(plain)
    if problems:
        # Paths are judged with the values asked for; a key that failed its own check has none to judge.
        bad = {p.split(":", 1)[0] for p in problems}
        plain = {k: v for k, v in plain.items() if k not in bad}
        defaults = {f.name: f.default for f in dataclasses.fields(ExportConfig)}
        plain = {**defaults, **plain}
    return problems + _rule_problems(plain) + path_problems(plain, settings_file)
