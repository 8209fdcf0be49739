"""What a sweep's rows say: which parameters were swept, the ranking, marginal means, the best job."""

from __future__ import annotations

import math
import statistics

from gliner_exp.sweeps.report.values import as_number, split_override, value_sort_key

#: Statuses of a job whose objective counts.
OK_STATUSES = ("ran", "resumed", "skipped")
#: How statuses are ordered among jobs without an objective (and in the counts line).
ORDER = ("ran", "resumed", "skipped", "running", "interrupted", "failed", "dry_run", "pending", "unknown")
#: A numeric parameter with more distinct values than this is binned into ranges.
CATEGORICAL_MAX = 8
#: The override whose values are repeats of one setting, not a parameter to tune.
SEED_KEY = "run.seed"


def zero_shot_suites(rows: list[dict]) -> list[str]:
    """The ``eval.extra`` suites any job was scored on (``row["zero_shot"]``), in first-seen order."""
    return list(dict.fromkeys(name for row in rows for name in row.get("zero_shot") or {}))


def zero_shot_column(suite: str) -> str:
    """The report's column for a zero-shot suite: ``zs_<suite>_f1`` (beside ``dev_f1`` and ``test_f1``)."""
    return f"zs_{suite}_f1"


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
        value = as_number(row.get(objective))
        has = value is not None and row["status"] in OK_STATUSES
        status_rank = ORDER.index(row["status"]) if row["status"] in ORDER else len(ORDER)
        return (0 if has else 1, -(value or 0.0) if has else 0.0, status_rank, row["job"])

    return sorted(rows, key=key)


def finished(rows: list[dict], objective: str = "dev_f1") -> list[dict]:
    """The rows of jobs that completed with a value of ``objective``, in the given order."""
    return [r for r in rows if r["status"] in OK_STATUSES and as_number(r.get(objective)) is not None]


def best_row(rows: list[dict], objective: str = "dev_f1") -> dict | None:
    """The first finished row of ``rows`` (sorted by :func:`sort_rows`: the best one), or None."""
    return next(iter(finished(rows, objective)), None)


def _bins(values: list[float], n: int = 4) -> list[tuple[float, float]]:
    ordered = sorted(set(values))
    size = max(1, math.ceil(len(ordered) / n))
    return [(ordered[i], ordered[min(i + size, len(ordered)) - 1]) for i in range(0, len(ordered), size)]


def _groups(started: list[dict], param: str) -> list[tuple[str, list[dict]]]:
    values = [r["params"].get(param) for r in started]
    nums = [as_number(v) for v in values]
    distinct = sorted(set(values), key=value_sort_key)
    if len(distinct) > CATEGORICAL_MAX and all(n is not None for n in nums):
        return [(f"{lo:g}..{hi:g}", [r for r, x in zip(started, nums) if lo <= x <= hi])
                for lo, hi in _bins(nums)]
    return [(str(v), [r for r in started if r["params"].get(param) == v]) for v in distinct]


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _std(values: list[float]) -> float | None:
    # the sample std needs two values; with one seed there is no spread to report
    return statistics.stdev(values) if len(values) > 1 else None


def seeds_repeated(params: list[str]) -> bool:
    """True when the sweep varies :data:`SEED_KEY`: its jobs are then repeats of fewer settings."""
    return SEED_KEY in params


def setting_params(params: list[str]) -> list[str]:
    """The swept parameters that define a setting: all but :data:`SEED_KEY`."""
    return [p for p in params if p != SEED_KEY]


def settings(rows: list[dict], params: list[str], objective: str = "dev_f1") -> list[dict]:
    """Group jobs that differ only in :data:`SEED_KEY` into settings, best mean ``objective`` first.

    ``params`` are the sweep's swept parameters (:func:`swept_params`). Each setting holds its
    ``params`` (without the seed), the ``seeds`` of its finished jobs, ``n`` (how many), ``mean``
    and sample ``std`` of ``objective`` and of ``test_f1`` (``std`` is None below two values),
    ``zero_shot`` (per suite of :func:`zero_shot_suites`: ``n``, ``mean``, ``std`` of its F1),
    ``jobs`` (all its rows, best first), ``failed`` and ``not_finished`` counts. Settings without a
    finished job come last.
    """
    suites = zero_shot_suites(rows)
    keys = setting_params(params)
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row["params"].get(k) for k in keys), []).append(row)
    out = []
    for values, members in groups.items():
        members = sort_rows(members, objective)
        done = finished(members, objective)
        scores = [as_number(r[objective]) for r in done]
        tests = [t for t in (as_number(r.get("test_f1")) for r in done) if t is not None]
        zero_shot = {}
        for suite in suites:
            found = [v for v in (as_number((r.get("zero_shot") or {}).get(suite)) for r in done) if v is not None]
            zero_shot[suite] = {"n": len(found), "mean": _mean(found), "std": _std(found)}
        out.append({"params": dict(zip(keys, values)),
                    "seeds": sorted((r["params"].get(SEED_KEY) for r in done), key=value_sort_key),
                    "n": len(scores), "mean": _mean(scores), "std": _std(scores),
                    "n_test_f1": len(tests), "mean_test_f1": _mean(tests), "std_test_f1": _std(tests),
                    "zero_shot": zero_shot,
                    "failed": sum(r["status"] in ("failed", "interrupted") for r in members),
                    "not_finished": len(members) - len(done),
                    "jobs": members})
    # ties keep first-seen order (sorted() is stable), i.e. the order of each setting's best job
    return sorted(out, key=lambda s: (s["mean"] is None, -(s["mean"] or 0.0)))


def best_setting(groups: list[dict]) -> dict | None:
    """The setting of :func:`settings` (sorted: best mean first) with a finished job, or None."""
    return next((s for s in groups if s["mean"] is not None), None)


def marginal_means(rows: list[dict], params: list[str], objective: str = "dev_f1") -> dict[str, list[dict]]:
    """Per parameter: for each value (or value range, for many numeric values) n, mean and max objective.

    When the sweep repeats seeds (:data:`SEED_KEY` among ``params``), the seed is not listed
    as a parameter, and a value's mean and max are taken over the *settings* with that value
    (each setting's mean over its seeds), so a setting with more finished seeds does not weigh
    more, and ``max`` is the best setting's mean rather than one lucky seed. ``n`` still
    counts finished jobs.
    """
    repeated = seeds_repeated(params)
    started = [r for r in rows if r["status"] != "pending"]
    out: dict[str, list[dict]] = {}
    for param in setting_params(params) if repeated else params:
        entries = []
        for label, members in _groups(started, param):
            done = finished(members, objective)
            if repeated:
                groups = [s for s in settings(members, params, objective) if s["mean"] is not None]
                scores = [s["mean"] for s in groups]
                tests = [s["mean_test_f1"] for s in groups if s["mean_test_f1"] is not None]
            else:
                scores = [as_number(r[objective]) for r in done]
                tests = [t for t in (as_number(r.get("test_f1")) for r in done) if t is not None]
            entries.append({"value": label, "n": len(done),
                            "failed": sum(r["status"] in ("failed", "interrupted") for r in members),
                            "mean": _mean(scores),
                            "max": max(scores) if scores else None,
                            "mean_test_f1": _mean(tests)})
        out[param] = entries
    return out


def status_counts(rows: list[dict]) -> list[tuple[str, int]]:
    """``[(status, number of jobs)]`` in :data:`ORDER` (unknown statuses last)."""
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return sorted(counts.items(), key=lambda kv: ORDER.index(kv[0]) if kv[0] in ORDER else 99)
