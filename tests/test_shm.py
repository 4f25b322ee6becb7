"""Frames through shared memory: same pixels, same errors, same recovery as over ZeroMQ."""

import os
import signal
import weakref

import numpy as np
import pytest

from embodied.engine import launch
from embodied.env import Env
from embodied.errors import ProtocolError

MODS = ("rgb", "depth", "segmentation")


def test_shm_frames_equal_zmq_frames_and_errors_match():
    fast, slow = launch(), launch(shm=False)
    try:
        assert fast.frame_transport == "shm" and slow.frame_transport == "zmq" and "shm" in fast.info
        a = Env("chest_split_code", width=64, height=48, engine=fast, modalities=MODS)
        b = Env("chest_split_code", width=64, height=48, engine=slow, modalities=MODS)
        for env in (a, b):
            env.reset()
        for act in ("RotateLeft", "MoveAhead", "LookDown", "Open(chest)", "RotateRight"):
            oa, ra, *_ = a.step(act)
            ob, rb, *_ = b.step(act)
            assert ra == rb
            for m in MODS:
                assert oa[m].dtype == ob[m].dtype and np.array_equal(oa[m], ob[m]), (act, m)
        keep = oa["rgb"].copy()
        a.step("RotateLeft")
        a.step("RotateLeft")
        assert np.array_equal(oa["rgb"], keep)  # copied out: later renders never touch it
        # a bad request gets the same error reply on both paths, and the engine serves on
        errors = []
        for scene in (a.scene, b.scene):
            with pytest.raises(ProtocolError) as exc:
                scene.render(agents=["nobody"])
            errors.append(str(exc.value).split(": ", 1)[1].replace(scene.handle, "HANDLE"))
        assert errors[0] == errors[1] and "nobody" in errors[0]
        assert a.step("RotateRight")[4]["lastActionSuccess"]
        # a larger frame grows the ring (a new memfd passed to the client)
        big = fast.scene()
        big.load([{"id": "floor", "seg": 1, "shape": "box", "size": [4, 4, 0.1]}])
        cam = {"agent": "a0", "pos": [0, -2, 1], "hpr": [0, -10, 0], "fov": 90, "width": 320, "height": 240}
        frame = big.render(cameras=[cam])["a0"]["rgb"]
        assert frame.shape == (240, 320, 3) and frame.mean() > 10
        big.close()
        a.close()
        b.close()
    finally:
        fast.close()
        slow.close()


def _floor_frames(eng, width: int, height: int):
    """A red floor on a new scene of ``eng``, and a function giving its rgb frame at a yaw."""
    sc = eng.scene()
    sc.load([{"id": "floor", "seg": 1, "shape": "box", "size": [4, 4, 0.1], "color": [0.8, 0.2, 0.2]}])

    def frame(yaw):
        cam = {
            "agent": "a0",
            "pos": [0, -2, 1],
            "hpr": [yaw, -20, 0],
            "fov": 90,
            "width": width,
            "height": height,
        }
        return sc.render(cameras=[cam])["a0"]["rgb"]

    return frame


def test_views_live_until_the_slot_comes_round_again():
    eng = launch(shm="views")
    try:
        frame = _floor_frames(eng, 32, 32)
        first = frame(0)
        assert not first.flags.writeable  # a view into the ring
        kept = first.copy()
        second = frame(90)
        assert np.array_equal(first, kept) and not np.array_equal(second, kept)  # valid while 1 render later
        third = frame(180)
        assert np.array_equal(first, third)  # DEPTH=2: the slot was reused, as documented
    finally:
        eng.close()


def test_copies_reuse_dropped_frames_never_kept_ones():
    """Frames copied out of the ring belong to the caller: one still held is never written again;
    one dropped is reused for a later frame (no new pages each step)."""
    eng = launch(shm="copy")  # (the default hands compact replies' frames out in place: below)
    try:
        frame = _floor_frames(eng, 48, 40)
        kept = [frame(0), frame(5)]  # (the first through the reply's full decoding, then its plan)
        before = [k.copy() for k in kept]
        refs = []
        for i in range(12):
            f = frame(10 + 7 * i)
            assert f.flags.writeable and f.flags.c_contiguous
            assert not any(f is k for k in kept)
            refs.append(weakref.ref(f))
            del f
        alive = [r() for r in refs]
        assert all(a is not None for a in alive) and len({id(a) for a in alive}) <= 2  # written again
        for k, b in zip(kept, before):
            assert np.array_equal(k, b)
    finally:
        eng.close()


def test_frames_in_place_are_the_callers_until_dropped():
    """The default: a compact reply's frames are arrays over a view slot of the ring that nothing
    referenced when the request was sent; a slot is named again only once every array over it
    (and every view of one) is gone, so held frames never change; writable; with every slot held
    (or held when the process forked) the frames are copies, as with ``shm="copy"``."""
    from embodied import shm

    eng, ref = launch(), launch(shm="copy")
    try:
        assert eng.info["shm_slots"] == shm.VIEWS and eng._fast.slots == shm.VIEWS and ref._fast.slots == 0
        frame, expect = _floor_frames(eng, 48, 40), _floor_frames(ref, 48, 40)
        anchors = set()  # (the ids of the arrays over the view slots: holding them would hold the slots)
        yaws = [10 + 13 * i for i in range(3 * shm.VIEWS)]
        kept, copies = [], []
        for i, yaw in enumerate(yaws):
            f = frame(yaw)
            assert np.array_equal(f, expect(yaw)) and f.flags.writeable and f.flags.c_contiguous
            anchors = anchors or {
                id(e[0]) for e in eng._fast._anchors
            }  # (the ring came with the first reply)
            if i % 2:  # every other frame kept (a view of it holds its slot as well)
                kept.append((f[::2], f[::2].copy()))
                copies.append(id(f.base) not in anchors)
            del f
        # the frames dropped at once take turns on the slots left free, the kept ones stay
        assert not any(copies[: shm.VIEWS]) and all(copies[shm.VIEWS :])  # every slot held: copies
        for view, copy in kept:
            assert np.array_equal(view, copy)
        kept[0][0][...] = 0  # the caller's array: writing into it is allowed and changes nothing else
        assert np.array_equal(frame(yaws[1]), expect(yaws[1]))
        kept.clear()
        assert eng._fast._free() == 1  # all dropped: every slot may be named again
        held = frame(45)
        if os.fork() == 0:  # a child shares the ring's pages: slots held at the fork are retired
            os._exit(0)
        os.wait()
        held_in = id(held.base)
        assert held_in in anchors
        del held
        for yaw in yaws:  # (its slot is free here, but the child may still use its frame)
            assert id(frame(yaw).base) != held_in
    finally:
        eng.close()
        ref.close()


def test_crash_recovery_over_shm():
    with Env("key_door", width=48, height=48) as env:
        assert env.engine.frame_transport == "shm"
        env.reset()
        env.step("RotateLeft")
        expected = Env("key_door", width=48, height=48)
        try:
            expected.reset()
            expected.step("RotateLeft")
            want = expected.step("MoveAhead")[0]["rgb"]
        finally:
            expected.close()
        pid = env.engine.process.pid
        os.kill(pid, signal.SIGKILL)
        env.engine.process.wait(10)
        obs, _, _, _, info = env.step("MoveAhead")
        assert env.engine.process.pid != pid and env.engine.frame_transport == "shm"
        assert info["lastActionSuccess"] and np.array_equal(obs["rgb"], want)


def test_frames_are_rendered_straight_into_the_ring_slot(monkeypatch):
    """The engine's fast path reads rgb back and decodes depth and seg (compiled decoder) into the
    reply's ring slot: no frame of its own, nothing copied into the ring (the numpy decoder's
    depth and seg are copied in). Same pixels as the renderer gives alone."""
    from embodied.bridges.panda3d.decode import kernel

    from embodied import protocol as P
    from embodied import shm

    server, renderer, (handle,) = _loaded_server()
    registered: list[int] = []
    fast = shm.FastServer(server.handle, registered.append, lambda fd: None)
    client = shm.FastClient(fast.name)
    fast.ready(fast.listener.fileno())  # (accepts the client's connection)
    copied = []
    put = shm._Ring.put
    monkeypatch.setattr(
        shm._Ring, "put", lambda ring, off, buf: (copied.append(buf.dtype), put(ring, off, buf))
    )
    kernel()  # loaded (or compiled) before the first frame, which would otherwise be numpy's
    try:
        for i, mods in enumerate((["rgb"], ["rgb", "depth", "seg"], ["depth", "rgb"])):
            cam = {
                "agent": "a0",
                "pos": [0, -2, 1],
                "hpr": [10 * i, -20, 0],
                "fov": 80,
                "width": 40,
                "height": 30,
            }
            request = {"op": "render", "scene": handle, "modalities": mods, "cameras": [cam]}
            copied.clear()
            client.send(P.pack(request)[0])
            fast.ready(registered[-1])
            header, base, _seq = client.receive()
            got = client.decode(P.unpack_header(header), header, base)[handle]["a0"]
            assert np.uint8 not in copied, (mods, copied)
            assert len(copied) == (0 if kernel() is not None else len(mods) - 1), (mods, copied)
            renderer.use(handle)
            want = renderer.render(["a0"], mods)["a0"]  # (the same camera: set by the request)
            for m in mods:
                assert np.array_equal(got[m], want[m]), (mods, m)
            assert got["rgb"].mean() > 10
    finally:
        client.close()
        fast.close()
        renderer.close()


def _loaded_server(token: str | None = None, colors=((0.8, 0.2, 0.2),), floor_only: bool = False):
    """An engine ``Server`` on a software renderer with one scene per colour loaded (a floor and
    a box); (server, renderer, the scenes' handles)."""
    from embodied.bridges.panda3d.renderer import Renderer
    from embodied.bridges.panda3d.server import Server

    from embodied import protocol as P

    renderer = Renderer("software")
    server = Server(renderer, token, P.DEFAULT_MAX_MESSAGE_BYTES)
    handles = []
    for color in colors:
        nodes = [{"id": "floor", "seg": 1, "shape": "box", "size": [4, 4, 0.1], "color": list(color)}]
        if not floor_only:
            nodes.append(
                {"id": "box", "seg": 2, "shape": "box", "size": [0.5, 0.5, 0.5], "pos": [0.3, 0, 0.25]}
            )
        load = {"op": "load_scene", "nodes": nodes, **({"token": token} if token else {})}
        handles.append(P.unpack_header(server.handle(P.pack(load))[0])["scene"])
    return server, renderer, handles


def _compact_pair(server):
    """A fast-path server over ``server`` with a client connected to it that goes compact, the
    list of connection fds the server registered, and ``reply_to(packet)``: the decoded frames
    of the reply to a raw packet the client sends, or the reply's error message."""
    from embodied import protocol as P
    from embodied import shm

    registered: list[int] = []
    fast = shm.FastServer(server.handle, registered.append, lambda fd: None, server.compact)
    client = shm.FastClient(fast.name)
    client.compact = True
    fast.ready(fast.listener.fileno())  # (accepts the client's connection)

    def reply_to(packet: bytes):
        client.sock.send(packet)
        fast.ready(registered[-1])
        header, base, _seq = client.receive()
        reply = P.unpack_header(header)
        if not reply["ok"]:
            return reply["error"]["message"]
        return client.decode(reply, header, base)

    return fast, client, registered, reply_to


def test_compact_requests_render_like_full_ones_and_malformed_ones_are_refused():
    """The repeated request of a running env goes compact once its shape is registered (the
    cameras' poses only): the same frames as the full request; a malformed compact request gets
    an error reply (the same one as the full request where it stands for one), the connection
    serves on."""
    import math
    import struct

    from embodied import protocol as P
    from embodied import shm

    server, renderer, (handle,) = _loaded_server("secret")
    fast, client, registered, answer = _compact_pair(server)
    mods = ["rgb", "depth", "seg"]

    def cam(yaw, pos=(0, -2, 1)):
        return {"agent": "a0", "pos": list(pos), "hpr": [yaw, -20, 0], "fov": 80, "width": 40, "height": 30}

    def reply_to(packet: bytes):
        got = answer(packet)
        return got if isinstance(got, str) else got[handle]["a0"]

    def full(c, **extra):
        request = {
            "op": "render",
            "scene": handle,
            "modalities": mods,
            "cameras": [c],
            "token": "secret",
            **extra,
        }
        return reply_to(shm.SEQ.pack(1) + P.pack(request)[0])

    def compact(sid, poses: bytes, slot: int = 0):
        return reply_to(shm.COMPACT.pack(2, shm.COMPACT_MARK, slot, sid) + poses)

    try:
        # registering: 'shape' checked like any field; a shape needs a camera for every agent
        assert "field 'shape'" in full(cam(0), shape=0)
        assert "field 'shape'" in full(cam(0), shape=shm.MAX_SHAPES + 1)
        other = {**cam(0), "agent": "a1"}
        server.handle(P.pack({"op": "camera", "scene": handle, "cameras": [other], "token": "secret"}))
        assert "camera for every agent" in full(cam(0), shape=1, agents=["a0", "a1"])
        assert "never registered" in compact(1, struct.pack("<6d", 0, -2, 1, 0, -20, 0))
        assert isinstance(full(cam(0), shape=1), dict)  # (registered on the engine)
        for yaw in (15, 30):
            entry, poses = client.shape(handle, ["a0"], mods, [cam(yaw)])
            if not entry[1]:
                entry[1] = True
                entry, poses = client.shape(handle, ["a0"], mods, [cam(yaw)])
            got = compact(entry[0], poses)
            want = full(cam(yaw))
            for m in mods:
                assert np.array_equal(got[m], want[m]), (yaw, m)
        # malformed compact requests: short head, wrong pose bytes, unknown shape
        assert "cut short" in reply_to(shm.SEQ.pack(3) + bytes([shm.COMPACT_MARK, 0, 0]))
        assert "bytes of poses" in compact(1, struct.pack("<5d", 0, -2, 1, 0, -20))
        assert "bytes of poses" in compact(1, struct.pack("<7d", 0, -2, 1, 0, -20, 0, 0))
        assert "never registered" in compact(7, struct.pack("<6d", 0, -2, 1, 0, -20, 0))
        # poses that are not finite: the full request's error, word for word
        for bad in (math.nan, math.inf):
            said = compact(1, struct.pack("<6d", 0, bad, 1, 0, -20, 0))
            assert said == full(cam(0, pos=(0, bad, 1))) and "finite" in said
        # huge but finite (the sum overflows): the full request's way, whatever it answers
        said = compact(1, struct.pack("<6d", 1e308, 1e308, 1, 0, -20, 0))
        assert said == full(cam(0, pos=(1e308, 1e308, 1)))
        # the connection serves on
        got = compact(1, struct.pack("<6d", 0, -2, 1, 45, -20, 0))
        want = full(cam(45))
        assert all(np.array_equal(got[m], want[m]) for m in mods)
        # a view slot named: the frames lie there (the reply says where); another value: the slots in turn
        ring = fast.conns[registered[-1]].ring
        for slot, at in ((3, (shm.DEPTH + 2) * ring.slot), (shm.VIEWS + 1, None), (255, None)):
            client.sock.send(
                shm.COMPACT.pack(4, shm.COMPACT_MARK, slot, 1) + struct.pack("<6d", 0, -2, 1, 45, -20, 0)
            )
            fast.ready(registered[-1])
            header, base, _seq = client.receive()
            assert base == at if at is not None else base < shm.DEPTH * ring.slot
            got = client.decode(P.unpack_header(header), header, base)[handle]["a0"]
            assert all(np.array_equal(got[m], want[m]) for m in mods)
        # the scene closed: the full request's error
        server.handle(P.pack({"op": "close_scene", "scene": handle, "token": "secret"}))
        said = compact(1, struct.pack("<6d", 0, -2, 1, 0, -20, 0))
        assert said == full(cam(0)) and "unknown scene handle" in said
    finally:
        client.close()
        fast.close()
        renderer.close()


def test_compact_requests_of_two_agents_and_repeated_modalities():
    """A compact request of one scene with two agents and a modality named twice gives the full
    request's reply: the same header and, buffer for buffer, the same bytes."""
    import struct

    from embodied import protocol as P
    from embodied import shm

    server, renderer, (handle,) = _loaded_server()
    fast, client, registered, _reply_to = _compact_pair(server)
    mods = ["rgb", "seg", "rgb"]

    def cams(yaw):
        return [
            {"agent": a, "pos": [0, y, 1], "hpr": [yaw, -20, 0], "fov": 80, "width": w, "height": 30}
            for a, y, w in (("a0", -2, 40), ("a1", -1.5, 32))
        ]

    def raw(packet: bytes) -> tuple[dict, list]:
        client.sock.send(packet)
        fast.ready(registered[-1])
        header, base, _seq = client.receive()
        reply = P.unpack_header(header)
        return reply, [bytes(f) for f in client.frames(reply, base)]

    def full(yaw, **extra):
        request = {"op": "render", "scene": handle, "agents": ["a0", "a1"], "modalities": mods}
        return raw(shm.SEQ.pack(1) + P.pack({**request, "cameras": cams(yaw), **extra})[0])

    try:
        assert full(0, shape=1)[0]["ok"]
        for yaw in (15, 40):
            poses = struct.pack("<12d", *[v for c in cams(yaw) for v in (*c["pos"], *c["hpr"])])
            got = raw(shm.COMPACT.pack(2, shm.COMPACT_MARK, 0, 1) + poses)
            want = full(yaw)
            assert got[0] == want[0] and len(got[1]) == len(mods) * 2
            assert got[1] == want[1], yaw
    finally:
        client.close()
        fast.close()
        renderer.close()


def test_compact_requests_of_several_scenes():
    """A render request naming several scenes (``scenes``) registers a shape as well; its compact
    form carries every scene's camera poses in order and gives the full request's frames (one
    Panda3D frame for all scenes); malformed ones are refused, and non-finite poses or a closed
    scene get the full request's error, word for word (``scenes[i]...`` field names)."""
    import math
    import struct

    from embodied import protocol as P
    from embodied import shm

    server, renderer, handles = _loaded_server("secret", colors=((0.8, 0.2, 0.2), (0.2, 0.2, 0.8)))
    fast, client, _registered, reply_to = _compact_pair(server)
    mods = ["rgb", "depth", "seg"]

    def cam(yaw, y=-2.0, agent="a0"):
        return {"agent": agent, "pos": [0, y, 1], "hpr": [yaw, -20, 0], "fov": 80, "width": 40, "height": 30}

    def full(cams, **extra):
        items = [{"scene": h, "cameras": [c]} for h, c in zip(handles, cams)]
        request = {"op": "render", "scenes": items, "modalities": mods, "token": "secret", **extra}
        return reply_to(shm.SEQ.pack(1) + P.pack(request)[0])

    def compact(sid, poses: bytes):
        return reply_to(shm.COMPACT.pack(2, shm.COMPACT_MARK, 0, sid) + poses)

    def poses(*cams):
        return struct.pack(f"<{6 * len(cams)}d", *[v for c in cams for v in (*c["pos"], *c["hpr"])])

    try:
        # a shape needs a camera for every agent of every scene
        other = {**cam(0), "agent": "a1"}
        server.handle(P.pack({"op": "camera", "scene": handles[1], "cameras": [other], "token": "secret"}))
        items = [{"scene": handles[0], "cameras": [cam(0)]}, {"scene": handles[1], "cameras": [cam(0)]}]
        items[1]["agents"] = ["a0", "a1"]
        request = {"op": "render", "scenes": items, "token": "secret", "shape": 1}
        assert "camera for every agent" in reply_to(shm.SEQ.pack(1) + P.pack(request)[0])
        assert isinstance(full([cam(0), cam(0)], shape=3), dict)  # (registered on the engine)
        key = [(h, ["a0"], [cam(0)]) for h in handles]
        entry, packed = client.shape_of(key, mods)
        assert packed is None  # (not yet registered on the client's side)
        entry[0], entry[1] = 3, True
        for yaw in (15, 30):
            cams = [cam(yaw), cam(-yaw, y=-1.5)]
            got = compact(3, client.shape_of([(h, ["a0"], [c]) for h, c in zip(handles, cams)], mods)[1])
            want = full(cams)
            for h in handles:
                for m in mods:
                    assert np.array_equal(got[h]["a0"][m], want[h]["a0"][m]), (yaw, h, m)
            alone = [renderer.use(h) and renderer.render(["a0"], mods) for h in handles]  # (scene by scene)
            for h, one in zip(handles, alone):
                assert np.array_equal(got[h]["a0"]["rgb"], one["a0"]["rgb"])
        assert not np.array_equal(got[handles[0]]["a0"]["rgb"], got[handles[1]]["a0"]["rgb"])
        # malformed: the poses of one scene only, too many
        assert "bytes of poses" in compact(3, poses(cam(0)))
        assert "expected 96 (2 cameras" in compact(3, poses(cam(0), cam(0), cam(0)))
        # poses that are not finite (in the second scene): the full request's error, word for word
        for bad in (math.nan, -math.inf):
            said = compact(3, poses(cam(0), cam(0, y=bad)))
            assert said == full([cam(0), cam(0, y=bad)]) and "scenes[1].cameras" in said and "finite" in said
        # a scene closed: the full request's error
        server.handle(P.pack({"op": "close_scene", "scene": handles[1], "token": "secret"}))
        said = compact(3, poses(cam(0), cam(0)))
        assert said == full([cam(0), cam(0)]) and "unknown scene handle" in said
        got = compact(3, poses(cam(0), cam(0)))  # (the connection serves on)
        assert "unknown scene handle" in got
    finally:
        client.close()
        fast.close()
        renderer.close()


def test_env_steps_go_compact_through_the_engine():
    """An env on a local engine sends its repeated render request compact after the first step,
    with the same frames, rewards and infos as over ZeroMQ (the test above compares them too)."""
    fast, slow = launch(), launch(shm=False)
    try:
        assert "compact_render" in fast.info["capabilities"]
        assert slow.frame_transport == "zmq"
        sent = []
        send = fast._fast.send_compact
        fast._fast.send_compact = lambda *a: (sent.append(a[0]), send(*a))[1]
        a = Env("key_door", width=40, height=32, engine=fast, modalities=MODS)
        b = Env("key_door", width=40, height=32, engine=slow, modalities=MODS)
        for env in (a, b):
            env.reset(seed=3)
        for act in ("RotateLeft", "MoveAhead", "PickUp(key)", "MoveAhead", "RotateRight", "LookDown"):
            oa, ra, ta, tra, ia = a.step(act)
            ob, rb, tb, trb, ib = b.step(act)
            assert (ra, ta, tra, dict(ia)) == (rb, tb, trb, dict(ib))
            for m in MODS:
                assert np.array_equal(oa[m], ob[m]), (act, m)
        assert len(sent) >= 4
        a.close()
        b.close()
    finally:
        fast.close()
        slow.close()


def test_poser_renders_what_render_async_renders_and_registers_again():
    """``RemoteScene.poser`` (an env's repeated request sent as its cameras' poses alone) gives the
    frames ``render_async`` gives for the same cameras: the first request registers the shape in
    full, later ones go compact; when the client has forgotten its shapes (numbered again past
    ``MAX_SHAPES``) it registers again; poses that do not pack go in full and get the full
    request's error; over ZeroMQ, or before the scene is loaded, there is no poser."""
    from embodied.protocol import posed_cameras

    nodes = [
        {"id": "floor", "seg": 1, "shape": "box", "size": [4, 4, 0.1]},
        {"id": "box", "seg": 2, "shape": "box", "size": [0.5, 0.5, 0.5], "pos": [0.3, 0, 0.25]},
    ]
    eng, slow = launch(), launch(shm=False)
    try:
        sc = eng.scene()
        assert sc.poser(["a0"], ["rgb"], [("a0", 60.0, 24, 16)]) is None  # (not loaded yet)
        sc.load(nodes)
        slow_sc = slow.scene()
        slow_sc.load(nodes)
        assert slow_sc.poser(["a0"], ["rgb"], [("a0", 60.0, 24, 16)]) is None
        lenses = [("a0", 60.0, 24, 16), ("a1", 90.0, 24, 16)]
        send = sc.poser(["a0", "a1"], ["rgb", "seg"], lenses)
        compact = []
        send_compact = eng._fast.send_compact
        eng._fast.send_compact = lambda *a: (compact.append(a[0]), send_compact(*a))[1]
        for i in range(6):
            if i == 3:
                eng._fast._shapes.clear()  # (as past MAX_SHAPES: the shape is registered again)
            poses = [0.1 * i, -2, 1.2, 10 * i, -15, 0, 0.5, -1.5, 1.5, -20, 0, 0]
            got = send(poses)()
            want = slow_sc.render(["a0", "a1"], ["rgb", "seg"], cameras=posed_cameras(lenses, poses))
            for a in ("a0", "a1"):
                for m in ("rgb", "seg"):
                    assert np.array_equal(got[a][m], want[a][m]), (i, a, m)
        assert len(compact) == 4  # (steps 1, 2, 4, 5: 0 and 3 registered the shape)
        with pytest.raises(ProtocolError, match="hpr"):
            send([0, -2, 1.2, 0, -15, "up", 0.5, -1.5, 1.5, -20, 0, 0])()
        assert len(compact) == 4
    finally:
        eng.close()
        slow.close()


def test_shapes_beyond_the_limit_and_closed_scenes():
    """More request shapes than a connection may register: the client numbers them again from 1
    (the engine's entries replaced) and every request still renders right; a shape does not keep
    its closed scene alive."""
    import gc
    import weakref

    from embodied import protocol as P
    from embodied import shm

    server, renderer, (handle,) = _loaded_server(floor_only=True)
    fast, client, registered, _reply_to = _compact_pair(server)

    def render(fov: float, yaw: float):
        cam = {"agent": "a0", "pos": [0, -2, 1], "hpr": [yaw, -20, 0], "fov": fov, "width": 16, "height": 12}
        entry, poses = client.shape(handle, ["a0"], ["rgb"], [cam])
        if poses is None:
            request = {"op": "render", "scene": handle, "cameras": [cam], "shape": entry[0]}
            client.send(P.pack(request)[0])
        else:
            client.send_compact(entry[0], poses)
        fast.ready(registered[-1])
        header, base, _seq = client.receive()
        got = client.decoded(header, base) or client.decode(P.unpack_header(header), header, base)
        entry[1] = True
        renderer.use(handle)
        return got[handle]["a0"]["rgb"], renderer.render(["a0"], ["rgb"])["a0"]["rgb"]

    try:
        for i in range(shm.MAX_SHAPES + 6):
            for yaw in (0, 40):  # (registers, then compact)
                got, want = render(30 + i, yaw)
                assert np.array_equal(got, want), (i, yaw)
        assert len(client._shapes) <= shm.MAX_SHAPES
        conn = next(iter(fast.conns.values()))
        assert len(conn.shapes) <= shm.MAX_SHAPES
        scene = weakref.ref(renderer.scenes[handle])
        server.handle(P.pack({"op": "close_scene", "scene": handle}))
        gc.collect()
        assert scene() is None  # (the connection's shapes still name it)
    finally:
        client.close()
        fast.close()
        renderer.close()
