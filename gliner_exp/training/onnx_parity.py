"""The ONNX export's parity gate: an exported graph, run by onnxruntime, scored against its torch model.

Both sides decode the gate's examples with the model's saved labels, label
names, threshold and ``flat_ner`` in batches of the predict verb's default size,
and are scored by :mod:`gliner_exp.training.evaluation` (micro and per-label
P/R/F1, the figures ``metrics.json`` and the evaluate verb report). A file passes
where ``|F1 onnx - F1 torch| <= tolerance``. Latency is the fastest of a few
timed passes over the examples, after a warm-up batch, in ms per example, with
the same thread count on both sides. The verb (:mod:`gliner_exp.cli.export`)
decides what happens to the files.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any, List

from omegaconf import OmegaConf

from gliner_exp.config.errors import ConfigError
from gliner_exp.config.export import REPORT_FILE
from gliner_exp.config.predict import PredictConfig
from gliner_exp.training.evaluation import restrict_gold, score_report, score_spans, suite_split

#: The gate decodes in batches of the predict verb's default size, so its F1 and latency are what predict gives.
BATCH_SIZE = PredictConfig.batch_size
#: Timing: the scored pass is repeated (fastest pass reported) while the passes so far took less than this.
LATENCY_BUDGET_S = 1.0
LATENCY_MAX_PASSES = 5
#: Room for float rounding in |F1 onnx - F1 torch| <= tolerance (F1s of equal counts can differ in the last bit).
_F1_EPS = 1e-12


def gate_examples(name: str, section: Any, labels: List[str]) -> tuple[str, list, Any]:
    """The split (dev, else test) of data ``section`` the gate scores, its examples and source.

    ``name`` words the ConfigError where the data cannot gate (a data error, no
    dev or test split).

    A split without one gold entity of the model's labels is refused: both
    runtimes would score 0 there, and the gate would pass whatever the graph does.
    """
    from gliner_exp.config.data import DataConfig
    from gliner_exp.data import DataError, load_splits

    try:
        splits = load_splits(OmegaConf.merge(OmegaConf.structured(DataConfig), section), base_dir=os.getcwd())
    except DataError as exc:
        raise ConfigError([f"data ({name}): {exc}"]) from None
    except Exception as exc:  # noqa: BLE001  a section the schema no longer takes (an older run's)
        raise ConfigError([f"data ({name}): not a valid data section ({exc}); name a data option"]) from None
    split = suite_split(splits)
    if split is None:
        raise ConfigError([f"data ({name}): no dev or test split to gate on"])
    examples = getattr(splits, split)
    if not any(restrict_gold(examples, labels)):
        raise ConfigError([f"data ({name}): its {split} split has no entity of the model's labels "
                           f"({', '.join(labels)}): the gate would compare nothing; name a data option with them"])
    return split, examples, splits.sources.get(split)


def score_runtime(model: Any, examples: list, settings: Any) -> tuple[dict, list]:
    """Micro/per-label scores and latency (ms per example, the fastest timed pass) of ``model`` on ``examples``, decoded as ``settings`` say; predictions too."""
    from gliner_exp.model.inference import predict_spans

    labels = list(settings.labels)

    def predict(batch: list) -> list:
        return predict_spans(model, batch, labels, settings.threshold, settings.flat_ner, BATCH_SIZE,
                             settings.label_names)

    predict(examples[:BATCH_SIZE])  # warm-up: first-call set-up (sessions, allocators) is no example's cost
    passes, spent, fastest, predictions = 0, 0.0, math.inf, None
    while passes < LATENCY_MAX_PASSES and (passes == 0 or spent < LATENCY_BUDGET_S):
        started = time.perf_counter()
        found = predict(examples)
        seconds = time.perf_counter() - started
        predictions = predictions if predictions is not None else found
        passes, spent, fastest = passes + 1, spent + seconds, min(fastest, seconds)
    report = score_report(restrict_gold(examples, labels), predictions, labels, examples)
    scores = {**{k: report["micro"][k] for k in ("f1", "precision", "recall", "support", "n_pred")},
              "per_label": {label: s["f1"] for label, s in report["per_label"].items()},
              "ms_per_example": 1000 * fastest / len(examples), "timed_passes": passes}
    return scores, predictions


def _opset(path: Path) -> int | None:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)


def gate_file(path: Path, examples: list, settings: Any, reference: tuple[dict, list], tolerance: float,
               threads: int) -> dict:
    """One exported file's scores against the torch model's (``reference``) and its verdict."""
    from gliner_exp.model.onnx_export import load_onnx, runtime_inputs_ignored

    model = load_onnx(path.parent, path.name, threads)
    with runtime_inputs_ignored():
        scores, predictions = score_runtime(model, examples, settings)
    torch_scores, torch_predictions = reference
    diff = abs(scores["f1"] - torch_scores["f1"])
    # Where the F1s agree by luck, this says how many spans actually match.
    agreement = score_spans(torch_predictions, predictions, list(settings.labels))["f1"]
    return {**scores, "f1_diff": diff, "passed": diff <= tolerance + _F1_EPS, "span_agreement": agreement,
            "opset": _opset(path), "size_mb": path.stat().st_size / 2**20}


def report_markdown(report: dict) -> str:
    """An export report (``onnx_export.json``) as Markdown: the verdict, a table per runtime, per-label F1."""
    verdict = "PASSED" if report["status"] == "passed" else "REJECTED"
    lines = [f"# gliner_exp ONNX export: {verdict}", "",
             f"model `{report['model_dir']}`; gate: |F1 onnx - F1 torch| <= {report['tolerance']} on "
             f"{report['data']} / {report['split']} ({report['n_examples']} examples; F1 in points, tolerance "
             f"{100 * report['tolerance']:.2f} points), threshold "
             f"{report['threshold']}, flat_ner {report['flat_ner']}, batch size {report['batch_size']}, "
             f"{report['threads']} thread(s); onnxruntime {report['versions']['onnxruntime']}", "",
             "| runtime | F1 | P | R | abs F1 diff | span agreement | ms / example | opset | MB | gate |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    t = report["torch"]
    lines.append(f"| torch | {100 * t['f1']:.2f} | {100 * t['precision']:.2f} | {100 * t['recall']:.2f} | | "
                 f"| {t['ms_per_example']:.2f} | | | |")
    for name, f in report["files"].items():
        lines.append(f"| {name} | {100 * f['f1']:.2f} | {100 * f['precision']:.2f} | {100 * f['recall']:.2f} "
                     f"| {100 * f['f1_diff']:.2f} | {100 * f['span_agreement']:.2f} | {f['ms_per_example']:.2f} "
                     f"| {f['opset']} | {f['size_mb']:.1f} | {'pass' if f['passed'] else 'FAIL'} |")
    if report.get("note"):
        lines += ["", f"Note: {report['note']}."]
    runtimes = ["torch", *report["files"]]
    lines += ["", "Per-label F1:", "", "| label | " + " | ".join(runtimes) + " |", "|---|" + "---:|" * len(runtimes)]
    for label in report["labels"]:
        values = [report["torch"]["per_label"][label], *[f["per_label"][label] for f in report["files"].values()]]
        lines.append(f"| {label} | " + " | ".join(f"{100 * v:.2f}" for v in values) + " |")
    return "\n".join(lines) + "\n"


def card_summary(report: dict) -> dict:
    """What the model card keeps of an export."""
    keep = ("status", "out", "moved_to", "tolerance", "data", "split", "n_examples", "when")
    summary = {k: report.get(k) for k in keep}
    summary["opset"] = next((f["opset"] for f in report["files"].values()), None)
    summary["onnxruntime"] = report["versions"]["onnxruntime"]
    summary["torch"] = {k: report["torch"][k] for k in ("f1", "ms_per_example")}
    summary["files"] = {name: {k: f[k] for k in ("f1", "f1_diff", "ms_per_example", "size_mb", "passed")}
                        for name, f in report["files"].items()}
    return summary


def rejection_message(report: dict) -> str:
    """Why an export was rejected: each failing file's F1 against torch's, and where its files went."""
    failed = [f"{name} scores {report['split']} F1 {f['f1']:.4f} against torch's {report['torch']['f1']:.4f} "
              f"(|diff| {f['f1_diff']:.4f} > tolerance {report['tolerance']})"
              for name, f in report["files"].items() if not f["passed"]]
    kept = f"; the earlier export at {report['out']} is left as it was" if report.get("earlier_export_kept") else ""
    return (f"export REJECTED by its parity gate: {'; '.join(failed)}. The files were moved to "
            f"{report['moved_to']} (report: {Path(report['moved_to']) / REPORT_FILE}){kept}")
