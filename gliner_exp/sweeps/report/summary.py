"""Write ``<sweep dir>/summary/``: every step of the report, from the job dirs to the files.

* ``summary.csv`` / ``summary.md`` / ``summary.json`` -- one row per job (its
  swept parameters, status, dev/test F1, steps, wall time, error, overrides),
  sorted by the objective (dev F1, best first); the Markdown adds the
  per-parameter marginal means, the best configuration and the command that
  reproduces it;
* ``marginals.csv`` -- mean/max objective per value of each swept parameter;
* ``f1_by_param.png`` -- F1 per setting of each swept parameter;
* ``curves.png`` -- training loss and dev F1 over steps, every job.
"""

from __future__ import annotations

import json
from pathlib import Path

from gliner_exp.sweeps.report.analyse import best_row, marginal_means, sort_rows, swept_params
from gliner_exp.sweeps.report.collect import collect, job_cwd, optuna_results
from gliner_exp.sweeps.report.plots import plot_curves, plot_params
from gliner_exp.sweeps.report.render import (
    render_markdown, render_text, reproduce_command, write_csv, write_marginals,
)


def _public(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "_dir"}


def write_summary(sweep_dir: str | Path, out_dir: str | Path | None = None, objective: str = "dev_f1",
                  plots: bool = True) -> dict:
    """Build the summary of ``sweep_dir``; returns rows, best row, paths and the console text."""
    sweep_dir = Path(sweep_dir)
    out = Path(out_dir) if out_dir is not None else sweep_dir / "summary"
    out.mkdir(parents=True, exist_ok=True)
    rows = sort_rows(collect(sweep_dir), objective)
    params = swept_params(rows)
    marginals = marginal_means(rows, params, objective)
    best = best_row(rows, objective)
    paths = {"csv": str(out / "summary.csv"), "markdown": str(out / "summary.md"),
             "json": str(out / "summary.json"), "marginals": str(out / "marginals.csv")}
    plot_paths: dict[str, str] = {}
    if plots:
        if plot_params(out / "f1_by_param.png", rows, params, objective):
            plot_paths["F1 per parameter setting"] = str(out / "f1_by_param.png")
        if plot_curves(out / "curves.png", rows, params):
            plot_paths["training curves"] = str(out / "curves.png")
    paths["plots"] = plot_paths
    write_csv(Path(paths["csv"]), rows, params)
    write_marginals(Path(paths["marginals"]), marginals, objective)
    optuna = optuna_results(sweep_dir)
    Path(paths["markdown"]).write_text(
        render_markdown(sweep_dir, rows, params, marginals, best, objective, plot_paths, optuna))
    summary = {"sweep_dir": str(sweep_dir), "objective": objective, "params": params,
               "jobs": [_public(r) for r in rows], "marginals": marginals, "optuna": optuna,
               "best": _public(best) | {"command": reproduce_command(best), "launched_from": job_cwd(best.get("_dir"))}
               if best else None}
    Path(paths["json"]).write_text(json.dumps(summary, indent=2, default=str) + "\n")
    text = render_text(rows, params, best, objective, paths)
    return {"rows": rows, "params": params, "best": best, "marginals": marginals, "paths": paths, "text": text}
