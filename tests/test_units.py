"""Unit tests of the pieces under the env: layout, scene graph, navigation, protocol decoding and the
protocol version check (against a real ZeroMQ socket)."""

import math
import threading

import msgpack
import numpy as np
import pytest
import zmq

from embodied import protocol as P
from embodied.errors import ProtocolError, SpecError
from embodied.layout import WALL_T, Rect, build_layout
from embodied.nav import NavConfig, angle_diff, bearing_to, in_view, line_of_sight, next_pose, plan_path
from embodied.rules import apply
from embodied.scene_graph import SceneGraph
from embodied.spec import load_spec
from embodied.world import World

from .helpers import room

TWO = {
    "rooms": [{"id": "a", "size": [4, 4]}, {"id": "b", "size": [3, 5]}],
    "doors": [
        {"id": "ab", "between": ["a", "b"]},
        {"id": "exit", "between": ["b", "outside"], "wall": "north"},
    ],
    "objects": [
        {"id": "chest", "type": "chest", "room": "a", "wall": "south", "contains": ["k"]},
        {"id": "k", "type": "key"},
        {"id": "note", "type": "note", "room": "b", "text": "hello"},
    ],
    "agents": [{"id": "a0", "room": "a"}],
    "goal": {"exit_through": "exit"},
}


# ---------------------------------------------------------------- layout
def test_layout_places_rooms_doors_objects_without_overlap():
    L = build_layout(load_spec(TWO))
    assert L.errors == []
    a, b = L.rooms["a"], L.rooms["b"]
    assert not a.overlaps(b)
    assert (a.x1 - a.x0, a.y1 - a.y0) == (4, 4) and (b.x1 - b.x0, b.y1 - b.y0) == (3, 5)
    ab = L.doors["ab"]
    assert set(ab.rooms) == {"a", "b"}
    gap = ab.gap  # the door gap lies on the shared wall, so it touches both rooms
    assert any(
        abs(getattr(a, s) - getattr(b, t)) < 1e-9
        for s, t in (("x1", "x0"), ("x0", "x1"), ("y1", "y0"), ("y0", "y1"))
    )
    grown = Rect(gap.x0 - WALL_T, gap.y0 - WALL_T, gap.x1 + WALL_T, gap.y1 + WALL_T)
    assert grown.overlaps(a) and grown.overlaps(b)
    ex = L.doors["exit"]  # on the north wall of b, as asked
    assert abs(ex.center[1] - b.y1) < 1e-9 and b.x0 < ex.center[0] < b.x1
    # objects sit inside their rooms; the chest stands against the south wall
    chest = L.objects["chest"]
    assert a.contains(chest.x, chest.y) and chest.y - a.y0 < 0.6
    assert b.contains(L.objects["note"].x, L.objects["note"].y, -0.01)
    x, y, _yaw = L.agents["a0"]
    assert a.contains(x, y, 0.2)
    assert L.room_at(x, y) == "a" and L.room_at(ex.center[0], ex.center[1] + 1.0) == "outside"


def test_layout_is_deterministic_and_reports_geometry_errors():
    spec = load_spec(TWO)
    assert build_layout(spec).objects == build_layout(spec).objects
    bad = dict(TWO, agents=[{"id": "a0", "room": "a", "at": [9, 9]}])
    errs = build_layout(load_spec(bad)).errors
    assert [p for p, _ in errs] == ["agents[0].at"] and "outside room 'a'" in errs[0][1]
    far = dict(
        TWO,
        rooms=[{"id": "a", "size": [4, 4], "at": [0, 0]}, {"id": "b", "size": [3, 5], "at": [10, 10]}],
    )
    errs = build_layout(load_spec(far)).errors
    assert any(p.startswith("doors[0]") and "wall" in m for p, m in errs), errs


# ---------------------------------------------------------------- scene graph
def test_scene_graph_nodes_ids_and_updates():
    w = World(load_spec(TWO))
    g = SceneGraph(w)
    nodes = g.build_nodes()
    ids = [n["id"] for n in nodes]
    assert len(ids) == len(set(ids))  # every node addressable
    for t in ("chest", "k", "note", "ab", "exit"):
        assert t in ids and g.seg_names[g.seg[t]] == t
    assert len(set(g.seg.values())) == len(g.seg)  # segmentation ids are distinct
    for n in nodes:
        P.check_node(n, n["id"])  # every node passes the wire's own checks
    key = next(n for n in nodes if n["id"] == "k")
    assert key["visible"] is False  # shut inside the closed chest
    w.thing("chest")["open"] = True
    upd = {u["id"]: u for u in g.updates_for(["chest"])}
    assert "chest" in upd or any(i.startswith("chest") for i in upd)
    assert g.agent_updates() == []  # one agent: no avatar drawn
    assert SceneGraph(w, show_agents=True).agent_updates()[0]["id"] == "agent:a0"


# ---------------------------------------------------------------- nav
def test_next_pose_kinematics():
    cfg = NavConfig()
    p = (0.0, 0.0, 0.0, 0.0)
    assert next_pose("MoveAhead", p, cfg)[:2] == pytest.approx((0.0, cfg.step))  # yaw 0 faces +y
    assert next_pose("MoveRight", p, cfg)[:2] == pytest.approx((cfg.step, 0.0))
    assert next_pose("RotateLeft", p, cfg)[2] == 90.0 and next_pose("RotateRight", p, cfg)[2] == 270.0
    west = next_pose("RotateLeft", p, cfg)
    assert next_pose("MoveAhead", west, cfg)[:2] == pytest.approx((-cfg.step, 0.0))  # 90 faces west
    assert next_pose("LookDown", p, cfg)[3] == cfg.look
    assert next_pose("LookUp", (0, 0, 0, cfg.horizon_min), cfg) is None  # beyond the limit
    assert angle_diff(350, 10) == -20 and angle_diff(10, 350) == 20


def test_view_sight_and_planner_agree_with_stepping():
    cfg = NavConfig(fov=60)
    pose = (0.0, 0.0, 0.0, 0.0)
    assert in_view(pose, (0.0, 3.0, 1.5), cfg)
    assert not in_view(pose, (3.0, 3.0, 1.5), cfg)  # 45 degrees off axis: outside a 60-degree view
    assert in_view(pose, (3.0, 3.0, 1.5), NavConfig(fov=100))
    assert bearing_to(pose, (1.0, 1.0)) == pytest.approx(45.0)  # to the right
    wall = Rect(-1, 1, 1, 1.1)
    assert not line_of_sight(0, 0, 0, 2, [wall]) and line_of_sight(0, 0, 2, 0, [wall])
    # the planner's path, stepped with the rules, ends where the planner said
    w = World(load_spec(room(objects=[{"id": "n", "type": "note", "room": "hall", "wall": "east"}])))
    target = w.position("n")
    goal = lambda q: math.hypot(q[0] - target[0], q[1] - target[1]) < 1.2  # noqa: E731
    moves = plan_path(w.pose("a0"), goal, lambda x, y: w.free_for("a0", x, y), w.nav)
    assert moves
    expected = w.pose("a0")
    for m in moves:
        expected = next_pose(m, expected, w.nav)
        assert apply(w, "a0", __import__("embodied").Action(m)).success
    assert w.pose("a0") == pytest.approx(expected) and goal(w.pose("a0"))


# ---------------------------------------------------------------- protocol
def test_protocol_round_trip_and_decoding():
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    depth = np.linspace(0, 1, 6, dtype=np.float32).reshape(2, 3)
    frames = P.pack(
        {"ok": True, "buffers": [P.describe("a0", "rgb", rgb), P.describe("a0", "depth", depth, scene="s1")]},
        [rgb, depth],
    )
    header = P.unpack_header(frames[0])
    out = P.decode_buffers(header, [memoryview(f) for f in frames[1:]])
    assert np.array_equal(out["a0"]["rgb"], rgb) and np.array_equal(out["a0"]["depth"], depth)
    assert P.decode_scenes(header, frames[1:])["s1"]["a0"]["depth"].dtype == np.float32
    assert P.unpack_header(P.pack({"op": "x", "v": np.float32(1.5), "a": np.arange(2)})[0]) == {
        "op": "x",
        "v": 1.5,
        "a": [0, 1],
    }


@pytest.mark.parametrize(
    "header, frames, says",
    [
        (
            {"buffers": [{"agent": "a", "name": "rgb", "shape": [2, 2], "dtype": "uint8"}]},
            [],
            "describes 1 buffers",
        ),
        (
            {"buffers": [{"agent": "a", "name": "rgb", "shape": [2, 2], "dtype": "complex"}]},
            [b"1234"],
            "dtype",
        ),
        ({"buffers": [{"agent": "a", "name": "rgb", "shape": [3, 3], "dtype": "uint8"}]}, [b"1234"], "shape"),
        ({"buffers": "nope"}, [b"1"], "buffers"),
        ({"buffers": [["not", "a", "dict"]]}, [b"1234"], "buffer"),
        ({"buffers": [{"agent": "a", "name": "rgb", "dtype": "uint8"}]}, [b"1234"], "shape"),
        ({"buffers": [{"agent": "a", "name": "rgb", "shape": "2x2", "dtype": "uint8"}]}, [b"1234"], "shape"),
    ],
)
def test_protocol_decoding_rejects_malformed_replies(header, frames, says):
    with pytest.raises(ProtocolError, match=says):
        P.decode_buffers(header, frames)


@pytest.mark.parametrize("frame", [b"\xc1", msgpack.packb([1, 2]), msgpack.packb("op"), b""])
def test_protocol_rejects_bad_headers(frame):
    with pytest.raises(ProtocolError, match="header"):
        P.unpack_header(frame)


def test_client_refuses_an_engine_of_another_protocol_version():
    """A real ZeroMQ REP socket that answers hello with an older protocol: connect() must refuse it."""
    from embodied.engine import connect

    ctx = zmq.Context.instance()
    rep = ctx.socket(zmq.REP)
    rep.setsockopt(zmq.LINGER, 0)
    port = rep.bind_to_random_port("tcp://127.0.0.1")

    def serve():
        if rep.poll(10_000):
            rep.recv_multipart()
            rep.send_multipart(P.pack({"ok": True, "protocol": P.PROTOCOL_VERSION - 1, "engine": "old"}))

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        with pytest.raises(ProtocolError, match=rf"speaks protocol {P.PROTOCOL_VERSION - 1}.*upgrade"):
            connect(f"tcp://127.0.0.1:{port}", timeout=10)
    finally:
        t.join(5)
        rep.close()


def test_spec_errors_name_the_field():
    with pytest.raises(SpecError) as e:
        load_spec(dict(TWO, objects=[{"id": "x", "type": "unicorn", "room": "a"}]))
    assert e.value.problems[0][0] == "objects[0].type" and "unknown type 'unicorn'" in e.value.problems[0][1]


@pytest.mark.parametrize("bad", [[1, 2, 10**400], [1, 2, float("nan")], [1, 2, np.float64("inf")]])
def test_request_checks_say_a_number_is_not_finite(bad):
    """An int too large for a float (possible in-process, where no msgpack limits it) is a
    ProtocolError like inf and NaN, on both the camera fast path and the full check."""
    with pytest.raises(ProtocolError, match=r"'cam\.pos\[2\]': expected a finite number"):
        P.check_camera({"agent": "a", "pos": bad}, "cam")
    with pytest.raises(ProtocolError, match=r"'v\[2\]': expected a finite number"):
        P.check_vec(bad, "v")
