"""The sweep summary as text: the Markdown page, the console table, the CSV files, the rerun command."""

from __future__ import annotations

import csv
import io
import json
import math
import shlex
from pathlib import Path
from typing import Any

from gliner_exp.sweeps.report.analyse import common_overrides, status_counts


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


def table_columns(params: list[str]) -> list[str]:
    """The job table's columns: rank, the swept parameters, then the job's results."""
    return ["rank", *params, "status", "dev_f1", "test_f1", "steps", "wall_s", "history", "error", "job"]


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def reproduce_command(row: dict) -> str:
    """The single-run command that trains this job's configuration again, as typed in the project root.

    No ``cd`` into the directory the sweep ran in: that path is the launching machine's
    and means nothing in another checkout (``summary.json`` keeps it as ``launched_from``).
    """
    return "python -m gliner_exp " + " ".join(shlex.quote(o) for o in row["overrides"])


def _job_table(rows: list[dict], params: list[str]) -> list[str]:
    cols = table_columns(params)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for i, r in enumerate(rows, 1):
        cells = {"rank": str(i), "status": r["status"], "dev_f1": fmt(r["dev_f1"]), "test_f1": fmt(r["test_f1"]),
                 "steps": fmt(r["steps"]), "wall_s": fmt(r["wall_s"], 1), "history": r["history"],
                 "error": shorten(r["error"], 120) if r["error"] else "", "job": f"`{r['job']}`" if r["job"] else "-"}
        cells.update({p: str(r["params"].get(p, "-")) for p in params})
        lines.append("| " + " | ".join(_md_escape(cells[c]) for c in cols) + " |")
    return lines


def _marginal_tables(marginals: dict, objective: str) -> list[str]:
    lines = ["", "## Marginal means", "",
             f"Mean and max `{objective}` over the completed jobs with each value (other parameters vary).", ""]
    for param, entries in marginals.items():
        lines += [f"**{param}**", "",
                  f"| value | n | failed | mean {objective} | max {objective} | mean test_f1 |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {_md_escape(e['value'])} | {e['n']} | {e['failed']} | {fmt(e['mean'])} | "
                  f"{fmt(e['max'])} | {fmt(e['mean_test_f1'])} |" for e in entries]
        lines.append("")
    return lines


def render_markdown(sweep_dir: Path, rows: list[dict], params: list[str], marginals: dict, best: dict | None,
                    objective: str, plots: dict[str, str], optuna: dict | None) -> str:
    """``summary.md``: counts, fixed overrides, the job table, marginal means, the best job, Optuna, plots."""
    lines = [f"# Sweep summary: `{sweep_dir}`", "",
             f"{len(rows)} jobs: " + ", ".join(f"{n} {s}" for s, n in status_counts(rows)),
             f"objective: `{objective}` (higher is better)"]
    common = common_overrides(rows, params)
    if common:
        lines.append("fixed overrides: " + " ".join(f"`{o}`" for o in common))
    lines += ["", "## Jobs", "", *_job_table(rows, params)]
    if marginals:
        lines += _marginal_tables(marginals, objective)
    lines += ["## Best configuration", ""]
    if best is None:
        lines.append("No job has finished yet.")
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


def render_text(rows: list[dict], params: list[str], best: dict | None, objective: str, paths: dict) -> str:
    """The console version: a compact table, the best configuration and its command."""
    cols = [*params, "status", "dev_f1", "test_f1", "steps", "wall_s"]
    data = [[shorten(r["params"].get(p, "-"), 24) for p in params]
            + [r["status"], fmt(r["dev_f1"]), fmt(r["test_f1"]), fmt(r["steps"]), fmt(r["wall_s"], 1)]
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
        out.write(f"best {objective} {fmt(best.get(objective))}: {best['job']}\n")
        out.write(f"  reproduce: {reproduce_command(best)}\n")
    else:
        out.write("no finished job yet\n")
    out.write(f"summary: {paths.get('markdown')}\n")
    return out.getvalue()


def write_csv(path: Path, rows: list[dict], params: list[str]) -> None:
    """``summary.csv``: the job table plus each job's checkpoint resumed from and its overrides."""
    cols = table_columns(params) + ["resumed_from", "overrides"]
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=cols)
        writer.writeheader()
        for i, r in enumerate(rows, 1):
            rec = {c: r.get(c) for c in cols if c in r}
            rec.update({p: r["params"].get(p) for p in params})
            # repr: every digit of the F1, so the CSV compares equal to metrics.json
            rec.update(rank=i, overrides=" ".join(r["overrides"]),
                       dev_f1=repr(r["dev_f1"]) if r["dev_f1"] is not None else "",
                       test_f1=repr(r["test_f1"]) if r["test_f1"] is not None else "")
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
