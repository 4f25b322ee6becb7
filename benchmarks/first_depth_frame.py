"""How long an engine process's first depth + segmentation frames take, with numba's cache cold
(a fresh ``NUMBA_CACHE_DIR``: the cache beside the module is not used) or warm (the same
directory, filled by a first engine), and when the compiled decoder took over (docs/rendering.md).

    python benchmarks/first_depth_frame.py                 # cold, then warm
    EMBODIED_DECODE_WAIT=0 python benchmarks/first_depth_frame.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

CAM = {"agent": "a0", "pos": [0, -1.5, 1.2], "hpr": [0, 0, 0], "fov": 90, "width": 160, "height": 120}
SCENE = [
    {"id": "floor", "seg": 1, "kind": "floor", "shape": "box", "size": [6, 6, 0.1], "pos": [0, 0, -0.05]},
    {"id": "wall", "seg": 2, "kind": "wall", "shape": "box", "size": [6, 0.1, 2.5], "pos": [0, 3, 1.25]},
    {"id": "chest", "seg": 3, "kind": "chest", "shape": "box", "size": [0.6, 0.6, 0.6], "pos": [0.6, 1, 0.6]},
]


def frames(seconds: float) -> str:
    from embodied.engine import launch

    with launch(timeout=60) as eng:
        eng.load_scene(SCENE, "first")
        took, t0 = [], time.monotonic()
        while time.monotonic() - t0 < seconds:
            t = time.monotonic()
            eng.render(modalities=("depth", "seg"), cameras=[CAM], timeout=300)
            took.append(time.monotonic() - t)
            time.sleep(0.02)
        with open(eng.log_path) as f:
            said = [line.split(": ", 1)[-1] for line in f.read().splitlines() if "decoder" in line]
    return (
        f"first frame {took[0]:.3f} s, later frames at most {max(took[1:]):.3f} s ({len(took) - 1}); "
        f"engine log: {said[0] if said else 'nothing (the first frame waited for the compiled decoder)'}"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=10.0, help="frames rendered for this long (default 10)")
    args = p.parse_args()
    cache = tempfile.mkdtemp(prefix="numba-cache-")
    os.environ["NUMBA_CACHE_DIR"] = cache
    wait = os.environ.get("EMBODIED_DECODE_WAIT", "") or "5 (default)"
    print(f"EMBODIED_DECODE_WAIT={wait}; load average {os.getloadavg()[0]:.1f}")
    try:
        print("cold cache:", frames(args.seconds))
        print("warm cache:", frames(args.seconds))
    finally:
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
