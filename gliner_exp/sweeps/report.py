"""Summarise a sweep directory: ``python -m gliner_exp.sweeps.report <sweep dir>``.

Works on a finished, running or interrupted sweep: it only reads what the jobs
wrote (``.hydra/overrides.yaml``, ``status.json``, ``metrics.json``,
``metrics.csv`` or checkpoints' ``trainer_state.json``). Jobs of a basic-sweeper
grid that have not started yet are listed as ``pending``.

Writes ``<sweep dir>/summary/``:

* ``summary.csv`` / ``summary.md`` / ``summary.json`` -- one row per job (its
  swept parameters, status, dev/test F1, steps, wall time, error, overrides),
  sorted by the objective (dev F1, best first); the Markdown adds the
  per-parameter marginal means, the best configuration and the command that
  reproduces it;
* ``marginals.csv`` -- mean/max objective per value of each swept parameter;
* ``f1_by_param.png`` -- F1 per setting of each swept parameter;
* ``curves.png`` -- training loss and dev F1 over steps, every job.

Importing this module pulls in neither torch nor matplotlib's pyplot (plots use
the Agg canvas directly).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from gliner_exp.sweeps.jobs import _last_activity, complete_metrics, effective_status, find_job_dirs, read_status

OK_STATUSES = ("ran", "resumed", "skipped")
ORDER = ("ran", "resumed", "skipped", "running", "interrupted", "failed", "dry_run", "pending", "unknown")
_CATEGORICAL_MAX = 8


# --------------------------------------------------------------------------- reading jobs
def _load_yaml_list(path: Path) -> list[str] | None:
    from omegaconf import OmegaConf

    try:
        return [str(x) for x in OmegaConf.to_container(OmegaConf.load(path))]
    except Exception:  # noqa: BLE001 - a half-written file on a running sweep
        return None


def split_override(item: str) -> tuple[str, str]:
    """``'loss.gamma=2'`` -> ``('loss.gamma', '2')`` (``+``/``++``/``~`` prefixes dropped)."""
    key, _, value = item.partition("=")
    return key.lstrip("+~"), value


def load_job(job_dir: Path, sweep_dir: Path) -> dict:
    """One summary row for ``job_dir``."""
    status = read_status(job_dir) or {}
    metrics = complete_metrics(job_dir)
    overrides = _load_yaml_list(job_dir / ".hydra" / "overrides.yaml")
    if overrides is None:
        overrides = [str(x) for x in status.get("overrides") or []]
    state = effective_status(status or None, metrics is not None)
    source = metrics or status
    wall = status.get("total_wall_time_s")
    if wall is None and metrics is not None:
        wall = metrics.get("wall_time_s")
    if state in ("running", "interrupted") and status.get("started_ts"):  # time spent so far / until it stopped
        end = time.time() if state == "running" else _last_activity(job_dir)
        wall = float(wall or 0.0) - float(status.get("wall_time_s") or 0.0) + max(0.0, end - status["started_ts"])
    history = [h.get("status") for h in status.get("history", []) if h.get("status")]
    return {
        "job": job_dir.relative_to(sweep_dir).as_posix(),
        "job_num": status.get("job_num"),
        "status": state,
        "history": ">".join([*history, state]),
        "dev_f1": source.get("dev_f1") if source else None,
        "test_f1": source.get("test_f1") if source else None,
        "steps": source.get("global_step") if source else None,
        "resumed_from": Path(source["resumed_from"]).name if source and source.get("resumed_from") else None,
        "wall_s": round(float(wall), 1) if wall is not None else None,
        "error": status.get("error") if state in ("failed", "interrupted") else None,
        "overrides": overrides,
        "params": dict(split_override(o) for o in overrides),
        "_dir": job_dir,
    }


def _norm(overrides: list[str], exclude: set[str]) -> frozenset:
    return frozenset(o.lstrip("+~") for o in overrides if split_override(o)[0] not in exclude)


def pending_jobs(sweep_dir: Path, rows: list[dict]) -> list[dict]:
    """Jobs of the sweep's basic-sweeper grid (``multirun.yaml``) that have no directory yet."""
    from omegaconf import OmegaConf

    path = sweep_dir / "multirun.yaml"
    if not path.is_file():
        return []
    try:
        hydra = OmegaConf.load(path).hydra
        if not str(hydra.sweeper.get("_target_", "")).endswith("BasicSweeper"):
            return []
        from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
        from hydra.core.override_parser.overrides_parser import OverridesParser

        params = [f"{k}={v}" for k, v in (hydra.sweeper.get("params") or {}).items()]
        task = [str(x) for x in hydra.overrides.task]
        batches = BasicSweeper.split_arguments(OverridesParser.create().parse_overrides(params + task), None)
        exclude = set(hydra.job.config.override_dirname.exclude_keys or [])
    except Exception:  # noqa: BLE001 - globs, custom sweepers: no pending list
        return []
    seen = {_norm(r["overrides"], exclude) for r in rows}
    out = []
    for job in (j for batch in batches for j in batch):
        if _norm(job, exclude) in seen:
            continue
        seen.add(_norm(job, exclude))
        out.append({"job": "", "job_num": None, "status": "pending", "history": "pending", "dev_f1": None,
                    "test_f1": None, "steps": None, "resumed_from": None, "wall_s": None, "error": None,
                    "overrides": list(job), "params": dict(split_override(o) for o in job), "_dir": None})
    return out


def collect(sweep_dir: str | Path, pending: bool = True) -> list[dict]:
    """Rows for every job of ``sweep_dir`` (and the grid's pending jobs)."""
    root = Path(sweep_dir)
    rows = [load_job(d, root) for d in find_job_dirs(root)]
    if pending:
        rows += pending_jobs(root, rows)
    return rows


# --------------------------------------------------------------------------- analysis
def _num(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def swept_params(rows: list[dict]) -> list[str]:
    """Override keys whose value differs between jobs (in first-seen order)."""
    keys: list[str] = []
    for row in rows:
        for key in row["params"]:
            if key not in keys:
                keys.append(key)
    return [k for k in keys if len({r["params"].get(k) for r in rows}) > 1]


def common_overrides(rows: list[dict], params: list[str]) -> list[str]:
    """Overrides every job shares (the sweep's fixed settings)."""
    if not rows:
        return []
    first = rows[0]["overrides"]
    return [o for o in first if split_override(o)[0] not in params
            and all(o in r["overrides"] for r in rows)]


def sort_rows(rows: list[dict], objective: str = "dev_f1") -> list[dict]:
    """Best objective first; jobs without a value after, by status then name."""
    def key(row: dict) -> tuple:
        value = _num(row.get(objective))
        has = value is not None and row["status"] in OK_STATUSES
        status_rank = ORDER.index(row["status"]) if row["status"] in ORDER else len(ORDER)
        return (0 if has else 1, -(value or 0.0) if has else 0.0, status_rank, row["job"])

    return sorted(rows, key=key)


def _value_sort_key(value: Any) -> tuple:
    num = _num(value)
    return (0, num, "") if num is not None else (1, 0.0, str(value))


def _bins(values: list[float], n: int = 4) -> list[tuple[float, float]]:
    ordered = sorted(set(values))
    size = max(1, math.ceil(len(ordered) / n))
    return [(ordered[i], ordered[min(i + size, len(ordered)) - 1]) for i in range(0, len(ordered), size)]


def marginal_means(rows: list[dict], params: list[str], objective: str = "dev_f1") -> dict[str, list[dict]]:
    """Per parameter: for each value (or value range, for many numeric values) n, mean and max objective."""
    started = [r for r in rows if r["status"] != "pending"]
    out: dict[str, list[dict]] = {}
    for param in params:
        values = [r["params"].get(param) for r in started]
        nums = [_num(v) for v in values]
        distinct = sorted(set(values), key=_value_sort_key)
        if len(distinct) > _CATEGORICAL_MAX and all(n is not None for n in nums):
            groups = [(f"{lo:g}..{hi:g}", [r for r, x in zip(started, nums) if lo <= x <= hi])
                      for lo, hi in _bins(nums)]
        else:
            groups = [(str(v), [r for r in started if r["params"].get(param) == v]) for v in distinct]
        entries = []
        for label, members in groups:
            done = [r for r in members if r["status"] in OK_STATUSES and _num(r.get(objective)) is not None]
            scores = [_num(r[objective]) for r in done]
            tests = [t for t in (_num(r.get("test_f1")) for r in done) if t is not None]
            entries.append({"value": label, "n": len(done),
                            "failed": sum(r["status"] in ("failed", "interrupted") for r in members),
                            "mean": sum(scores) / len(scores) if scores else None,
                            "max": max(scores) if scores else None,
                            "mean_test_f1": sum(tests) / len(tests) if tests else None})
        out[param] = entries
    return out


def _cwd_of(row: dict) -> str | None:
    if row.get("_dir") is None:
        return None
    try:
        from omegaconf import OmegaConf

        return str(OmegaConf.load(row["_dir"] / ".hydra" / "hydra.yaml").hydra.runtime.cwd)
    except Exception:  # noqa: BLE001
        return None


def reproduce_command(row: dict) -> str:
    """The single-run command that trains this job's configuration again."""
    cmd = "python -m gliner_exp " + " ".join(shlex.quote(o) for o in row["overrides"])
    cwd = _cwd_of(row)
    return f"cd {shlex.quote(cwd)} && {cmd}" if cwd else cmd


def optuna_results(sweep_dir: Path) -> dict | None:
    path = sweep_dir / "optimization_results.yaml"
    if not path.is_file():
        return None
    from omegaconf import OmegaConf

    try:
        return OmegaConf.to_container(OmegaConf.load(path))
    except Exception:  # noqa: BLE001
        return None


# --------------------------------------------------------------------------- curves
def job_curves(job_dir: Path | None, csv_name: str = "metrics.csv") -> dict[str, list[tuple[int, float]]]:
    """``{metric: [(step, value), ...]}`` from the csv logger, else the newest checkpoint's log history."""
    curves: dict[str, list[tuple[int, float]]] = {}
    if job_dir is None:
        return curves
    path = job_dir / csv_name
    if path.is_file():
        try:
            with path.open(newline="") as fh:
                for rec in csv.DictReader(fh):
                    value = _num(rec.get("value"))
                    if value is not None and rec.get("step") not in (None, ""):
                        curves.setdefault(rec["metric"], []).append((int(float(rec["step"])), value))
        except (OSError, ValueError, KeyError):
            curves = {}
    if not curves:
        states = sorted(job_dir.glob("checkpoints/checkpoint-*/trainer_state.json"),
                        key=lambda p: int(p.parent.name.rsplit("-", 1)[-1]) if p.parent.name.rsplit("-", 1)[-1].isdigit() else -1)
        if states:
            try:
                history = json.loads(states[-1].read_text()).get("log_history", [])
            except (OSError, ValueError):
                history = []
            for rec in history:
                for key, value in rec.items():
                    if key not in ("step", "epoch") and _num(value) is not None and "step" in rec:
                        curves.setdefault(key, []).append((int(rec["step"]), float(value)))
    for key in curves:
        curves[key] = sorted(dict(curves[key]).items())  # one value per step, the last logged
    return curves


# --------------------------------------------------------------------------- rendering
def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if not math.isnan(value) else "nan"
    return str(value)


def _short(value: Any, n: int = 100) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def table_columns(params: list[str]) -> list[str]:
    return ["rank", *params, "status", "dev_f1", "test_f1", "steps", "wall_s", "history", "error", "job"]


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(sweep_dir: Path, rows: list[dict], params: list[str], marginals: dict, best: dict | None,
                    objective: str, plots: dict[str, str], optuna: dict | None) -> str:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    lines = [f"# Sweep summary: `{sweep_dir}`", "",
             f"{len(rows)} jobs: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: ORDER.index(kv[0]) if kv[0] in ORDER else 99)),
             f"objective: `{objective}` (higher is better)"]
    common = common_overrides(rows, params)
    if common:
        lines.append("fixed overrides: " + " ".join(f"`{o}`" for o in common))
    lines += ["", "## Jobs", ""]
    cols = table_columns(params)
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "|".join("---" for _ in cols) + "|")
    for i, r in enumerate(rows, 1):
        cells = {"rank": str(i), "status": r["status"], "dev_f1": _fmt(r["dev_f1"]), "test_f1": _fmt(r["test_f1"]),
                 "steps": _fmt(r["steps"]), "wall_s": _fmt(r["wall_s"], 1), "history": r["history"],
                 "error": _short(r["error"], 120) if r["error"] else "", "job": f"`{r['job']}`" if r["job"] else "-"}
        cells.update({p: str(r["params"].get(p, "-")) for p in params})
        lines.append("| " + " | ".join(_md_escape(cells[c]) for c in cols) + " |")
    if marginals:
        lines += ["", "## Marginal means", "",
                  f"Mean and max `{objective}` over the completed jobs with each value (other parameters vary).", ""]
        for param, entries in marginals.items():
            lines += [f"**{param}**", "",
                      f"| value | n | failed | mean {objective} | max {objective} | mean test_f1 |",
                      "|---|---|---|---|---|---|"]
            lines += [f"| {_md_escape(e['value'])} | {e['n']} | {e['failed']} | {_fmt(e['mean'])} | "
                      f"{_fmt(e['max'])} | {_fmt(e['mean_test_f1'])} |" for e in entries]
            lines.append("")
    lines += ["## Best configuration", ""]
    if best is None:
        lines.append("No job has finished yet.")
    else:
        lines += [f"`{objective}` = {_fmt(best.get(objective))} (test F1 {_fmt(best.get('test_f1'))}), "
                  f"job `{best['job']}`", "", "```bash", reproduce_command(best), "```"]
    if optuna:
        lines += ["", "## Optuna", "", "```yaml", json.dumps(optuna, indent=2, default=str), "```"]
    if plots:
        lines += ["", "## Plots", ""]
        lines += [f"![{name}]({Path(path).name})" for name, path in plots.items()]
    return "\n".join(lines) + "\n"


def render_text(rows: list[dict], params: list[str], best: dict | None, objective: str, paths: dict) -> str:
    """The console version: a compact table, the best configuration and its command."""
    cols = [*params, "status", "dev_f1", "test_f1", "steps", "wall_s"]
    data = [[_short(r["params"].get(p, "-"), 24) for p in params]
            + [r["status"], _fmt(r["dev_f1"]), _fmt(r["test_f1"]), _fmt(r["steps"]), _fmt(r["wall_s"], 1)]
            for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in data)) if data else len(c) for i, c in enumerate(cols)]
    out = io.StringIO()
    out.write("  ".join(c.ljust(w) for c, w in zip(cols, widths)) + "\n")
    for row in data:
        out.write("  ".join(v.ljust(w) for v, w in zip(row, widths)) + "\n")
    for r in rows:
        if r["error"]:
            out.write(f"{r['status'].upper()} {r['job']}: {_short(r['error'], 200)}\n")
    if best is not None:
        out.write(f"best {objective} {_fmt(best.get(objective))}: {best['job']}\n")
        out.write(f"  reproduce: {reproduce_command(best)}\n")
    else:
        out.write("no finished job yet\n")
    out.write(f"summary: {paths.get('markdown')}\n")
    return out.getvalue()


def write_csv(path: Path, rows: list[dict], params: list[str]) -> None:
    cols = table_columns(params) + ["resumed_from", "overrides"]
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=cols)
        writer.writeheader()
        for i, r in enumerate(rows, 1):
            rec = {c: r.get(c) for c in cols if c in r}
            rec.update({p: r["params"].get(p) for p in params})
            rec.update(rank=i, overrides=" ".join(r["overrides"]),
                       dev_f1=repr(r["dev_f1"]) if r["dev_f1"] is not None else "",
                       test_f1=repr(r["test_f1"]) if r["test_f1"] is not None else "")
            writer.writerow({c: ("" if rec.get(c) is None else rec[c]) for c in cols})


def write_marginals(path: Path, marginals: dict, objective: str) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["param", "value", "n", "failed", f"mean_{objective}", f"max_{objective}",
                         "mean_test_f1"])
        for param, entries in marginals.items():
            for e in entries:
                writer.writerow([param, e["value"], e["n"], e["failed"], *("" if e[k] is None else e[k]
                                                             for k in ("mean", "max", "mean_test_f1"))])


# --------------------------------------------------------------------------- plots (Agg, no pyplot)
def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _label(row: dict, params: list[str]) -> str:
    text = ",".join(f"{p.split('.')[-1]}={row['params'].get(p, '-')}" for p in params) or row["job"] or "job"
    return _short(text, 48)


def plot_params(path: Path, rows: list[dict], params: list[str], objective: str) -> bool:
    done = [r for r in rows if r["status"] in OK_STATUSES and _num(r.get(objective)) is not None]
    started = [r for r in rows if r["status"] != "pending"]
    if not params or not done:
        return False
    shown = params[:9]
    ncols = min(3, len(shown))
    nrows = math.ceil(len(shown) / ncols)
    fig = _figure(4.2 * ncols, 3.2 * nrows)
    for i, param in enumerate(shown):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        values = sorted({r["params"].get(param) for r in started}, key=_value_sort_key)
        numeric = all(_num(v) is not None for v in values) and len(values) > _CATEGORICAL_MAX
        for metric, color, marker in ((objective, "tab:blue", "o"), ("test_f1", "tab:orange", "s")):
            xs, ys = [], []
            for r in done:
                y = _num(r.get(metric))
                if y is None:
                    continue
                v = r["params"].get(param)
                xs.append(_num(v) if numeric else values.index(v) + (0.08 if metric == "test_f1" else -0.08))
                ys.append(y)
            if ys:
                ax.scatter(xs, ys, color=color, marker=marker, alpha=0.6, s=22,
                           label=metric if i == 0 else None)
            if not numeric and ys:
                for j, v in enumerate(values):
                    vals = [_num(r.get(metric)) for r in done if r["params"].get(param) == v
                            and _num(r.get(metric)) is not None]
                    if vals:
                        mean = sum(vals) / len(vals)
                        off = 0.08 if metric == "test_f1" else -0.08
                        ax.plot([j + off - 0.15, j + off + 0.15], [mean, mean], color=color, lw=2)
        if not numeric:
            failed = [sum(r["params"].get(param) == v and r["status"] in ("failed", "interrupted")
                          for r in started) for v in values]
            ax.set_xticks(range(len(values)))
            ax.set_xticklabels([_short(v, 14) + (f"\n({k} failed)" if k else "") for v, k in zip(values, failed)],
                               rotation=30 if len(values) > 4 else 0, fontsize=8)
            ax.set_xlim(-0.5, len(values) - 0.5)
        ax.set_title(param, fontsize=10)
        ax.set_ylabel("F1")
        ax.grid(alpha=0.3)
    fig.legend(loc="upper right", fontsize=8)
    fig.suptitle(f"F1 per setting (points: jobs, bars: means); {len(done)} finished jobs", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.savefig(path)
    return True


def plot_curves(path: Path, rows: list[dict], params: list[str], max_legend: int = 12) -> bool:
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


# --------------------------------------------------------------------------- entry points
def write_summary(sweep_dir: str | Path, out_dir: str | Path | None = None, objective: str = "dev_f1",
                  plots: bool = True) -> dict:
    """Build the summary of ``sweep_dir``; returns rows, best row, paths and the console text."""
    sweep_dir = Path(sweep_dir)
    out = Path(out_dir) if out_dir is not None else sweep_dir / "summary"
    out.mkdir(parents=True, exist_ok=True)
    rows = sort_rows(collect(sweep_dir), objective)
    params = swept_params(rows)
    marginals = marginal_means(rows, params, objective)
    best = next((r for r in rows if r["status"] in OK_STATUSES and _num(r.get(objective)) is not None), None)
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
    public = [{k: v for k, v in r.items() if k != "_dir"} for r in rows]
    summary = {"sweep_dir": str(sweep_dir), "objective": objective, "params": params, "jobs": public,
               "marginals": marginals, "optuna": optuna,
               "best": ({k: v for k, v in best.items() if k != "_dir"} | {"command": reproduce_command(best)})
               if best else None}
    Path(paths["json"]).write_text(json.dumps(summary, indent=2, default=str) + "\n")
    text = render_text(rows, params, best, objective, paths)
    return {"rows": rows, "params": params, "best": best, "marginals": marginals, "paths": paths, "text": text}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gliner_exp.sweeps.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep_dir", help="a multirun's sweep directory (hydra.sweep.dir)")
    parser.add_argument("--out", help="where to write the summary (default: <sweep dir>/summary)")
    parser.add_argument("--objective", default="dev_f1", help="metric to rank jobs by (default: dev_f1)")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    args = parser.parse_args(argv)
    if not Path(args.sweep_dir).is_dir():
        print(f"gliner_exp.sweeps.report: {args.sweep_dir}: not a directory", file=sys.stderr)
        return 2
    result = write_summary(args.sweep_dir, args.out, args.objective, plots=not args.no_plots)
    if not result["rows"]:
        print(f"gliner_exp.sweeps.report: no jobs found under {args.sweep_dir}", file=sys.stderr)
        return 1
    print(result["text"], end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
