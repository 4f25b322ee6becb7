"""Render throughput of the Panda3D engine: in-process vs. through the ZeroMQ engine process.

    python benchmarks/render_throughput.py [--size 224] [--seconds 2] [--renderer software]
                                           [--scenes] [--in-process-only] [--cpu]

Prints frames per second for each modality set, in-process (the Renderer alone) and
client -> engine process -> client (one `render` request per step carrying a small node
update, as an env step does), and their ratio. ``--scenes`` adds an in-process table over
every shipped scene (the escape rooms as an agent sees them: the scene graph's own nodes,
each agent's eye turning a full circle over 36 views), the targets' lines (rgb frames/s at
224², and rgb+depth+seg / rgb at each of ``--ratio-sizes``, worst shipped scene).
"""

from __future__ import annotations

import argparse
import time

from embodied.bridges.panda3d.renderer import Renderer

from embodied.engine import launch

MODALITY_SETS = [("rgb",), ("rgb", "depth"), ("rgb", "depth", "seg")]


def room() -> list[dict]:
    """A 6 x 6 m room: floor, four walls, a red chest, a blue ball, a note with text."""
    walls = [
        ("wall_n", [6, 0.1, 2.5], [0, 3, 1.25]),
        ("wall_s", [6, 0.1, 2.5], [0, -3, 1.25]),
        ("wall_e", [0.1, 6, 2.5], [3, 0, 1.25]),
        ("wall_w", [0.1, 6, 2.5], [-3, 0, 1.25]),
    ]
    nodes = [
        {
            "id": "floor",
            "seg": 1,
            "kind": "floor",
            "shape": "box",
            "size": [6, 6, 0.1],
            "pos": [0, 0, -0.05],
            "color": [0.6, 0.55, 0.5],
        }
    ]
    nodes += [
        {
            "id": i,
            "seg": 2 + k,
            "kind": "wall",
            "shape": "box",
            "size": s,
            "pos": p,
            "color": [0.8, 0.8, 0.75],
        }
        for k, (i, s, p) in enumerate(walls)
    ]
    nodes += [
        {
            "id": "chest",
            "seg": 6,
            "kind": "chest",
            "shape": "box",
            "size": [0.6, 0.6, 0.6],
            "pos": [0.6, 1.0, 0.3],
            "hpr": [30, 0, 0],
            "color": [0.9, 0.1, 0.1],
        },
        {
            "id": "ball",
            "seg": 7,
            "kind": "ball",
            "shape": "sphere",
            "size": [0.4, 0.4, 0.4],
            "pos": [-1.0, 1.0, 0.2],
            "color": [0.1, 0.3, 0.9],
        },
        {
            "id": "note",
            "seg": 8,
            "kind": "note",
            "shape": "card",
            "size": [0.6, 0, 0.45],
            "pos": [-0.8, 2.9, 1.2],
            "color": [0.95, 0.93, 0.85],
            "text": "The code is 4172",
        },
    ]
    return nodes


CLOCK = time.perf_counter  # --cpu: time.process_time (this process's CPU seconds)


def rate(step, seconds: float, clock=None) -> float:
    """Steps per second of step(i), after a short warm-up (``clock``: default CLOCK)."""
    clock = clock or CLOCK
    for i in range(20):
        step(i)
    n, t0 = 0, clock()
    while clock() - t0 < seconds:
        step(n)
        n += 1
    return n / (clock() - t0)


def scene_views(name: str, size: int):
    """(nodes, cameras) of a shipped scene: the scene graph's nodes and 36 views per agent."""
    from embodied.nav import NavConfig
    from embodied.scene_graph import SceneGraph
    from embodied.spec import load_spec
    from embodied.world import World

    world = World(load_spec(name))
    nodes = SceneGraph(world).build_nodes()
    eye = NavConfig().eye_height
    cams = []
    for aid in world.agent_ids:
        a = world.agent(aid)
        for k in range(36):
            pose = {"pos": [a["x"], a["y"], eye], "hpr": [a["yaw"] + 10 * k, -10.0, 0.0]}
            cams.append({"agent": "a0", **pose, "fov": 90, "width": size, "height": size})
    return nodes, cams


def scene_rates(renderer: str, size: int, seconds: float) -> dict[str, dict[tuple, float]]:
    """In-process frames/s per shipped scene and modality set (camera turning every frame)."""
    from embodied.spec import shipped_scenes

    out = {}
    r = Renderer(renderer)
    for name in shipped_scenes():
        nodes, cams = scene_views(name, size)
        r.load_scene(nodes, name)
        out[name] = {}
        for mods in MODALITY_SETS:

            def step(i, m=mods, cams=cams):
                r.set_cameras([cams[i % len(cams)]])
                r.render(["a0"], m)

            out[name][mods] = rate(step, seconds)
    r.close()
    return out


# the renderer's targets (docs/rendering.md): rgb frames/s of every shipped escape room at 224²
# in-process on one core, and RGB+depth+seg steps/s as a fraction of RGB-only
RGB_TARGET, FULL_RATIO_TARGET = 3000.0, 0.5


RATIO_SIZES = ((84, 84), (128, 128), (224, 224), (640, 480))  # the sizes of the depth+seg target


def ratio_rates(renderer: str, sizes, seconds: float) -> dict[tuple, dict[str, tuple[float, float]]]:
    """Per size and shipped scene: (rgb, rgb+depth+seg) frames/s in-process (alternating)."""
    from embodied.spec import shipped_scenes

    out: dict[tuple, dict[str, tuple[float, float]]] = {}
    r = Renderer(renderer)
    for w, h in sizes:
        out[w, h] = {}
        for name in shipped_scenes():
            nodes, cams = scene_views(name, w)
            cams = [dict(c, width=w, height=h) for c in cams]
            r.load_scene(nodes, name)
            rates = []
            for mods in (MODALITY_SETS[0], MODALITY_SETS[-1]):

                def step(i, m=mods, cams=cams):
                    r.set_cameras([cams[i % len(cams)]])
                    r.render(["a0"], m)

                rates.append(rate(step, seconds))
            out[w, h][name] = (rates[0], rates[1])
    r.close()
    return out


def print_ratio_targets(table: dict, cpu: bool) -> None:
    """One target line per size: the worst shipped scene's rgb+depth+seg / rgb (in-process)."""
    unit = "per CPU-second" if cpu else "wall clock"
    from embodied.bridges.panda3d.decode import describe

    print(f"\nrgb+depth+seg / rgb per size, in-process ({unit}; worst shipped scene; {describe()} decoder):")
    for (w, h), rows in table.items():
        ratio = {name: full / rgb for name, (rgb, full) in rows.items()}
        low = min(ratio, key=ratio.get)
        rgb, full = rows[low]
        print(
            f"  {w}x{h}: {ratio[low]:.2f} ({low}: {rgb:,.0f} rgb, {full:,.0f} rgb+depth+seg frames/s)  "
            f"target >= {FULL_RATIO_TARGET:g}  {'met' if ratio[low] >= FULL_RATIO_TARGET else 'NOT met'}"
        )


def print_targets(table: dict, size: int, cpu: bool) -> None:
    """One line per target: the worst scene's figure, the target, met?"""
    rgb = {name: row[MODALITY_SETS[0]] for name, row in table.items()}
    ratio = {name: row[MODALITY_SETS[-1]] / row[MODALITY_SETS[0]] for name, row in table.items()}
    slow, low = min(rgb, key=rgb.get), min(ratio, key=ratio.get)
    unit = "per CPU-second" if cpu else "wall clock; use --cpu pinned to one core (taskset -c 0)"
    print(f"\ntargets ({unit}; worst shipped scene):")
    note = "" if size == 224 else "  (the target is for --size 224)"
    print(
        f"  rgb frames/s at {size}x{size}: {rgb[slow]:,.0f} ({slow})  target >= {RGB_TARGET:,.0f}  "
        f"{'met' if rgb[slow] >= RGB_TARGET else 'NOT met'}{note}"
    )
    print(
        f"  rgb+depth+seg / rgb: {ratio[low]:.2f} ({low})  target >= {FULL_RATIO_TARGET:g}  "
        f"{'met' if ratio[low] >= FULL_RATIO_TARGET else 'NOT met'}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--renderer", default="software", choices=["software", "gl", "auto"])
    p.add_argument("--scenes", action="store_true", help="also render every shipped scene in-process")
    p.add_argument("--in-process-only", action="store_true", help="skip the engine-process rounds")
    p.add_argument(
        "--ratio-sizes",
        default="84,128,224,640x480",
        help="with --scenes: sizes (N or WxH, comma-separated) of the rgb+depth+seg / rgb target lines; "
        "'' for none (default 84,128,224,640x480)",
    )
    p.add_argument(
        "--cpu",
        action="store_true",
        help="in-process rates per CPU-second of this process (one core; steadier on a shared machine); "
        "client-server rates stay wall-clock",
    )
    args = p.parse_args(argv)
    try:
        ratio_sizes = [
            tuple(int(v) for v in (part.split("x") if "x" in part else (part, part)))
            for part in args.ratio_sizes.replace(" ", "").split(",")
            if part
        ]
    except ValueError:
        p.error(f"--ratio-sizes {args.ratio_sizes!r}: expected sizes like 84,128,640x480")
    if args.cpu:
        global CLOCK
        CLOCK = time.process_time
    cam = {
        "agent": "a0",
        "pos": [0, -2, 1.2],
        "hpr": [0, -10, 0],
        "fov": 90,
        "width": args.size,
        "height": args.size,
    }

    def move(i: int) -> list[dict]:
        return [{"id": "ball", "pos": [-1.0 + 0.001 * (i % 500), 1.0, 0.2]}]

    r = Renderer(args.renderer)
    r.load_scene(room(), "bench")
    r.set_cameras([cam])
    local = {}
    for mods in MODALITY_SETS:
        local[mods] = rate(lambda i, m=mods: (r.update(move(i)), r.render(["a0"], m)), args.seconds)
    backend = r.backend
    r.close()

    remote, rtt = dict.fromkeys(MODALITY_SETS, float("nan")), float("nan")
    if not args.in_process_only:
        with launch(renderer=args.renderer) as eng:
            eng.load_scene(room(), "bench")
            eng.set_cameras([cam])
            wall = time.perf_counter  # two processes: always wall-clock
            rtt = rate(lambda i: eng.ping(), args.seconds / 2, wall)
            for mods in MODALITY_SETS:
                remote[mods] = rate(
                    lambda i, m=mods: eng.render(modalities=m, updates=move(i)), args.seconds, wall
                )

    print(f"renderer={backend} size={args.size}x{args.size} (each step: 1 node update + render)")
    print(f"{'modalities':<18}{'in-process fps':>16}{'client-server fps':>20}{'ratio':>8}")
    for mods in MODALITY_SETS:
        print(
            f"{'+'.join(mods):<18}{local[mods]:>16,.0f}{remote[mods]:>20,.0f}"
            f"{remote[mods] / local[mods]:>8.2f}"
        )
    print(f"ping round trip: {1e6 / rtt:.0f} us")
    if args.scenes:
        table = scene_rates(args.renderer, args.size, args.seconds)
        print(f"\nshipped scenes, in-process fps at {args.size}x{args.size} (camera turning every frame)")
        print(f"{'scene':<20}" + "".join(f"{'+'.join(m):>16}" for m in MODALITY_SETS) + f"{'d+s/rgb':>9}")
        for name, row in table.items():
            full = row[MODALITY_SETS[-1]] / row[MODALITY_SETS[0]]
            print(f"{name:<20}" + "".join(f"{row[m]:>16,.0f}" for m in MODALITY_SETS) + f"{full:>9.2f}")
        print_targets(table, args.size, args.cpu)
        if ratio_sizes:
            print_ratio_targets(ratio_rates(args.renderer, ratio_sizes, args.seconds), args.cpu)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
