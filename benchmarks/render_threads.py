"""Render-only throughput of ``Renderer(threads=1)`` against ``Renderer(threads=2)``, side by side.

    python benchmarks/render_threads.py [--size 84] [--rounds 7] [--seconds 0.5] [--modalities rgb] [--overlap]

Both renderers hold the same 4 generated scenes (seeds 0-3) and draw them in batches of 4
(``Renderer.render_scenes``, one camera per scene, 50 random camera poses in turn), in this process
(no engine, no client); the two alternate in rounds so load from other processes hits them
alike. Prints scene-frames per second (medians), this process's CPU time per scene-frame and
the ratio (docs/performance.md, "Rendering a batch on two threads"), and whether the two threads
drew at the same time: ``renderer.OVERLAP`` (False while a race is left: the two-thread figure is
then the cost of drawing the halves one after the other). ``--overlap`` sets it for this run only,
to measure what overlapping would give; its frames are not checked here (the stress test does that).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=84)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--seconds", type=float, default=0.5)
    p.add_argument("--modalities", default="rgb", help="comma-separated: rgb, depth, seg")
    p.add_argument(
        "--overlap", action="store_true", help="let the two threads draw at once (renderer.OVERLAP)"
    )
    args = p.parse_args(argv)
    from embodied.bridges.panda3d import renderer as renderer_module
    from embodied.bridges.panda3d.renderer import Renderer
    from embodied.procedural import generate

    from embodied.scene_graph import SceneGraph
    from embodied.world import World

    mods = args.modalities.split(",")
    if args.overlap:
        renderer_module.OVERLAP = True
    worlds = [SceneGraph(World(generate(random.Random(seed)))).build_nodes() for seed in range(4)]
    rng = random.Random(0)
    cams = [
        [
            {
                "agent": "a0",
                "pos": [rng.uniform(1, 8), rng.uniform(1, 4), 1.5],
                "hpr": [rng.uniform(-180, 180), rng.uniform(-20, 5), 0],
                "fov": 90,
                "width": args.size,
                "height": args.size,
            }
            for _ in worlds
        ]
        for _ in range(50)
    ]
    renderers = {t: Renderer("software", threads=t) for t in (1, 2)}
    for r in renderers.values():
        for i, nodes in enumerate(worlds):
            r.use(f"s{i}", create=True)
            r.load_scene(nodes, f"s{i}")

    def batch(r, k: int) -> None:
        for i in range(len(worlds)):
            r.use(f"s{i}")
            r.set_cameras([cams[k % len(cams)][i]])
        r.render_scenes([(f"s{i}", ["a0"]) for i in range(len(worlds))], mods)

    rate: dict[int, list[float]] = {1: [], 2: []}
    cpu: dict[int, list[float]] = {1: [], 2: []}
    try:
        for _ in range(args.rounds):
            for t, r in renderers.items():
                for k in range(10):  # (warm: the other renderer ran last)
                    batch(r, k)
                n, t0, c0 = 0, time.perf_counter(), time.process_time()
                while time.perf_counter() - t0 < args.seconds:
                    batch(r, n)
                    n += 1
                frames = n * len(worlds)
                rate[t].append(frames / (time.perf_counter() - t0))
                cpu[t].append(1e6 * (time.process_time() - c0) / frames)
    finally:
        for r in renderers.values():
            r.close()

    print(
        f"{args.size}x{args.size} {'+'.join(mods)}, batches of 4 scenes, {args.rounds} alternating rounds, "
        f"load average {os.getloadavg()[0]:.1f}, "
        f"two threads drawing {'at once' if renderer_module.OVERLAP else 'one after the other'} (OVERLAP={renderer_module.OVERLAP})"
    )
    for t in (1, 2):
        print(
            f"threads={t}: {statistics.median(rate[t]):7.0f} scene-frames/s  "
            f"CPU {statistics.median(cpu[t]):5.0f} us per scene-frame  [{min(rate[t]):.0f}-{max(rate[t]):.0f}]"
        )
    print(f"threads=2 / threads=1: {statistics.median(rate[2]) / statistics.median(rate[1]):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
