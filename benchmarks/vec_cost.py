"""Instructions per env-step of ``make_vec`` (4 envs on 1 engine) and of one plain env (callgrind).

    python benchmarks/vec_cost.py [--size 84] [--steps 40] [--warmup 20] [--task escape/key-door]
                                  [--envs 4] [--lanes L] [--systems plain vec]

For each system (one ``EmbodiedGymEnv``; ``make_vec(task, envs, engine_per=envs)``, its envs'
requests in ``--lanes`` pipelined parts per step, default ``EmbodiedVectorEnv.LANES``) it runs
random navigation with the client and its engine process both under ``valgrind --tool=callgrind``
and counts, per env-step, the instructions of ``--steps`` steps after ``--warmup`` steps: the
client's, the engine's, and the engine's ``render_frame``. Only the steps are counted, and only
each process's main thread: the client marks the start and the end of the steps with a call
callgrind dumps its counts at (``os.sched_yield``, ``--dump-before``), the engine's counts are
zeroed and dumped around them (``callgrind_control``), and other threads (ZeroMQ's, the
heartbeat, the parent watch: their counts follow the run's wall time, not its steps) are left out.
Start-up, imports, compiling ``.pyc`` files, waiting for the engine and shutting down do not
enter, and the start-up heap is frozen after the warm-up (``gc.freeze``: full collections of it
come at random points of a run). The engine's instructions per env-step in a batch against one
plain env's client + engine is the ceiling the batch can reach on one engine
(docs/performance.md, "Batched envs"). Needs valgrind; takes a few minutes.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import step_cost
from step_cost import VALGRIND, cost_parser, engine_under_callgrind, totals

THREADS = "--separate-threads=yes"  # (each thread's counts in a file of its own: -01 is the main thread)
MARK = "--dump-before=sched_yield"  # (the client calls os.sched_yield before and after the steps)


def worker(args: argparse.Namespace) -> int:
    """Start an engine under callgrind, step the system on it (the steps counted apart), close both."""
    import numpy as np

    import embodied.vector as V
    from embodied.adapters.gym import EmbodiedGymEnv

    step_cost.VALGRIND.append(THREADS)  # (the engine's valgrind too)
    with engine_under_callgrind(args.out, args.system) as (proc, client):
        kw = dict(action_mode="discrete", obs_mode="image", width=args.width, height=args.height)
        rng = np.random.default_rng(0)
        if args.system == "vec":
            V.launch = lambda **_: client  # make_vec's one engine: the one under callgrind
            env = V.make_vec(args.task, args.envs, engine_per=args.envs, **kw)
            if args.lanes:
                env._lanes = V._lanes(args.envs, args.envs, args.lanes)
            env.reset(seed=0)

            def step() -> None:
                env.step(rng.integers(9, size=args.envs))  # (navigation indices of the table)

        else:
            env = EmbodiedGymEnv(args.task, engine=client, **kw)
            env.reset(seed=0)

            def step() -> None:
                _, _, term, trunc, _ = env.step(int(rng.integers(9)))
                if term or trunc:
                    env.reset()

        for _ in range(args.warmup):
            step()
        gc.collect()
        gc.freeze()
        control = ["callgrind_control"]
        subprocess.run([*control, "--zero", str(proc.pid)], check=True, capture_output=True)
        os.sched_yield()  # (the client's counts so far are dumped here)
        for _ in range(args.steps):
            step()
        os.sched_yield()  # (and the steps' here)
        subprocess.run([*control, "--dump=steps", str(proc.pid)], check=True, capture_output=True)
        if args.system == "vec":
            env.engines = []  # (engine_under_callgrind closes the engine under callgrind itself)
        env.close()
    return 0


def _dump(prefix: str, n: int) -> str:
    """The main thread's file of callgrind's ``n``-th dump of ``prefix``."""
    return f"{prefix}.{n}-01"


def main(argv: list[str] | None = None) -> int:
    p = cost_parser(__doc__, 40, 20, "steps counted (vector steps for make_vec)")
    p.add_argument("--task", default="escape/key-door")
    p.add_argument("--envs", type=int, default=4)
    p.add_argument("--lanes", type=int, default=None, help="pipelined parts per step (default: LANES)")
    p.add_argument("--systems", nargs="+", default=["plain", "vec"], choices=["plain", "vec"])
    p.add_argument("--system", default="vec", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.width, args.height = args.size
    if args.worker:
        return worker(args)
    from embodied.tasks import list_tasks

    if args.task not in list_tasks():
        p.error(f"unknown task {args.task!r}; tasks: {', '.join(list_tasks())}")
    out = tempfile.mkdtemp(prefix="vec-cost-")
    os.environ["OPENBLAS_NUM_THREADS"] = "1"  # (no helper threads spinning after numpy's work)
    per: dict[str, dict[str, list[float]]] = {}
    for system, envs in (("plain", 1), ("vec", args.envs)):
        if system not in args.systems:
            continue
        steps = args.steps * (args.envs if system == "plain" else 1)  # the same env-steps for both
        client = f"{out}/client.{system}.out"
        cmd = [*VALGRIND, THREADS, MARK, f"--callgrind-out-file={client}", sys.executable, __file__]
        cmd += ["--worker", "--system", system, "--out", out, "--steps", str(steps)]
        cmd += ["--size", f"{args.width}x{args.height}", "--warmup", str(args.warmup)]
        cmd += ["--task", args.task, "--envs", str(args.envs)]
        cmd += ["--lanes", str(args.lanes)] if args.lanes else []
        subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
        env_steps = steps * envs
        counts = {
            "client": totals(_dump(client, 2)),
            "engine": totals(_dump(f"{out}/engine.{system}.out", 1)),
        }
        per[system] = {side: [c / env_steps for c in counts[side]] for side in counts}
    print(
        f"instructions per env-step, {args.task}, {args.width}x{args.height}, random navigation "
        f"({args.steps} steps counted after {args.warmup}; main threads):"
    )
    nan = {"client": [math.nan] * 2, "engine": [math.nan] * 2}
    plain, vec = per.get("plain", nan), per.get("vec", nan)
    lanes = f", {args.lanes} parts" if args.lanes else ""
    print(f"{'':34s} {'one plain env':>14s} {f'{args.envs} envs, 1 engine{lanes}':>26s}")
    for label, side, i in (
        ("client process", "client", 0),
        ("engine process", "engine", 0),
        ("  of which render_frame", "engine", 1),
    ):
        print(f"  {label:32s} {plain[side][i]:14,.0f} {vec[side][i]:26,.0f}")
    one = plain["client"][0] + plain["engine"][0]
    batch = vec["engine"][0]
    if one == one and batch == batch:
        print(
            f"ceiling of {args.envs} envs on 1 engine / one env, by instructions: {one / batch:.2f} "
            f"(one plain env's client + engine per step / the engine's per env-step in the batch; "
            f"target 1.8 needs the engine at <= {one / 1.8:,.0f} per env-step)"
        )
    print(f"(callgrind outputs in {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
