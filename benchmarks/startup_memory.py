"""Engine start time, ``make`` time, and engine/client memory over a long run.

    python benchmarks/startup_memory.py [--task escape/key-door] [--starts 5] [--steps 20000] [--size 224]

- engine start: ``embodied.launch()`` until the engine has answered ``hello`` (median of ``--starts``);
- make: ``embodied.make(task)`` (engine start, scene solved and built) and the first ``reset``;
- memory: the engine's and this process's resident set size (VmRSS) every 1,000 random
  navigation steps (resetting at episode ends), and how much each grew after the first 1,000.

Python's bytecode of the package is compiled first (``compileall``, as ``pip install`` does), so
an environment with ``PYTHONDONTWRITEBYTECODE=1`` does not time the compilation of every module
at every start. The last lines check the targets (docs/performance.md), one per line: engine
start <= 0.5 s, ``make`` <= 0.6 s, engine RSS <= 150 MB, and flat (at most +2 MB from the
5,000th step to the last).
"""

from __future__ import annotations

import argparse
import compileall
import os
import random
import statistics
import sys
import time

NAV = ("MoveAhead", "MoveBack", "MoveLeft", "MoveRight", "RotateLeft", "RotateRight", "LookUp", "LookDown")


def rss_mb(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="escape/key-door")
    p.add_argument("--starts", type=int, default=5)
    p.add_argument("--steps", type=int, default=20000)
    p.add_argument("--size", type=int, default=224)
    args = p.parse_args(argv)
    import embodied.bridges
    import embodied.procedural

    import embodied

    for pkg in (embodied, embodied.bridges, embodied.procedural):  # (as pip install does)
        compileall.compile_dir(pkg.__path__[0], quiet=1)
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("PYTHONDONTWRITEBYTECODE is set: the package's bytecode was compiled once up front")
    t0 = time.perf_counter()

    starts, makes, resets, start_cpu = [], [], [], []
    for _ in range(args.starts):
        t = time.perf_counter()
        eng = embodied.launch()
        starts.append(time.perf_counter() - t)
        start_cpu.append(cpu_s(eng.process.pid))
        eng.close()
        t = time.perf_counter()
        env = embodied.make(args.task, width=args.size, height=args.size)
        makes.append(time.perf_counter() - t)
        t = time.perf_counter()
        env.reset(seed=0)
        resets.append(time.perf_counter() - t)
        env.close()
    print(f"import embodied + first launch/make loop: {time.perf_counter() - t0:.1f} s in all")
    print(
        f"engine start (launch, hello answered): median {statistics.median(starts):.3f} s, min {min(starts):.3f} "
        f"(CPU time of the engine process until then: median {statistics.median(start_cpu):.3f} s)"
    )
    print(
        f"make(task):                            median {statistics.median(makes):.3f} s, min {min(makes):.3f}"
    )
    print(f"first reset:                           median {statistics.median(resets):.3f} s")
    rng = random.Random(0)
    with embodied.make(args.task, width=args.size, height=args.size) as env:
        env.reset(seed=0)
        pid = env.engine.process.pid
        rows = []
        t = time.perf_counter()
        for i in range(1, args.steps + 1):
            _, _, term, trunc, _ = env.step(rng.choice(NAV))
            if term or trunc:
                env.reset()
            if i % 1000 == 0:
                pid = env.engine.process.pid  # (a restarted engine would show here)
                rows.append((i, rss_mb(pid), rss_mb()))
        dt = time.perf_counter() - t
    print(
        f"{args.steps} steps at {args.size}x{args.size} in {dt:.0f} s ({args.steps / dt:.0f} steps/s, loaded machine)"
    )
    print(f"{'step':>6s} {'engine RSS MB':>14s} {'client RSS MB':>14s}")
    for i, e, c in rows:
        print(f"{i:6d} {e:14.1f} {c:14.1f}")
    first, last = rows[0], rows[-1]
    print(
        f"growth after step {first[0]}: engine {last[1] - first[1]:+.1f} MB, client {last[2] - first[2]:+.1f} MB; "
        f"engine peak {max(r[1] for r in rows):.1f} MB"
    )
    quarters = [r for r in rows if r[0] % max(1000, args.steps // 4 // 1000 * 1000) == 0]
    print("engine RSS at " + ", ".join(f"{i:,} steps {e:.1f} MB" for i, e, _ in quarters))
    from_5k = [r for r in rows if r[0] >= min(5000, args.steps)]
    grew = from_5k[-1][1] - from_5k[0][1]
    peak = max(r[1] for r in rows)
    start, make = statistics.median(starts), statistics.median(makes)
    print(f"targets (load average {os.getloadavg()[0]:.1f}):")
    for what, got, target, ok in (
        ("engine start", f"{start:.3f} s", "<= 0.5 s", start <= 0.5),
        ("make(task)", f"{make:.3f} s", "<= 0.6 s", make <= 0.6),
        ("engine RSS peak", f"{peak:.1f} MB", "<= 150 MB", peak <= 150),
        (
            f"engine RSS growth, step {from_5k[0][0]:,} to {last[0]:,}",
            f"{grew:+.1f} MB",
            "<= +2 MB",
            grew <= 2,
        ),
    ):
        print(f"  {what:40s} {got:>10s}  target {target:10s} {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
