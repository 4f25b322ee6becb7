"""plan_path with near= as the planners call it: an older nav.py (``--old FILE``, e.g. from
``git show REV:embodied/nav.py > /tmp/nav_old.py``) against this tree's, alternating rounds, on
the shipped scenes' targets (the paths must be identical) and on a 20 m hall with turns of 45°.
Run from the repository root: ``python benchmarks/nav_turns.py --old /tmp/nav_old.py``."""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import embodied.nav as new
from embodied.spec import load_spec
from embodied.world import World

SCENES = ["key_door", "two_rooms", "kitchen_put", "note_code"]


def load(name: str, path: str):
    spec = importlib.util.spec_from_file_location(f"embodied.{name}", path)
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = "embodied"
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--old", required=True, help="an older embodied/nav.py")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # (the repository root: tests/)
    from tests.test_nav_large import aims, hall20

    old = load("_nav_old", args.old)
    cases = []
    for sc in SCENES:
        w = World(load_spec(sc))
        for t in [*w.objs, *w.layout.doors]:
            cases.append((w, *aims(w, t, w.nav.reach)))

    def run(mod):
        t = time.perf_counter()
        paths = [
            mod.plan_path(w.pose("a0"), goal, free, w.nav, near=mod.Near(near.bounds, near.contains))
            for w, goal, free, near in cases
        ]
        return time.perf_counter() - t, paths

    took: dict[str, list[float]] = {"old": [], "new": []}
    paths = {}
    for _ in range(args.rounds):
        for name, mod in (("old", old), ("new", new)):
            dt, paths[name] = run(mod)
            took[name].append(dt)
    rounds = {k: " ".join(f"{x:.3f}" for x in v) for k, v in took.items()}
    print(
        f"{len(cases)} plan_path calls ({', '.join(SCENES)}), s per round: old {rounds['old']}; new {rounds['new']}"
    )
    print("paths identical:", paths["old"] == paths["new"])
    w = World(load_spec(hall20()), new.NavConfig(rotate=45))
    goal, free, near = aims(w, "exit", 1.5)
    for name, mod in (("old", old), ("new", new)):
        t = time.perf_counter()
        got = mod.plan_path(
            w.pose("a0"), goal, free, mod.NavConfig(rotate=45), near=mod.Near(near.bounds, near.contains)
        )
        said = "gave up" if got is None else f"{len(got)} actions"
        print(f"20 m hall, turns of 45°: {name} {time.perf_counter() - t:.2f} s, {said}")


if __name__ == "__main__":
    main()
