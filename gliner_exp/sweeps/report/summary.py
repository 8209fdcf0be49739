"""Write ``<sweep dir>/summary/``: every step of the report, from the job dirs to the files.

* ``summary.csv`` / ``summary.md`` / ``summary.json`` -- one row per job (its
  swept parameters, status, dev/test F1, the F1 of each zero-shot suite of
  ``eval.extra`` as ``zs_<suite>_f1``, steps, wall time, error, overrides),
  sorted by the objective (dev F1, best first); the Markdown adds the
  per-parameter marginal means, the best configuration and the command that
  reproduces it;
* ``settings.csv`` -- only when the sweep varies ``run.seed``: one row per setting (the jobs
  that differ only in the seed), with n seeds and mean ± sample std of dev, test and zero-shot F1; the
  Markdown and JSON then hold the same table, the marginals leave the seed out, and the best
  configuration is the setting with the best mean;
* ``marginals.csv`` -- mean/max objective per value of each swept parameter;
* ``f1_by_param.png`` -- F1 per setting of each swept parameter;
* ``curves.png`` -- training loss and dev F1 over steps, every job.
"""

from __future__ import annotations

import json
from pathlib import Path

from gliner_exp.sweeps.report.analyse import (
    best_row, best_setting, marginal_means, seeds_repeated, setting_params, settings, sort_rows, swept_params,
    zero_shot_suites,
)
from gliner_exp.sweeps.report.collect import collect, job_cwd, optuna_results
from gliner_exp.sweeps.report.plots import plot_curves, plot_params
from gliner_exp.sweeps.report.render import (
    render_markdown, render_text, reproduce_command, setting_command, write_csv, write_marginals, write_settings,
)


def _public(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "_dir"}


def _public_setting(setting: dict) -> dict:
    # the jobs by name: their full rows are already under "jobs" of summary.json
    return {k: v for k, v in setting.items() if k != "jobs"} | {"jobs": [r["job"] for r in setting["jobs"]]}


def write_summary(sweep_dir: str | Path, out_dir: str | Path | None = None, objective: str = "dev_f1",
                  plots: bool = True) -> dict:
    """Build the summary of ``sweep_dir``; returns rows, best row, paths and the console text.

    When ``run.seed`` is swept the result also holds ``settings`` (seeds grouped as repeats)
    and ``best_setting``, and ``best`` is the best seed of that setting; otherwise both are None.
    """
    sweep_dir = Path(sweep_dir)
    out = Path(out_dir) if out_dir is not None else sweep_dir / "summary"
    out.mkdir(parents=True, exist_ok=True)
    rows = sort_rows(collect(sweep_dir), objective)
    params = swept_params(rows)
    suites = zero_shot_suites(rows)
    marginals = marginal_means(rows, params, objective)
    groups = settings(rows, params, objective) if seeds_repeated(params) else None
    top = best_setting(groups) if groups else None
    # with repeats the best configuration is the best mean; its best seed stands for it as the job
    best = best_row(top["jobs"], objective) if top else best_row(rows, objective)
    paths = {"csv": str(out / "summary.csv"), "markdown": str(out / "summary.md"),
             "json": str(out / "summary.json"), "marginals": str(out / "marginals.csv")}
    plot_paths: dict[str, str] = {}
    if plots:
        # the seed is no parameter to read F1 against when it only repeats settings
        if plot_params(out / "f1_by_param.png", rows, setting_params(params) if groups else params, objective):
            plot_paths["F1 per parameter setting"] = str(out / "f1_by_param.png")
        if plot_curves(out / "curves.png", rows, params):
            plot_paths["training curves"] = str(out / "curves.png")
    paths["plots"] = plot_paths
    if groups:
        paths["settings"] = str(out / "settings.csv")
        write_settings(Path(paths["settings"]), groups, params, objective, suites)
    write_csv(Path(paths["csv"]), rows, params, suites)
    write_marginals(Path(paths["marginals"]), marginals, objective)
    optuna = optuna_results(sweep_dir)
    Path(paths["markdown"]).write_text(
        render_markdown(sweep_dir, rows, params, marginals, best, objective, plot_paths, optuna, groups, top, suites))
    summary = {"sweep_dir": str(sweep_dir), "objective": objective, "params": params,
               "zero_shot_suites": suites,
               "jobs": [_public(r) for r in rows], "marginals": marginals, "optuna": optuna,
               "settings": [_public_setting(g) for g in groups] if groups else None,
               "best_setting": _public_setting(top) | {"command": setting_command(top)} if top else None,
               "best": _public(best) | {"command": reproduce_command(best), "launched_from": job_cwd(best.get("_dir"))}
               if best else None}
    Path(paths["json"]).write_text(json.dumps(summary, indent=2, default=str) + "\n")
    text = render_text(rows, params, best, objective, paths, top, suites)
    return {"rows": rows, "params": params, "zero_shot_suites": suites, "best": best, "marginals": marginals,
            "paths": paths, "text": text, "settings": groups, "best_setting": top}
