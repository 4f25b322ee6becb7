"""Metrics over episodes: mean and standard error per suite and tier, leaderboards, paired differences.

Per episode (one result line): ``success`` (0/1), ``progress`` (checkpoints reached, 0..1),
``spl`` (success weighted by the oracle's steps over the agent's), ``steps``, rates per agent
action (``invalid_rate``, ``format_error_rate``, ``failed_interaction_rate`` per interaction,
``loop_rate``: actions after which the agent's pose and the world repeat an earlier state),
``tokens``, ``images``, ``cost`` (USD) and ``latency`` (s per action). Aggregates are means over
episodes (each seed is one episode) with the standard error ``sd / sqrt(n)``; per success
figures divide the totals by the number of successes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

METRICS = (
    "success",
    "progress",
    "spl",
    "steps",
    "invalid_rate",
    "format_error_rate",
    "failed_interaction_rate",
    "loop_rate",
    "tokens",
    "images",
    "cost",
    "latency",
)


def mean_se(xs: list[float]) -> tuple[float, float]:
    n = len(xs)
    if n == 0:
        return float("nan"), float("nan")
    m = sum(xs) / n
    if n < 2:
        return m, 0.0
    var = sum((x - m) ** 2 for x in xs) / (n - 1)
    return m, math.sqrt(var / n)


def _group(results: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"episodes": len(results)}
    for k in METRICS:
        m, se = mean_se([float(r.get(k) or 0) for r in results])
        out[k] = {"mean": round(m, 6), "se": round(se, 6), "n": len(results)}
    wins = sum(1 for r in results if r.get("success"))
    out["successes"] = wins
    for k in ("tokens", "images", "cost"):
        total = sum(float(r.get(k) or 0) for r in results)
        out[f"{k}_total"] = round(total, 6)
        out[f"{k}_per_success"] = round(total / wins, 6) if wins else None
    out["retries"] = sum(int(r.get("retries") or 0) for r in results)
    return out


def aggregate(results: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"overall": {...}, "suites": {SUITE: {"overall": {...}, "version": v, "tiers": {T: {...}}}}}``."""
    by_suite: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        by_suite[r["suite"]].append(r)
    suites = {}
    for s, rs in sorted(by_suite.items()):
        tiers: dict[str, list[dict]] = defaultdict(list)
        for r in rs:
            tiers[str(r["tier"])].append(r)
        suites[s] = {
            "version": sorted({r.get("version") for r in rs}),
            "overall": _group(rs),
            "tiers": {t: _group(v) for t, v in sorted(tiers.items(), key=lambda kv: _tier_order(kv[0]))},
        }
    agents = sorted({r.get("agent") for r in results})
    return {"agent": agents[0] if len(agents) == 1 else agents, "overall": _group(results), "suites": suites}


def _tier_order(t: str):
    try:
        return (0, float(t), t)
    except ValueError:
        return (1, 0.0, t)


def paired(a: list[dict[str, Any]], b: list[dict[str, Any]], metric: str = "success") -> dict[str, Any]:
    """Mean of ``b - a`` over the episodes both runs finished (same suite/tier/seed and suite
    version: a version bump changes episodes or budgets), with its s.e."""
    ka = {(r["key"], r.get("version")): r for r in a}
    common = [r for r in b if (r["key"], r.get("version")) in ka]
    diffs = [
        float(r.get(metric) or 0) - float(ka[r["key"], r.get("version")].get(metric) or 0) for r in common
    ]
    m, se = mean_se(diffs)
    return {"metric": metric, "n": len(diffs), "mean": m, "se": se}


def fmt(
    cell: dict[str, float] | None, pct: bool = False, digits: int = 2, sign: bool = False, unit: str = ""
) -> str:
    """``mean ± se`` as text (percent when ``pct``). One episode has no spread, so no interval:
    just ``mean`` (every table and line that shows these also shows n)."""
    if not cell or cell.get("mean") is None or math.isnan(cell["mean"]):
        return "-"
    k = 100.0 if pct else 1.0
    d = 1 if pct else digits
    mean = f"{cell['mean'] * k:{'+' if sign else ''}.{d}f}"
    if cell.get("n") == 1:
        return f"{mean}{unit}"
    return f"{mean} ± {cell['se'] * k:.{d}f}{unit}"
