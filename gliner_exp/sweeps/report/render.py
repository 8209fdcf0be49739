"""The sweep summary as text: the Markdown page, the console table, the CSV files, the rerun command."""

from __future__ import annotations

import csv
import io
import json
import math
import shlex
from pathlib import Path
from typing import Any, Sequence

from gliner_exp.sweeps.report.analyse import (
    SEED_KEY, common_overrides, setting_params, status_counts, zero_shot_column,
)
from gliner_exp.sweeps.report.values import split_override, value_sort_key


def fmt(value: Any, digits: int = 4) -> str:
    """A table cell: ``-`` for missing, floats to ``digits`` places."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if not math.isnan(value) else "nan"
    return str(value)


def shorten(value: Any, n: int = 100) -> str:
    """``value`` on one line, cut to ``n`` characters with an ellipsis."""
    text = " ".join(str(value).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def table_columns(params: list[str], suites: Sequence[str] = ()) -> list[str]:
    """The job table's columns: rank, the swept parameters, then the job's results (a column per zero-shot suite)."""
    return ["rank", *params, "status", "dev_f1", "test_f1", *map(zero_shot_column, suites), "steps", "wall_s",
            "history", "error", "job"]


def _zero_shot_cells(row: dict, suites: Sequence[str], cell: Any = fmt) -> dict:
    return {zero_shot_column(s): cell((row.get("zero_shot") or {}).get(s)) for s in suites}


def mean_std(mean: float | None, std: float | None, n: int, digits: int = 4) -> str:
    """A setting's cell: ``0.8120 ± 0.0210 (n=3)``; no ``±`` for one value, ``-`` for none."""
    if mean is None or n == 0:
        return "-"
    spread = f" ± {std:.{digits}f}" if std is not None else ""
    return f"{mean:.{digits}f}{spread} (n={n})"


def settings_columns(params: list[str], suites: Sequence[str] = ()) -> list[str]:
    """The setting table's columns: rank, the swept parameters but the seed, then the seeds' results."""
    return ["rank", *setting_params(params), "seeds", "dev_f1", "test_f1", *map(zero_shot_column, suites),
            "not_finished"]


def setting_command(setting: dict) -> str:
    """The multirun command that trains every seed of ``setting`` again, as typed in the project root."""
    jobs = setting["jobs"]
    seeds = sorted({r["params"][SEED_KEY] for r in jobs if SEED_KEY in r["params"]}, key=value_sort_key)
    first = next((r for r in jobs if r["status"] != "pending"), jobs[0])
    overrides = [o for o in first["overrides"] if split_override(o)[0] != SEED_KEY]
    # keep the prefix (`+`/`++`) the sweep used: run.seed may have been added rather than overridden
    seed = next((o for o in first["overrides"] if split_override(o)[0] == SEED_KEY), f"{SEED_KEY}=")
    prefix = seed[: len(seed) - len(seed.lstrip("+~"))]
    overrides.append(f"{prefix}{SEED_KEY}=" + ",".join(seeds))
    return "python -m gliner_exp -m " + " ".join(shlex.quote(o) for o in overrides)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def reproduce_command(row: dict) -> str:
    """The single-run command that trains this job's configuration again, as typed in the project root.

    No ``cd`` into the directory the sweep ran in: that path is the launching machine's
    and means nothing in another checkout (``summary.json`` keeps it as ``launched_from``).
    """
    return "python -m gliner_exp " + " ".join(shlex.quote(o) for o in row["overrides"])


def _job_table(rows: list[dict], params: list[str], suites: Sequence[str]) -> list[str]:
    cols = table_columns(params, suites)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for i, r in enumerate(rows, 1):
        cells = {"rank": str(i), "status": r["status"], "dev_f1": fmt(r["dev_f1"]), "test_f1": fmt(r["test_f1"]),
                 "steps": fmt(r["steps"]), "wall_s": fmt(r["wall_s"], 1), "history": r["history"],
                 "error": shorten(r["error"], 120) if r["error"] else "", "job": f"`{r['job']}`" if r["job"] else "-",
                 **_zero_shot_cells(r, suites)}
        cells.update({p: str(r["params"].get(p, "-")) for p in params})
        lines.append("| " + " | ".join(_md_escape(cells[c]) for c in cols) + " |")
    return lines


def _settings_table(groups: list[dict], params: list[str], objective: str, suites: Sequence[str]) -> list[str]:
    cols = settings_columns(params, suites)
    head = {"dev_f1": f"{objective} mean ± std", "test_f1": "test_f1 mean ± std",
            **{zero_shot_column(s): f"{zero_shot_column(s)} mean ± std" for s in suites}}
    lines = ["", "## Settings", "",
             f"Jobs that differ only in `{SEED_KEY}` are repeats of one setting: mean ± sample std over "
             f"its finished seeds, best mean `{objective}` first.", "",
             "| " + " | ".join(head.get(c, c) for c in cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for i, g in enumerate(groups, 1):
        cells = {"rank": str(i), "seeds": ",".join(g["seeds"]) or "-",
                 "dev_f1": mean_std(g["mean"], g["std"], g["n"]),
                 "test_f1": mean_std(g["mean_test_f1"], g["std_test_f1"], g["n_test_f1"]),
                 "not_finished": str(g["not_finished"])}
        for suite in suites:
            zs = g["zero_shot"][suite]
            cells[zero_shot_column(suite)] = mean_std(zs["mean"], zs["std"], zs["n"])
        cells.update({p: str(g["params"].get(p, "-")) for p in setting_params(params)})
        lines.append("| " + " | ".join(_md_escape(cells[c]) for c in cols) + " |")
    return lines


def _marginal_tables(marginals: dict, objective: str, repeated: bool = False) -> list[str]:
    over = (f"the settings with each value, other parameters varying (a setting counts once, with its mean "
            f"over its `{SEED_KEY}` repeats; n counts the completed jobs)"
            if repeated else "the completed jobs with each value (other parameters vary)")
    lines = ["", "## Marginal means", "", f"Mean and max `{objective}` over {over}.", ""]
    for param, entries in marginals.items():
        lines += [f"**{param}**", "",
                  f"| value | n | failed | mean {objective} | max {objective} | mean test_f1 |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {_md_escape(e['value'])} | {e['n']} | {e['failed']} | {fmt(e['mean'])} | "
                  f"{fmt(e['max'])} | {fmt(e['mean_test_f1'])} |" for e in entries]
        lines.append("")
    return lines


def render_markdown(sweep_dir: Path, rows: list[dict], params: list[str], marginals: dict, best: dict | None,
                    objective: str, plots: dict[str, str], optuna: dict | None,
                    groups: list[dict] | None = None, top: dict | None = None, suites: Sequence[str] = ()) -> str:
    """``summary.md``: counts, fixed overrides, the job table, marginal means, the best job, Optuna, plots.

    With ``groups`` (the :func:`~.analyse.settings` of a sweep that repeats seeds) it adds the
    setting table, and the best configuration is the setting ``top`` with the best mean. Each
    zero-shot suite of ``suites`` has a column in the job and setting tables.
    """
    lines = [f"# Sweep summary: `{sweep_dir}`", "",
             f"{len(rows)} jobs: " + ", ".join(f"{n} {s}" for s, n in status_counts(rows)),
             f"objective: `{objective}` (higher is better)"]
    common = common_overrides(rows, params)
    if common:
        lines.append("fixed overrides: " + " ".join(f"`{o}`" for o in common))
    if suites:
        lines.append("zero-shot suites (eval.extra): " + ", ".join(
            f"`{zero_shot_column(s)}` = F1 on data option `{s}` (its dev split, test if none)" for s in suites))
    lines += ["", "## Jobs", "", *_job_table(rows, params, suites)]
    if groups:
        lines += _settings_table(groups, params, objective, suites)
    if marginals:
        lines += _marginal_tables(marginals, objective, repeated=bool(groups))
    lines += ["## Best configuration", ""]
    if best is None:
        lines.append("No job has finished yet.")
    elif groups and top is not None:
        lines += [f"Chosen by the mean `{objective}` over the `{SEED_KEY}` repeats of each setting: "
                  f"{mean_std(top['mean'], top['std'], top['n'])}, test F1 "
                  f"{mean_std(top['mean_test_f1'], top['std_test_f1'], top['n_test_f1'])}; its best seed is job "
                  f"`{best['job']}` (`{objective}` = {fmt(best.get(objective))}).", "",
                  "Run all its seeds as typed from the directory the sweep was started in (normally the "
                  "project root):", "", "```bash", setting_command(top), "```"]
    else:
        lines += [f"`{objective}` = {fmt(best.get(objective))} (test F1 {fmt(best.get('test_f1'))}), "
                  f"job `{best['job']}`", "",
                  "Run it as typed from the directory the sweep was started in (normally the project root):",
                  "", "```bash", reproduce_command(best), "```"]
    if optuna:
        lines += ["", "## Optuna", "", "```yaml", json.dumps(optuna, indent=2, default=str), "```"]
    if plots:
        lines += ["", "## Plots", ""]
        lines += [f"![{name}]({Path(path).name})" for name, path in plots.items()]
    return "\n".join(lines) + "\n"


def render_text(rows: list[dict], params: list[str], best: dict | None, objective: str, paths: dict,
                top: dict | None = None, suites: Sequence[str] = ()) -> str:
    """The console version: a compact table, the best configuration and its command.

    ``top`` is the best setting of a sweep that repeats seeds: its mean ± std and the command
    for all its seeds are printed after the best job. Each zero-shot suite of ``suites`` has a column.
    """
    zero_shot = [zero_shot_column(s) for s in suites]
    cols = [*params, "status", "dev_f1", "test_f1", *zero_shot, "steps", "wall_s"]
    data = [[shorten(r["params"].get(p, "-"), 24) for p in params]
            + [r["status"], fmt(r["dev_f1"]), fmt(r["test_f1"]), *_zero_shot_cells(r, suites).values(),
               fmt(r["steps"]), fmt(r["wall_s"], 1)]
            for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in data)) if data else len(c) for i, c in enumerate(cols)]
    out = io.StringIO()
    out.write("  ".join(c.ljust(w) for c, w in zip(cols, widths)) + "\n")
    for row in data:
        out.write("  ".join(v.ljust(w) for v, w in zip(row, widths)) + "\n")
    for r in rows:
        if r["error"]:
            out.write(f"{r['status'].upper()} {r['job']}: {shorten(r['error'], 200)}\n")
    if best is not None:
        # with repeats `best` is the best seed of the best-mean setting, not the top job overall
        label = "best seed of the best setting," if top is not None else "best"
        out.write(f"{label} {objective} {fmt(best.get(objective))}: {best['job']}\n")
        out.write(f"  reproduce: {reproduce_command(best)}\n")
        if top is not None:
            out.write(f"best setting (mean over {SEED_KEY}) {objective} {mean_std(top['mean'], top['std'], top['n'])}: "
                      + " ".join(f"{k}={v}" for k, v in top["params"].items()) + "\n")
            out.write(f"  reproduce: {setting_command(top)}\n")
    else:
        out.write("no finished job yet\n")
    out.write(f"summary: {paths.get('markdown')}\n")
    return out.getvalue()


def _exact(value: Any) -> str:
    # repr: every digit of the F1, so the CSV compares equal to metrics.json
    return repr(value) if value is not None else ""


def write_csv(path: Path, rows: list[dict], params: list[str], suites: Sequence[str] = ()) -> None:
    """``summary.csv``: the job table plus each job's checkpoint resumed from and its overrides."""
    cols = table_columns(params, suites) + ["resumed_from", "overrides"]
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=cols)
        writer.writeheader()
        for i, r in enumerate(rows, 1):
            rec = {c: r.get(c) for c in cols if c in r}
            rec.update({p: r["params"].get(p) for p in params})
            rec.update(rank=i, overrides=" ".join(r["overrides"]), dev_f1=_exact(r["dev_f1"]),
                       test_f1=_exact(r["test_f1"]), **_zero_shot_cells(r, suites, _exact))
            writer.writerow({c: ("" if rec.get(c) is None else rec[c]) for c in cols})


def write_marginals(path: Path, marginals: dict, objective: str) -> None:
    """``marginals.csv``: one line per (parameter, value) of :func:`~.analyse.marginal_means`."""
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["param", "value", "n", "failed", f"mean_{objective}", f"max_{objective}",
                         "mean_test_f1"])
        for param, entries in marginals.items():
            for e in entries:
                writer.writerow([param, e["value"], e["n"], e["failed"], *("" if e[k] is None else e[k]
                                                             for k in ("mean", "max", "mean_test_f1"))])


def write_settings(path: Path, groups: list[dict], params: list[str], objective: str,
                   suites: Sequence[str] = ()) -> None:
    """``settings.csv``: one line per setting of :func:`~.analyse.settings` (seeds as repeats).

    Each zero-shot suite adds ``n_``, ``mean_`` and ``std_`` of its column (``zs_<suite>_f1``).
    """
    keys = setting_params(params)
    zero_shot = [f"{stat}_{zero_shot_column(s)}" for s in suites for stat in ("n", "mean", "std")]
    cols = ["rank", *keys, "n", "seeds", f"mean_{objective}", f"std_{objective}", "n_test_f1",
            "mean_test_f1", "std_test_f1", *zero_shot, "failed", "not_finished", "jobs"]
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=cols)
        writer.writeheader()
        for i, g in enumerate(groups, 1):
            rec = {"rank": i, **g["params"], "n": g["n"], "seeds": " ".join(g["seeds"]),
                   f"mean_{objective}": g["mean"], f"std_{objective}": g["std"], "n_test_f1": g["n_test_f1"],
                   "mean_test_f1": g["mean_test_f1"], "std_test_f1": g["std_test_f1"], "failed": g["failed"],
                   "not_finished": g["not_finished"], "jobs": " ".join(r["job"] for r in g["jobs"] if r["job"])}
            for suite in suites:
                rec.update({f"{stat}_{zero_shot_column(suite)}": g["zero_shot"][suite][stat]
                            for stat in ("n", "mean", "std")})
            writer.writerow({c: ("" if rec.get(c) is None else rec[c]) for c in cols})
