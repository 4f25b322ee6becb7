"""Scaling of ``embodied.make_vec``: env-steps/s from 1 to N envs on 1 and 2 engines, side by side.

    python benchmarks/vec_scaling.py [--task escape/key-door] [--size 84] [--rounds 3] [--seconds 2]
                                     [--configs 1x1 4x1 4x1:2 8x1 4x2 8x2] [--one-core | --spread]
                                     [--against REV]

A config ``NxE`` is ``make_vec(task, N, engine_per=ceil(N/E))``: N envs on E engine processes,
each engine rendering its envs' cameras in ``EmbodiedVectorEnv.LANES`` pipelined requests per step
(``NxE/L``: in ``L``); ``NxE:T`` gives each engine ``T`` render threads (``render_threads=T``: ``4x1:2`` draws each request's scenes on two
threads, side by side with the default of one). The baseline is one plain
``EmbodiedGymEnv`` (its own engine, one render round trip per step). Every system takes random
actions from the discrete table (``action_mode="discrete"``, ``obs_mode="image"``); all alternate in
rounds of ``--seconds`` so load from other processes hits them alike; medians and ratios to the
single env are printed. ``--one-core`` pins this process and every engine to one CPU; ``--spread``
pins this process to one CPU and the engines to the others (each process a core of its own, as on a
quiet machine: on a loaded one, run it under ``nice -n -10`` so others' work does not decide).
``--against REV`` runs every config a second time with ``embodied/vector.py`` as it was at git
revision ``REV`` (loaded beside the working tree's, the rest of the package shared), in the same
alternating rounds: a change to the vector env measured side by side.

The last line checks the target (docs/performance.md): ``make_vec`` with 4 envs on one engine
at least 1.8x the env-steps/s of one env (wall clock; per CPU-second in brackets), and gives the
ceiling that engine's own CPU time per env-step sets (its renders run one after another on one
core, however well the client's work overlaps them). The ``model:`` line splits one env's step
into the engine's CPU and the client's work outside the render, and 4 envs' wall time per env-step
into the engine's CPU and the gap per step in which it waits (docs/performance.md, "What bounds 4
envs on one engine").
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import sys
import time

import numpy as np


def engine_seconds(pids: list[int]) -> float:
    """CPU time used so far by the engine processes ``pids``."""
    total = 0.0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def pin(pids: list[int], cpus: set[int]) -> None:
    for pid in pids:
        os.sched_setaffinity(pid, cpus)


def vector_at(rev: str):
    """``embodied/vector.py`` as it was at git revision ``rev``, as a module of the package."""
    import importlib.util
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    src = subprocess.run(
        ["git", "show", f"{rev}:embodied/vector.py"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    name = f"embodied._vector_at_{rev.replace('-', '_').replace('~', '_').replace('^', '_')}"
    spec = importlib.util.spec_from_loader(name, loader=None)
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = "embodied"
    exec(compile(src, f"{rev}:embodied/vector.py", "exec"), mod.__dict__)
    sys.modules[name] = mod
    return mod


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="escape/key-door")
    p.add_argument("--size", type=int, default=84)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--configs", nargs="+", default=["1x1", "4x1", "4x1:2", "8x1", "4x2", "8x2"])
    p.add_argument("--one-core", action="store_true")
    p.add_argument(
        "--spread",
        action="store_true",
        help="this process on the first allowed CPU, the engines on the others (each process a core of "
        "its own, as on a quiet machine; run it under nice -n -10 on a loaded one)",
    )
    p.add_argument(
        "--against", default=None, metavar="REV", help="also run each config with vector.py at REV"
    )
    args = p.parse_args(argv)
    for cfg in args.configs:
        if not re.fullmatch(r"[1-9]\d*x[1-9]\d*(:[12])?(/[1-9]\d*)?", cfg.lower()):
            p.error(f"--configs {cfg!r}: expected NxE, NxE:T or NxE/L (e.g. 4x1, 4x1:2, 4x1/2)")
    ncpu = len(os.sched_getaffinity(0))
    load0 = os.getloadavg()[0]
    import embodied
    from embodied.adapters.gym import EmbodiedGymEnv
    from embodied.cli import error_line
    from embodied.errors import EmbodiedError
    from embodied.vector import _lanes

    kw = dict(action_mode="discrete", obs_mode="image", width=args.size, height=args.size)
    rng = np.random.default_rng(0)
    systems = {}
    try:
        single = EmbodiedGymEnv(args.task, **kw)
    except EmbodiedError as exc:  # (an unknown task, a bad size: one line, exit 2)
        print(f"{p.prog}: error: {error_line(exc)}", file=sys.stderr)
        return 2
    single.reset(seed=0)
    n_nav = 9  # navigation indices of the discrete table: random walking, like the other benchmarks

    def step_single() -> int:
        _, _, term, trunc, _ = single.step(int(rng.integers(n_nav)))
        if term or trunc:
            single.reset()
        return 1

    systems["single env"] = (step_single, [single.env.engine.process.pid])
    vecs = []
    makers = [("", embodied.make_vec)]
    if args.against:
        makers.append((f" @{args.against}", vector_at(args.against).make_vec))
    try:
        for cfg in args.configs:
            cfg, _, lanes = cfg.lower().partition("/")
            shape, _, threads = cfg.partition(":")
            n, e = (int(x) for x in shape.split("x"))
            t = int(threads) if threads else None
            for tag, make_vec in makers:
                vec = make_vec(args.task, n, engine_per=math.ceil(n / e), render_threads=t, **kw)
                if lanes:
                    vec._lanes = _lanes(n, vec.engine_per, int(lanes), half=vec.render_threads > 1)
                vec.reset(seed=0)
                vecs.append(vec)

                def step_vec(vec=vec, n=n) -> int:
                    vec.step(rng.integers(n_nav, size=n))
                    return n

                label = f"make_vec {n} envs, {e} engine{'s' if e > 1 else ''}"
                label += f", {t} render thread{'s' if t > 1 else ''}" if t else ""
                label += f", {lanes} parts" if lanes else ""
                systems[label + tag] = (
                    step_vec,
                    [eng.process.pid for eng in vec.engines],
                )
    except EmbodiedError as exc:
        single.close()
        for vec in vecs:
            vec.close()
        print(f"{p.prog}: error: {error_line(exc)}", file=sys.stderr)
        return 2
    try:
        if args.one_core:
            cpu = min(os.sched_getaffinity(0))
            pin([0] + [pid for _, pids in systems.values() for pid in pids], {cpu})
        elif args.spread:
            cpus = sorted(os.sched_getaffinity(0))
            pin([0], {cpus[0]})
            for _, pids in systems.values():
                for j, pid in enumerate(pids):
                    pin([pid], {cpus[1 + j % (len(cpus) - 1)]})
        got: dict[str, list[float]] = {k: [] for k in systems}
        per_cpu: dict[str, list[float]] = {k: [] for k in systems}
        engine_us: dict[str, list[float]] = {k: [] for k in systems}  # engine CPU per env-step
        client_us: dict[str, list[float]] = {k: [] for k in systems}  # this process's CPU per env-step
        for step, _ in systems.values():  # warm up
            step()
        for _ in range(args.rounds):
            for name, (step, pids) in systems.items():
                n, t0, e0, p0 = 0, time.perf_counter(), engine_seconds(pids), time.process_time()
                while time.perf_counter() - t0 < args.seconds:
                    n += step()
                got[name].append(n / (time.perf_counter() - t0))
                eng, mine = engine_seconds(pids) - e0, time.process_time() - p0
                per_cpu[name].append(n / max(eng + mine, 1e-9))
                engine_us[name].append(1e6 * eng / n)
                client_us[name].append(1e6 * mine / n)
    finally:
        single.close()
        for vec in vecs:
            vec.close()
    base = statistics.median(got["single env"])
    base_cpu = statistics.median(per_cpu["single env"])
    cores = "1 core (everything pinned)" if args.one_core else f"{ncpu} cores"
    if args.spread:
        cores = f"{ncpu} cores, client and engines pinned apart, nice {os.nice(0)}"
    print(
        f"{args.task}, {args.size}x{args.size} RGB, random navigation, {cores}, {args.rounds} alternating "
        f"rounds of {args.seconds:g} s, load average {load0:.1f} -> {os.getloadavg()[0]:.1f} (shared machine)"
    )
    print(
        f"{'system':44s} {'env-steps/s':>12s} {'min':>8s} {'max':>8s} {'vs single':>10s} "
        f"{'per CPU-s':>10s} {'vs single':>10s} {'engine us':>10s}"
    )
    for name, vals in got.items():
        med, mc = statistics.median(vals), statistics.median(per_cpu[name])
        print(
            f"{name:54s} {med:12.0f} {min(vals):8.0f} {max(vals):8.0f} {med / base:10.2f} "
            f"{mc:10.0f} {mc / base_cpu:10.2f} {statistics.median(engine_us[name]):10.0f}"
        )
    print("(engine us: the engines' CPU time per env-step, in microseconds)")
    if args.against:
        for name in [k for k in got if k.endswith(f" @{args.against}")]:
            new = name[: -len(f" @{args.against}")]
            per_round = [a / b for a, b in zip(got[new], got[name])]
            per_round_cpu = [a / b for a, b in zip(per_cpu[new], per_cpu[name])]
            print(
                f"{new}: this tree / @{args.against}, median of per-round ratios {statistics.median(per_round):.3f} "
                f"(per CPU-s {statistics.median(per_round_cpu):.3f}; rounds {', '.join(f'{r:.2f}' for r in per_round)})"
            )
    four = "make_vec 4 envs, 1 engine"
    if four in got:
        ratio = statistics.median(got[four]) / base
        four_cpu = statistics.median(per_cpu[four]) / base_cpu
        # one engine renders the 4 envs' frames one after another on one core: however well the
        # client's work overlaps them, 4 envs cannot step faster than that engine's CPU time allows
        ceiling = 1e6 / statistics.median(engine_us[four]) / base
        print(
            f"target: make_vec 4 envs on 1 engine / one env: {ratio:.2f} [{four_cpu:.2f}]  target >= 1.8  "
            f"{'met' if ratio >= 1.8 else 'NOT met'} ({cores}; ceiling {ceiling:.2f}: that engine kept busy "
            "all the time at its CPU time per env-step, meaningful on a quiet machine only)"
        )
        step_us, eng = 1e6 / base, statistics.median(engine_us[four])
        print(
            f"  one env's step {step_us:.0f} us (client and engine in turn); the 4 envs' engine {eng:.0f} us "
            f"of CPU per env-step, busy ~{ratio / ceiling:.0%} of the wall time; 1.8x needs that engine at "
            f"<= {step_us / 1.8:.0f} us per env-step and busy all the time"
        )
        # the model of docs/performance.md ("What bounds 4 envs on one engine"): one env's step is
        # P = E_p + c (the engine's CPU per step, and the client's work that does not overlap the
        # render: its action, rules and request before, the frame after); 4 envs on one engine take
        # B = E_b + g/4 per env-step (the engine's CPU per env-step, and the gap per step in which
        # it waits: the first env's own step before its request, the last frame's after its answer)
        c_p, e_p = statistics.median(client_us["single env"]), statistics.median(engine_us["single env"])
        wall_b = 1e6 / statistics.median(got[four])
        gap = 4 * max(wall_b - eng, 0.0)
        print(
            f"  model: one env P = {step_us:.0f} us = engine E_p {e_p:.0f} + client outside the render "
            f"{step_us - e_p:.0f} (client CPU {c_p:.0f} per step); 4 envs B = {wall_b:.0f} us per env-step "
            f"= engine E_b {eng:.0f} + gap {gap:.0f} us per step / 4 (client CPU "
            f"{statistics.median(client_us[four]):.0f} per env-step); P / B = {step_us / wall_b:.2f}; "
            f"with no gap P / E_b = {step_us / eng:.2f}"
        )
    two = "make_vec 4 envs, 1 engine, 2 render threads"
    if two in got:
        print(
            f"with render_threads=2: {statistics.median(got[two]) / base:.2f} "
            f"[{statistics.median(per_cpu[two]) / base_cpu:.2f}]  target >= 1.8"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
