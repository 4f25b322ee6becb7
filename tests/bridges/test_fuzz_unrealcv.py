"""Fuzzing the embedded engine's UnrealCV server (a real process, raw TCP): random commands get
exactly one reply each (``id:body``, an error for nonsense) and broken frames drop only that
connection; the server keeps serving. Fast profile here; ``slow`` runs many more cases."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
import subprocess
import sys
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ..fuzz_strategies import FAST, SLOW

pytest.importorskip("unrealcv")
from embodied.bridges.unrealcv.launcher import free_port

MAGIC = 0x9E2B83C1
COUNT = {"messages": 0}


def _connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    assert _recv(s).startswith(b"connected")
    return s


def _recv(s):
    head = b""
    while len(head) < 8:
        chunk = s.recv(8 - len(head))
        if not chunk:
            raise ConnectionError("closed")
        head += chunk
    magic, n = struct.unpack("<II", head)
    assert magic == MAGIC
    body = b""
    while len(body) < n:
        chunk = s.recv(n - len(body))
        if not chunk:
            raise ConnectionError("closed")
        body += chunk
    return body


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    exe = os.path.join(os.path.dirname(sys.executable), "embodied")
    cmd = [exe, "engine", "serve", "--protocol", "unrealcv", "--port", str(port), "--scene", "key_door"]
    cmd += ["--width", "64", "--height", "48", "--log-level", "WARNING"]
    log = tmp_path_factory.mktemp("ucvfuzz") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, "the server died"
        with contextlib.suppress(OSError):
            sock = _connect(port)
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    yield {"port": port, "proc": proc, "sock": [sock]}
    sock.close()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0


WORDS = [
    "vget",
    "vset",
    "vrun",
    "vexec",
    "/object",
    "/camera",
    "/objects",
    "/unrealcv",
    "/action",
    "0",
    "1",
    "table",
    "door",
    "location",
    "rotation",
    "lit",
    "depth",
    "object_mask",
    "png",
    "npy",
    "fov",
    "color",
    "spawn",
    "nan",
    "inf",
    "-1e308",
    "99999999999",
    "/status",
    "..",
    "'",
    '"',
    "\x00",
]
commands = st.lists(st.sampled_from(WORDS) | st.text(max_size=12), min_size=0, max_size=7).map(" ".join)


def _command_property(server, cmd, rid):
    s = server["sock"][0]
    COUNT["messages"] += 1
    payload = f"{rid}:{cmd}".encode("utf-8", "surrogatepass")
    s.sendall(struct.pack("<II", MAGIC, len(payload)) + payload)
    reply = _recv(s)
    assert reply.startswith(f"{rid}:".encode()), reply[:80]


@FAST
@given(cmd=commands, rid=st.integers(0, 10**9))
def test_unrealcv_command_fuzz(server, cmd, rid):
    _command_property(server, cmd, rid)


@pytest.mark.slow
@SLOW
@given(cmd=commands, rid=st.integers(0, 10**9))
def test_unrealcv_command_fuzz_long(server, cmd, rid):
    _command_property(server, cmd, rid)


@FAST
@given(junk=st.binary(min_size=1, max_size=64))
def test_unrealcv_broken_frames_drop_only_that_client(server, junk):
    COUNT["messages"] += 1
    server["sock"][0].close()  # one client at a time: give up the slot
    raw = _connect(server["port"])
    raw.sendall(struct.pack("<II", 0xDEADBEEF, len(junk)) + junk)
    with contextlib.suppress(ConnectionError, OSError):
        raw.settimeout(5)
        while raw.recv(4096):
            pass
    raw.close()
    server["sock"][0] = _connect(server["port"])  # the next client is greeted and served
    _command_property(server, "vget /unrealcv/version", 7)
    assert server["proc"].poll() is None
