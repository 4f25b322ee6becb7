"""Two envs on engine processes launched two ways, stepped in alternating rounds: CPU per step.

    taskset -c 0 python benchmarks/step_ab.py [--size 84 | WxH] [--rounds 20] [--seconds 0.5]
                                              [--a-shm copy] [--b-shm true]
                                              [--a-env KEY=VALUE ...] [--b-env KEY=VALUE ...]
                                              [--a-tree DIR] [--b-tree DIR]
                                              [--scene chest_split_code]

Makes env A and env B (the same scene and frame size, random navigation), each on an engine
process of its own, ``launch(shm=...)`` with ``--a-shm`` / ``--b-shm`` (``true``: the default,
frames of compact replies handed out in place; ``copy``: every frame copied out of the ring;
``views``: read-only views, valid until the slot comes round; ``false``: ZeroMQ) and the engine
started with ``--a-env`` / ``--b-env`` added to its environment, and running the engine code of
the checkout ``--a-tree`` / ``--b-tree`` (a directory holding another commit of this repository,
e.g. ``git archive COMMIT | tar -x -C DIR``: the engine imports the package from there, the
client stays this one; so two versions of the engine are compared under one client). Then
alternates rounds of
``--seconds`` (the order swapped every round, 5 untimed steps first) and prints per env the
median steps per wall second and CPU time per step of the client (this process, all threads)
and its engine (every thread, from ``/proc/PID/task/*/schedstat``, in nanoseconds), and the
medians of the per-round ratios B/A with their range. Pin it to one core (``taskset -c 0``) for
the one-core figures; both engines and this process then share that core, as a one-core env does.
"""

from __future__ import annotations

import argparse
import atexit
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

from step_cost import frame_size

NAV = ("MoveAhead", "MoveBack", "MoveLeft", "MoveRight", "RotateLeft", "RotateRight", "LookUp", "LookDown")


def process_cpu(pid: int) -> float:
    """CPU seconds of every thread of process ``pid`` (schedstat: nanoseconds, not clock ticks)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # (a thread that ended meanwhile)
    return total / 1e9


# the package's parts in a checkout, by their names in the installed package (pyproject.toml)
PARTS = {"bridges": "bridges", "procedural": "procedural", "scenes": "scenes", "tasks_data": "tasks"}


def package_of(tree: str, into: str) -> str:
    """A directory to put on an engine's PYTHONPATH that imports ``embodied`` from the checkout
    ``tree`` (links to its files, laid out as the installed package is)."""
    top = os.path.join(into, "embodied")
    os.makedirs(top)
    src = os.path.join(tree, "embodied")
    for name in os.listdir(src):
        os.symlink(os.path.join(src, name), os.path.join(top, name))
    for name, part in PARTS.items():
        os.symlink(os.path.join(tree, part), os.path.join(top, name))
    return into


def make(args: argparse.Namespace, shm: str, env_vars: list[str], tree: str | None = None):
    """An env on an engine launched with ``shm`` and ``env_vars`` (KEY=VALUE) in its environment,
    running the engine code of checkout ``tree`` (None: this one)."""
    from embodied.engine import launch
    from embodied.env import Env

    old, cwd = dict(os.environ), os.getcwd()
    os.environ.update(kv.split("=", 1) for kv in env_vars)
    if tree is not None:  # (from an empty directory: the engine's sys.path starts with its cwd)
        links = tempfile.mkdtemp(prefix="step-ab-")
        atexit.register(shutil.rmtree, links, True)
        os.environ["PYTHONPATH"] = package_of(tree, links)
        os.chdir(os.environ["PYTHONPATH"])
    try:
        engine = launch(shm={"true": True, "false": False}.get(shm, shm))
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(old)
    env = Env(args.scene, engine=engine, width=args.width, height=args.height)
    env.reset(seed=0)
    return env


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=frame_size, default="84", help="W or WxH (default: 84)")
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--seconds", type=float, default=0.5)
    p.add_argument("--scene", default="chest_split_code")
    for side, shm in (("a", "copy"), ("b", "true")):
        p.add_argument(f"--{side}-shm", default=shm, choices=["true", "copy", "views", "false"])
        p.add_argument(f"--{side}-env", nargs="*", default=[], metavar="KEY=VALUE")
        p.add_argument(f"--{side}-tree", metavar="DIR", help="run the engine code of this checkout")
    args = p.parse_args(argv)
    args.width, args.height = args.size
    if args.rounds < 1 or args.seconds <= 0:
        p.error("--rounds and --seconds must be positive")
    for kv in args.a_env + args.b_env:
        if "=" not in kv:
            p.error(f"{kv!r}: expected KEY=VALUE")
    for tree in (args.a_tree, args.b_tree):
        if tree is not None and not os.path.isfile(os.path.join(tree, "embodied", "engine.py")):
            p.error(f"--a-tree/--b-tree {tree!r}: not a checkout of this repository (no embodied/engine.py)")
    envs = {
        "A": make(args, args.a_shm, args.a_env, args.a_tree and os.path.abspath(args.a_tree)),
        "B": make(args, args.b_shm, args.b_env, args.b_tree and os.path.abspath(args.b_tree)),
    }
    rng = random.Random(0)

    def run(env, n: int) -> None:
        for _ in range(n):
            _, _, term, trunc, _ = env.step(rng.choice(NAV))
            if term or trunc:
                env.reset()

    got: dict[str, list[tuple[float, float, float]]] = {k: [] for k in envs}
    try:
        for env in envs.values():
            run(env, 100)
        for r in range(args.rounds):
            for key in list(envs) if r % 2 == 0 else list(envs)[::-1]:
                env = envs[key]
                pid = env.engine.process.pid
                run(env, 5)
                n, t0, c0, e0 = 0, time.perf_counter(), time.process_time(), process_cpu(pid)
                while time.perf_counter() - t0 < args.seconds:
                    run(env, 10)
                    n += 10
                wall = time.perf_counter() - t0
                got[key].append((n / wall, (time.process_time() - c0) / n, (process_cpu(pid) - e0) / n))
    finally:
        for env in envs.values():
            env.close()
    print(
        f"{args.scene} {args.width}x{args.height}, random navigation, {args.rounds} alternating rounds of "
        f"{args.seconds:g} s; load average {os.getloadavg()[0]:.1f} at the end"
    )
    print("     shm    engine env       steps/s  client us  engine us  CPU us/step")
    for key, shm, extra, tree in (
        ("A", args.a_shm, args.a_env, args.a_tree),
        ("B", args.b_shm, args.b_env, args.b_tree),
    ):
        rows = got[key]
        rate, cli, eng = (statistics.median(r[i] for r in rows) for i in range(3))
        cpu = statistics.median((r[1] + r[2]) for r in rows)
        label = " ".join([*extra, *([f"tree={os.path.basename(tree.rstrip('/'))}"] if tree else [])]) or "-"
        print(
            f"  {key}  {shm:6s} {label[:14]:14s} {rate:9.0f} {cli * 1e6:10.1f} {eng * 1e6:10.1f} {cpu * 1e6:12.1f}"
        )
    for name, f in (
        ("steps/s", lambda r: r[0]),
        ("CPU per step", lambda r: r[1] + r[2]),
        ("client CPU per step", lambda r: r[1]),
        ("engine CPU per step", lambda r: r[2]),
    ):
        ratios = [f(b) / f(a) for a, b in zip(got["A"], got["B"])]
        print(
            f"  B / A {name:20s} median {statistics.median(ratios):.3f} "
            f"({min(ratios):.3f}..{max(ratios):.3f})"
        )
    return 0


if __name__ == "__main__":
    from embodied.cli import error_line
    from embodied.errors import EmbodiedError

    try:
        sys.exit(main())
    except EmbodiedError as exc:  # (an unknown scene, a bad size: one line, exit 2)
        print(f"step_ab.py: error: {error_line(exc)}", file=sys.stderr)
        sys.exit(2)
