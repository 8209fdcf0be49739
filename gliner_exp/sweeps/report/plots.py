"""The sweep summary's figures: F1 per parameter setting, and every job's training curves.

Drawn on matplotlib's Agg canvas directly, never through pyplot: no display, no
global figure state, and importing this module does not import matplotlib at all.
"""

from __future__ import annotations

import math
from pathlib import Path

from gliner_exp.sweeps.report.analyse import CATEGORICAL_MAX, OK_STATUSES, finished
from gliner_exp.sweeps.report.collect import job_curves
from gliner_exp.sweeps.report.render import shorten
from gliner_exp.sweeps.report.values import as_number, value_sort_key


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _label(row: dict, params: list[str]) -> str:
    text = ",".join(f"{p.split('.')[-1]}={row['params'].get(p, '-')}" for p in params) or row["job"] or "job"
    return shorten(text, 48)


def _plot_param(ax, param: str, done: list[dict], started: list[dict], objective: str, legend: bool) -> None:
    values = sorted({r["params"].get(param) for r in started}, key=value_sort_key)
    numeric = all(as_number(v) is not None for v in values) and len(values) > CATEGORICAL_MAX
    for metric, color, marker in ((objective, "tab:blue", "o"), ("test_f1", "tab:orange", "s")):
        off = 0.08 if metric == "test_f1" else -0.08  # categorical x: the two metrics side by side
        xs, ys = [], []
        for r in done:
            y = as_number(r.get(metric))
            if y is None:
                continue
            v = r["params"].get(param)
            xs.append(as_number(v) if numeric else values.index(v) + off)
            ys.append(y)
        if ys:
            ax.scatter(xs, ys, color=color, marker=marker, alpha=0.6, s=22, label=metric if legend else None)
        if not numeric and ys:
            for j, v in enumerate(values):
                vals = [as_number(r.get(metric)) for r in done if r["params"].get(param) == v
                        and as_number(r.get(metric)) is not None]
                if vals:
                    mean = sum(vals) / len(vals)
                    ax.plot([j + off - 0.15, j + off + 0.15], [mean, mean], color=color, lw=2)
    if not numeric:
        failed = [sum(r["params"].get(param) == v and r["status"] in ("failed", "interrupted")
                      for r in started) for v in values]
        ax.set_xticks(range(len(values)))
        ax.set_xticklabels([shorten(v, 14) + (f"\n({k} failed)" if k else "") for v, k in zip(values, failed)],
                           rotation=30 if len(values) > 4 else 0, fontsize=8)
        ax.set_xlim(-0.5, len(values) - 0.5)
    ax.set_title(param, fontsize=10)
    ax.set_ylabel("F1")
    ax.grid(alpha=0.3)


def plot_params(path: Path, rows: list[dict], params: list[str], objective: str) -> bool:
    """``f1_by_param.png``: a panel per swept parameter (at most 9); False (nothing written) without data."""
    done = finished(rows, objective)
    started = [r for r in rows if r["status"] != "pending"]
    if not params or not done:
        return False
    shown = params[:9]
    ncols = min(3, len(shown))
    nrows = math.ceil(len(shown) / ncols)
    fig = _figure(4.2 * ncols, 3.2 * nrows)
    for i, param in enumerate(shown):
        _plot_param(fig.add_subplot(nrows, ncols, i + 1), param, done, started, objective, legend=i == 0)
    fig.legend(loc="upper right", fontsize=8)
    fig.suptitle(f"F1 per setting (points: jobs, bars: means); {len(done)} finished jobs", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.savefig(path)
    return True


def plot_curves(path: Path, rows: list[dict], params: list[str], max_legend: int = 12) -> bool:
    """``curves.png``: training loss and dev F1 over steps, a line per job; False without any curve."""
    series = [(r, job_curves(r["_dir"])) for r in rows if r["_dir"] is not None]
    series = [(r, c) for r, c in series if c]
    if not series:
        return False
    fig = _figure(12, 4.2)
    panels = (("loss", "training loss"), ("eval_f1", "dev F1 (eval)"))
    axes = [fig.add_subplot(1, 2, i + 1) for i in range(len(panels))]
    for k, (r, curves) in enumerate(series):
        label = _label(r, params) if k < max_legend else None
        for ax, (metric, _title) in zip(axes, panels):
            pts = curves.get(metric)
            if pts:
                ax.plot([s for s, _ in pts], [v for _, v in pts], marker="." if len(pts) < 30 else None,
                        lw=1.2, label=label, linestyle="--" if r["status"] not in OK_STATUSES else "-")
    losses = [v for _, c in series for _, v in c.get("loss", []) if v > 0]
    if losses and max(losses) / min(losses) > 30:
        axes[0].set_yscale("log")
    for ax, (_metric, title) in zip(axes, panels):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    if not handles:
        handles, labels = axes[1].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="center right", fontsize=7)
        fig.tight_layout(rect=(0, 0, 0.78, 1))
    else:
        fig.tight_layout()
    fig.savefig(path)
    return True
