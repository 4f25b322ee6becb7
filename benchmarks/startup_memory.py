"""Engine start time, ``make`` time, and engine/client memory over a long run.

    python benchmarks/startup_memory.py [--task escape/key-door] [--starts 5] [--steps 20000] [--size 224]

- engine start: ``embodied.launch()`` until the engine has answered ``hello`` (median of ``--starts``);
- make: ``embodied.make(task)`` (engine start, scene solved and built) and the first ``reset``;
- memory: the engine's and this process's resident set size (VmRSS) every 1,000 random
  navigation steps (resetting at episode ends), and how much each grew after the first 1,000.
"""

from __future__ import annotations

import argparse
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="escape/key-door")
    p.add_argument("--starts", type=int, default=5)
    p.add_argument("--steps", type=int, default=20000)
    p.add_argument("--size", type=int, default=224)
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    import embodied

    starts, makes, resets = [], [], []
    for _ in range(args.starts):
        t = time.perf_counter()
        eng = embodied.launch()
        starts.append(time.perf_counter() - t)
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
        f"engine start (launch, hello answered): median {statistics.median(starts):.3f} s, min {min(starts):.3f}"
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
