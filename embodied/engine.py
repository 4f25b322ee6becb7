"""Client side of the engine wire protocol: start engines, connect, render.

    with embodied.engine.launch() as eng:           # headless Panda3D on a free port
        eng.load_scene([{"id": "floor", "seg": 1, "shape": "box", "size": [4, 4, .1]}])
        eng.set_cameras([{"agent": "a0", "pos": [0, -2, 1], "hpr": [0, -10, 0]}])
        frame = eng.render(modalities=("rgb", "depth"))["a0"]["rgb"]   # (224, 224, 3) uint8

Errors: :class:`EngineTimeout` when the engine does not answer in time (naming the op,
endpoint, timeout, log file and likely fix); :class:`ProtocolError` when the engine replied
with an error (its message is kept); :class:`EngineError` when the engine process died or
could not start (exit code and the tail of its log). Every call takes ``timeout=`` seconds,
defaulting to the client's.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import logging
import mmap
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any

import numpy as np
import zmq

from embodied import auth
from embodied import protocol as P
from embodied.errors import ConfigError, EngineError, EngineHung, EngineTimeout, ProtocolError
from embodied.shm import MAX_PACKET as SHM_MAX_PACKET
from embodied.shm import FastClient

log = logging.getLogger("embodied.engine")

# name -> a module run with ``python -m`` (ZeroMQ engines), or "module:function" for a backend with
# its own launcher, called with launch()'s arguments and returning a client with this interface
ENGINES = {
    "panda3d": "embodied.bridges.panda3d.server",
    "unreal": "embodied.bridges.unrealcv.launcher:launch",
    "unity": "embodied.bridges.mlagents.backend:launch",
    "inprocess": "embodied.inprocess:launch",  # Panda3D in this process: no socket (docs/performance.md)
}
RENDERERS = ("software", "gl", "auto")  # launch(renderer=), the CLI's --renderer
_OWNED: weakref.WeakSet[EngineClient] = weakref.WeakSet()
_A0 = ("a0",)  # the agents of a render request that names none
HEARTBEAT_TIMEOUT = 1.5  # s without a heartbeat before a launched engine counts as hung
FAST_WAIT = 0.25  # s a client waits for a reply before it checks that the engine is alive, and waits again


def _tail(path: str | None, lines: int = 20) -> str:
    if not path:
        return "(no log file)"
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 8192))
            text = f.read().decode("utf-8", "replace")
    except OSError as exc:
        return f"(cannot read log {path}: {exc})"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


class EngineClient:
    """A connection to one engine process (ZeroMQ REQ socket).

    ``process`` (a Popen) makes this client the owner: ``close()`` then stops the engine and
    its whole process group. Arrays returned by :meth:`render` are C-contiguous
    zero-copy views of the received frames (row 0 = top of the image).
    """

    def __init__(
        self,
        endpoint: str,
        timeout: float = 30.0,
        token: str | None = None,
        process: subprocess.Popen | None = None,
        log_path: str | None = None,
        heartbeat_path: str | None = None,
        heartbeat_timeout: float = HEARTBEAT_TIMEOUT,
        curve_server_key: str | None = None,
        curve_client_key: str | None = None,
        shm: bool | str = True,
    ):
        self.endpoint, self.timeout, self.token = endpoint, float(timeout), token
        # frames through shared memory when the engine is local (embodied.shm); "views": no copy
        self.shm = shm
        self._fast: FastClient | None = None
        self._fast_seq = 0  # the render request waiting on the fast path
        self.process, self.log_path = process, log_path
        self.heartbeat_path, self.heartbeat_timeout = heartbeat_path, float(heartbeat_timeout)
        self._beat: mmap.mmap | None = None
        self._born = time.monotonic()
        if heartbeat_path is not None:
            with open(heartbeat_path, "rb") as f:
                self._beat = mmap.mmap(f.fileno(), 8, access=mmap.ACCESS_READ)
        self.info: dict = {}
        self._default: RemoteScene | None = None
        self._tmp_dir: str | None = None
        self._owned_paths: list[str] = []
        self._closed = False
        self._ctx = zmq.Context.instance()
        self._sock = self._ctx.socket(zmq.REQ)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.setsockopt(zmq.REQ_RELAXED, 1)  # a new request may follow a timed-out one
        self._sock.setsockopt(zmq.REQ_CORRELATE, 1)  # and a late reply to the old one is dropped
        if curve_server_key is not None:
            auth.client_curve(self._sock, curve_server_key, curve_client_key)
        self._sock.connect(endpoint)
        if process is not None:
            _OWNED.add(self)

    # ------------------------------------------------------------ transport
    def _dead_error(self, op: str) -> EngineError | None:
        if self.process is None or self.process.poll() is None:
            return None
        return EngineError(
            f"engine process {self.process.pid} at {self.endpoint} exited with code "
            f"{self.process.returncode} (during {op!r}); log {self.log_path}:\n"
            f"{_tail(self.log_path)}"
        )

    def heartbeat_age(self) -> float | None:
        """Seconds since the engine's last heartbeat (None: no heartbeat, e.g. a connect()ed engine)."""
        if self._beat is None:
            return None
        (last,) = struct.unpack_from("d", self._beat, 0)
        return time.monotonic() - (last or self._born)

    def _hung_error(self, op: str) -> EngineHung | None:
        age = self.heartbeat_age()
        if age is None or age <= self.heartbeat_timeout:
            return None
        return EngineHung(
            f"engine process {self.process.pid if self.process else '?'} at {self.endpoint} has sent no "
            f"heartbeat for {age:.1f} s (limit {self.heartbeat_timeout:g} s) while answering {op!r}: it is "
            f"stopped, deadlocked or starved; log {self.log_path}. Likely fix: restart it (an Env does so "
            "by itself and restores the episode)."
        )

    def request(
        self, op: str, fields: dict | None = None, buffers: Sequence[Any] = (), timeout: float | None = None
    ) -> tuple[dict, list]:
        """Send one request; return (reply header, buffer frames). Raises on error replies."""
        timeout = self._send(op, fields, buffers, timeout)
        return self._receive(op, timeout)

    def _send(self, op: str, fields: dict | None, buffers: Sequence[Any], timeout: float | None) -> float:
        if self._closed:
            raise EngineError(f"engine client for {self.endpoint} is closed; launch() or connect() again")
        timeout = self.timeout if timeout is None else float(timeout)
        header = {"op": op, **(fields or {})}
        if self.token is not None:
            header["token"] = self.token
        if op == "render" and getattr(self, "_fast", None) is not None and not buffers:
            packed = P.pack(header)[0]
            if len(packed) <= SHM_MAX_PACKET:
                try:
                    self._fast_seq = self._fast.send(packed)
                except OSError:
                    raise self._dead_error(op) or EngineError(
                        f"engine at {self.endpoint} closed its shared-memory channel (during {op!r})"
                    ) from None
                return timeout
        try:
            self._sock.send_multipart(P.pack(header, buffers), flags=zmq.NOBLOCK, copy=False)
        except zmq.Again:
            raise self._timeout(op, timeout) from None
        return timeout

    def _send_compact(self, sid: int, poses: bytes, timeout: float | None) -> float:
        """Send a compact render request (embodied.shm: a registered shape, new poses)."""
        if self._closed:
            raise EngineError(f"engine client for {self.endpoint} is closed; launch() or connect() again")
        try:
            self._fast_seq = self._fast.send_compact(sid, poses)
        except OSError:
            raise self._dead_error("render") or EngineError(
                f"engine at {self.endpoint} closed its shared-memory channel (during 'render')"
            ) from None
        return self.timeout if timeout is None else float(timeout)

    def _receive(self, op: str, timeout: float) -> tuple[dict, list]:
        if getattr(self, "_fast_seq", 0):
            return self._receive_fast(op, timeout)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._dead_error(op) or self._timeout(op, timeout)
            if self._sock.poll(int(min(left, 0.25) * 1000) + 1, zmq.POLLIN):
                break
            dead = self._dead_error(op) or self._hung_error(op)
            if dead is not None:
                raise dead
        frames = self._sock.recv_multipart(copy=False)
        reply = P.unpack_header(frames[0])
        if not reply.get("ok"):
            err = reply.get("error") or {}
            cls = ProtocolError if err.get("type") == "ProtocolError" else EngineError
            raise cls(f"engine at {self.endpoint} rejected {op!r}: {err.get('message', reply)}")
        return reply, frames[1:]

    def _receive_scenes(self, op: str, timeout: float) -> dict:
        """The frames of a render reply, ``{scene: {agent: {modality: array}}}``."""
        if getattr(self, "_fast_seq", 0):
            return self._receive_fast(op, timeout, decode=True)
        return P.decode_scenes(*self._receive(op, timeout))

    def _receive_fast(self, op: str, timeout: float, decode: bool = False):
        """The reply to the request sent on the shared-memory path (same errors as ZeroMQ's):
        ``(reply, buffers)``, or with ``decode`` the frames as :meth:`_receive_scenes` gives them."""
        seq, self._fast_seq = self._fast_seq, 0
        fast = self._fast
        wait, deadline = min(timeout, FAST_WAIT), None
        while True:
            got = fast.receive(wait)
            if got is False:  # nothing within wait: is the engine still there?
                now = time.monotonic()
                if deadline is None:
                    deadline = now - wait + timeout
                left = deadline - now
                if left <= 0:
                    raise self._dead_error(op) or self._timeout(op, timeout)
                dead = self._dead_error(op) or self._hung_error(op)
                if dead is not None:
                    raise dead
                wait = min(left, FAST_WAIT)
                continue
            if got is None:  # the engine closed the channel: it died (or is dying)
                if self.process is not None:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        self.process.wait(1.0)
                raise self._dead_error(op) or EngineError(
                    f"engine at {self.endpoint} closed its shared-memory channel (during {op!r}); "
                    f"log {self.log_path}"
                )
            header, base, got_seq = got
            if got_seq == seq:
                break  # (else a late reply to a request that timed out: dropped)
        if decode:
            scenes = self._fast.decoded(header, base)  # a reply laid out like one before: no parsing
            if scenes is not None:
                return scenes
        reply = P.unpack_header(header)
        if not reply.get("ok"):
            err = reply.get("error") or {}
            cls = ProtocolError if err.get("type") == "ProtocolError" else EngineError
            raise cls(f"engine at {self.endpoint} rejected {op!r}: {err.get('message', reply)}")
        if decode:
            return self._fast.decode(reply, header, base)
        return reply, self._fast.frames(reply, base)

    def _timeout(self, op: str, timeout: float) -> EngineTimeout:
        return EngineTimeout(
            f"engine at {self.endpoint} did not answer {op!r} within {timeout:g} s (log: "
            f"{self.log_path or 'unknown: engine not started by this client'}). Likely fix: the "
            "engine is hung or overloaded - read its log, pass a larger timeout= (per call or "
            "to launch()/connect()), or restart it with embodied.engine.launch()."
        )

    # ------------------------------------------------------------ ops
    def hello(self, timeout: float | None = None) -> dict:
        """Protocol version, engine name, renderer ('software'/'gl'), driver, capabilities."""
        reply, _ = self.request("hello", {"protocol": P.PROTOCOL_VERSION}, timeout=timeout)
        if reply.get("protocol") != P.PROTOCOL_VERSION:
            raise ProtocolError(
                f"engine at {self.endpoint} speaks protocol {reply.get('protocol')}, "
                f"this client speaks {P.PROTOCOL_VERSION}; upgrade the older side"
            )
        self.info = {k: v for k, v in reply.items() if k != "ok"}
        if (
            getattr(self, "shm", False)
            and self._fast is None
            and isinstance(self.info.get("shm"), str)
            and self._local()
        ):
            try:
                slots = self.info.get("shm_slots", 0) if self.shm is True else 0  # ("copy": none)
                self._fast = FastClient(
                    self.info["shm"],
                    views=self.shm == "views",
                    slots=slots if type(slots) is int and 0 <= slots <= 64 else 0,
                )
                self._fast.compact = "compact_render" in self.info.get("capabilities", ())
            except OSError as exc:  # another machine or network namespace: ZeroMQ carries frames
                log.debug("no shared-memory path to %s: %s", self.endpoint, exc)
        return self.info

    def _local(self) -> bool:
        host = self.endpoint.split("://", 1)[-1].rsplit(":", 1)[0]
        return host in ("127.0.0.1", "localhost", "[::1]", "::1")

    @property
    def frame_transport(self) -> str:
        """How frames travel: ``"shm"`` (shared memory, a local engine) or ``"zmq"``."""
        return "shm" if getattr(self, "_fast", None) is not None else "zmq"

    def ping(self, timeout: float | None = None) -> float:
        """Round-trip time in seconds."""
        t0 = time.perf_counter()
        self.request("ping", timeout=timeout)
        return time.perf_counter() - t0

    def scene(self) -> RemoteScene:
        """A new, empty scene on this engine (created there by its first :meth:`RemoteScene.load`).
        Each env holds its own, so envs sharing an engine never see each other's worlds. Its class
        is the engine's ``scene_class`` (each backend names its own)."""
        return self.scene_class(self)

    @property
    def default_scene(self) -> RemoteScene:
        """The scene the client's own ``load_scene``/``update``/``render``... act on."""
        if self._default is None:
            self._default = self.scene_class(self)
        return self._default

    def load_scene(
        self,
        nodes: list[dict],
        name: str = "",
        background: Iterable[float] | None = None,
        timeout: float | None = None,
    ) -> int:
        """Replace the client's default scene with ``nodes`` (docs/protocol.md node maps). Returns
        the node count. Use :meth:`scene` for more than one scene per engine."""
        return self.default_scene.load(nodes, name, background, timeout)

    def update(self, updates: list[dict], timeout: float | None = None) -> int:
        """Apply ``[{"id", pos/hpr/color/visible/text...}]`` all or nothing; returns the count."""
        return self.default_scene.update(updates, timeout)

    def set_cameras(self, cameras: list[dict], timeout: float | None = None) -> None:
        """Per agent: ``{"agent", "pos", "hpr", "fov" (horizontal deg), "width", "height"}``."""
        self.default_scene.set_cameras(cameras, timeout)

    def render(
        self,
        agents: Sequence[str] = ("a0",),
        modalities: Sequence[str] = ("rgb",),
        updates: list[dict] | None = None,
        cameras: list[dict] | None = None,
        timeout: float | None = None,
    ) -> dict[str, dict[str, np.ndarray]]:
        """Apply ``updates`` and ``cameras`` (optional), then render: agent -> modality -> array.
        rgb uint8 (H, W, 3); depth float32 (H, W) z-depth in meters, inf for void;
        seg int32 (H, W) node ``seg`` values, 0 for void."""
        return self.default_scene.render(agents, modalities, updates, cameras, timeout)

    def render_async(
        self,
        agents: Sequence[str] = ("a0",),
        modalities: Sequence[str] = ("rgb",),
        updates: list[dict] | None = None,
        cameras: list[dict] | None = None,
        timeout: float | None = None,
    ) -> Callable[[], dict[str, dict[str, np.ndarray]]]:
        """:meth:`render` in two halves: send now, call the returned function for the frames."""
        return self.default_scene.render_async(agents, modalities, updates, cameras, timeout)

    def render_many(
        self,
        items: Sequence[tuple[RemoteScene, dict]],
        modalities: Sequence[str] = ("rgb",),
        timeout: float | None = None,
    ) -> Callable[[], list[dict[str, dict[str, np.ndarray]]]]:
        """Render several scenes of this engine in one round trip. ``items``: ``(scene, {"agents",
        "updates", "cameras"})`` pairs, each scene at most once. Sends now; the returned function
        gives one ``{agent: {modality: array}}`` per item, in order. All or nothing: a bad item
        fails the whole request before anything is applied. On the shared-memory path (the
        returned function's ``fast`` is True) more requests may be sent before this one's result
        is taken, as long as results are taken in the order sent (embodied.vector pipelines so).
        One item goes as that scene's own request (:meth:`RemoteScene.render_async`: compact on
        the shared-memory path once the engine knows its shape, docs/protocol.md "Local fast path")."""
        if len(items) == 1 and items[0][0].client is self and items[0][0].handle is not None:
            sc, fields = items[0]
            agents = fields.get("agents") or ("a0",)
            pending = sc.render_async(
                agents, modalities, fields.get("updates"), fields.get("cameras"), timeout
            )
            seq, self._fast_seq = self._fast_seq, 0  # (the request this result waits for)

            def result_one() -> list[dict[str, dict[str, np.ndarray]]]:
                self._fast_seq = seq
                return [pending()]

            result_one.fast = bool(seq)
            return result_one
        wire = []
        for sc, fields in items:
            if sc.client is not self or sc.handle is None:
                raise EngineError(f"{sc!r} is not a loaded scene of {self!r}; load() it first")
            w = {"scene": sc.handle}
            for k, v in fields.items():
                if v:
                    w[k] = v if type(v) is list else list(v)
            wire.append(w)
        fast, shape = getattr(self, "_fast", None), None
        if fast is not None and fast.compact and all("cameras" in w and "updates" not in w for w in wire):
            # the repeated request of running envs: compact once the engine knows its shape
            shape = fast.shape_of(
                [(w["scene"], w.get("agents", _A0), w["cameras"]) for w in wire], modalities
            )
        if shape is not None and shape[1] is not None:
            timeout = self._send_compact(shape[0][0], shape[1], timeout)
            shape = None
        else:
            request = {"scenes": wire, "modalities": list(modalities)}
            if shape is not None:
                request["shape"] = shape[0][0]  # (registers the shape: later requests go compact)
            timeout = self._send("render", request, (), timeout)
            if shape is not None and not self._fast_seq:  # (too large for the fast path: ZeroMQ)
                shape = None
        seq, self._fast_seq = self._fast_seq, 0  # (the request this result waits for)

        def result() -> list[dict[str, dict[str, np.ndarray]]]:
            self._fast_seq = seq
            by_scene = self._receive_scenes("render", timeout)
            if shape is not None:
                shape[0][1] = True  # (the engine answered the request registering it)
            return [by_scene.get(w["scene"], {}) for w in wire]

        result.fast = bool(seq)
        return result

    def raycast(self, src: Sequence[float], dst: Sequence[float], timeout: float | None = None) -> dict:
        """First visible node on the segment: ``{"hit", "seg", "point", "distance"}`` (None if none)."""
        return self.default_scene.raycast(src, dst, timeout)

    # ------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Close the connection; if this client owns the engine, stop it and its process group
        (close op, then SIGTERM, then SIGKILL after ~3 s each). Idempotent."""
        if self._closed:
            return
        proc = self.process
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(Exception):
                self.request("close", timeout=2.0)
            _stop_group(proc)
        if self._tmp_dir and proc is not None and proc.returncode == 0:
            shutil.rmtree(self._tmp_dir, ignore_errors=True)  # clean exit: drop the temp log dir
        for path in self._owned_paths:  # heartbeat file, CURVE keys (in a caller's log_dir)
            shutil.rmtree(path, ignore_errors=True) if os.path.isdir(path) else _unlink(path)
        if self._beat is not None:
            with contextlib.suppress(Exception):
                self._beat.close()
            self._beat = None
        self._closed = True
        if getattr(self, "_fast", None) is not None:
            self._fast.close()
            self._fast = None
        with contextlib.suppress(Exception):
            self._sock.close(0)

    def kill(self) -> None:
        """Stop an owned engine now (SIGKILL to its process group, e.g. when it is hung) and close."""
        proc = self.process
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        self.close()

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def __repr__(self) -> str:
        owner = f" pid={self.process.pid}" if self.process is not None else ""
        return f"<EngineClient {self.endpoint}{owner}{' closed' if self._closed else ''}>"


class RemoteScene:
    """One scene held by an engine, named on the wire by the handle the engine gave it.

    Made by :meth:`EngineClient.scene`; ``load`` creates it on the engine (or replaces it),
    ``close`` frees it there. Every other call acts on this scene only. Not thread-safe:
    scenes of one client share its socket, so use them from one thread, one request at a time.
    """

    def __init__(self, client: EngineClient):
        self.client = client
        self.handle: str | None = None

    def _fields(self, op: str, fields: dict) -> dict:
        if self.handle is None:
            raise EngineError(f"{op!r} before load(): this scene does not exist on the engine yet")
        return {"scene": self.handle, **fields}

    def load(
        self,
        nodes: list[dict],
        name: str = "",
        background: Iterable[float] | None = None,
        timeout: float | None = None,
    ) -> int:
        """Create (first call) or replace this scene with ``nodes``. Returns the node count."""
        fields: dict[str, Any] = {"name": name, "nodes": list(nodes)}
        if background is not None:
            fields["background"] = list(background)
        if self.handle is not None:
            fields["scene"] = self.handle
        reply, _ = self.client.request("load_scene", fields, timeout=timeout)
        self.handle = reply["scene"]
        return reply["nodes"]

    def update(self, updates: list[dict], timeout: float | None = None) -> int:
        """Apply node updates all or nothing; returns the count."""
        return self.client.request(
            "update", self._fields("update", {"updates": list(updates)}), timeout=timeout
        )[0]["updated"]

    def set_cameras(self, cameras: list[dict], timeout: float | None = None) -> None:
        """Per agent: ``{"agent", "pos", "hpr", "fov" (horizontal deg), "width", "height"}``."""
        self.client.request("camera", self._fields("camera", {"cameras": list(cameras)}), timeout=timeout)

    def render(
        self,
        agents: Sequence[str] = ("a0",),
        modalities: Sequence[str] = ("rgb",),
        updates: list[dict] | None = None,
        cameras: list[dict] | None = None,
        timeout: float | None = None,
    ) -> dict[str, dict[str, np.ndarray]]:
        """See :meth:`EngineClient.render`."""
        return self.render_async(agents, modalities, updates, cameras, timeout)()

    def render_async(
        self,
        agents: Sequence[str] = ("a0",),
        modalities: Sequence[str] = ("rgb",),
        updates: list[dict] | None = None,
        cameras: list[dict] | None = None,
        timeout: float | None = None,
    ) -> Callable[[], dict[str, dict[str, np.ndarray]]]:
        """Send a render request now; call the returned function for the frames.

        The engine renders while the caller does other work (an env computes its metadata
        meanwhile). No other request may be sent on this client before the result is taken.
        """
        client = self.client
        fast = client._fast
        shape = None
        if fast is not None and fast.compact and cameras and not updates and self.handle is not None:
            # the repeated request of a running env: compact once the engine knows its shape
            shape = fast.shape(self.handle, agents, modalities, cameras)
        if shape is not None and shape[1] is not None:
            timeout = client._send_compact(shape[0][0], shape[1], timeout)
            shape = None
        else:
            fields: dict[str, Any] = {"agents": list(agents), "modalities": list(modalities)}
            if updates:
                fields["updates"] = list(updates)
            if cameras:
                fields["cameras"] = list(cameras)
            if shape is not None:
                fields["shape"] = shape[0][0]  # (registers the shape: later requests go compact)
            timeout = client._send("render", self._fields("render", fields), (), timeout)
            if shape is not None and not client._fast_seq:  # (too large for the fast path: ZeroMQ)
                shape = None

        def result() -> dict[str, dict[str, np.ndarray]]:
            by_scene = client._receive_scenes("render", timeout)
            if shape is not None:
                shape[0][1] = True  # (the engine answered the request registering it)
            return _agents_frames(by_scene)

        return result

    def poser(
        self, agents: Sequence[str], modalities: Sequence[str], lenses: Sequence[tuple]
    ) -> Callable[[Sequence[float]], Callable[[], dict[str, dict[str, np.ndarray]]]] | None:
        """:meth:`render_async` for the repeated request of a running env, from its cameras'
        poses alone: ``send(poses)`` renders ``agents`` with ``modalities`` from cameras of the
        ``lenses`` ``(agent, fov, width, height)``, posed by ``poses`` (per camera ``pos`` then
        ``hpr``, six numbers, in order), no node updates; it returns what :meth:`render_async`
        returns for those cameras. Once the engine has registered the shape, a request is the
        poses packed behind a compact head (docs/protocol.md, "Local fast path"): no camera maps
        built, read and keyed per step. None when this scene has no compact path (ZeroMQ, or an
        engine without it, or before :meth:`load`): send requests with :meth:`render_async`."""
        client = self.client
        fast = getattr(client, "_fast", None)
        if fast is None or not fast.compact or self.handle is None:
            return None
        agents, modalities = tuple(agents), tuple(modalities)
        lenses = tuple(map(tuple, lenses))
        key = (self.handle, agents, modalities, *lenses)  # (FastClient.shape's key of these cameras)

        def send(poses: Sequence[float]) -> Callable[[], dict[str, dict[str, np.ndarray]]]:
            if client._closed:
                raise EngineError(
                    f"engine client for {client.endpoint} is closed; launch() or connect() again"
                )
            try:
                seq = fast.send_posed(key, poses)
            except OSError:
                raise client._dead_error("render") or EngineError(
                    f"engine at {client.endpoint} closed its shared-memory channel (during 'render')"
                ) from None
            if not seq:  # (the shape is not registered yet: the full request registers it)
                return self.render_async(agents, modalities, None, P.posed_cameras(lenses, poses))
            client._fast_seq = seq
            return partial(_posed_frames, client, client.timeout)

        return send

    def raycast(self, src: Sequence[float], dst: Sequence[float], timeout: float | None = None) -> dict:
        """First visible node on the segment: ``{"hit", "seg", "point", "distance"}`` (None if none)."""
        fields = self._fields("raycast", {"from": list(src), "to": list(dst)})
        reply, _ = self.client.request("raycast", fields, timeout=timeout)
        return {k: reply[k] for k in ("hit", "seg", "point", "distance")}

    def close(self, timeout: float | None = None) -> None:
        """Free this scene on the engine (nothing happens if it was never loaded or the client is closed)."""
        handle, self.handle = self.handle, None
        if handle is not None and not self.client._closed:
            self.client.request("close_scene", {"scene": handle}, timeout=timeout)

    def __repr__(self) -> str:
        return f"<RemoteScene {self.handle or '(not loaded)'} on {self.client.endpoint}>"


EngineClient.scene_class = RemoteScene  # (defined after the client, which it talks through)


_SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL")


def _agents_frames(by_scene: dict) -> dict[str, dict[str, np.ndarray]]:
    """A render reply's ``{scene: {agent: {modality: array}}}`` as ``{agent: {modality: array}}``."""
    if len(by_scene) == 1:
        return next(iter(by_scene.values()))
    out: dict[str, dict[str, np.ndarray]] = {}
    for agents in by_scene.values():
        for agent, arrays in agents.items():
            out.setdefault(agent, {}).update(arrays)
    return out


def _posed_frames(client: EngineClient, timeout: float) -> dict[str, dict[str, np.ndarray]]:
    """The frames of the compact request a poser sent (see :meth:`RemoteScene.poser`)."""
    by_scene = client._receive_fast("render", timeout, True)
    return next(iter(by_scene.values())) if len(by_scene) == 1 else _agents_frames(by_scene)


def _without_secrets(environ) -> dict[str, str]:
    """The environment minus anything that looks like a secret (API keys...): an engine needs none."""
    return {k: v for k, v in environ.items() if not any(w in k.upper() for w in _SECRET_WORDS)}


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _child_env(environ, token: str) -> dict[str, str]:
    """An engine process's environment: ``environ`` without secrets, with its token, and OpenCV
    and the bundled OpenBLAS pools (numpy's, OpenCV's) on one thread each: their idle workers
    spin, taking CPU from the client and the render (docs/performance.md, "Threads that spin");
    a thread count ``environ`` sets wins."""
    env = {**_without_secrets(environ), auth.TOKEN_ENV: token}
    for var in ("OPENCV_FOR_THREADS_NUM", "OPENBLAS_NUM_THREADS"):
        env.setdefault(var, "1")
    return env


def _stop_group(proc: subprocess.Popen, grace: float = 3.0) -> None:
    """Wait for proc to exit, else SIGTERM then SIGKILL its process group."""
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        if sig is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


@atexit.register
def _cleanup() -> None:
    for client in list(_OWNED):
        with contextlib.suppress(Exception):
            client.close()


def launch(
    engine: str | None = None,
    headless: bool = True,
    renderer: str = "software",
    host: str = "127.0.0.1",
    port: int = 0,
    timeout: float = 30.0,
    log_dir: str | None = None,
    token: str | None = None,
    curve: bool | None = None,
    heartbeat_timeout: float = HEARTBEAT_TIMEOUT,
    shm: bool | str = True,
    **kw: Any,
) -> EngineClient:
    """Start an engine process and return a connected client that owns it.

    The engine runs ``python -m ENGINES[engine]`` in its own session (process group), logs to
    ``<log_dir or a temp dir>/engine-<pid>.log`` (a temp dir is removed after a clean exit,
    by the engine itself if this process was killed), and exits when this process dies.

    Access: the engine requires ``token`` on every request; without one it gets a random token,
    so no other local user can drive or close it. The token reaches the engine through its
    environment, never its command line. ``curve`` (default: on for a non-loopback ``host``)
    encrypts the connection with a fresh CURVE key pair. The engine writes a heartbeat the
    client watches: no beat for ``heartbeat_timeout`` s while waiting for a reply raises
    :class:`EngineHung`. ``shm``: frames of ``render`` come through shared memory when the engine
    offers it (a local engine does; embodied.shm, docs/protocol.md): True hands frames of compact
    replies out in place (arrays over a ring slot nothing else references, the caller's until it
    drops them) and copies the others out, ``"copy"`` copies every frame out, ``"views"`` gives
    read-only views into the ring (valid until the next render but one), False keeps every frame
    on ZeroMQ.

    Extra keyword arguments become ``--key-with-dashes value`` options. Raises EngineError (with
    the log tail) if it fails to start, EngineTimeout if it is not ready within ``timeout`` s.
    ``engine`` defaults to ``$EMBODIED_ENGINE``, else ``"panda3d"`` (so code that launches with the
    defaults, like the benchmark's workers, runs on another engine unchanged).
    """
    if renderer not in RENDERERS:  # else the engine process refuses it, after starting
        raise ConfigError(
            f"unknown renderer {renderer!r}; choose software (works everywhere), gl (GPU/EGL) or auto"
        )
    from_env = not engine and os.environ.get("EMBODIED_ENGINE")
    engine = engine or os.environ.get("EMBODIED_ENGINE") or "panda3d"
    if engine not in ENGINES:
        where = " (from $EMBODIED_ENGINE)" if from_env else ""
        raise ConfigError(f"unknown engine {engine!r}{where}; known: {sorted(ENGINES)}")
    if ":" in ENGINES[engine]:  # a backend with its own launcher
        module, func = ENGINES[engine].split(":")
        own = getattr(importlib.import_module(module), func)
        args = dict(headless=headless, renderer=renderer, host=host, port=port, timeout=timeout)
        return own(engine=engine, log_dir=log_dir, token=token, **args, **kw)
    if not headless:
        raise EngineError(
            "windowed engines are not supported yet: use launch(headless=True) and "
            "save or view the rendered frames"
        )
    token = auth.random_token() if token is None else auth.check_token(token)
    curve = host not in auth.LOCAL_HOSTS if curve is None else curve
    tmp_dir = None if log_dir else tempfile.mkdtemp(prefix="embodied-engine-")
    log_dir = log_dir or tmp_dir
    os.makedirs(log_dir, exist_ok=True)
    tag = uuid.uuid4().hex
    beat = os.path.join(log_dir, f"heartbeat-{tag}.bin")
    with open(beat, "wb") as f:
        f.write(b"\0" * 8)
    cmd = [
        sys.executable,
        "-m",
        ENGINES[engine],
        "--host",
        host,
        "--port",
        str(port),
        "--renderer",
        renderer,
        "--heartbeat-file",
        beat,
        "--parent-pid",
        str(os.getpid()),
    ]
    cmd.append("--die-with-parent")  # from any thread: see the server's _wake_on_parent_death
    if tmp_dir:
        cmd += ["--cleanup-dir", tmp_dir]
    server_key = None
    if curve:
        keys = os.path.join(log_dir, f"keys-{tag}")
        server_key, server_secret = auth.make_keys(keys, "server")
        cmd += ["--curve-secret-file", server_secret]
    for key, value in kw.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    child_env = _child_env(os.environ, token)
    tmp_log = os.path.join(log_dir, f"engine-starting-{tag}.log")
    ready_r, ready_w = os.pipe()  # the engine writes one JSON line here once it serves
    cmd += ["--ready-fd", str(ready_w)]
    try:
        with open(tmp_log, "wb") as log:
            proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=child_env,
                pass_fds=(ready_w,),
            )
    except BaseException:
        os.close(ready_r)
        raise
    finally:
        os.close(ready_w)
    log_path = os.path.join(log_dir, f"engine-{proc.pid}.log")
    os.replace(tmp_log, log_path)
    try:
        info = _wait_ready(ready_r, proc, engine, log_path, time.monotonic() + timeout, timeout)
        client = EngineClient(
            info["endpoint"],
            timeout,
            token,
            process=proc,
            log_path=log_path,
            heartbeat_path=beat,
            heartbeat_timeout=heartbeat_timeout,
            shm=shm,
            curve_server_key=server_key,
        )
        client._tmp_dir = tmp_dir
        client._owned_paths = [beat] + ([os.path.dirname(server_key)] if server_key else [])
    except BaseException:
        _stop_group(proc, grace=1.0)
        raise
    return _greeted(client)


def _wait_ready(fd: int, proc: subprocess.Popen, engine: str, log_path: str, deadline: float, timeout: float):
    """The engine's ready line from pipe ``fd`` (closed here); errors name the exit code or the timeout."""
    got, closed = b"", False
    try:
        while b"\n" not in got:
            left = deadline - time.monotonic()
            if left <= 0:
                raise EngineTimeout(
                    f"engine {engine!r} (pid {proc.pid}) was not ready within "
                    f"{timeout:g} s; log {log_path}:\n{_tail(log_path)}\nLikely fix: "
                    "a slow machine - pass a larger timeout= to launch()"
                )
            if closed:  # the pipe closed without a whole line: the engine is exiting
                time.sleep(min(left, 0.02))
            elif select.select([fd], [], [], min(left, 0.25))[0]:
                chunk = os.read(fd, 65536)
                got += chunk
                closed = not chunk
                if chunk:
                    continue
            if proc.poll() is not None:
                raise EngineError(
                    f"engine {engine!r} exited with code {proc.returncode} before it "
                    f"was ready; log {log_path}:\n{_tail(log_path)}"
                )
    finally:
        os.close(fd)
    return json.loads(got.split(b"\n", 1)[0])


def connect(
    endpoint: str,
    token: str | None = None,
    timeout: float = 30.0,
    token_file: str | None = None,
    curve_server_key: str | None = None,
    curve_client_key: str | None = None,
    shm: bool | str = True,
) -> EngineClient:
    """Connect to an engine that is already running (not owned: close() leaves it running).

    ``token``: the engine's token; else read from ``token_file``, else ``$EMBODIED_ENGINE_TOKEN``.
    ``curve_server_key``: the engine's CURVE public key file (for an engine started with
    ``--curve-secret-file``); ``curve_client_key``: this client's '.key_secret' file when the
    engine only admits listed clients."""
    if not isinstance(endpoint, str) or "://" not in endpoint:  # zmq says only 'Invalid argument'
        raise ConfigError(
            f"endpoint {endpoint!r} is not a ZeroMQ address; give tcp://HOST:PORT, as "
            "'embodied engine serve' prints it (READY tcp://...)"
        )
    token = auth.check_token(token) if token is not None else auth.read_token(token_file)
    return _greeted(
        EngineClient(
            endpoint,
            timeout,
            token,
            curve_server_key=curve_server_key,
            curve_client_key=curve_client_key,
            shm=shm,
        )
    )


def _greeted(client: EngineClient) -> EngineClient:
    """The client once the engine has answered ``hello``; closed (and its engine stopped, if owned) if not."""
    try:
        client.hello()
    except BaseException:
        client.close()
        raise
    return client
