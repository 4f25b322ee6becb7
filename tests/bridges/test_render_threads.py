"""Rendering a batch of scenes on two threads (Renderer(threads=2)) gives exactly the frames of
rendering them one after another on one thread, and never deadlocks (docs/performance.md,
"Batched envs")."""

import random

import numpy as np
import pytest

MODS = ["rgb", "depth", "seg"]


def _worlds(n: int) -> list[list[dict]]:
    from embodied.procedural import generate

    from embodied.scene_graph import SceneGraph
    from embodied.world import World

    return [SceneGraph(World(generate(random.Random(seed)))).build_nodes() for seed in range(n)]


def _camera(rng: random.Random, size: tuple[int, int]) -> dict:
    return {
        "agent": "a0",
        "pos": [rng.uniform(1, 8), rng.uniform(1, 4), rng.uniform(0.5, 1.8)],
        "hpr": [rng.uniform(-180, 180), rng.uniform(-30, 10), 0],
        "fov": 90,
        "width": size[0],
        "height": size[1],
    }


def _updates(rng: random.Random, nodes: list[dict]) -> list[dict]:
    """A few node changes: recolours (the baked mesh's vertex colours rewritten), states (doors
    opening: moved parts), shown/hidden nodes."""
    out = []
    for n in rng.sample(nodes, 3):
        change = rng.randrange(3)
        if change == 0:
            out.append({"id": n["id"], "color": [rng.random(), rng.random(), rng.random()]})
        elif change == 1 and n.get("state"):
            out.append({"id": n["id"], "state": {"open": rng.random() < 0.5}})
        else:
            out.append({"id": n["id"], "visible": rng.random() < 0.7})
    return out


@pytest.mark.timeout(240, method="thread")  # a deadlock ends the run with every thread's stack
def test_two_render_threads_give_the_sequential_frames_and_never_deadlock():
    from embodied.bridges.panda3d.renderer import Renderer

    worlds = _worlds(4)
    sizes = [(40, 32), (40, 32), (24, 20), (40, 32)]
    renderers = [Renderer("software", threads=1), Renderer("software", threads=2)]
    assert [r.threads for r in renderers] == [1, 2]
    try:
        for r in renderers:
            for i, nodes in enumerate(worlds):
                r.use(f"s{i}", create=True)
                r.load_scene(nodes, f"s{i}")
        rng = random.Random(0)
        for step in range(120):
            # batches of every size, the lone scene included (drawn by the calling thread)
            k = 1 + step % 4
            chosen = rng.sample(range(4), k)
            cams = {i: _camera(rng, sizes[i]) for i in chosen}
            updates = {i: _updates(rng, worlds[i]) for i in chosen if rng.random() < 0.3}
            mods = MODS if step % 3 == 0 else ["rgb"]
            frames = []
            for r in renderers:
                for i in chosen:
                    r.use(f"s{i}")
                    if i in updates:
                        r.update(updates[i])
                    r.set_cameras([cams[i]])
                if step % 10 == 9:  # one scene alone through render()
                    frames.append([r.render(["a0"], mods)])
                else:
                    frames.append(r.render_scenes([(f"s{i}", ["a0"]) for i in chosen], mods))
            for one, two in zip(*frames):
                for m in mods:
                    assert np.array_equal(one["a0"][m], two["a0"][m]), (step, m)
        # the second renderer did draw on its render thread: its targets have a buffer of each thread
        assert renderers[1].buffer_count() > renderers[0].buffer_count() == 4
    finally:
        for r in renderers:
            r.close()
