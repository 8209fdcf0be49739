"""Read a sweep directory into rows: one per job, started or still pending, plus its curves."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

from gliner_exp.config.experiment_keys import override_exclude_keys
from gliner_exp.sweeps.job_store import complete_metrics, effective_status, find_job_dirs, last_activity, read_status
from gliner_exp.sweeps.report.values import as_number, split_override


def _load_yaml_list(path: Path) -> list[str] | None:
    from omegaconf import OmegaConf

    try:
        return [str(x) for x in OmegaConf.to_container(OmegaConf.load(path))]
    except Exception:  # noqa: BLE001 - a half-written file on a running sweep
        return None


def zero_shot_f1(metrics: dict | None) -> dict:
    """``{suite: micro F1}`` of a run's ``eval.extra`` suites (``metrics.json``: ``zero_shot``); {} without any."""
    suites = (metrics or {}).get("zero_shot")
    if not isinstance(suites, dict):
        return {}
    return {name: entry.get("f1") for name, entry in suites.items() if isinstance(entry, dict)}


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
        end = time.time() if state == "running" else last_activity(job_dir)
        wall = float(wall or 0.0) - float(status.get("wall_time_s") or 0.0) + max(0.0, end - status["started_ts"])
    history = [h.get("status") for h in status.get("history", []) if h.get("status")]
    return {
        "job": job_dir.relative_to(sweep_dir).as_posix(),
        "job_num": status.get("job_num"),
        "status": state,
        "history": ">".join([*history, state]),
        "dev_f1": source.get("dev_f1") if source else None,
        "test_f1": source.get("test_f1") if source else None,
        "zero_shot": zero_shot_f1(metrics),
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


def _exclude_keys(hydra) -> set[str]:
    """The keys Hydra left out of the job dir names of the sweep saved as ``hydra``."""
    from omegaconf import OmegaConf

    node = hydra.job.config.override_dirname
    # Today's configs hold the ${gx_non_experiment_keys:} interpolation, whose resolver a
    # standalone report has not registered: the list comes from the schema it stands for.
    if OmegaConf.is_interpolation(node, "exclude_keys"):
        return set(override_exclude_keys())
    return set(node.exclude_keys or [])  # an older sweep's explicit list


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
        exclude = _exclude_keys(hydra)
    except Exception:  # noqa: BLE001 - globs, custom sweepers: no pending list
        return []
    seen = {_norm(r["overrides"], exclude) for r in rows}
    out = []
    for job in (j for batch in batches for j in batch):
        if _norm(job, exclude) in seen:
            continue
        seen.add(_norm(job, exclude))
        out.append({"job": "", "job_num": None, "status": "pending", "history": "pending", "dev_f1": None,
                    "test_f1": None, "zero_shot": {}, "steps": None, "resumed_from": None, "wall_s": None,
                    "error": None, "overrides": list(job), "params": dict(split_override(o) for o in job),
                    "_dir": None})
    return out


def collect(sweep_dir: str | Path, pending: bool = True) -> list[dict]:
    """Rows for every job of ``sweep_dir`` (and the grid's pending jobs)."""
    root = Path(sweep_dir)
    rows = [load_job(d, root) for d in find_job_dirs(root)]
    if pending:
        rows += pending_jobs(root, rows)
    return rows


def job_cwd(job_dir: Path | None) -> str | None:
    """The directory the job was launched from (``.hydra/hydra.yaml``), if known."""
    if job_dir is None:
        return None
    try:
        from omegaconf import OmegaConf

        return str(OmegaConf.load(job_dir / ".hydra" / "hydra.yaml").hydra.runtime.cwd)
    except Exception:  # noqa: BLE001
        return None


def optuna_results(sweep_dir: Path) -> dict | None:
    """The Optuna sweeper's ``optimization_results.yaml`` (best params and value), if there is one."""
    path = sweep_dir / "optimization_results.yaml"
    if not path.is_file():
        return None
    from omegaconf import OmegaConf

    try:
        return OmegaConf.to_container(OmegaConf.load(path))
    except Exception:  # noqa: BLE001
        return None


def _checkpoint_step(state_file: Path) -> int:
    tail = state_file.parent.name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else -1


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
                    value = as_number(rec.get("value"))
                    if value is not None and rec.get("step") not in (None, ""):
                        curves.setdefault(rec["metric"], []).append((int(float(rec["step"])), value))
        except (OSError, ValueError, KeyError):
            curves = {}
    if not curves:
        states = sorted(job_dir.glob("checkpoints/checkpoint-*/trainer_state.json"), key=_checkpoint_step)
        if states:
            try:
                history = json.loads(states[-1].read_text()).get("log_history", [])
            except (OSError, ValueError):
                history = []
            for rec in history:
                for key, value in rec.items():
                    if key not in ("step", "epoch") and as_number(value) is not None and "step" in rec:
                        curves.setdefault(key, []).append((int(rec["step"]), float(value)))
    for key in curves:
        curves[key] = sorted(dict(curves[key]).items())  # one value per step, the last logged
    return curves
