"""Leaderboard rows and paired differences over run directories (shared by compare and report)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .metrics import METRICS, aggregate, fmt, paired
from .rundir import RunDir
from .suites import SuiteError

PCT = {"success", "invalid_rate", "format_error_rate", "failed_interaction_rate", "loop_rate"}
COLS = tuple(m for m in METRICS if m != "images")  # the leaderboard columns, in METRICS order
LABELS = {
    "success": "success %",
    "progress": "progress",
    "spl": "SPL",
    "steps": "steps",
    "invalid_rate": "invalid %",
    "format_error_rate": "format err %",
    "failed_interaction_rate": "failed int. %",
    "loop_rate": "loops %",
    "tokens": "tokens",
    "cost": "cost $",
    "latency": "latency s",
}
HEADERS = ("run", "agent", "suite", "tier", "n", *(LABELS[c] for c in COLS))  # one per cell of a row


def load_runs(dirs: list[str]) -> list[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    """(label, config, results) per run directory; raises SuiteError for a non-run directory."""
    out = []
    labels = set()
    for d in dirs:
        rd = RunDir(d)
        if not Path(d).is_dir():
            raise SuiteError(f"{d}: no such run directory")
        cfg = rd.config()
        label = Path(d).name
        if label in labels:
            label = str(d)
        labels.add(label)
        out.append((label, cfg, rd.results()))
    return out


def _cells(label: str, agent: str, suite: str, tier: str, g: dict[str, Any]) -> list[str]:
    vals = []
    for c in COLS:
        if c in PCT:
            vals.append(fmt(g[c], pct=True))
        elif c == "cost":
            vals.append(fmt(g[c], digits=4))
        elif c == "latency":
            vals.append(fmt(g[c], digits=3))
        else:
            vals.append(fmt(g[c], digits=2))
    return [label, agent, suite, tier, str(g["episodes"]), *vals]


NOT_METRICS = {"seed", "version", "agents", "tier"}  # numbers in a result that are not outcomes


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, str)


def leaderboard(dirs: list[str], metric: str = "success") -> dict[str, Any]:
    runs = load_runs(dirs)
    numeric = sorted({k for _, _, results in runs for r in results for k, v in r.items() if _is_number(v)})
    if numeric and metric not in numeric:  # was: a difference of +0.0 everywhere
        from .suites import SuiteError

        raise SuiteError(
            f"--metric {metric!r} is not in these runs' results; choose from {', '.join(numeric)}"
        )
    rows, paired_rows = [], []
    for label, cfg, results in runs:
        m = aggregate(results)
        for suite, s in m["suites"].items():
            v = "/".join(f"v{x}" for x in s["version"])
            rows.append(
                {
                    "run": label,
                    "suite": suite,
                    "tier": "all",
                    "metrics": s["overall"],
                    "cells": _cells(label, cfg["agent"], f"{suite} {v}", "all", s["overall"]),
                }
            )
            for t, g in s["tiers"].items():
                rows.append(
                    {
                        "run": label,
                        "suite": suite,
                        "tier": t,
                        "metrics": g,
                        "cells": _cells(label, cfg["agent"], f"{suite} {v}", t, g),
                    }
                )
    if len(runs) > 1:
        base_label, _, base = runs[0]
        for label, _, results in runs[1:]:
            groups: dict[tuple[str, str], tuple[list, list]] = {}
            for r in results:
                groups.setdefault((r["suite"], "all"), ([], []))[1].append(r)
                groups.setdefault((r["suite"], str(r["tier"])), ([], []))[1].append(r)
            for r in base:
                for k in ((r["suite"], "all"), (r["suite"], str(r["tier"]))):
                    if k in groups:
                        groups[k][0].append(r)
            for (suite, tier), (a, b) in sorted(groups.items()):
                d = paired(a, b, metric)
                if d["n"] == 0:
                    continue
                paired_rows.append(
                    {
                        "run": label,
                        "vs": base_label,
                        "suite": suite,
                        "tier": tier,
                        "n": d["n"],
                        "mean": d["mean"],
                        "se": d["se"],
                        "text": fmt(
                            d, pct=metric in PCT, digits=1, sign=True, unit=" pts" if metric in PCT else ""
                        ),
                    }
                )
    return {
        "rows": rows,
        "paired": paired_rows,
        "runs": [{"label": r[0], "agent": r[1]["agent"]} for r in runs],
    }
