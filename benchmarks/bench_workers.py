"""Benchmark-run throughput with 1, 2 and 4 workers, side by side (alternating rounds).

    python benchmarks/bench_workers.py [--suite NAV,ESC] [--tiers 1,2] [--episodes 3] [--rounds 2]

Each round runs the same episodes (oracle agent, fresh run directory, one engine per worker)
with every worker count in turn; the figures are episodes per second of wall time including
process and engine start-up, as a user sees it, and the speed-up over one worker (median of
the rounds). Only ratios measured in one run mean anything on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from embodied.bench.runner import RunSpec, run
from embodied.bench.suites import get_suite


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", default="NAV,ESC")
    p.add_argument("--tiers", default="1,2,3")
    p.add_argument("--episodes", type=int, default=2)
    p.add_argument("--workers", default="1,2,4")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--agent", default="oracle")
    a = p.parse_args()
    suites = [get_suite(s) for s in a.suite.split(",")]
    counts = [int(w) for w in a.workers.split(",")]
    times: dict[int, list[float]] = {w: [] for w in counts}
    n = 0
    root = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    try:
        for r in range(a.rounds):
            order = counts if r % 2 == 0 else counts[::-1]
            for w in order:
                out = root / f"r{r}_w{w}"
                spec = RunSpec(
                    suites,
                    a.agent,
                    out,
                    tiers=a.tiers.split(","),
                    episodes=a.episodes,
                    workers=w,
                    size=a.size,
                    frames="gif",
                )
                n = len(spec.episode_list())
                t = time.perf_counter()
                m = run(spec)
                times[w].append(time.perf_counter() - t)
                assert m["overall"]["episodes"] == n
                print(f"round {r + 1}: {w} worker(s): {n} episodes in {times[w][-1]:.1f} s", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    base = statistics.median(times[counts[0]])
    print(
        f"\n{n} episodes ({a.agent}, {a.suite} tiers {a.tiers}, {a.size}px), {os.cpu_count()} CPUs, median of {a.rounds} rounds"
    )
    print(f"{'workers':>8} {'seconds':>8} {'episodes/s':>11} {'speed-up':>9}")
    for w in counts:
        med = statistics.median(times[w])
        print(f"{w:>8} {med:>8.1f} {n / med:>11.2f} {base / med:>8.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
