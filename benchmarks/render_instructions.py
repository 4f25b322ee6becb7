"""Instructions per in-process RGB step of every shipped scene, counted with callgrind.

    python benchmarks/render_instructions.py [--scenes key_door two_rooms] [--size 224] [--cycles 1]

Frames per second on a shared machine scatter by a factor of two from one minute to the next;
instruction counts do not depend on the load. Per scene, this runs itself under
``valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*functools_reduce*'``: the
worker loads the scene in-process (the scene graph's own nodes, as ``render_throughput.py
--scenes`` does), renders 40 warm-up steps, then ``--cycles`` full turns of every agent's eye
(36 views each, the camera turning every frame) inside ``functools.reduce``, so only the steps
(``set_cameras`` + ``render`` of RGB) are counted. It prints instructions per step (and, with
``callgrind_annotate``, those inside Panda3D's ``render_frame``: the part the make_vec and
engine-process ratios of issue #21 hang on) and the target line: about 1.89 M instructions per
step is 3,000 frames/s on the machine whose frame rates docs/rendering.md quotes (the RGB target
of issue #16). Needs ``valgrind``
(``apt-get install valgrind``); one scene takes about a minute.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile

TARGET = 1.89e6  # instructions per RGB step at 224x224 ~ 3,000 frames/s (docs/rendering.md)
WARMUP = 40


def worker(name: str, size: int, cycles: int) -> None:
    """Render ``name``'s views; the counted part is the functools.reduce over the steps."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from embodied.bridges.panda3d.renderer import Renderer
    from render_throughput import scene_views

    nodes, cams = scene_views(name, size)
    r = Renderer("software")
    r.load_scene(nodes, name)

    def step(acc: int, i: int) -> int:
        r.set_cameras([cams[i % len(cams)]])
        r.render(["a0"], ("rgb",))
        return acc + 1

    for i in range(WARMUP):
        step(0, i)
    n = functools.reduce(step, range(WARMUP, WARMUP + cycles * len(cams)), 0)
    r.close()
    print(f"steps {n}")


def render_frame(out: str) -> float | None:
    """Instructions inside Panda3D's ``GraphicsEngine::render_frame`` in a callgrind file (inclusive),
    or None without ``callgrind_annotate``."""
    if shutil.which("callgrind_annotate") is None:
        return None
    run = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", out], capture_output=True, text=True, check=False
    )
    hit = re.search(r"^\s*([\d,]+) .*GraphicsEngine::render_frame\(\)", run.stdout, re.M)
    return float(hit.group(1).replace(",", "")) if hit else None


def count(name: str, size: int, cycles: int, tmp: str) -> tuple[float, int, float | None]:
    """(instructions, steps, of them inside render_frame) of one scene's counted steps."""
    out = os.path.join(tmp, f"{name}.cg")
    cmd = [
        "valgrind",
        "--tool=callgrind",
        "--collect-atstart=no",
        "--toggle-collect=*functools_reduce*",
        f"--callgrind-out-file={out}",
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        name,
        "--size",
        str(size),
        "--cycles",
        str(cycles),
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, check=False)
    steps = re.search(r"^steps (\d+)$", run.stdout, re.M)
    if run.returncode != 0 or steps is None:
        raise SystemExit(f"{name}: the callgrind run failed:\n{run.stderr[-2000:]}")
    with open(out) as f:
        total = next(int(line.split()[1]) for line in f if line.startswith(("summary:", "totals:")))
    return float(total), int(steps.group(1)), render_frame(out)


def main(argv: list[str] | None = None) -> int:
    from embodied.spec import shipped_scenes

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenes", nargs="*", default=None, help="shipped scene names (default: all)")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--cycles", type=int, default=1, help="full turns of every agent's eye to count")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args.worker, args.size, args.cycles)
        return 0
    names = shipped_scenes()
    scenes = args.scenes or names
    unknown = [s for s in scenes if s not in names]
    if unknown:
        print(f"unknown scene {unknown[0]!r}; shipped scenes: {', '.join(names)}", file=sys.stderr)
        return 2
    if shutil.which("valgrind") is None:
        print(
            "valgrind not found; install it (apt-get install valgrind) to count instructions", file=sys.stderr
        )
        return 2
    print(
        f"instructions per in-process RGB step at {args.size}x{args.size} (set_cameras + render; callgrind)"
    )
    per = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in scenes:
            total, steps, frame = count(name, args.size, args.cycles, tmp)
            per[name] = total / steps
            inside = f", render_frame {frame / steps / 1e6:.3f} M" if frame is not None else ""
            print(f"  {name:<20}{per[name] / 1e6:>8.3f} M  ({steps} steps{inside})", flush=True)
    worst = max(per, key=per.get)
    note = "" if args.size == 224 else "  (the target is for --size 224)"
    print(
        f"target: <= {TARGET / 1e6:.2f} M on every shipped scene (~3,000 frames/s): worst {worst} "
        f"{per[worst] / 1e6:.3f} M  {'met' if per[worst] <= TARGET else 'NOT met'}{note}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
