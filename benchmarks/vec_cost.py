"""Instructions per env-step of ``make_vec`` (4 envs on 1 engine) and of one plain env (callgrind).

    python benchmarks/vec_cost.py [--size 84] [--steps 40] [--task escape/key-door] [--envs 4]

For each system (one ``EmbodiedGymEnv``; ``make_vec(task, envs, engine_per=envs)``) it runs the
same random navigation twice, N and 3N steps after ``--warmup`` steps, with the client and its
engine process both under ``valgrind --tool=callgrind``, and prints per env-step (the difference
of the two runs divided by the env-steps between them: start-up, imports and load do not enter)
the client, the engine, and the engine's ``render_frame``. The engine's instructions per
env-step in a batch against one plain env's client + engine is the ceiling the batch can reach
on one engine (docs/performance.md, "Batched envs"). Needs valgrind; takes several minutes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from step_cost import VALGRIND, cost_parser, engine_under_callgrind, totals


def worker(args: argparse.Namespace) -> int:
    """Start an engine under callgrind, step the system on it, close both."""
    import numpy as np

    import embodied.vector as V
    from embodied.adapters.gym import EmbodiedGymEnv

    with engine_under_callgrind(args.out, f"{args.system}.{args.steps}") as (_proc, client):
        kw = dict(action_mode="discrete", obs_mode="image", width=args.width, height=args.height)
        rng = np.random.default_rng(0)
        if args.system == "vec":
            V.launch = lambda **_: client  # make_vec's one engine: the one under callgrind
            env = V.make_vec(args.task, args.envs, engine_per=args.envs, **kw)
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

        for _ in range(args.warmup + args.steps):
            step()
        if args.system == "vec":
            env.engines = []  # (engine_under_callgrind closes the engine under callgrind itself)
        env.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    p = cost_parser(__doc__, 40, 20, "N: runs of N and 3N (vector) steps")
    p.add_argument("--task", default="escape/key-door")
    p.add_argument("--envs", type=int, default=4)
    p.add_argument("--system", default="vec", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.width, args.height = args.size
    if args.worker:
        return worker(args)
    from embodied.tasks import list_tasks

    if args.task not in list_tasks():
        p.error(f"unknown task {args.task!r}; tasks: {', '.join(list_tasks())}")
    out = tempfile.mkdtemp(prefix="vec-cost-")
    per: dict[str, dict[str, list[float]]] = {}
    for system, envs in (("plain", 1), ("vec", args.envs)):
        steps = args.steps * (args.envs if system == "plain" else 1)  # the same env-steps for both
        counts = {}
        for n in (steps, 3 * steps):
            cmd = [*VALGRIND, f"--callgrind-out-file={out}/client.{system}.{n}.out", sys.executable, __file__]
            cmd += [
                "--worker",
                "--system",
                system,
                "--out",
                out,
                "--steps",
                str(n),
                "--size",
                f"{args.width}x{args.height}",
            ]
            cmd += ["--warmup", str(args.warmup), "--task", args.task, "--envs", str(args.envs)]
            subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
            counts[n] = {side: totals(f"{out}/{side}.{system}.{n}.out") for side in ("client", "engine")}
        env_steps = 2 * steps * envs
        per[system] = {
            side: [(counts[3 * steps][side][i] - counts[steps][side][i]) / env_steps for i in (0, 1)]
            for side in ("client", "engine")
        }
    print(
        f"instructions per env-step, {args.task}, {args.width}x{args.height}, random navigation "
        f"(difference of runs of N and 3N steps, N = {args.steps} vector steps):"
    )
    print(f"{'':34s} {'one plain env':>14s} {f'{args.envs} envs, 1 engine':>18s}")
    for label, side, i in (
        ("client process", "client", 0),
        ("engine process", "engine", 0),
        ("  of which render_frame", "engine", 1),
    ):
        print(f"  {label:32s} {per['plain'][side][i]:14,.0f} {per['vec'][side][i]:18,.0f}")
    plain = per["plain"]["client"][0] + per["plain"]["engine"][0]
    batch = per["vec"]["engine"][0]
    print(
        f"ceiling of {args.envs} envs on 1 engine / one env, by instructions: {plain / batch:.2f} "
        f"(one plain env's client + engine per step / the engine's per env-step in the batch; "
        f"target 1.8 needs the engine at <= {plain / 1.8:,.0f} per env-step)"
    )
    print(f"(callgrind outputs in {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
