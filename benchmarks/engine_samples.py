"""Where the CPU time of an env step goes, by library, client and engine process apart (one core).

    python benchmarks/engine_samples.py [--size 84 | WxH] [--steps 3000] [--warmup 300]
                                        [--scene chest_split_code] [--tree DIR] [--inprocess]

Steps an env (random navigation) on core 0 with its engine process pinned there too, and samples
both processes with ``perf record -e cpu-clock -F 10000`` over exactly the measured steps (no
hardware counters needed: this VM has none). Per process it prints the CPU time per step (from
``/proc/PID/schedstat``) and how it splits by library (each library's share of the process's
samples times its CPU per step): the Python interpreter, Panda3D, tinydisplay, OpenCV, numpy,
libc, the kernel. ``--tree DIR``: the engine runs the code of that checkout (as
``step_ab.py --a-tree``), to compare two versions of the engine; ``--inprocess``: the in-process
engine (one process). Needs ``perf``; sampling slows both processes a little.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from step_ab import NAV, package_of, process_cpu
from step_cost import frame_size

# library file name -> what the table calls it (first match wins; the rest: "other")
LIBRARIES = [
    ("libpython", "Python interpreter"),
    ("python3", "Python interpreter"),
    ("libp3tinydisplay", "tinydisplay (rasteriser)"),
    ("libpanda", "Panda3D"),
    ("libp3dtool", "Panda3D"),
    ("core.cpython", "Panda3D"),
    ("cv2", "OpenCV"),
    ("numpy", "numpy"),
    ("_multiarray", "numpy"),
    ("libc.so", "libc"),
    ("libm.so", "libc"),
    ("kernel", "kernel"),
    ("numba", "numba / llvm"),
    ("llvm", "numba / llvm"),
]


def library(dso: str) -> str:
    for needle, name in LIBRARIES:
        if needle in dso:
            return name
    return "other"


def make_env(args: argparse.Namespace):
    from embodied.env import Env

    if args.inprocess:
        return Env(args.scene, engine="inprocess", width=args.width, height=args.height)
    from embodied.engine import launch

    old, cwd = dict(os.environ), os.getcwd()
    if args.tree:
        links = tempfile.mkdtemp(prefix="engine-samples-")
        os.environ["PYTHONPATH"] = package_of(os.path.abspath(args.tree), links)
        os.chdir(links)  # (the engine's sys.path starts with its cwd)
    try:
        engine = launch()
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(old)
    return Env(args.scene, engine=engine, width=args.width, height=args.height)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=frame_size, default="84", help="W or WxH (default: 84)")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--warmup", type=int, default=300)
    p.add_argument("--scene", default="chest_split_code")
    p.add_argument("--tree", metavar="DIR", help="run the engine code of this checkout")
    p.add_argument("--inprocess", action="store_true", help="the in-process engine (no engine process)")
    args = p.parse_args(argv)
    args.width, args.height = args.size
    if args.steps < 1 or args.warmup < 0:
        p.error("--steps must be positive and --warmup not negative")
    if args.tree and not os.path.isfile(os.path.join(args.tree, "embodied", "engine.py")):
        p.error(f"--tree {args.tree!r}: not a checkout of this repository (no embodied/engine.py)")
    if args.tree and args.inprocess:
        p.error("--tree runs another engine process's code; --inprocess has none")
    os.sched_setaffinity(0, {0})
    env = make_env(args)
    proc = env.engine.process if not args.inprocess else None
    pids = {"client": os.getpid(), **({"engine": proc.pid} if proc is not None else {})}
    for pid in pids.values():
        os.sched_setaffinity(pid, {0})
    rng = random.Random(0)

    def run(n: int) -> None:
        for _ in range(n):
            _, _, term, trunc, _ = env.step(rng.choice(NAV))
            if term or trunc:
                env.reset()

    out = tempfile.mkdtemp(prefix="engine-samples-")
    data = os.path.join(out, "perf.data")
    try:
        env.reset(seed=0)
        run(args.warmup)
        perf = subprocess.Popen(
            [
                "perf",
                "record",
                "-q",
                "-e",
                "cpu-clock",
                "-F",
                "10000",
                "-o",
                data,
                "-p",
                ",".join(map(str, pids.values())),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)  # (perf attaches)
        cpu0 = {k: process_cpu(pid) for k, pid in pids.items()}
        t0 = time.perf_counter()
        run(args.steps)
        wall = time.perf_counter() - t0
        cpu = {k: (process_cpu(pid) - cpu0[k]) / args.steps for k, pid in pids.items()}
        perf.send_signal(signal.SIGINT)
        perf.wait(60)
    finally:
        env.close()
    report = subprocess.run(
        ["perf", "report", "-i", data, "--stdio", "-q", "--sort", "pid,dso", "-F", "sample,pid,dso"],
        capture_output=True,
        text=True,
    ).stdout
    samples: dict[str, collections.Counter] = {k: collections.Counter() for k in pids}
    by_pid = {pid: k for k, pid in pids.items()}
    for line in report.splitlines():
        m = re.match(r"\s*(\d+)\s+(\d+):\S*\s+(.*\S)", line)
        if m and int(m.group(2)) in by_pid:
            samples[by_pid[int(m.group(2))]][library(m.group(3))] += int(m.group(1))
    how = (
        "in-process engine" if args.inprocess else f"engine process{' of ' + args.tree if args.tree else ''}"
    )
    print(
        f"{args.scene} {args.width}x{args.height}, {how}, one core, {args.steps} random steps "
        f"({args.steps / wall:.0f} steps/s while sampled); load average {os.getloadavg()[0]:.1f}"
    )
    names = sorted(
        {n for c in samples.values() for n in c}, key=lambda n: -sum(c[n] for c in samples.values())
    )
    print(
        f"  {'us of CPU per step':28s}"
        + "".join(f"{k:>10s}" for k in pids)
        + (f"{'both':>10s}" if len(pids) > 1 else "")
    )
    print(
        f"  {'all (schedstat)':28s}"
        + "".join(f"{cpu[k] * 1e6:10.1f}" for k in pids)
        + (f"{sum(cpu.values()) * 1e6:10.1f}" if len(pids) > 1 else "")
    )
    for name in names:
        cells = []
        for k in pids:
            total = sum(samples[k].values())
            cells.append(samples[k][name] / total * cpu[k] * 1e6 if total else 0.0)
        print(
            f"  {name:28s}"
            + "".join(f"{c:10.1f}" for c in cells)
            + (f"{sum(cells):10.1f}" if len(pids) > 1 else "")
        )
    print(
        f"  (samples: {', '.join(f'{k} {sum(c.values())}' for k, c in samples.items())}; perf data in {out})"
    )
    return 0


if __name__ == "__main__":
    from embodied.cli import error_line
    from embodied.errors import EmbodiedError

    try:
        sys.exit(main())
    except EmbodiedError as exc:  # (an unknown scene, a bad size: one line, exit 2)
        print(f"engine_samples.py: error: {error_line(exc)}", file=sys.stderr)
        sys.exit(2)
