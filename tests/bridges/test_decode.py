"""The id-frame decoder: the compiled (numba) and numpy decoders give identical depth and seg
(bit for bit) on shipped scenes from many poses, including frames whose grazing faces leave
holes to fill; a bad EMBODIED_DECODE is one clear error."""

from __future__ import annotations

import time
import weakref

import numpy as np
import pytest
from embodied.bridges.panda3d import decode as D
from embodied.bridges.panda3d.renderer import Renderer

from embodied.engine import launch
from embodied.errors import EngineError
from embodied.scene_graph import SceneGraph
from embodied.spec import load_spec
from embodied.world import World

numba = pytest.importorskip("numba", reason="the compiled decoder needs numba (pip install 'embodied[fast]')")


@pytest.fixture(scope="module")
def renderer():
    r = Renderer("software")
    yield r
    r.close()


def _both(monkeypatch, r, cam, mods):
    """The frame decoded by numba and by numpy (same id pass)."""
    out = []
    for mode in ("numba", "numpy"):
        monkeypatch.setenv("EMBODIED_DECODE", mode)
        monkeypatch.setattr(D, "_KERNEL", [])
        assert (D.kernel() is None) == (mode == "numpy")  # (the compiled one ready before the frame)
        r.set_cameras([cam])
        out.append(r.render(["a0"], mods)["a0"])
    assert D.kernel() is None
    return out


@pytest.mark.parametrize("scene", ["collab_split", "chest_split_code"])
def test_numba_and_numpy_decode_identically(renderer, monkeypatch, scene):
    world = World(load_spec(scene))
    renderer.load_scene(SceneGraph(world).build_nodes(), scene)
    a = world.agent(world.agent_ids[0])
    rng = np.random.default_rng(7)
    for k in range(24):
        w, h = ((84, 84), (160, 120), (224, 224))[k % 3]
        pos = [a["x"] + rng.uniform(-1, 1), a["y"] + rng.uniform(-1, 1), rng.uniform(0.3, 2.0)]
        hpr = [rng.uniform(0, 360), rng.uniform(-70, 30), rng.uniform(-8, 8) if k % 4 == 0 else 0.0]
        cam = {"agent": "a0", "pos": pos, "hpr": hpr, "fov": 90.0, "width": w, "height": h}
        mods = [("depth", "seg"), ("depth",), ("seg",), ("rgb", "seg", "depth")][k % 4]
        fast, slow = _both(monkeypatch, renderer, cam, mods)
        for m in mods:
            assert (
                fast[m].dtype == slow[m].dtype
                and fast[m].shape == slow[m].shape
                and fast[m].shape[:2] == (h, w)
            )
            assert fast[m].flags.c_contiguous
            assert fast[m].tobytes() == slow[m].tobytes(), (scene, k, m)
        if "depth" in mods:
            assert np.all(fast["depth"] > 0)  # no NaN, no non-positive depth (holes are filled)


@pytest.mark.parametrize("runs_from", [D.RUNS_FROM, 1])
def test_holes_are_filled_identically(monkeypatch, runs_from):
    """A frame with non-positive 1/depth pixels (as a grazing face gives): both decoders fill
    them from their neighbours the same way, leaving inf where no neighbour is finite (the
    compiled one per pixel and, ``runs_from`` 1, run by run)."""
    monkeypatch.setattr(D, "RUNS_FROM", runs_from)
    h, w = 9, 11
    buf = np.ones(h * w, np.uint32)  # face 1 everywhere (rows bottom-up)
    buf[: 2 * w] = 0  # bottom two rows: void
    buf[5 * w + 3] = 2  # face 2: one pixel (an edge-on face, its row NaN)
    buf[6 * w + 4 : 6 * w + 7] = 3  # face 3: seen from behind (negative depth)
    pc = np.zeros((4, 4))
    pc[1] = [0.1, -1.0, 0.05, 2.0]  # depth about 2 m
    pc[2] = [1.0, 0.0, 0.0, 0.0]  # through the eye
    pc[3] = [0.0, 1.0, 0.0, 2.0]  # behind
    face_seg = np.array([0, 5, 6, 7], np.int32)
    xs = np.linspace(-1, 1, w, dtype=np.float32)
    zs = np.linspace(0.8, -0.8, h, dtype=np.float32)
    out = {}
    for mode in ("numba", "numpy"):
        monkeypatch.setenv("EMBODIED_DECODE", mode)
        monkeypatch.setattr(D, "_KERNEL", [])
        assert (D.kernel() is None) == (mode == "numpy")
        out[mode] = D.decode(buf, h, w, 4, face_seg, pc, xs, zs, True, True)
    (seg_a, d_a), (seg_b, d_b) = out["numba"], out["numpy"]
    assert seg_a.tobytes() == seg_b.tobytes() and d_a.tobytes() == d_b.tobytes()
    assert np.all(d_a[:7] > 0) and np.isfinite(d_a[:7]).all()  # holes took their neighbours' depth
    assert np.isinf(d_a[7:]).all()  # the void rows (bottom of the image)
    assert seg_a[3, 3] == 6 and seg_a[2, 4] == 7  # seg is the face's, hole or not


def test_run_by_run_and_per_pixel_decode_identically(renderer, monkeypatch):
    """The compiled decoder's two loops (run by run for frames ``RUNS_FROM`` wide or wider, per
    pixel for narrower ones) give the numpy decoder's arrays, at odd widths too (a row's last
    pixels after its blocks of 16), for depth alone and with seg."""
    world = World(load_spec("kitchen_put"))
    renderer.load_scene(SceneGraph(world).build_nodes(), "kitchen_put")
    a = world.agent(world.agent_ids[0])
    rng = np.random.default_rng(11)
    for k, (w, h) in enumerate([(173, 97), (37, 29), (16, 9), (331, 200)]):
        pos = [a["x"] + rng.uniform(-1, 1), a["y"] + rng.uniform(-1, 1), rng.uniform(0.3, 2.0)]
        cam = {"agent": "a0", "pos": pos, "hpr": [rng.uniform(0, 360), -20.0, 0.0], "fov": 90.0}
        cam.update(width=w, height=h)
        mods = [("depth", "seg"), ("depth",)][k % 2]
        for runs_from in (1, 10**6):
            monkeypatch.setattr(D, "RUNS_FROM", runs_from)
            fast, slow = _both(monkeypatch, renderer, cam, mods)
            for m in mods:
                assert fast[m].tobytes() == slow[m].tobytes(), (w, h, m, runs_from)


def test_bad_decode_setting_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("EMBODIED_DECODE", "fastest")
    monkeypatch.setattr(D, "_KERNEL", [])
    with pytest.raises(EngineError, match="EMBODIED_DECODE='fastest': expected 'auto', 'numba' or 'numpy'"):
        D.kernel()


def test_kept_frames_stay_intact_and_dropped_ones_are_reused(renderer):
    """Output arrays are recycled only once nothing else references them: a frame the caller
    keeps (or a view of it) is never written again; dropped frames' memory is reused."""
    world = World(load_spec("key_door"))
    renderer.load_scene(SceneGraph(world).build_nodes(), "key_door")
    a = world.agent(world.agent_ids[0])
    cams = [
        {
            "agent": "a0",
            "pos": [a["x"], a["y"], 1.5],
            "hpr": [a["yaw"] + 30 * k, -10.0, 0.0],
            "fov": 90.0,
            "width": 64,
            "height": 48,
        }
        for k in range(12)
    ]
    renderer.set_cameras([cams[0]])
    kept = renderer.render(["a0"], ("depth", "seg"))["a0"]
    copies = {m: kept[m].copy() for m in kept}
    view = None
    earlier, reused = [], 0
    for k in range(1, 12):
        renderer.set_cameras([cams[k]])
        out = renderer.render(["a0"], ("depth", "seg"))["a0"]
        reused += sum(any(r() is out[m] for r in earlier) for m in out)
        earlier += [weakref.ref(out[m]) for m in out]
        if k == 1:
            view = out["depth"][::2]  # a view keeps its frame's depth alive too
            view_copy = view.copy()
    for m in kept:
        assert kept[m].tobytes() == copies[m].tobytes()
    assert view.tobytes() == view_copy.tobytes()
    assert reused >= 14  # of 20 arrays after the first frames: the dropped frames' arrays again
    assert not any(r() is kept[m] for r in earlier for m in kept)


def test_a_cold_compile_never_holds_a_frame_past_a_short_timeout(tmp_path, monkeypatch):
    """No numba cache (NUMBA_CACHE_DIR: an empty directory, so the cache beside the module is not
    used) and a 1.5 s render timeout, shorter than importing numba and compiling the decoder: the
    engine's first depth+seg frames are numpy's while the compiled decoder is built on a thread
    of its own (EMBODIED_DECODE_WAIT=0: no frame waits for it); once the engine's log says it is
    ready, the same view gives the same arrays from it, still within the timeout."""
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba-cache"))
    monkeypatch.setenv("EMBODIED_DECODE_WAIT", "0")
    from tests.bridges.test_panda3d_engine import CAM, SCENE

    with launch(log_dir=str(tmp_path), timeout=60) as eng:
        eng.load_scene(SCENE, "test")

        def log() -> str:
            with open(eng.log_path) as f:
                return f.read()

        first = eng.render(modalities=("depth", "seg"), cameras=[CAM], timeout=1.5)["a0"]
        ready = "compiled depth/seg decoder ready"
        deadline = time.monotonic() + 300  # (the compile: seconds here, a minute at load 15)
        while ready not in log():
            assert time.monotonic() < deadline, log()[-2000:]
            eng.render(modalities=("depth", "seg"), cameras=[CAM], timeout=1.5)
            time.sleep(0.2)
        last = eng.render(modalities=("depth", "seg"), cameras=[CAM], timeout=1.5)["a0"]
    for m in ("depth", "seg"):
        assert first[m].tobytes() == last[m].tobytes(), m
    assert (first["seg"] == 6).any() and np.isfinite(first["depth"][first["seg"] > 0]).all()


def test_coplanar_polygons_of_a_group_are_drawn_in_one_id_on_shared_vertices(renderer):
    """Polygons of one group (one node: one seg) whose planes are bit for bit the same decode
    to the same seg and depth, so the id pass draws them in the first one's id, and vertices
    with the same position and id are one: fewer vertices for tinydisplay to transform."""
    from embodied.bridges.panda3d import geometry as G

    p, q = [0.0, 0.0, 1.0, -0.5], [1.0, 0.0, 0.0, 0.0]
    assert G.same_plane(np.array([p, q, p, [0.0, 0.0, 1.0, -0.25], q])).tolist() == [0, 1, 0, 3, 1]
    a = np.array([[0, 0, 0.5], [1, 0, 0.5], [1, 1, 0.5], [0, 1, 0.5]], np.float64)
    b = a + np.array([1.0, 0.0, 0.0])  # shares the edge x = 1
    geom = G.id_geom([a, b], np.array([7, 7]))
    rows = np.frombuffer(bytes(geom.get_vertex_data().get_array(0).get_handle().get_data()), G.ID_DTYPE)
    assert len(rows) == 6 and geom.get_primitive(0).get_num_faces() == 4
    assert {int.from_bytes(bytes(c[2::-1]), "little") for c in rows["c"]} == {7}
    world = World(load_spec("key_door"))
    renderer.load_scene(SceneGraph(world).build_nodes(), "key_door")
    rows = drawn = 0
    for found in renderer.current.id_root.find_all_matches("**/+GeomNode"):
        for g in found.node().get_geoms():
            data = np.frombuffer(bytes(g.get_vertex_data().get_array(0).get_handle().get_data()), G.ID_DTYPE)
            assert len(np.unique(data.view(np.dtype((np.void, 20))))) == len(data)  # no vertex twice
            rows += len(data)
            drawn += len(np.unique(data["c"], axis=0))
    assert drawn < rows / 4  # the floor's boards, a wall's pieces: one id each
