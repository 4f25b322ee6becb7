"""Fuzzing the engine's ZeroMQ protocol with a real engine process: random, truncated, oversize
and wrongly framed messages, and clients that vanish mid-request. Every message gets a reply
(or, for a vanished client, none is owed), the server keeps serving, and a witness scene that no
fuzz message names renders exactly as before. Fast profile here; ``slow`` runs many more."""

from __future__ import annotations

import time

import msgpack
import numpy as np
import pytest
import zmq
from hypothesis import given
from hypothesis import strategies as st

from embodied import protocol as P
from embodied.engine import launch

from ..fuzz_strategies import FAST, SLOW, json_values

MAX_BYTES = 256 * 1024
CAM = {"agent": "a0", "pos": [0, -2, 1.2], "hpr": [0, -15, 0], "fov": 80, "width": 48, "height": 48}
NODES = [
    {"id": "floor", "seg": 1, "shape": "box", "size": [6, 6, 0.1], "pos": [0, 0, -0.05]},
    {
        "id": "box",
        "seg": 2,
        "shape": "box",
        "size": [0.6, 0.6, 0.6],
        "pos": [0, 0.5, 0.3],
        "color": [1, 0, 0],
    },
]
COUNT = {"messages": 0}


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    eng = launch(log_dir=str(tmp_path_factory.mktemp("fuzzlogs")), max_message_bytes=MAX_BYTES, max_scenes=64)
    witness = eng.scene()
    witness.load(NODES)
    victim = eng.scene()  # the fuzz may name this one (bad requests must change nothing in it)
    victim.load(NODES)
    baseline = witness.render(cameras=[CAM], modalities=("rgb", "seg"))["a0"]
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(eng.endpoint)
    yield eng, witness, victim, baseline, sock
    sock.close(0)
    eng.close()


def _send(sock, frames, wait_ms=5000):
    COUNT["messages"] += 1
    sock.send_multipart([b"", *frames])
    assert sock.poll(wait_ms), f"no reply to {[bytes(f)[:40] for f in frames]}"
    reply = sock.recv_multipart()
    assert reply[0] == b""
    return msgpack.unpackb(reply[1], raw=False)


def _check_alive(rig):
    eng, witness, _victim, baseline, _sock = rig
    out = witness.render(modalities=("rgb", "seg"))["a0"]
    assert np.array_equal(out["rgb"], baseline["rgb"]) and np.array_equal(out["seg"], baseline["seg"])
    assert eng.process.poll() is None


OPS = [op for op in P.OPS if op != "close"]
fields = st.dictionaries(
    st.sampled_from(
        ["scene", "nodes", "updates", "cameras", "agents", "modalities", "scenes", "from", "to", "name"]
    )
    | st.text(max_size=6),
    json_values,
    max_size=5,
)


def _message(rig, kind, op, extra, data, cut, use_victim):
    eng, _w, victim, _b, _s = rig
    header = {"op": op, "token": eng.token, **extra}
    if use_victim:
        header["scene"] = victim.handle
    packed = msgpack.packb(header, use_bin_type=True, default=repr)
    if kind == "header":
        return [packed]
    if kind == "truncated":
        return [packed[: max(1, cut % len(packed))]]
    if kind == "bytes":
        return [data or b"\x00"]
    if kind == "extra_frames":
        return [packed, data, b"x" * (cut % 100)]
    if kind == "no_header":
        return []
    if kind == "oversize":
        return [packed, b"\0" * (MAX_BYTES + 1)]
    raise AssertionError(kind)


kinds = st.sampled_from(
    ["header", "header", "header", "truncated", "bytes", "extra_frames", "no_header", "oversize"]
)


def _property(rig, kind, op, extra, data, cut, use_victim):
    _eng, _w, _v, _b, sock = rig
    frames = _message(rig, kind, op, extra, data, cut, use_victim)
    reply = _send(sock, frames)
    assert isinstance(reply, dict) and reply.get("ok") in (True, False)
    if not reply["ok"]:
        msg = reply["error"]["message"]
        assert isinstance(msg, str) and 0 < len(msg) < 2000


@FAST
@given(
    kind=kinds,
    op=st.sampled_from(OPS) | st.text(max_size=8),
    extra=fields,
    data=st.binary(max_size=64),
    cut=st.integers(0, 10**6),
    use_victim=st.booleans(),
)
def test_protocol_fuzz(rig, kind, op, extra, data, cut, use_victim):
    _property(rig, kind, op, extra, data, cut, use_victim)


@pytest.mark.slow
@SLOW
@given(
    kind=kinds,
    op=st.sampled_from(OPS) | st.text(max_size=8),
    extra=fields,
    data=st.binary(max_size=64),
    cut=st.integers(0, 10**6),
    use_victim=st.booleans(),
)
def test_protocol_fuzz_long(rig, kind, op, extra, data, cut, use_victim):
    _property(rig, kind, op, extra, data, cut, use_victim)


def test_server_survives_the_fuzz(rig):
    _check_alive(rig)  # runs after the fuzz in this module: the witness scene is untouched


def test_vanishing_clients_do_not_block_others(rig):
    eng, _witness, victim, _baseline, _sock = rig
    big = {**CAM, "width": 320, "height": 320}
    for _ in range(5):  # a client sends a render and disconnects before the reply
        s = zmq.Context.instance().socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(eng.endpoint)
        s.send(
            msgpack.packb(
                {
                    "op": "render",
                    "token": eng.token,
                    "scene": victim.handle,
                    "cameras": [big],
                    "modalities": ["rgb", "depth", "seg"],
                }
            )
        )
        time.sleep(0.05)  # delivered: the engine is rendering for a client that is gone
        s.close(0)
        COUNT["messages"] += 1
    t0 = time.monotonic()
    for _ in range(3):
        assert eng.ping(timeout=5) < 2.0
    assert time.monotonic() - t0 < 3.0
    _check_alive(rig)


def test_bad_request_logs_are_rate_limited(rig):
    eng, _w, _v, _b, sock = rig
    for _ in range(300):
        _send(sock, [b"\xc1 not msgpack"])
    assert eng.ping() < 1.0
    with open(eng.log_path) as f:
        lines = [line for line in f if "bad request" in line]
    assert len(lines) < 120, len(lines)  # 10 per 10 s window, not one per request
