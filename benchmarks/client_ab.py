"""Two checkouts' env steps side by side: each in a Python of its own, stepped in alternating rounds.

    taskset -c 0 python benchmarks/client_ab.py --a-python OLD/.venv/bin/python
                                                [--b-python NEW/.venv/bin/python]
                                                [--engine panda3d|inprocess] [--size 84 | WxH]
                                                [--rounds 12] [--seconds 1] [--keep-info]
                                                [--scene chest_split_code]

For changes to the client's side of a step (``embodied/env.py``, the client half of
``embodied/engine.py`` and ``embodied/shm.py``), which ``step_ab.py`` cannot compare: it runs one
client against two engines. Here each side is a worker process started with its own Python
(``--a-python``, ``--b-python``; default: this one), so each imports the ``embodied`` that
Python's environment holds (another checkout's venv, or the same venv with ``PYTHONPATH``);
each makes the same env (its own engine process with ``--engine panda3d``), takes 200 untimed
steps, then the two take turns: rounds of ``--seconds`` each, the order swapped every round, 5
untimed steps before each. Prints per side the median steps per wall second and CPU time per
step of the worker (all threads) and of its engine process (all threads, from
``/proc/PID/task/*/schedstat``), and the medians of the per-round ratios B/A with their range.
``--keep-info`` keeps each step's info until the next step returned (as a usual
``obs, reward, terminated, truncated, info = env.step(a)`` loop does). Pin it to one core
(``taskset -c 0``): the workers and engines inherit it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from step_ab import NAV, process_cpu
from step_cost import frame_size


def worker(args: argparse.Namespace) -> int:
    """One side: make the env, then answer each line ``SECONDS`` on stdin with a round's figures."""
    from embodied.env import Env

    env = Env(args.scene, engine=args.engine, width=args.width, height=args.height)
    env.reset(seed=0)
    rng = random.Random(0)
    engine = getattr(getattr(env.engine, "process", None), "pid", None)
    kept = [None]

    def step() -> None:
        _, _, term, trunc, info = env.step(rng.choice(NAV))
        if args.keep_info:
            kept[0] = info
        if term or trunc:
            env.reset()

    for _ in range(200):
        step()
    print("ready", flush=True)
    for line in sys.stdin:
        seconds = float(line)
        for _ in range(5):
            step()
        c0, e0, t0 = process_cpu(os.getpid()), process_cpu(engine) if engine else 0.0, time.perf_counter()
        n, end = 0, t0 + seconds
        while True:
            for _ in range(20):
                step()
            n += 20
            if time.perf_counter() >= end:
                break
        wall = time.perf_counter() - t0
        client, eng = process_cpu(os.getpid()) - c0, (process_cpu(engine) - e0) if engine else 0.0
        print(json.dumps({"steps": n, "wall": wall, "client": client, "engine": eng}), flush=True)
    env.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--a-python", required=True, help="the Python of side A (e.g. another checkout's .venv/bin/python)"
    )
    p.add_argument("--b-python", default=sys.executable, help="the Python of side B (default: this one)")
    p.add_argument("--engine", default="panda3d", choices=["panda3d", "inprocess"])
    p.add_argument("--size", type=frame_size, default="84", help="W or WxH (default: 84)")
    p.add_argument("--rounds", type=int, default=12)
    p.add_argument("--seconds", type=float, default=1.0)
    p.add_argument("--scene", default="chest_split_code")
    p.add_argument("--keep-info", action="store_true")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.width, args.height = args.size
    if args.worker:
        return worker(args)
    for side in (args.a_python, args.b_python):
        if not os.access(side, os.X_OK):
            p.error(f"{side} is not an executable Python; give a venv's bin/python")
    cmd = [
        __file__,
        "--worker",
        "--a-python",
        "-",
        "--engine",
        args.engine,
        "--size",
        f"{args.width}x{args.height}",
        "--scene",
        args.scene,
        *(["--keep-info"] if args.keep_info else []),
    ]
    sides = {}
    for name, python in (("A", args.a_python), ("B", args.b_python)):
        sides[name] = subprocess.Popen(
            [python, *cmd], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
    try:
        for name, proc in sides.items():
            if proc.stdout.readline().strip() != "ready":
                raise SystemExit(f"side {name} did not start (exit {proc.poll()})")
        got: dict[str, list[dict]] = {"A": [], "B": []}
        print(f"load average at start: {os.getloadavg()[0]:.2f}")
        for r in range(args.rounds):
            for name in ("A", "B") if r % 2 == 0 else ("B", "A"):
                proc = sides[name]
                proc.stdin.write(f"{args.seconds}\n")
                proc.stdin.flush()
                got[name].append(json.loads(proc.stdout.readline()))
        print(f"load average at end: {os.getloadavg()[0]:.2f}")
    finally:
        for proc in sides.values():
            if proc.stdin:
                proc.stdin.close()
        for proc in sides.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()

    def per(rounds: list[dict], key: str) -> list[float]:
        return [x[key] / x["steps"] * 1e6 for x in rounds]

    print(
        f"{args.engine}, {args.width}x{args.height}, {args.scene}, info "
        f"{'kept until the next step' if args.keep_info else 'dropped'}, {args.rounds} rounds x {args.seconds} s:"
    )
    print(f"{'':3}{'steps/s':>10}{'client µs':>11}{'engine µs':>11}{'CPU µs':>9}")
    for name, rounds in got.items():
        rate = statistics.median(x["steps"] / x["wall"] for x in rounds)
        client, engine = statistics.median(per(rounds, "client")), statistics.median(per(rounds, "engine"))
        cpu = statistics.median(c + e for c, e in zip(per(rounds, "client"), per(rounds, "engine")))
        print(f"{name:3}{rate:10.0f}{client:11.1f}{engine:11.1f}{cpu:9.1f}")
    for label, f in (
        ("steps/s B/A", lambda x: x["steps"] / x["wall"]),
        ("CPU per step B/A", lambda x: (x["client"] + x["engine"]) / x["steps"]),
        ("client CPU per step B/A", lambda x: x["client"] / x["steps"]),
    ):
        ratios = [f(b) / f(a) for a, b in zip(got["A"], got["B"])]
        print(f"{label:>26}: {statistics.median(ratios):.3f} ({min(ratios):.3f}..{max(ratios):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
