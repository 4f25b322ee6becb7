"""Instructions per ``env.step`` through the engine process, client and engine apart (callgrind).

    python benchmarks/step_cost.py [--size 84] [--steps 100] [--scene chest_split_code]
                                   [--shm true|copy|views|false]

Runs the same random navigation twice, ``--steps`` N and 3N steps after ``--warmup`` steps,
each time with this script's client and its engine process both under
``valgrind --tool=callgrind``, and prints per step (the difference of the two runs divided by
2N, so start-up, imports and load do not enter): the client process, the engine process, and
the engine without Panda3D's ``render_frame`` (request handling, readback, the reply). The
engine's counters are zeroed after the warm-up and dumped after the steps
(``callgrind_control``), so its start-up (whose instruction count varies from run to run by more
than the steps cost) is left out; it is started without a heartbeat file (its thread would add
instructions per second of wall time, not per step). Needs valgrind; takes a few minutes (valgrind runs ~50x slower).

    python benchmarks/step_cost.py --client-only [--engine panda3d|inprocess] [--keep-info] [--steps 200]

counts the client alone, exactly: only this script runs under callgrind (the engine process, if
any, runs normally), counting inside the measured steps only (``--toggle-collect`` on the
``functools.reduce`` that runs them), after ``--warmup`` steps; the same run gives the same
count to ~0.1%. With ``--engine inprocess`` it also prints Panda3D's ``render_frame`` and the rest.
``--keep-info`` keeps each step's ``info`` until the next step has returned, as a
``obs, reward, terminated, truncated, info = env.step(a)`` loop and stable-baselines3's
``DummyVecEnv`` do (by default the loop drops it at once, as the MiniWorld comparison does).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time

NAV = ("MoveAhead", "MoveBack", "MoveLeft", "MoveRight", "RotateLeft", "RotateRight", "LookUp", "LookDown")
VALGRIND = ["valgrind", "--tool=callgrind", "--dump-instr=no"]


@contextlib.contextmanager
def engine_under_callgrind(out: str, tag: str, shm: bool | str = True):
    """An engine process started under callgrind (output ``{out}/engine.{tag}.out``) and a client
    connected to it; on leaving, the engine is asked to close (so callgrind writes its counts) and
    killed if it has not gone."""
    from embodied import auth
    from embodied.engine import connect

    token = auth.random_token()
    ready = os.path.join(out, "ready.json")
    cmd = [
        *VALGRIND,
        f"--callgrind-out-file={out}/engine.{tag}.out",
        sys.executable,
        "-m",
        "embodied.bridges.panda3d.server",
        "--port",
        "0",
        "--ready-file",
        ready,
        "--parent-pid",
        str(os.getpid()),
    ]
    with open(os.path.join(out, f"engine.{tag}.log"), "wb") as log:
        proc = subprocess.Popen(
            cmd, env={**os.environ, auth.TOKEN_ENV: token}, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        while not os.path.exists(ready):
            if proc.poll() is not None:
                raise SystemExit(f"engine exited with {proc.returncode}; see its log in {out}")
            time.sleep(0.2)
        with open(ready) as f:
            client = connect(json.load(f)["endpoint"], token=token, timeout=600, shm=shm)
        yield proc, client
        client.request("close")
        client.close()
        proc.wait(600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if os.path.exists(ready):
            os.unlink(ready)


def worker(args: argparse.Namespace) -> int:
    """Start an engine under callgrind, step an env on it, close both."""
    from embodied.env import Env

    shm = {"true": True, "false": False}.get(args.shm, args.shm)
    with engine_under_callgrind(args.out, str(args.steps), shm) as (proc, client):
        env = Env(args.scene, engine=client, width=args.width, height=args.height)
        env.reset()
        rng = random.Random(0)

        def step() -> None:  # (the step's results are dropped at once, as an RL loop drops infos)
            _, _, term, trunc, _ = env.step(rng.choice(NAV))
            if term or trunc:
                env.reset()

        for _ in range(args.warmup):
            step()
        # the engine's counters cover the measured steps only (callgrind_control talks to its valgrind)
        subprocess.run(["callgrind_control", "--zero", str(proc.pid)], check=True, capture_output=True)
        for _ in range(args.steps):
            step()
        subprocess.run(["callgrind_control", "--dump=steps", str(proc.pid)], check=True, capture_output=True)
        print(f"transport {client.frame_transport}", flush=True)
        env.close()
    return 0


def client_worker(args: argparse.Namespace) -> int:
    """``--client-only``, run under callgrind: step an env, the measured steps inside one
    ``functools.reduce`` (the function callgrind counts in)."""
    from embodied.env import Env

    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    env = Env(args.scene, engine=args.engine, width=args.width, height=args.height)
    env.reset()
    rng = random.Random(0)
    kept = [None]

    def step(_done: object = None, _i: object = None) -> None:
        _, _, term, trunc, info = env.step(rng.choice(NAV))
        if args.keep_info:
            kept[0] = info  # (held until the next step has returned)
        if term or trunc:
            env.reset()

    for _ in range(args.warmup):
        step()
    functools.reduce(step, range(args.steps + 1))  # (reduce calls step N times)
    env.close()
    return 0


def client_only(args: argparse.Namespace) -> int:
    out = tempfile.mkdtemp(prefix="step-cost-")
    path = f"{out}/client.out"
    cmd = [
        *VALGRIND,
        "--collect-atstart=no",
        "--toggle-collect=functools_reduce",
        f"--callgrind-out-file={path}",
        sys.executable,
        __file__,
        "--client-only",
        "--worker",
        "--engine",
        args.engine,
        "--steps",
        str(args.steps),
        "--warmup",
        str(args.warmup),
        "--size",
        f"{args.width}x{args.height}",
        "--scene",
        args.scene,
        *(["--keep-info"] if args.keep_info else []),
    ]
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    total, render = totals(path)
    n = args.steps
    print(
        f"instructions per env.step in the client process, engine={args.engine}, {args.width}x{args.height}, "
        f"{args.scene}, random navigation, info {'kept until the next step' if args.keep_info else 'dropped'} "
        f"({n} steps counted after {args.warmup} warm-up steps):"
    )
    print(f"  client process:                    {total / n:12,.0f}")
    if render:
        print(f"    of which render_frame:           {render / n:12,.0f}")
        print(f"    client without render_frame:     {(total - render) / n:12,.0f}")
    print(f"(callgrind output {path})")
    return 0


def totals(path: str) -> tuple[int, int]:
    """(all instructions, inclusive instructions of render_frame) of one callgrind output."""
    out = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    total = int(re.search(r"([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", out).group(1).replace(",", ""))
    render = 0
    for line in out.splitlines():
        if "GraphicsEngine::render_frame" in line:
            render = max(render, int(line.split()[0].replace(",", "")))
    return total, render


def frame_size(text: str) -> tuple[int, int]:
    """``--size``: W or WxH, positive whole numbers."""
    w, _, h = text.lower().partition("x")
    try:
        size = int(w), int(h or w)
    except ValueError:
        size = (0, 0)
    if min(size) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a frame size; give W or WxH, e.g. 84 or 640x480")
    return size


def cost_parser(doc: str, steps: int, warmup: int, steps_help: str) -> argparse.ArgumentParser:
    """The arguments step_cost.py and vec_cost.py share: frame size, the N of the runs of N and 3N
    steps, warm-up steps, and the hidden ``--worker``/``--out`` the script's own worker is run with
    (``doc``: the script's docstring, whose first line describes it)."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--size", type=frame_size, default="84", help="W or WxH (default: 84)")
    p.add_argument("--steps", type=int, default=steps, help=steps_help)
    p.add_argument("--warmup", type=int, default=warmup)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    p = cost_parser(__doc__, 100, 50, "N: runs of N and 3N steps")
    p.add_argument("--scene", default="chest_split_code")
    p.add_argument(
        "--shm",
        default="true",
        choices=["true", "copy", "views", "false"],
        help="how frames come (launch(shm=...); default: true, in place where they can be)",
    )
    p.add_argument(
        "--client-only",
        action="store_true",
        help="count the client process alone, inside the measured steps (exact; the engine runs normally)",
    )
    p.add_argument("--engine", default="panda3d", choices=["panda3d", "inprocess"], help="with --client-only")
    p.add_argument(
        "--keep-info",
        action="store_true",
        help="with --client-only: keep each info until the next step returned",
    )
    args = p.parse_args(argv)
    args.width, args.height = args.size
    if args.client_only:
        return client_worker(args) if args.worker else client_only(args)
    if args.worker:
        return worker(args)
    out = tempfile.mkdtemp(prefix="step-cost-")
    # OpenBLAS's helper threads spin for a while after work; valgrind runs threads one at a time
    # and ~50x slower, so their spinning would add instructions per second of wall time
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    counts = {}
    for n in (args.steps, 3 * args.steps):
        cmd = [
            *VALGRIND,
            f"--callgrind-out-file={out}/client.{n}.out",
            sys.executable,
            __file__,
            "--worker",
            "--out",
            out,
            "--steps",
            str(n),
            "--warmup",
            str(args.warmup),
            "--size",
            f"{args.width}x{args.height}",
            "--scene",
            args.scene,
            "--shm",
            args.shm,
        ]
        subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
        counts[n] = {"client": totals(f"{out}/client.{n}.out"), "engine": totals(f"{out}/engine.{n}.out.1")}
    n1, n3 = args.steps, 3 * args.steps
    per = {
        side: [(counts[n3][side][i] - counts[n1][side][i]) / (n3 - n1) for i in (0, 1)] for side in counts[n1]
    }
    print(
        f"instructions per env.step through the engine process, {args.width}x{args.height}, {args.scene}, "
        f"random navigation ((3N - N steps) / 2N, N = {args.steps}, {args.warmup} warm-up steps):"
    )
    print(f"  client process:                    {per['client'][0]:12,.0f}")
    print(f"  engine process:                    {per['engine'][0]:12,.0f}")
    print(f"    of which render_frame:           {per['engine'][1]:12,.0f}")
    print(f"    engine without render_frame:     {per['engine'][0] - per['engine'][1]:12,.0f}")
    print(
        f"  client + engine without render:    {per['client'][0] + per['engine'][0] - per['engine'][1]:12,.0f}"
    )
    print(f"(callgrind outputs in {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
