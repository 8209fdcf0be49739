"""``python -m gliner_exp.cli.export model_dir=<dir>``: a saved model as ONNX, kept only if it scores as torch does.

A thin Hydra app (schema: :mod:`gliner_exp.config.export`, ``conf/export.yaml``)
over gliner's own ONNX export (:mod:`gliner_exp.model.onnx_export`), with a
**parity gate**: the torch model and each exported file (``model.onnx``, and
``model_quantized.onnx`` with ``quantize=true``), run by onnxruntime, are scored
on a data option's dev split (the run's own data by default) with the model's
saved labels, label names, threshold and ``flat_ner``, by the project's scorer
(:mod:`gliner_exp.training.evaluation`). A file whose
``|F1 onnx - F1 torch|`` exceeds ``tolerance`` fails the export: exit 1, a
message with both figures, and the new files moved to ``<out>.rejected/``
(an earlier export at ``out`` is replaced only by one that passed).

The export is written to a hidden staging directory beside ``out`` and
renamed into place once it passed, so ``out`` never holds half an export or an
unchecked one. Report: ``<out>/onnx_export.json`` and ``onnx_export.md``
(F1, P/R, per-label F1, span agreement with torch, latency in ms per example,
file sizes); the model's card (``README.md``, :mod:`gliner_exp.model.model_card`)
records the result. Bad input exits 2 with one message before torch is
imported; ``--help`` and ``--cfg job`` answer without torch.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, List

import hydra
from omegaconf import DictConfig, OmegaConf

from gliner_exp.config.errors import ConfigError, exit_with
from gliner_exp.config.export import (REPORT_FILE, RUN_CONFIG, ExportConfig, data_option_problem, export_problems,
                                      out_dir)
from gliner_exp.config.paths import resolved_path
from gliner_exp.config.store import conf_dir, register

register()
log = logging.getLogger("gliner_exp.export")

CONFIG_NAME = "export"
#: Exit status of an export that ran and failed: its gate, or gliner's exporter (bad input exits 2).
EXIT_FAILED = 1


class ExportRejected(RuntimeError):
    """The parity gate failed; ``report`` is what ``onnx_export.json`` holds (moved aside with the files)."""

    def __init__(self, message: str, report: dict):
        super().__init__(message)
        self.report = report


def _settings_file() -> str:
    from gliner_exp.model.inference import SETTINGS_FILE  # light: the model layer loads torch lazily

    return SETTINGS_FILE


# --------------------------------------------------------------------------- the gate's data (no torch)
def _data_name() -> str:
    """The composed ``data`` option's name (``data`` outside a Hydra job)."""
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        return str(HydraConfig.get().runtime.choices.get("data") or "data")
    return "data"


def _data_section(plain: dict, model_dir: Path) -> tuple[str, Any]:
    """The name the report gives the gate's data, and its ``data`` section (the composed option, or the run's own)."""
    if plain.get("data") is not None:
        return _data_name(), plain["data"]
    path = model_dir.parent / RUN_CONFIG
    try:
        section = OmegaConf.to_container(OmegaConf.load(path).data, resolve=True)
    except Exception as exc:  # noqa: BLE001  any unreadable run config is this key's problem
        raise ConfigError([f"data: cannot read the run's data from {path} ({exc}); choose the data "
                           "(data=<option>)"]) from None
    return f"the run's data ({path})", section


# --------------------------------------------------------------------------- where the files end up
def _free_aside(out: Path) -> Path:
    """``<out>.rejected``, or the first ``<out>.rejected.N`` that is free or an earlier rejected export."""
    from gliner_exp.config.export import is_export

    candidate, n = out.with_name(out.name + ".rejected"), 1
    while candidate.exists() and not is_export(candidate):
        candidate, n = out.with_name(f"{out.name}.rejected.{n}"), n + 1
    return candidate


def _replace(source: Path, target: Path) -> None:
    """Put directory ``source`` at ``target``, replacing what is there (an earlier export: checked beforehand)."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.{os.getpid()}.old")
        target.rename(old)
    source.rename(target)
    if old is not None:
        shutil.rmtree(old)


# --------------------------------------------------------------------------- the job
def export(cfg: Any) -> dict:
    """Export (or with ``verify_only``, re-check) ``model_dir`` as ONNX behind the parity gate; returns the report.

    Raises ConfigError (before torch is imported) for bad input,
    :class:`ExportRejected` when a file fails the gate (after moving the files
    aside and recording it on the card) and
    :class:`~gliner_exp.model.onnx_export.OnnxExportError` where gliner could
    not write a file asked for.
    """
    plain = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
    plain = {**OmegaConf.to_container(OmegaConf.structured(ExportConfig)),
             **{k: v for k, v in plain.items() if k != "hydra"}}
    problems = export_problems(plain, _settings_file())
    if problems:
        raise ConfigError(problems)
    from gliner_exp.model.inference import InferenceSettings

    model_dir, out = resolved_path(plain["model_dir"]), out_dir(plain)
    settings = InferenceSettings.load(model_dir)
    from gliner_exp.training.onnx_parity import gate_examples

    data_name, section = _data_section(plain, model_dir)
    split, examples, source = gate_examples(data_name, section, list(settings.labels))
    from gliner_exp.model.onnx_export import onnx_files  # light: onnxruntime loads with a model

    if plain["verify_only"] and not onnx_files(out):
        raise ConfigError([f"out: no .onnx file in {out} to verify"])

    # torch, gliner and onnxruntime load only now that the config and the data are accepted.
    import gliner
    import onnxruntime
    import torch

    from gliner_exp.model.inference import load_model
    from gliner_exp.model.model_card import refresh_model_card
    from gliner_exp.model.onnx_export import copy_settings, export_onnx
    from gliner_exp.training.artifacts import write_json
    from gliner_exp.training.onnx_parity import (BATCH_SIZE, card_summary, gate_file, rejection_message,
                                                 report_markdown, score_runtime)

    model, _ = load_model(model_dir)
    threads = torch.get_num_threads()
    reference = score_runtime(model, examples, settings)
    verify = bool(plain["verify_only"])
    earlier = out.exists() and any(out.iterdir()) and not verify
    if verify:
        staging, files = out, onnx_files(out)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)  # mkdtemp's 0700 would carry over to out: permissions as mkdir gives them
        try:
            files = export_onnx(model_dir, staging, bool(plain["quantize"]), int(plain["opset"]))
            copy_settings(model_dir, staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    log.info("gating %s on %s / %s (%d examples)", ", ".join(f.name for f in files), data_name, split, len(examples))
    try:
        results = {f.name: gate_file(f, examples, settings, reference, float(plain["tolerance"]), threads)
                   for f in files}
    except BaseException:
        if not verify:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    passed = bool(results) and all(r["passed"] for r in results.values())
    report = {"status": "passed" if passed else "rejected", "model_dir": str(model_dir), "out": str(out),
              "moved_to": None, "verify_only": verify, "quantize": bool(plain["quantize"]),
              "tolerance": float(plain["tolerance"]), "data": data_name, "split": split, "source": source,
              "n_examples": len(examples), "labels": list(settings.labels), "label_names": dict(settings.label_names),
              "threshold": settings.threshold, "flat_ner": settings.flat_ner, "batch_size": BATCH_SIZE,
              "threads": threads, "torch": reference[0], "files": results,
              "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "versions": {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__,
                           "gliner": getattr(gliner, "__version__", None)}}
    if reference[0]["f1"] <= report["tolerance"]:
        # An F1 gate needs an F1 to lose: here a graph that finds nothing would pass too.
        report["note"] = (f"torch's {split} F1 {reference[0]['f1']:.4f} is within the tolerance of 0: the gate "
                          "cannot tell a broken graph from a good one on this data; see the span agreement")
        log.warning("%s", report["note"])
    if not passed:
        report["moved_to"] = str(_free_aside(out))
        report["earlier_export_kept"] = bool(earlier)
    write_json(staging / REPORT_FILE, report)
    text = report_markdown(report)
    (staging / REPORT_FILE).with_suffix(".md").write_text(text)
    if passed:
        if staging != out:
            _replace(staging, out)
    else:
        _replace(staging, Path(report["moved_to"]))
    card = refresh_model_card(model_dir, export={**card_summary(report),
                                                 "out": report["out"] if passed else report["moved_to"]})
    print(text + f"\nwritten: {Path(report['out'] if passed else report['moved_to']) / REPORT_FILE}; card: {card}",
          flush=True)
    if not passed:
        raise ExportRejected(rejection_message(report), report)
    return report


@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name=CONFIG_NAME)
def _hydra_entry(cfg: DictConfig) -> None:
    from gliner_exp.model.onnx_export import OnnxExportError

    try:
        export(cfg)
    except ConfigError as exc:
        exit_with(exc)
    except (ExportRejected, OnnxExportError) as exc:
        print(f"gliner_exp: {exc}", file=sys.stderr)
        sys.exit(EXIT_FAILED)


# --------------------------------------------------------------------------- command-line check
def check_command_line(argv: List[str]) -> None:
    """Raise ConfigError naming every bad key, value and path of ``argv`` at once (Hydra stops at the first).

    Commands that compose nothing or only print (``--help``, ``--cfg``, ...) and
    lines Hydra cannot parse are left to Hydra, which words its own errors.
    """
    from gliner_exp.cli.precheck import set_dotted, verb_overrides

    parsed = verb_overrides(argv)
    if parsed is None:
        return
    plain = OmegaConf.to_container(OmegaConf.structured(ExportConfig))
    problems = []
    # The data group's option first, as Hydra composes it; then its keys, in the order given.
    for ov in sorted(parsed, key=lambda o: o.key_or_group != "data"):
        if ov.key_or_group == "data":
            problem = data_option_problem(ov.value())
            if problem is not None:
                problems.append(problem)
            elif ov.value() is not None:
                from gliner_exp.config.eval import data_option

                plain["data"] = data_option(ov.value())
            continue
        set_dotted(plain, ov.key_or_group, ov.value())
    problems += export_problems(plain, _settings_file())
    if problems:
        raise ConfigError(problems)


def main() -> None:
    """Console entry point: check the command line, then hand over to Hydra."""
    try:
        check_command_line(sys.argv[1:])
    except ConfigError as exc:
        exit_with(exc)
    _hydra_entry()


if __name__ == "__main__":
    main()
