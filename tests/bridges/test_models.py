"""Models, states, depth and segmentation of the embedded renderer (in-process, real Panda3D)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from embodied.bridges.panda3d.geometry import intersect
from embodied.bridges.panda3d.models import load_models, parse_models
from embodied.bridges.panda3d.renderer import Renderer

from embodied.commands.gallery import object_views
from embodied.errors import EngineError
from embodied.objtypes import TYPES


@pytest.fixture(scope="module")
def r():
    rend = Renderer("software")
    yield rend
    rend.close()


def test_every_type_has_a_valid_model():
    models = load_models()
    assert set(TYPES) <= set(models)
    for name in TYPES:
        assert len(models[name].parts) >= 2, name  # recognisable: assembled from parts


def _views():
    return object_views(160)


@pytest.mark.parametrize("label,nodes,cam", _views(), ids=[v[0] for v in _views()])
def test_depth_and_seg_exact_for_every_type_and_state(r, label, nodes, cam):
    """Every pixel of the object carries its seg; depth is the exact hit of the drawn face."""
    r.load_scene(nodes, label)
    r.set_cameras([cam])
    out = r.render(["a0"], ("rgb", "depth", "seg"))["a0"]
    rgb, depth, seg = out["rgb"], out["depth"], out["seg"]
    obj = seg == 10
    assert obj.sum() > 15, label  # the object is in view
    assert np.isfinite(depth[seg > 0]).all() and np.isinf(depth[seg == 0]).all()
    assert (depth[seg > 0] > 0).all()
    # the room's floor, walls and ceiling are exact planes: their depth is the analytic ray/box hit
    h, w = seg.shape
    tx = np.tan(np.radians(cam["fov"]) / 2)
    tz = tx * h / w
    ys, xs = np.nonzero(seg == 1)
    rays = np.stack([((xs + 0.5) / w * 2 - 1) * tx, np.ones(len(xs)), (1 - (ys + 0.5) / h * 2) * tz], 1)
    eye = np.array(r.targets[(w, h)].eye.get_mat(r.world)).reshape(4, 4)
    world_dirs = rays @ eye[:3, :3]
    best = np.full(len(xs), np.inf)
    for n in nodes[:4]:  # floor, walls and ceiling (axis-aligned boxes, seg 1)
        size, pos = np.array(n["size"]), np.array(n["pos"])
        t = intersect("box", (eye[3, :3] - pos) / size, world_dirs / size, strict=True)
        best = np.minimum(best, t)
    hit = np.isfinite(best)  # (a ray through a box's very edge may miss it analytically)
    assert hit.mean() > 0.99, label
    err = np.abs(depth[ys, xs] - best)[hit]
    best = best[hit]
    # exact to float precision, except where the rasteriser drew a polygon whose edge passes
    # within a pixel of the centre (a crease): there depth is the drawn polygon's plane
    assert (err <= 2e-4 + 1e-4 * best).mean() > 0.995, label
    assert err.max() < 0.1, label
    # rgb differs from the background where something is drawn (no holes in the model)
    assert rgb[obj].std() > 0 or rgb[obj].mean() > 0


def test_state_changes_show(r):
    """Each state a model reacts to changes the frame (lids, doors, lights, buttons, levers)."""
    by_type: dict[str, list] = {}
    for label, nodes, cam in _views():
        by_type.setdefault(label.split()[0], []).append((label, nodes, cam))
    frames = {}
    for _t, views in by_type.items():
        for label, nodes, cam in views:
            r.load_scene(nodes, label)
            r.set_cameras([cam])
            frames[label] = r.render(["a0"], ("rgb",))["a0"]["rgb"]
        base = frames[views[0][0]]
        for label, *_ in views[1:]:
            assert not np.array_equal(base, frames[label]), label


def test_state_update_moves_part_and_depth_follows(r):
    nodes = next(v for v in _views() if v[0] == "chest")[1]
    cam = next(v for v in _views() if v[0] == "chest")[2]
    r.load_scene(nodes, "chest")
    r.set_cameras([cam])
    closed = r.render(["a0"], ("rgb", "depth", "seg"))["a0"]
    r.update([{"id": "chest", "state": {"open": True, "locked": False}}])
    opened = r.render(["a0"], ("rgb", "depth", "seg"))["a0"]
    assert not np.array_equal(closed["rgb"], opened["rgb"])
    assert not np.array_equal(closed["depth"], opened["depth"])
    r.update([{"id": "chest", "state": {"open": False, "locked": True}}])
    again = r.render(["a0"], ("rgb", "depth", "seg"))["a0"]
    for m in ("rgb", "depth", "seg"):
        assert np.array_equal(closed[m], again[m]), m


def test_bad_models_and_state_are_clear_errors(r, tmp_path):
    with pytest.raises(EngineError, match=r"lamp.parts\[0\].shape: unknown shape 'blob'"):
        parse_models({"lamp": {"parts": [{"shape": "blob"}]}}, "mine.yaml")
    with pytest.raises(EngineError, match="unknown colour 'mauve'"):
        parse_models({"x": {"parts": [{"shape": "box", "color": "mauve"}]}}, "mine.yaml")
    with pytest.raises(EngineError, match="no such file"):
        parse_models({"x": {"file": "nope.bam"}}, "mine.yaml", tmp_path)
    from embodied.errors import ProtocolError

    node = {"id": "a", "seg": 1, "shape": "box", "size": [1, 1, 1], "model": "nosuch"}
    with pytest.raises(ProtocolError, match="unknown model 'nosuch'"):
        r.load_scene([node], "bad")
    node["model"] = "chest"
    r.load_scene([node], "ok")
    with pytest.raises(ProtocolError, match="state"):
        r.update([{"id": "a", "state": [1, 2]}])


def test_user_asset_file_replaces_a_model(tmp_path, monkeypatch):
    """A lab's own art (here a .bam written by Panda3D) drawn for a type, depth/seg still exact."""
    from embodied.bridges.panda3d import geometry as G
    from panda3d.core import NodePath

    polys = G.transform(G.unit_polys("sphere", 12), np.diag([1.0, 1.0, 1.0]), [0, 0, 0])
    geom = G.rgb_geom([(v, n, np.array([0.2, 0.8, 0.2, 1.0]), v[:, :2]) for v, n in polys])
    path = tmp_path / "blob.bam"
    NodePath(G.geom_node("blob", [(geom, None)])).write_bam_file(str(path))
    table = tmp_path / "models.yaml"
    table.write_text(f"chest: {{file: {path.name}}}\n")
    monkeypatch.setenv("EMBODIED_MODELS", str(table))
    rend = Renderer("software")
    try:
        assert rend.models["chest"].file == str(path)
        node = {"id": "c", "seg": 5, "shape": "box", "size": [1, 1, 1], "pos": [0, 2, 0], "model": "chest"}
        rend.load_scene([node], "asset")
        rend.set_cameras(
            [{"agent": "a0", "pos": [0, 0, 0], "hpr": [0, 0, 0], "fov": 60, "width": 64, "height": 64}]
        )
        out = rend.render(["a0"], ("rgb", "depth", "seg"))["a0"]
        assert (out["seg"] == 5).sum() > 200
        assert out["rgb"][32, 32, 1] > out["rgb"][32, 32, 0]  # green, as the file says
        assert abs(out["depth"][32, 32] - 1.5) < 0.02  # front of a 1 m sphere at 2 m
    finally:
        rend.close()


def test_appearance_randomisation_is_seeded_and_off_by_default(r):
    from embodied.scene_graph import SceneGraph
    from embodied.spec import load_spec
    from embodied.world import World

    def nodes(seed):
        return SceneGraph(World(load_spec("chest_split_code")), appearance_seed=seed).build_nodes()

    plain, a, b, other = nodes(None), nodes(7), nodes(7), nodes(8)
    assert a == b and a != other and a != plain
    assert not any(n["kind"].startswith("light:") for n in plain)
    assert sum(n["kind"] == "light:directional" for n in a) == 2
    chest = {n["id"]: n for n in plain}["chest"]
    jittered = {n["id"]: n for n in a}["chest"]
    assert (
        chest["color"] != jittered["color"]
        and max(abs(x - y) for x, y in zip(chest["color"], jittered["color"])) < 0.25
    )
    cam = {"agent": "a0", "pos": [0, 0, 1.5], "hpr": [0, -10, 0], "fov": 90, "width": 64, "height": 64}
    frames = []
    for ns in (plain, a, b):
        r.load_scene(ns, "rand")
        r.set_cameras([cam])
        frames.append(r.render(["a0"], ("rgb",))["a0"]["rgb"])
    assert not np.array_equal(frames[0], frames[1]) and np.array_equal(frames[1], frames[2])


def test_gallery_cli(tmp_path, capsys):
    from embodied.cli import main

    assert (
        main(["gallery", "--out", str(tmp_path), "--types", "key", "chest", "--no-rooms", "--size", "64"])
        == 0
    )
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "contact_sheet.png" in names and "chest_open.png" in names and "key_close.png" in names
    assert all(re.fullmatch(r"[a-z0-9_-]+\.png", n) for n in names), names
    # 5 views (chest, unlocked, open; key, key close) -> one row of 5 tiles, no empty band beside it
    from PIL import Image

    sheet = np.asarray(Image.open(tmp_path / "contact_sheet.png").convert("RGB"))
    assert sheet.shape[1] == 5 * 64
    assert (sheet[:64, -8:] != 255).any(axis=-1).all()  # the last column is a picture, not white
    assert main(["gallery", "--out", str(tmp_path), "--types", "unicorn"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown type 'unicorn'" in err[0]


def test_gallery_out_is_a_file(tmp_path, capsys):
    from embodied.cli import main

    afile = tmp_path / "afile"
    afile.write_text("keep me")
    assert main(["gallery", "--out", str(afile), "--types", "key", "--no-rooms"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a file" in err[0] and "directory" in err[0], err
    assert "Traceback" not in err[0] and "File exists" not in err[0]
    assert main(["gallery", "--out", str(afile / "sub"), "--types", "key", "--no-rooms"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a file" in err[0], err
    assert afile.read_text() == "keep me"


def test_gallery_file_names_and_sheet_columns():
    from PIL import Image

    from embodied.commands.gallery import contact_sheet, file_name

    assert file_name("key (close)") == "key_close"
    assert file_name("room Two Rooms!") == "room_two_rooms"
    assert file_name("chest unlocked") == "chest_unlocked"
    tile = Image.new("RGB", (32, 32), (10, 20, 30))
    assert contact_sheet([("a", tile)] * 3).size[0] == 3 * 32
    assert contact_sheet([("a", tile)] * 11).size == (8 * 32, 2 * (32 + 22))


def test_gltf_asset_with_panda3d_gltf(tmp_path, monkeypatch):
    """A glTF file (written here: a green quad facing the camera) loads through panda3d-gltf."""
    pytest.importorskip("gltf")
    import base64
    import json

    pos = np.array([[-0.5, 0, -0.5], [0.5, 0, -0.5], [0.5, 0, 0.5], [-0.5, 0, 0.5]], np.float32)
    nrm = np.array([[0, -1, 0]] * 4, np.float32)
    idx = np.array([0, 1, 2, 0, 2, 3], np.uint16)
    buf = pos.tobytes() + nrm.tobytes() + idx.tobytes()
    doc = {
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "NORMAL": 2}, "indices": 1, "material": 0}]}],
        "materials": [{"pbrMetallicRoughness": {"baseColorFactor": [0.1, 0.8, 0.1, 1]}, "doubleSided": True}],
        "buffers": [{"byteLength": len(buf), "uri": "data:application/octet-stream;base64," + base64.b64encode(buf).decode()}],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": 48}, {"buffer": 0, "byteOffset": 96, "byteLength": 12},
                        {"buffer": 0, "byteOffset": 48, "byteLength": 48}],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": 4, "type": "VEC3", "min": [-0.5, 0, -0.5], "max": [0.5, 0, 0.5]},
            {"bufferView": 1, "componentType": 5123, "count": 6, "type": "SCALAR"},
            {"bufferView": 2, "componentType": 5126, "count": 4, "type": "VEC3"},
        ],
    }  # fmt: skip
    (tmp_path / "sign.gltf").write_text(json.dumps(doc))
    (tmp_path / "models.yaml").write_text("note: {file: sign.gltf}\n")
    monkeypatch.setenv("EMBODIED_MODELS", str(tmp_path / "models.yaml"))
    rend = Renderer("software")
    try:
        node = {"id": "n", "seg": 3, "shape": "card", "size": [1, 0, 1], "pos": [0, 2, 0], "model": "note"}
        rend.load_scene([node], "gltf")
        rend.set_cameras(
            [{"agent": "a0", "pos": [0, 0, 0], "hpr": [0, 0, 0], "fov": 60, "width": 64, "height": 64}]
        )
        out = rend.render(["a0"], ("rgb", "depth", "seg"))["a0"]
        assert (out["seg"] == 3).sum() > 300
        assert np.allclose(out["depth"][out["seg"] == 3], 2.0, atol=1e-4)
        g = out["rgb"][32, 32].astype(int)
        assert g[1] > g[0] + 40 and g[1] > g[2] + 40, g  # the file's green
    finally:
        rend.close()


def _lit_pixel(r, color, lights, hpr=(0, 0, 0)):
    box = {"id": "b", "seg": 1, "shape": "box", "size": [3, 0.1, 3], "pos": [0, 0, 0], "hpr": list(hpr)}
    box["color"] = list(color)
    nodes = [box] + [
        {"id": f"l{k}", "seg": 2, "kind": kind, "shape": "box", "size": [0, 0, 0], "color": [c] * 3, "hpr": h}
        for k, (kind, c, h) in enumerate(lights)
    ]
    r.load_scene(nodes, "light")
    r.set_cameras(
        [{"agent": "a0", "pos": [0, -2, 0], "hpr": [0, 0, 0], "fov": 60, "width": 32, "height": 32}]
    )
    return r.render(["a0"], ["rgb"])["a0"]["rgb"][16, 16].astype(int)


def test_baked_lighting_matches_panda3d_lights_and_follows_rotation(r):
    """Meshes are drawn unlit with the light baked into vertex colours: the pixels Panda3D's own
    lights gave (colour^2 * (ambient + diffuse * cos)), baked again when the node turns."""
    from panda3d.core import Quat, Vec3

    amb, sun = ("light:ambient", 0.3, [0, 0, 0]), ("light:directional", 0.6, [0, -60, 0])
    c = np.array([0.8, 0.4, 0.2])

    def expect(hpr):
        q, ql = Quat(), Quat()
        q.set_hpr(Vec3(*hpr))
        ql.set_hpr(Vec3(*sun[2]))
        n, d = q.xform(Vec3(0, -1, 0)), ql.xform(Vec3(0, 1, 0))  # front face normal, light travel
        return 255 * c * c * (0.3 + 0.6 * max(0.0, -n.dot(d)))

    assert np.abs(_lit_pixel(r, c, [amb, sun]) - expect((0, 0, 0))).max() <= 2
    assert np.abs(_lit_pixel(r, c, [amb, sun], hpr=(0, -30, 0)) - expect((0, -30, 0))).max() <= 2
    assert np.abs(expect((0, -30, 0)) - expect((0, 0, 0))).max() > 20
    r.update([{"id": "b", "hpr": [0, 0, 0]}])  # baked again on the update
    assert np.abs(r.render(["a0"], ["rgb"])["a0"]["rgb"][16, 16] - expect((0, 0, 0))).max() <= 2
    # a sun from behind leaves the face to the ambient light
    back = ("light:directional", 0.6, [180, -60, 0])
    assert np.abs(_lit_pixel(r, c, [amb, back]) - 255 * c * c * 0.3).max() <= 2


def _room_views(r, light: dict) -> dict[str, np.ndarray]:
    """Frames from the centre of each room of two_rooms, with ``light`` set per room id."""
    import json
    from importlib import resources

    from embodied.scene_graph import SceneGraph
    from embodied.spec import load_spec
    from embodied.world import World

    data = json.loads(resources.files("embodied.scenes").joinpath("two_rooms.json").read_text())
    for room in data["rooms"]:
        if room["id"] in light:
            room["light"] = light[room["id"]]
    world = World(load_spec(data))
    r.load_scene(SceneGraph(world).build_nodes(), "lit")
    out = {}
    for rid, room in world.layout.rooms.items():
        cx, cy = room.center
        r.set_cameras(
            [{"agent": "a0", "pos": [cx, cy, 1.5], "hpr": [0, -20, 0], "fov": 90, "width": 64, "height": 64}]
        )
        out[rid] = r.render(["a0"], ["rgb"])["a0"]["rgb"].astype(int)
    return out


def test_room_light_from_the_spec(r):
    """A room's `light` lights that room only; without it (or with the `default` preset) the
    frames are the renderer's default rig, unchanged."""
    from embodied.errors import SpecError
    from embodied.spec import load_spec

    plain = _room_views(r, {})
    assert all((plain[k] == v).all() for k, v in _room_views(r, {"hall": "default"}).items())
    dim = _room_views(r, {"hall": "dim"})
    assert dim["hall"].mean() < 0.75 * plain["hall"].mean()
    assert (dim["study"] == plain["study"]).all()  # the other room keeps its light
    warm = _room_views(r, {"hall": {"intensity": 1.0, "color": "orange", "direction": [120, -30]}})
    red_minus_blue = lambda img: (img[..., 0] - img[..., 2]).mean()  # noqa: E731
    assert red_minus_blue(warm["hall"]) > red_minus_blue(plain["hall"]) + 10
    assert not (warm["hall"] == dim["hall"]).all()
    with pytest.raises(SpecError, match="unknown light preset 'disco'"):
        load_spec(
            {"rooms": [{"id": "a", "light": "disco"}], "agents": [{"id": "a0"}], "goal": {"in": ["a0", "a"]}}
        )


def _turning(world, step: float, n: int, size: int) -> list[dict]:
    """``n`` cameras at the first agent's place, eye height 1.5 m, turning by ``step`` degrees."""
    a0 = world.agent(world.agent_ids[0])
    return [
        {"agent": "a0", "pos": [a0["x"], a0["y"], 1.5], "hpr": [a0["yaw"] + step * k, -10.0, 0.0], "fov": 90}
        | {"width": size, "height": size}
        for k in range(n)
    ]


def test_room_structure_is_merged_and_an_update_undoes_it(r):
    """Each room's floor, ceiling and walls draw as one geom (docs/rendering.md), without the level
    faces that face away from an eye inside the room unless the eye is above (or below) them; the
    frame is the unmerged one up to a few pixels along seams, and updating a piece shows at once."""
    from embodied.scene_graph import SceneGraph
    from embodied.spec import load_spec
    from embodied.world import World

    world = World(load_spec("two_rooms"))
    nodes = SceneGraph(world).build_nodes()
    cams = _turning(world, 10, 36, 160)
    above = [dict(c, pos=[c["pos"][0], c["pos"][1], 4.0], hpr=[c["hpr"][0], -70.0, 0.0]) for c in cams[::9]]
    frames = {}
    for merge in (False, True):
        r.merge_structure = merge
        try:
            r.load_scene(nodes, "two_rooms")
        finally:
            r.merge_structure = True
        frames[merge] = []
        for cam in cams[::4] + above + cams[:1]:  # from above the roof, the roof shows whole
            r.set_cameras([cam])
            frames[merge].append(r.render(["a0"], ("rgb",))["a0"]["rgb"])
    merged = r.current.merges
    assert len(merged) == 2 and all(len(ids) >= 4 for _np, ids in merged.values())
    a, b = np.array(frames[False]), np.array(frames[True])
    assert (a != b).any(axis=-1).mean() < 1e-3  # the same pixels but where a seam's edge rounds differently
    wall = next(n for n in nodes if n["kind"] == "wall" and n["id"] in r.current.merged)

    def views():
        out = []
        for cam in cams:
            r.set_cameras([cam])
            out.append(r.render(["a0"], ("rgb",))["a0"]["rgb"])
        return np.array(out)

    before = views()
    r.update([{"id": wall["id"], "pos": list(wall["pos"])}])  # no change: stays merged
    assert wall["id"] in r.current.merged
    r.update([{"id": wall["id"], "visible": False}])
    assert wall["id"] not in r.current.merged
    changed = (views() != before).any(axis=-1).mean(axis=(1, 2))
    assert changed.max() > 0.05  # the wall is gone: what is behind it shows


def test_a_merged_room_seen_from_inside_leaves_out_faces_facing_away_exactly(r):
    """With the eye inside a room's box, its merged structure is drawn without the faces that face
    away from all of the box (outer faces of walls, ends beyond the floor), and every other merged
    room without those that face away from all of the eye's room's box: fewer vertices, and rgb,
    depth and seg exactly those of the whole rooms (docs/rendering.md)."""
    from embodied.scene_graph import SceneGraph
    from embodied.spec import load_spec
    from embodied.world import World

    world = World(load_spec("two_rooms"))
    r.load_scene(SceneGraph(world).build_nodes(), "two_rooms")
    rng = np.random.default_rng(5)
    cams = []
    for gate in r.current.gates.values():
        x0, y0, x1, y1 = gate.views[0][0]  # (the room's own box)
        for _ in range(6):
            pos = [rng.uniform(x0 + 0.2, x1 - 0.2), rng.uniform(y0 + 0.2, y1 - 0.2), rng.uniform(0.3, 2.0)]
            hpr = [rng.uniform(0, 360), rng.choice([-40.0, -10.0, 20.0]), 0.0]
            cams.append({"agent": "a0", "pos": pos, "hpr": hpr, "fov": 90, "width": 96, "height": 96})

    def frames():
        out, shown = [], []
        for cam in cams:
            r.set_cameras([cam])
            out.append(r.render(["a0"], ("rgb", "depth", "seg"))["a0"])
            shown.append(sorted(g.shown for g in r.current.gates.values()))
        return out, shown

    picked, shown = frames()
    assert all(2 in s for s in shown)  # the eye's own room took its inside-the-box variant
    assert all(s[1] == 3 for s in shown)  # the other room: seen from the eye's room's box
    for gate in r.current.gates.values():
        full, room = (variant[0].node().get_geom(0) for variant in (gate.variants[0], gate.variants[2]))
        assert room.get_vertex_data().get_num_rows() < 0.8 * full.get_vertex_data().get_num_rows()
        gate.views, gate.lo, gate.hi, gate.pos = [], np.inf, -np.inf, None  # always the whole room
    whole, shown = frames()
    assert all(s == [0, 0] for s in shown)
    for a, b in zip(picked, whole):
        for m in ("rgb", "depth", "seg"):
            assert np.array_equal(a[m], b[m]), m


def test_a_room_gets_a_variant_for_the_eye_in_its_neighbours_boxes_only(r):
    """Three rooms in a row: each has a variant for its own box and its neighbours' (within
    NEAR_ROOMS), none for the room beyond, so loading grows with the rooms, not their square."""
    nodes = []
    for i in range(3):
        x = 5.0 * i
        nodes.append(
            {
                "id": f"floor:{i}",
                "seg": 1,
                "kind": "floor",
                "shape": "box",
                "size": [5, 4, 0.1],
                "pos": [x, 0, -0.05],
            }
        )
        nodes.append(
            {
                "id": f"ceiling:{i}",
                "seg": 2,
                "kind": "ceiling",
                "shape": "box",
                "size": [5, 4, 0.1],
                "pos": [x, 0, 2.55],
            }
        )
        for w, (size, pos) in enumerate(
            (
                ([5.1, 0.1, 2.5], [x, -2, 1.25]),
                ([5.1, 0.1, 2.5], [x, 2, 1.25]),
                ([0.1, 4.1, 2.5], [x + 2.5, 0, 1.25]),
            )
        ):
            nodes.append(
                {"id": f"wall:{i}:{w}", "seg": 3, "kind": "wall", "shape": "box", "size": size, "pos": pos}
            )
    r.load_scene(nodes, "row")
    gates = r.current.gates
    assert [len(gates[k].views) for k in sorted(gates)] == [2, 3, 2]
    assert len(gates[0].variants) == 4  # whole, level, its own box, room 1's box


def test_a_room_seen_from_inside_leaves_out_the_sides_of_its_floor_and_ceiling(r, monkeypatch):
    """The inside-the-box variant's box is the floor's rectangle shrunk by BOX_INSET, so the sides
    of the floor and ceiling slabs (in the plane of the rectangle's edges, facing out, under the
    walls) are left out too: 8 quads fewer in a one-room scene (exactness: the test above)."""
    from embodied.bridges.panda3d import nodes as N

    from embodied.scene_graph import SceneGraph
    from embodied.spec import load_spec
    from embodied.world import World

    nodes = SceneGraph(World(load_spec("key_door"))).build_nodes()

    def room_rows() -> int:
        r.load_scene(nodes, "key_door")
        (gate,) = r.current.gates.values()
        return sum(g.get_vertex_data().get_num_rows() for g in gate.variants[2][0].node().get_geoms())

    inset = room_rows()
    monkeypatch.setattr(N, "BOX_INSET", 0.0)
    assert inset == room_rows() - 32


def test_polygons_inside_another_box_part_are_left_out(r, monkeypatch):
    """A polygon inside another box part of its group (a keypad's buttons' backs inside its body, a
    table's legs' tops under its top) is left out of both passes: fewer vertices, and the frame is
    the same but for a few seam pixels where the hidden polygon leaked past the box's edge
    (docs/rendering.md)."""
    from embodied.bridges.panda3d import nodes as N

    from embodied.scene_graph import SceneGraph
    from embodied.spec import load_spec
    from embodied.world import World

    u = np.array([(-0.5, -0.2, 0.1), (0.5, -0.2, 0.1), (0.5, 0.3, 0.1)])
    assert N._inside_box(u, np.array([0.0, 0.0, 1.0]))
    up, top = np.array([0.0, 0.0, 0.41]), np.array([0.0, 0.0, 0.4])
    assert not N._inside_box(u + up, np.array([0.0, 0.0, 1.0]))  # sticks out
    assert not N._inside_box(u + top, np.array([0.0, 0.0, 1.0]))  # on the top, facing out
    assert N._inside_box(u + top, np.array([0.0, 0.0, -1.0]))  # on the top, facing in

    world = World(load_spec("two_rooms"))
    nodes = SceneGraph(world).build_nodes()
    cams = _turning(world, 30, 12, 128)

    def load():
        r.load_scene(nodes, "two_rooms")
        rec = r.current.nodes["keypad"]
        rows = sum(m.data.shape[0] for g in rec["groups"] for m in g.meshes)
        frames = []
        for cam in cams:
            r.set_cameras([cam])
            out = r.render(["a0"], ("rgb", "depth", "seg"))["a0"]
            frames.append(out)
        return rows, frames

    rows, frames = load()
    with monkeypatch.context() as m:
        m.setattr(N.NodeBuilder, "_hidden", staticmethod(lambda items, size: [None] * len(items)))
        rows_all, frames_all = load()
    assert rows <= rows_all - 36  # nine buttons' and the display's backs: 4 vertices each
    for a, b in zip(frames, frames_all):
        assert (a["rgb"] != b["rgb"]).any(axis=-1).mean() < 2e-3
        assert (a["seg"] != b["seg"]).mean() < 2e-3


def test_dark_parts_are_plain_in_their_textures_mean_shade(r, monkeypatch):
    """A part whose texture would hardly show (grain of a few levels of 255 on a dark colour) is
    drawn plain, in the texture's mean shade; a lighter part keeps its grain."""
    from embodied.bridges.panda3d import nodes as N

    def front(color) -> np.ndarray:
        chest = {"id": "c", "seg": 1, "kind": "chest", "model": "chest", "shape": "box"}
        chest.update(size=[2, 1, 2], pos=[0, 0, 1], color=list(color))
        r.load_scene([chest], "grain")
        cam = {"agent": "a0", "pos": [0, -2.5, 0.7], "hpr": [0, 0, 0], "fov": 40, "width": 48, "height": 48}
        r.set_cameras([cam])
        return r.render(["a0"], ["rgb"])["a0"]["rgb"][28:40, 14:34].reshape(-1, 3).astype(float)

    dark = (0.3, 0.18, 0.1)
    assert front((0.85, 0.12, 0.12)).std(axis=0).max() > 2  # a red chest shows its grain
    plain = front(dark)
    assert plain.std(axis=0).max() == 0
    monkeypatch.setattr(N, "MIN_GRAIN", 0.0)
    grainy = front(dark)
    assert grainy.std(axis=0).max() > 0
    assert np.abs(plain.mean(axis=0) - grainy.mean(axis=0)).max() <= 1.5
