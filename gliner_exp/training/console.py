"""The one-screen summary printed at the end of a run."""

from __future__ import annotations


def render_summary(metrics: dict, model_dir: str, run_dir: str) -> str:
    """Dev/test F1, where the model is and how to reload it."""
    def pct(key):
        return f"{100 * metrics[key]:.2f}" if metrics.get(key) is not None else "n/a"

    lines = [
        "=" * 72,
        f"gliner_exp run: {run_dir}",
        f"  steps: {metrics.get('global_step')}   resumed from: {metrics.get('resumed_from') or '-'}",
        f"  dev  F1: {pct('dev_f1')}  (P {pct('dev_precision')}, R {pct('dev_recall')})",
        f"  test F1: {pct('test_f1')}  (P {pct('test_precision')}, R {pct('test_recall')})",
        f"  model:   {model_dir}",
        "  reload:  from gliner import GLiNER; "
        f"GLiNER.from_pretrained({model_dir!r}, strict=True)",
        f"  metrics: {run_dir}/metrics.json",
        "=" * 72,
    ]
    return "\n".join(lines)
