"""Scene handles on the wire: several scenes per engine, batched render, close_scene, caps."""

import numpy as np
import pytest

from embodied.engine import launch
from embodied.errors import EngineError, ProtocolError

CAM = {"agent": "a0", "pos": [0, -2, 1.2], "hpr": [0, -15, 0], "fov": 80, "width": 96, "height": 72}


def scene(color, x=0.0):
    return [
        {"id": "floor", "seg": 1, "shape": "box", "size": [6, 6, 0.1], "pos": [0, 0, -0.05]},
        {
            "id": "box",
            "seg": 2,
            "shape": "box",
            "size": [0.6, 0.6, 0.6],
            "pos": [x, 0.5, 0.3],
            "color": color,
        },
    ]


@pytest.fixture(scope="module")
def eng(tmp_path_factory):
    with launch(log_dir=str(tmp_path_factory.mktemp("logs")), max_scenes=6, max_buffers=3) as client:
        yield client


def test_scenes_are_independent_and_batch_equals_single(eng):
    red, blue = eng.scene(), eng.scene()
    red.load(scene([1, 0, 0]))
    blue.load(scene([0, 0, 1], x=0.8))
    assert red.handle != blue.handle
    red.set_cameras([CAM])
    blue.set_cameras([{**CAM, "agent": "b"}])
    r1 = red.render(modalities=("rgb", "seg"))["a0"]
    b1 = blue.render(agents=("b",), modalities=("rgb", "seg"))["b"]
    assert r1["rgb"][..., 0].max() > 200 and not np.array_equal(r1["rgb"], b1["rgb"])
    blue.update([{"id": "box", "visible": False}])  # blue's change never shows in red
    assert np.array_equal(red.render()["a0"]["rgb"], r1["rgb"])
    both = eng.render_many(
        [(red, {"agents": ["a0"]}), (blue, {"agents": ["b"], "updates": [{"id": "box", "visible": True}]})],
        modalities=("rgb", "seg"),
    )()
    for m in ("rgb", "seg"):
        assert np.array_equal(both[0]["a0"][m], r1[m]) and np.array_equal(both[1]["b"][m], b1[m])
    with pytest.raises(ProtocolError, match="unknown node id"):  # all or nothing across scenes
        eng.render_many(
            [
                (red, {"updates": [{"id": "box", "visible": False}]}),
                (blue, {"agents": ["b"], "updates": [{"id": "nope"}]}),
            ]
        )()
    assert np.array_equal(red.render()["a0"]["rgb"], r1["rgb"])
    red.close(), blue.close()
    with pytest.raises(EngineError, match="before load"):
        red.render()


def test_closed_handle_and_scene_cap(eng):
    s = eng.scene()
    s.load(scene([0, 1, 0]))
    handle = s.handle
    s.close()
    s.handle = handle  # a stale handle is refused, not silently reused
    with pytest.raises(ProtocolError, match="unknown scene handle"):
        s.render()
    opened = []
    with pytest.raises(ProtocolError, match="--max-scenes"):
        for _ in range(10):
            opened.append(eng.scene())
            opened[-1].load(scene([0, 1, 0]))
    assert 2 <= len(opened) <= 7 and opened[-1].handle is None
    for sc in opened:
        sc.close()
    assert eng.ping() < 1.0


def test_buffers_are_capped_and_reused(eng):
    s = eng.scene()
    s.load(scene([1, 1, 0]))
    first = s.render(cameras=[CAM])["a0"]["rgb"].copy()
    for w in (64, 80, 100, 120, 140, 160):  # more resolutions than --max-buffers 3
        out = s.render(cameras=[{**CAM, "width": w, "height": w}])["a0"]["rgb"]
        assert out.shape == (w, w, 3)
    assert np.array_equal(s.render(cameras=[CAM])["a0"]["rgb"], first)  # rebuilt buffer, same pixels
    s.close()


def test_closed_scenes_are_freed():
    """Loading and closing a lit, modelled scene over and over keeps no states or geometry (a
    node lit by a light below its own root held the root: each close kept ~2 MB)."""
    import random

    from embodied.bridges.panda3d.renderer import Renderer
    from embodied.procedural import generate
    from panda3d.core import RenderState

    from embodied.scene_graph import SceneGraph
    from embodied.world import World

    nodes = SceneGraph(World(generate(random.Random(0)))).build_nodes()
    r = Renderer("software")
    counts = []
    for i in range(12):
        r.use(f"s{i}", create=True)
        r.load_scene(nodes, f"s{i}")
        r.set_cameras(
            [{"agent": "a0", "pos": [0, 0, 1.5], "hpr": [0, -10, 0], "fov": 90, "width": 32, "height": 32}]
        )
        r.render(["a0"], ["rgb", "depth", "seg"])
        r.close_scene(f"s{i}")
        counts.append(RenderState.get_num_states())
    r.close()
    states = counts
    assert max(states[4:]) - min(states[4:]) <= 4, states  # grew by ~9 per scene before


def test_rgb_readback_with_and_without_opencv_is_identical(monkeypatch):
    """The OpenCV readback (one SIMD convert + flip) gives the numpy path's pixels exactly."""
    pytest.importorskip("cv2")
    from embodied.bridges.panda3d import renderer as R

    r = R.Renderer("software")
    blue = {**scene((0.1, 0.3, 0.9), x=1.5)[1], "id": "box2", "seg": 3}
    r.load_scene([*scene((0.9, 0.2, 0.1)), blue], "two")
    frames = {}
    for name, value in (("cv2", []), ("numpy", [None])):
        monkeypatch.setattr(R, "_CV2", list(value))
        r.set_cameras(
            [{"agent": "a0", "pos": [0, -3, 1.2], "hpr": [10, -5, 0], "fov": 90, "width": 48, "height": 40}]
        )
        frames[name] = r.render(["a0"], ["rgb"])["a0"]["rgb"]
    r.close()
    a, b = frames["cv2"], frames["numpy"]
    assert a.shape == (40, 48, 3) and a.dtype == np.uint8 and a.flags.c_contiguous
    assert a.std() > 1 and np.array_equal(a, b)
