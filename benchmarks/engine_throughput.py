"""End-to-end env throughput vs. in-process render-only, side by side, on one escape room.

    python benchmarks/engine_throughput.py [--scene chest_split_code] [--size 224] [--seconds 3]
                                           [--renderer software] [--one-core] [--repeats 3]

- render-only: the Panda3D renderer in this process, same scene nodes, the camera moved to
  the same poses the env visits, RGB render + readback (no rules, no transport).
- end-to-end: ``env.step(action)``: action -> rules -> scene update + camera -> ZeroMQ -> engine
  process renders -> raw frame back in this process (object metadata and allowed actions included).

The two alternate in rounds so machine noise hits both; the ratio is the figure to quote.
``--one-core`` pins this process and the engine process to one CPU.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from embodied.bridges.panda3d.renderer import Renderer

from embodied.actions import Action
from embodied.env import Env

CYCLE = [
    Action(a)
    for a in (
        "RotateLeft",
        "MoveAhead",
        "RotateRight",
        "LookDown",
        "MoveBack",
        "LookUp",
        "RotateLeft",
        "RotateRight",
    )
]


def poses(env: Env, n: int) -> list[dict]:
    """The camera dicts the env sends for the first ``n`` steps of the action cycle."""
    state = env.get_state()
    cams = []
    for i in range(n):
        env.step(CYCLE[i % len(CYCLE)])
        cams.append(env.camera())
    env.set_state(state)
    return cams


def render_only(r: Renderer, cams: list[dict], seconds: float) -> float:
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        r.set_cameras([cams[n % len(cams)]])
        r.render([cams[0]["agent"]], ("rgb",))
        n += 1
    return n / (time.perf_counter() - t0)


def end_to_end(env: Env, seconds: float) -> float:
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        env.step(CYCLE[n % len(CYCLE)])
        n += 1
    return n / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scene", default="chest_split_code")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--renderer", default="software")
    p.add_argument("--one-core", action="store_true", help="pin this process and the engine to CPU 0")
    args = p.parse_args()
    if args.one_core:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # the engine process inherits it
    # A budget no run reaches: the benchmark times steps, not episodes.
    with Env(args.scene, width=args.size, height=args.size, renderer=args.renderer, max_steps=10**9) as env:
        env.reset()
        cams = poses(env, len(CYCLE))
        r = Renderer(args.renderer)
        r.load_scene(env.graph.build_nodes(), name=env.spec.name)
        e2e, ren = [], []
        for _ in range(args.repeats):  # alternate so noise hits both
            ren.append(render_only(r, cams, args.seconds))
            e2e.append(end_to_end(env, args.seconds))
        r.close()
    med_r, med_e = statistics.median(ren), statistics.median(e2e)
    cores = (
        "1 core (client + engine pinned together)"
        if args.one_core
        else f"{len(os.sched_getaffinity(0))} cores"
    )
    print(
        f"scene {args.scene}, {args.size}x{args.size} RGB, {args.renderer} renderer, {cores}, "
        f"{args.repeats} alternating rounds of {args.seconds:g} s"
    )
    print(f"{'path':34s} {'median':>10s} {'min':>10s} {'max':>10s}")
    print(f"{'render-only (in-process) frames/s':34s} {med_r:10.0f} {min(ren):10.0f} {max(ren):10.0f}")
    print(f"{'end-to-end env.step steps/s':34s} {med_e:10.0f} {min(e2e):10.0f} {max(e2e):10.0f}")
    print(f"ratio end-to-end / render-only: {med_e / med_r:.2f}")


if __name__ == "__main__":
    main()
