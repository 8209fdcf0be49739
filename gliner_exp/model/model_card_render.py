"""The model card's text, rendered from its facts (:func:`gliner_exp.model.model_card.collect_facts`).

Sections: the model (architecture, the run's key settings, the command that
trained it), the data (labels, examples and entities per split), the metrics
(dev/test P/R/F1, per label, zero-shot suites), the comparison table where the
compare verb wrote one, the ONNX exports with their parity figures, and how to
load and use the model. A comparison document of an unknown shape is shown as
JSON rather than dropped. Nothing here imports torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

#: Where the compare verb leaves its table, relative to the run directory.
COMPARISON_FILE = Path("comparison") / "comparison.json"


def _pct(value: Any) -> str:
    return f"{100 * value:.2f}" if isinstance(value, (int, float)) else "n/a"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True).replace("|", "\\|")
    return str(value).replace("|", "\\|")


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def _model_section(facts: dict) -> list[str]:
    lines = ["## Model", ""]
    rows = [[k, v] for k, v in (facts.get("architecture") or {}).items()]
    lines += _table(["architecture", "value"], rows) if rows else ["(gliner_config.json not found)"]
    settings = facts.get("settings") or []
    lines += ["", "### Training settings", ""]
    if settings:
        lines += _table(["setting", "config key", "value"], settings)
    else:
        lines.append("Not recorded (the card was not written by the training run).")
    if facts.get("overrides") is not None:
        command = " ".join(["python -m gliner_exp", *facts["overrides"]])
        lines += ["", "Trained with:", "", "```bash", command, "```"]
    return lines


def _data_section(facts: dict) -> list[str]:
    data = facts.get("data")
    if not data:
        return []
    labels, names = list(data.get("labels") or []), dict(data.get("label_names") or {})
    found = data.get("splits") or {}
    splits = {s: found[s] for s in ("train", "dev", "test") if s in found}
    splits.update({s: v for s, v in found.items() if s not in splits})
    lines = ["## Data", "", f"{len(labels)} labels: " + ", ".join(
        f"`{label}`" + (f" (read as \"{names[label]}\")" if names.get(label, label) != label else "") for label in labels),
        ""]
    lines += _table(["split", "examples", "entities", "examples without entities", "source"],
                    [[split, s.get("examples"), s.get("entities"), s.get("examples_without_entities"),
                      (data.get("sources") or {}).get(split, "")] for split, s in splits.items()])
    if labels and splits:
        lines += ["", *_table(["label", *[f"{split} entities" for split in splits]],
                              [[label, *[(s.get("entities_per_label") or {}).get(label, 0) for s in splits.values()]]
                               for label in labels])]
    return lines


def _metrics_section(facts: dict) -> list[str]:
    metrics = facts.get("metrics") or {}
    splits = [s for s in ("dev", "test") if s in metrics]
    if not splits:
        return []
    lines = ["## Metrics", ""]
    threshold = metrics.get("threshold") or {}
    if threshold:
        how = "tuned on dev" if threshold.get("tuned") else "train.threshold"
        lines += [f"Decoding threshold {threshold.get('value')} ({how}); after {metrics.get('global_step')} steps.", ""]
    lines += _table(["split", "P", "R", "F1"],
                    [[s, _pct(metrics[s]["precision"]), _pct(metrics[s]["recall"]), _pct(metrics[s]["f1"])]
                     for s in splits])
    per_label = metrics.get("per_label") or {}
    labels = list(dict.fromkeys(label for s in splits for label in per_label.get(s, {})))
    if labels:
        lines += ["", "Per label (F1, gold support):", ""]
        lines += _table(["label", *[f"{s} F1" for s in splits], *[f"{s} support" for s in splits]],
                        [[label, *[_pct(per_label.get(s, {}).get(label, {}).get("f1")) for s in splits],
                          *[per_label.get(s, {}).get(label, {}).get("support", "") for s in splits]] for label in labels])
    zero_shot = metrics.get("zero_shot") or {}
    if zero_shot:
        lines += ["", "Zero-shot suites (`eval.extra`):", ""]
        lines += _table(["data", "split", "labels", "F1", "macro F1"],
                        [[name, z.get("split"), len(z.get("labels") or []), _pct(z.get("f1")), _pct(z.get("macro_f1"))]
                         for name, z in zero_shot.items()])
    return lines


def _rows_of(value: Any) -> Optional[tuple[list[str], list[list]]]:
    """A comparison document as a table where it has one: a list of records, or records by name."""
    if isinstance(value, Mapping):
        for key in ("rows", "table", "results", "runs"):
            if isinstance(value.get(key), (list, Mapping)):
                return _rows_of(value[key])
        if value and all(isinstance(v, Mapping) for v in value.values()):
            records = [{"": name, **{k: v for k, v in rec.items() if not isinstance(v, (list, Mapping))}}
                       for name, rec in value.items()]
            return _rows_of(records)
        return None
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        header = list(dict.fromkeys(k for rec in value for k, v in rec.items() if not isinstance(v, (list, Mapping))))
        return header, [[rec.get(k, "") for k in header] for rec in value]
    return None


def _datasets_table(datasets: Mapping[str, Any]) -> list[str]:
    """Base vs tuned micro P/R/F1 per data set, from a comparison's ``datasets`` (pairs of base, tuned, delta)."""
    rows = []
    for name, entry in datasets.items():
        micro = entry.get("micro") or {}
        pair = [micro.get(who, {}).get("f1") for who in ("base", "tuned", "delta")]
        rows.append([name, entry.get("split", ""), _pct(pair[0]), _pct(pair[1]),
                     f"{100 * pair[2]:+.2f}" if isinstance(pair[2], (int, float)) else "n/a"])
    return _table(["data set", "split", "F1 base", "F1 tuned", "ΔF1 (points)"], rows)


def _comparison_section(facts: dict) -> list[str]:
    comparison = facts.get("comparison")
    if comparison is None:
        return []
    lines = ["## Comparison", "", f"From `<run dir>/{COMPARISON_FILE.as_posix()}`:", ""]
    markdown = facts.get("comparison_markdown")
    if markdown:  # the compare verb's own rendering, its title dropped and its headings under this one
        body = [line for line in markdown.splitlines() if not line.startswith("# ")]
        return lines + [("#" + line if line.startswith("##") else line) for line in body]
    if isinstance(comparison, Mapping) and isinstance(comparison.get("markdown"), str):
        return lines + [comparison["markdown"].rstrip()]
    if isinstance(comparison, Mapping) and isinstance(comparison.get("datasets"), Mapping):
        return lines + _datasets_table(comparison["datasets"])
    table = _rows_of(comparison)
    if table is not None:
        return lines + _table(*table)
    return lines + ["```json", json.dumps(comparison, indent=2, sort_keys=True), "```"]


def _ms(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) else "n/a"


def _exports_section(facts: dict) -> list[str]:
    exports = facts.get("exports") or {}
    if not exports:
        return []
    lines = ["## ONNX export", ""]
    for out, e in exports.items():
        verdict = "passed its parity gate" if e.get("status") == "passed" else \
            f"**rejected** by its parity gate (moved to `{e.get('moved_to')}`)"
        tolerance = e.get("tolerance")
        lines += [f"`{out}`: {verdict}: |F1 onnx - F1 torch| <= {_pct(tolerance)} F1 points "
                  f"(tolerance={tolerance}) on {e.get('data')} "
                  f"{e.get('split')} ({e.get('n_examples')} examples), opset {e.get('opset')}, "
                  f"onnxruntime {e.get('onnxruntime')}, {e.get('when')}.", ""]
        torch_side = e.get("torch") or {}
        rows = [["torch", _pct(torch_side.get("f1")), "", _ms(torch_side.get("ms_per_example")), "", ""]]
        for name, f in (e.get("files") or {}).items():
            rows.append([name, _pct(f.get("f1")), _pct(f.get("f1_diff")), _ms(f.get("ms_per_example")),
                         f"{f.get('size_mb', 0):.1f}", "pass" if f.get("passed") else "FAIL"])
        lines += _table(["runtime", "F1", "abs F1 diff", "ms / example", "MB", "gate"], rows) + [""]
    return lines[:-1]


def _usage_section(facts: dict) -> list[str]:
    model_dir = facts.get("model_dir")
    decoding = facts.get("decoding") or {}
    names = decoding.get("label_names") or {}
    labels = [names.get(k, k) for k in decoding.get("labels") or []] or ["person", "organization"]
    threshold = decoding.get("threshold", 0.5)
    lines = ["## Use", "", "```python", "from gliner import GLiNER", "",
             f"model = GLiNER.from_pretrained({model_dir!r})",
             f"model.predict_entities(text, labels={labels!r}, threshold={threshold})", "",
             "# or, with the saved label keys, names and tuned threshold (gliner_exp_inference.json):",
             "from gliner_exp.model.inference import load_model",
             f"model, settings = load_model({model_dir!r})", "```", "", "```bash",
             f"python -m gliner_exp.cli.predict model_dir={model_dir} input=texts.txt   # or docs.jsonl",
             f"python -m gliner_exp.cli.evaluate model.pretrained={model_dir} data=<option>",
             f"python -m gliner_exp.cli.export model_dir={model_dir} quantize=true   # ONNX, gated on dev F1", "```"]
    passed = [out for out, e in (facts.get("exports") or {}).items() if e.get("status") == "passed"]
    for out in passed[:1]:
        lines += ["", "The ONNX export (onnxruntime):", "", "```python",
                  f"model = GLiNER.from_pretrained({out!r}, load_onnx_model=True, onnx_model_file=\"model.onnx\")",
                  "```"]
    return lines


def render_card(facts: dict) -> str:
    """The README.md text of a model directory from its card facts (:func:`collect_facts`)."""
    run = facts.get("run") or {}
    title = run.get("name") or Path(str(facts.get("model_dir", "model"))).parent.name or "model"
    head = ["---", "library_name: gliner", "pipeline_tag: token-classification",
            "tags: [gliner, ner, gliner_exp]", "---", "", f"# {title}: a GLiNER NER model", "",
            "Fine-tuned with gliner_exp (span-based, open-type NER over the labels below)"
            + (f"; run directory `{facts['run_dir']}`." if facts.get("run_dir") else ".")]
    if run.get("description"):
        head += ["", str(run["description"])]
    sections = [head, _model_section(facts), _data_section(facts), _metrics_section(facts),
                _comparison_section(facts), _exports_section(facts), _usage_section(facts)]
    return "\n\n".join("\n".join(s) for s in sections if s).rstrip() + "\n"
