"""The one-screen summary printed at the end of a run."""

from __future__ import annotations


def _zero_shot_lines(zero_shot: dict) -> list[str]:
    """One line per zero-shot suite (``eval.extra``), aligned with the in-domain dev/test lines."""
    return [f"  zero-shot {name} ({s['split']}, {len(s['labels'])} labels) F1: {100 * s['f1']:.2f}  "
            f"(P {100 * s['precision']:.2f}, R {100 * s['recall']:.2f}, macro F1 {100 * s['macro_f1']:.2f})"
            for name, s in zero_shot.items()]


def render_summary(metrics: dict, model_dir: str, run_dir: str) -> str:
    """Dev/test F1 (and each zero-shot suite's, ``eval.extra``), where the model is and how to reload it."""
    def pct(key):
        return f"{100 * metrics[key]:.2f}" if metrics.get(key) is not None else "n/a"

    th = metrics.get("threshold") or {}
    if th.get("tuned"):
        decoding = (f"{th['value']} (tuned on dev: F1 {100 * th['dev_f1']:.2f}, "
                    f"{100 * th['dev_f1_at_configured']:.2f} at train.threshold={th['configured']})")
    else:
        decoding = f"{th.get('value', 'n/a')} (train.threshold)"
    lines = [
        "=" * 72,
        f"gliner_exp run: {run_dir}",
        f"  steps: {metrics.get('global_step')}   resumed from: {metrics.get('resumed_from') or '-'}",
        f"  dev  F1: {pct('dev_f1')}  (P {pct('dev_precision')}, R {pct('dev_recall')})",
        f"  test F1: {pct('test_f1')}  (P {pct('test_precision')}, R {pct('test_recall')})",
        *_zero_shot_lines(metrics.get("zero_shot") or {}),
        f"  threshold: {decoding}",
        f"  model:   {model_dir}",
        "  reload:  from gliner_exp.model.inference import load_model; "
        f"model, settings = load_model({model_dir!r})",
        f"  metrics: {run_dir}/metrics.json",
        "=" * 72,
    ]
    return "\n".join(lines)
