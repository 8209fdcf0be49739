"""What a sweep's rows say: which parameters were swept, the ranking, marginal means, the best job."""

from __future__ import annotations

import math

from gliner_exp.sweeps.report.values import as_number, split_override, value_sort_key

#: Statuses of a job whose objective counts.
OK_STATUSES = ("ran", "resumed", "skipped")
#: How statuses are ordered among jobs without an objective (and in the counts line).
ORDER = ("ran", "resumed", "skipped", "running", "interrupted", "failed", "dry_run", "pending", "unknown")
#: A numeric parameter with more distinct values than this is binned into ranges.
CATEGORICAL_MAX = 8


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


def marginal_means(rows: list[dict], params: list[str], objective: str = "dev_f1") -> dict[str, list[dict]]:
    """Per parameter: for each value (or value range, for many numeric values) n, mean and max objective."""
    started = [r for r in rows if r["status"] != "pending"]
    out: dict[str, list[dict]] = {}
    for param in params:
        entries = []
        for label, members in _groups(started, param):
            done = finished(members, objective)
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
