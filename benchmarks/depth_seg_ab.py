"""Depth + seg with this checkout's decoder against another's, side by side in one process (in-process env).

    taskset -c 0 python benchmarks/depth_seg_ab.py [--sizes 224 640x480] [--rounds 7] [--seconds 1]
                                                   [--scene chest_split_code] [--a-tree DIR]

Per size, one in-process env (``engine="inprocess"``) takes random navigation steps in
alternating rounds of: RGB only; RGB + depth + seg with this checkout's compiled decoder
("new"); and RGB + depth + seg with the "old" decoder: the compiled decoder of the checkout
``--a-tree`` (its ``bridges/panda3d/_decode_numba.py``, loaded beside this one; e.g. a frozen
checkout of main), or without ``--a-tree`` this decoder with every frame decoded per pixel
(``decode.RUNS_FROM`` set past the width). Everything else in the step is this checkout's.
It prints each system's CPU microseconds per step (this process's CPU time, all threads;
median over rounds) and the medians of the per-round ratios RGB+D+S / RGB (the #21 target is
>= 0.5 in steps/s) and new / old depth + seg step. The decoders give the same bits
(tests/bridges/test_decode.py). See docs/rendering.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

from step_cost import frame_size

NAV = ("MoveAhead", "MoveBack", "MoveLeft", "MoveRight", "RotateLeft", "RotateRight", "LookUp", "LookDown")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", type=frame_size, default=["224", "640x480"])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--seconds", type=float, default=1.0, help="per system and round")
    p.add_argument("--scene", default="chest_split_code")
    p.add_argument("--a-tree", metavar="DIR", help="the old decoder: that checkout's compiled decoder")
    args = p.parse_args(argv)
    if args.rounds < 1 or args.seconds <= 0:
        print("error: --rounds and --seconds must be positive", file=sys.stderr)
        return 2
    from embodied.bridges.panda3d import decode as D

    from embodied.env import Env

    print(f"decoder: {D.describe()}; RUNS_FROM {D.RUNS_FROM}; load average {os.getloadavg()[0]:.1f}")
    shipped = D.RUNS_FROM
    new = D.kernel()
    if new is None:
        print(
            "error: the compiled decoder is not available here (pip install 'embodied[fast]')",
            file=sys.stderr,
        )
        return 2
    old, old_runs_from = new, 1 << 30  # (no --a-tree: this decoder, every frame per pixel)
    if args.a_tree:
        path = os.path.join(args.a_tree, "bridges", "panda3d", "_decode_numba.py")
        if not os.path.isfile(path):
            print(f"error: --a-tree {args.a_tree}: no {path}", file=sys.stderr)
            return 2
        # (a copy, so numba caches its machine code here, not in the other checkout)
        copy = os.path.join(tempfile.mkdtemp(prefix="old-decoder-"), "old_decode_numba.py")
        shutil.copyfile(path, copy)
        spec = importlib.util.spec_from_file_location("old_decode_numba", copy)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        old, old_runs_from = module.decode, shipped
    for size in args.sizes:
        w, h = size
        env = Env(args.scene, width=w, height=h, engine="inprocess")
        env.reset()
        rng = random.Random(0)
        systems = {
            "rgb": (("rgb",), new, shipped),
            "rgbds new": (("rgb", "depth", "segmentation"), new, shipped),
            "rgbds old": (("rgb", "depth", "segmentation"), old, old_runs_from),
        }
        got: dict[str, list[float]] = {k: [] for k in systems}
        for rnd in range(args.rounds + 1):
            for name, (mods, fn, runs_from) in systems.items():
                D._KERNEL[:] = [fn]
                D.RUNS_FROM = runs_from
                for _ in range(5):  # untimed: warm what the other system left cold
                    _, _, term, trunc, _ = env.step(rng.choice(NAV), modalities=mods)
                    if term or trunc:
                        env.reset()
                n, c0, t0 = 0, time.process_time(), time.perf_counter()
                while time.perf_counter() - t0 < args.seconds:
                    _, _, term, trunc, _ = env.step(rng.choice(NAV), modalities=mods)
                    if term or trunc:
                        env.reset()
                    n += 1
                if rnd:  # (round 0 warms up)
                    got[name].append((time.process_time() - c0) / n * 1e6)
        D._KERNEL[:] = [new]
        D.RUNS_FROM = shipped
        env.close()
        med = {k: statistics.median(v) for k, v in got.items()}
        ratio = {
            k: statistics.median(r / s for r, s in zip(got["rgb"], got[k]))
            for k in ("rgbds new", "rgbds old")
        }
        gain = statistics.median(a / b for a, b in zip(got["rgbds new"], got["rgbds old"]))
        print(
            f"{w}x{h}: CPU us/step rgb {med['rgb']:.0f}, rgb+d+s new {med['rgbds new']:.0f}, "
            f"old {med['rgbds old']:.0f}; RGB+D+S / RGB steps/s: new "
            f"{ratio['rgbds new']:.3f}, old {ratio['rgbds old']:.3f}; "
            f"D+S step new / old {gain:.3f}",
            flush=True,
        )
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    from embodied.cli import error_line
    from embodied.errors import EmbodiedError

    try:
        sys.exit(main())
    except EmbodiedError as exc:  # (an unknown scene, a bad size: one line, exit 2)
        print(f"depth_seg_ab.py: error: {error_line(exc)}", file=sys.stderr)
        sys.exit(2)
