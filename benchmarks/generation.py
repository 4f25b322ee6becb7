"""Rule-based generation at scale: validity over many seeds, throughput, difficulty per knob setting, engine replay.

    python benchmarks/generation.py sweep --n 1000 --out gen_sweep.json      # seeds across the knob ranges
    taskset -c 0 python benchmarks/generation.py throughput --each           # scenes/s per knob setting, one core
    python benchmarks/generation.py table gen_sweep.json                      # its difficulty table again
    python benchmarks/generation.py replay --n 50                             # oracle replay in the engine

``sweep`` draws each seed's knobs from the seed (uniform over the ranges the generator accepts),
generates and validates (schema, geometry, clues, solvable, shortcuts; the plan is replayed in
the engine by ``replay`` instead of the physical walk), and reports failures, time per scene and
the difficulty (score, tier) per value of each knob. Figures are for this machine as loaded.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict


def knobs_for(seed: int) -> dict:
    from embodied.procedural.rules import sample_knobs

    return sample_knobs(seed)


def _log(out: str | None, row: dict) -> None:
    """One line per seed as it goes (``OUT.jsonl``), so an interrupted sweep keeps what it did."""
    if out:
        with open(out + "l", "a") as f:
            f.write(json.dumps(row) + "\n")


def sweep(n: int, out: str | None, start: int = 0) -> int:
    from embodied import procedural

    rows, failures = [], []
    t0 = time.perf_counter()
    for seed in range(start, start + n):
        k = knobs_for(seed)
        t = time.perf_counter()
        try:
            spec = procedural.generate(seed, **k)
        except Exception as e:  # report every failure with its seed and knobs
            failures.append({"seed": seed, "knobs": k, "error": str(e)[:500]})
            _log(out, failures[-1])
            continue
        rows.append(
            {
                "seed": seed,
                "knobs": k,
                "s": time.perf_counter() - t,
                "difficulty": spec.metadata["difficulty"],
            }
        )
        _log(out, rows[-1])
        if len(rows) % 50 == 0:
            print(
                f"{len(rows)} ok, {len(failures)} failed, {time.perf_counter() - t0:.0f} s", file=sys.stderr
            )
    total = time.perf_counter() - t0
    by = defaultdict(lambda: defaultdict(list))
    for r in rows:
        for name, v in r["knobs"].items():
            by[name][v].append(r["difficulty"])
    table = {
        name: {
            str(v): {
                "n": len(ds),
                "score_mean": round(statistics.mean(d["score"] for d in ds), 2),
                "score_min": min(d["score"] for d in ds),
                "score_max": max(d["score"] for d in ds),
                "tiers": {t: sum(d["tier"] == t for d in ds) for t in (1, 2, 3, 4)},
                "plan_mean": round(statistics.mean(d["plan"] for d in ds), 1),
            }
            for v, ds in sorted(vals.items())
        }
        for name, vals in by.items()
    }
    secs = sorted(r["s"] for r in rows)
    summary = {
        "seeds": n,
        "valid": len(rows),
        "failed": failures,
        "seconds_total": round(total, 1),
        "scene_s_median": round(secs[len(secs) // 2], 3) if secs else None,
        "scene_s_p95": round(secs[int(len(secs) * 0.95)], 3) if secs else None,
        "difficulty_by_knob": table,
    }
    if out:
        with open(out, "w") as f:
            json.dump({"summary": summary, "rows": rows}, f, indent=1)
    print(json.dumps({k: v for k, v in summary.items() if k != "difficulty_by_knob"}, indent=1))
    print_table(table)
    return 0 if not failures else 1


def print_table(table: dict) -> None:
    """The difficulty per knob value as a Markdown table (for the docs and the closing note)."""
    print("\n| knob | value | scenes | score mean (min-max) | tiers 1 / 2 / 3 / 4 | plan mean |")
    print("|---|---|---|---|---|---|")
    for name, vals in table.items():
        for v, d in vals.items():
            tiers = " / ".join(str(d["tiers"][t]) for t in (1, 2, 3, 4))
            print(
                f"| {name} | {v} | {d['n']} | {d['score_mean']} ({d['score_min']}-{d['score_max']}) "
                f"| {tiers} | {d['plan_mean']} |"
            )


def table_from(path: str) -> int:
    """Print the table of a saved sweep (``sweep --out``) again."""
    with open(path) as f:
        summary = json.load(f)["summary"]
    table = {
        name: {v: {**d, "tiers": {int(t): c for t, c in d["tiers"].items()}} for v, d in vals.items()}
        for name, vals in summary["difficulty_by_knob"].items()
    }
    print(f"{summary['valid']} of {summary['seeds']} seeds valid")
    print_table(table)
    return 0


def _rate(seconds: float, knobs_of) -> tuple[int, float, float]:
    """Generate + validate scenes for ``seconds`` of wall time: (scenes, wall s, CPU s)."""
    from embodied import procedural

    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds or n == 0:
        procedural.generate(n, **knobs_of(n))
        n += 1
    return n, time.perf_counter() - t0, time.process_time() - c0


def throughput(seconds: float, knobs: dict, each: bool) -> int:
    """Scenes per CPU-second and per wall second (this process, one core), generation plus
    validation: at the given knobs, then (``each``) at every value of every knob with the others
    at their defaults, and over random knob combinations across the ranges (the sweep's)."""
    from embodied.procedural.rules import DEFAULTS, KNOBS, check_knobs, themes

    rows = [("given" if knobs else "defaults", lambda _n: knobs)]
    if each:
        for name, (lo, hi) in KNOBS.items():
            for v in range(lo, hi + 1):
                try:
                    check_knobs({name: v})
                except Exception:
                    continue  # (e.g. branching x depth over the limit at the default depth)
                rows.append((f"{name}={v}", lambda _n, name=name, v=v: {name: v}))
        for t in themes():
            if t != DEFAULTS["theme"]:
                rows.append((f"theme={t}", lambda _n, t=t: {"theme": t}))
        rows.append(("across the ranges (sweep knobs)", knobs_for))
    from embodied import procedural

    procedural.generate(0)  # imports and first-use caches are not part of any setting's rate
    print(f"{'setting':34s} {'scenes':>7s} {'per CPU-s':>10s} {'per wall-s':>10s}")
    worst = None
    for label, ko in rows:
        n, dt, cpu = _rate(seconds, ko)
        worst = n / cpu if worst is None else min(worst, n / cpu)
        print(f"{label:34s} {n:7d} {n / cpu:10.1f} {n / dt:10.1f}", flush=True)
    print(
        f"lowest: {worst:.1f} scenes per CPU-second (generation + validation; run under taskset -c 0 for one core)"
    )
    if each:
        print(
            f"target: at least 100 scenes per CPU-second at every setting: {'met' if worst >= 100 else 'NOT met'}"
        )
    return 0


def replay(n: int, start: int) -> int:
    """Oracle replay in one engine for ``n`` sweep seeds; prints accepted count and time per scene."""
    from embodied.procedural.accept import accept

    from embodied import procedural
    from embodied.engine import launch

    ok, times, bad = 0, [], []
    with launch() as engine:
        for seed in range(start, start + n):
            spec = procedural.generate(seed, **knobs_for(seed))
            t = time.perf_counter()
            acc = accept(spec, engine)
            times.append(time.perf_counter() - t)
            ok += acc.ok
            if not acc.ok:
                bad.append((seed, acc.reason))
            print(
                f"seed {seed}: {'ok' if acc.ok else acc.reason} ({acc.steps} steps, {times[-1]:.1f} s)",
                file=sys.stderr,
            )
    print(
        f"{ok}/{n} replayed to the goal by the oracle in the engine; median {statistics.median(times):.1f} s/scene"
    )
    for b in bad:
        print("FAILED", *b)
    return 0 if ok == n else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sweep")
    s.add_argument("--n", type=int, default=1000)
    s.add_argument("--start", type=int, default=0)
    s.add_argument("--out")
    t = sub.add_parser("throughput")
    t.add_argument("--seconds", type=float, default=3, help="per setting")
    t.add_argument("--each", action="store_true", help="every value of every knob, and random combinations")
    for name in ("rooms", "depth", "branching", "decoys", "indirection", "agents"):
        t.add_argument(f"--{name}", type=int)
    t.add_argument("--theme")
    tb = sub.add_parser("table")
    tb.add_argument("sweep_json")
    r = sub.add_parser("replay")
    r.add_argument("--n", type=int, default=50)
    r.add_argument("--start", type=int, default=0)
    a = p.parse_args()
    if a.cmd == "sweep":
        return sweep(a.n, a.out, a.start)
    if a.cmd == "table":
        return table_from(a.sweep_json)
    if a.cmd == "throughput":
        names = ("rooms", "depth", "branching", "decoys", "indirection", "agents", "theme")
        return throughput(a.seconds, {k: getattr(a, k) for k in names if getattr(a, k) is not None}, a.each)
    return replay(a.n, a.start)


if __name__ == "__main__":
    raise SystemExit(main())
