"""The in-process engine: the Panda3D renderer and the engine's request handling in this process.

    env = embodied.make("escape/key-door", engine="inprocess")   # no engine process, no socket

The way Habitat and MiniWorld run: nothing crosses a process boundary, so a step costs no round
trip, no (de)serialisation and no switch between two processes on one core. The renderer and the
request handling are the engine process's own (:class:`embodied.bridges.panda3d.server.Server`
and its :class:`Renderer`), called directly, so the ops, the field checks and the error replies are
the same: a bad request raises the same :class:`~embodied.errors.ProtocolError` /
:class:`~embodied.errors.EngineError` with the same message (docs/protocol.md, "In-process engine").

- **One renderer per process** (per renderer kind), shared by every in-process client: each env
  holds its own scene on it by handle, as envs sharing an engine process do. ``close()`` of a
  client frees the scenes it made; the renderer stays for the next ``make`` and is released at exit.
- **Frames are the caller's**: every ``render`` returns freshly made arrays (no ring, nothing
  reused), so frames kept from earlier steps stay valid and unchanged.
- **What does not apply**: heartbeats, timeouts (``timeout=`` is accepted and ignored), crash
  recovery and the engine's log. A crash of the renderer is a crash of this process. Panda3D is
  not thread-safe: requests are serialised by a lock, so use an in-process engine from one thread
  at a time (as with a ZeroMQ client).
- Requests other than ``render`` go through msgpack and back, exactly as on the wire, so what
  would not survive the wire fails the same way; ``render`` requests (every step) pass their
  Python objects straight to the server's checks.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from embodied import protocol as P
from embodied.engine import EngineClient, RemoteScene
from embodied.errors import EngineError, ProtocolError

ENGINE = "inprocess"
_SERVERS: dict[str, Any] = {}  # renderer kind -> the process's shared server (made on first use)
_LOCK = threading.Lock()


def _unpacked(header: dict, buffers: Sequence[Any] = ()) -> list:
    return [header, *buffers]


def _server(renderer: str):
    """The process's in-process server for ``renderer`` (started on first use)."""
    with _LOCK:
        server = _SERVERS.get(renderer)
        if server is None:
            from embodied.bridges.panda3d.renderer import Renderer
            from embodied.bridges.panda3d.server import MAX_SCENES, Server

            class InProcessServer(Server):
                pack = staticmethod(_unpacked)  # replies stay Python objects: nothing to decode

            server = InProcessServer(Renderer(renderer), None, P.DEFAULT_MAX_MESSAGE_BYTES, MAX_SCENES)
            server.lock = threading.RLock()
            _SERVERS[renderer] = server
        return server


@atexit.register
def _release() -> None:
    for server in _SERVERS.values():
        with contextlib.suppress(Exception):
            server.renderer.close()
    _SERVERS.clear()


class InProcessEngine(EngineClient):
    """An engine client whose engine is this process (see the module docstring).

    Has the :class:`~embodied.engine.EngineClient` interface (``hello``, ``scene``, ``render_many``,
    ``request``...), so envs, vector envs and :class:`~embodied.engine.RemoteScene` use it unchanged.
    """

    def __init__(self, renderer: str = "software", timeout: float = 30.0):
        # no EngineClient.__init__: no socket, no process, no heartbeat
        self.server = _server(renderer)
        self.endpoint = f"inprocess://{os.getpid()}"
        self.timeout, self.token = float(timeout), None
        self.process, self.log_path = None, None
        self.heartbeat_path, self.heartbeat_timeout, self._beat = None, 0.0, None
        self.shm, self._fast, self._fast_seq = False, None, 0
        self.info: dict = {}
        self._default = None
        self._tmp_dir, self._owned_paths = None, []
        self._closed = False
        self._handles: set[str] = set()  # scenes this client made: freed by close()
        self._pending: tuple[str, list] | None = None  # a render sent, its reply not yet taken

    # ------------------------------------------------------------ transport (none)
    def _call(self, header: dict) -> list:
        with self.server.lock:
            return self.server.call(header)

    def _reply(self, op: str, frames: list) -> tuple[dict, list]:
        reply = frames[0]
        if not reply.get("ok"):
            err = reply.get("error") or {}
            cls = ProtocolError if err.get("type") == "ProtocolError" else EngineError
            raise cls(f"engine at {self.endpoint} rejected {op!r}: {err.get('message', reply)}")
        return reply, frames[1:]

    def _check_open(self) -> None:
        if self._closed:
            raise EngineError(f"engine client for {self.endpoint} is closed; launch() or connect() again")

    def request(
        self, op: str, fields: dict | None = None, buffers: Sequence[Any] = (), timeout: float | None = None
    ) -> tuple[dict, list]:
        """Handle one request here; return (reply header, buffers). Raises on error replies."""
        self._check_open()
        header = {"op": op, **(fields or {})}
        if op == "close":  # the engine is this process: closing it means closing this client
            self.close()
            return {"ok": True}, []
        if op != "render":  # as on the wire: what msgpack cannot carry fails the same way
            packed = P.pack(header)[0]
            if len(packed) > self.server.max_bytes:
                raise ProtocolError(
                    f"engine at {self.endpoint} rejected {op!r}: message of {len(packed)} bytes exceeds "
                    f"the limit of {self.server.max_bytes} bytes (--max-message-bytes)"
                )
            header = P.unpack_header(packed)
        reply, bufs = self._reply(op, self._call(header))
        if op == "load_scene":
            self._handles.add(reply["scene"])
        elif op == "close_scene":
            self._handles.discard(header["scene"])
        return reply, [_owned(b) for b in bufs]

    def _send(self, op: str, fields: dict | None, buffers: Sequence[Any], timeout: float | None) -> float:
        self._check_open()
        self._pending = (op, self._call({"op": op, **(fields or {})}))
        return self.timeout if timeout is None else float(timeout)

    def _receive(self, op: str, timeout: float) -> tuple[dict, list]:
        if self._pending is None:
            raise EngineError(f"no {op!r} request is waiting for its reply on {self.endpoint}")
        sent, frames = self._pending
        self._pending = None
        return self._reply(sent, frames)

    def _receive_scenes(self, op: str, timeout: float) -> dict:
        reply, bufs = self._receive(op, timeout)
        out: dict = {}
        for d, b in zip(reply["buffers"], bufs):
            out.setdefault(d.get("scene"), {}).setdefault(d["agent"], {})[d["name"]] = _owned(b)
        return out

    def hello(self, timeout: float | None = None) -> dict:
        """What the engine process's ``hello`` says (protocol, renderer, capabilities...), plus ``inprocess``."""
        info = super().hello(timeout)
        info["inprocess"] = True
        return info

    @property
    def frame_transport(self) -> str:
        return ENGINE

    def render_own_many(
        self,
        items: Sequence[tuple[InProcessScene, dict]],
        modalities: Sequence[str],
    ) -> Callable[[], list[dict]]:
        """:meth:`InProcessScene.render_own` for several scenes of ``client`` at once (what
        :class:`embodied.vector.RenderBatcher` sends: each env's own request): every scene's node
        updates are checked before any is applied (all or nothing, as the server's batched
        ``render``), then the cameras are set and every view is drawn in one Panda3D frame
        (``Renderer.render_scenes``). Returns what :meth:`EngineClient.render_many` returns."""
        client = self
        client._check_open()
        server = client.server
        r = server.renderer
        with _render_errors(client), server.lock:
            parts, checked = [], []
            for sc, fields in items:
                sc._fields("render", {})  # (raises before the first load)
                scene = r.use(sc.handle)
                updates = fields.get("updates")
                checked.append(P.check_updates(updates, scene.nodes, scene=sc.handle) if updates else None)
                parts.append((sc.handle, fields["agents"]))
            for (sc, fields), updates in zip(items, checked):
                r.use(sc.handle)
                if updates:
                    r.update(updates)
                if fields.get("cameras"):
                    r.set_cameras(fields["cameras"], checked=True)
            outs = r.render_scenes(parts, list(modalities), views=True)
        for out in outs:
            _contiguous_rgb(out)
        result = lambda: outs  # noqa: E731
        result.fast = False
        return result

    # ------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Free the scenes this client made (the shared renderer stays for other clients). Idempotent."""
        if getattr(self, "_closed", True):
            return
        self._closed = True
        self._pending = None
        for handle in sorted(self._handles):
            with contextlib.suppress(Exception), self.server.lock:
                if handle in self.server.renderer.scenes:
                    self.server.renderer.close_scene(handle)
        self._handles.clear()

    def kill(self) -> None:
        self.close()

    def __del__(self) -> None:
        try:  # noqa: SIM105  (not contextlib: at exit the module's globals may be gone already)
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"<InProcessEngine {self.endpoint}{' closed' if self._closed else ''}>"


class InProcessScene(RemoteScene):
    """A scene of an :class:`InProcessEngine`: :class:`~embodied.engine.RemoteScene`'s interface
    (every call is a request the server checks), plus :meth:`render_own` for an env's steps."""

    def render_own(
        self,
        agents: Sequence[str],
        modalities: Sequence[str],
        updates: list[dict] | None = None,
        cameras: list[dict] | None = None,
    ) -> Any:
        """Render a request an :class:`~embodied.env.Env` built itself (agents of its own spec,
        modalities it checked, updates from its scene graph, cameras of validated sizes and
        poses): the renderer is called with what the server would have checked, without
        building, checking and decoding a request. Node updates are still checked (all or
        nothing); a failure raises what the server's reply would have. Returns what
        :meth:`render_async` returns: a function that gives ``{agent: {modality: array}}``."""
        client = self.client
        if client._closed or self.handle is None:
            client._check_open()
            self._fields("render", {})  # (raises before the first load)
        server = client.server
        r = server.renderer
        with server.lock:
            try:  # (_render_errors written out: a generator-based context manager costs ~5 calls a step)
                r.use(self.handle)
                if updates:
                    r.update(updates)
                if cameras:
                    r.set_cameras(cameras, checked=True)
                out = r.render(agents, modalities, checked=True, views=True)
            except ProtocolError as exc:
                raise _rejected(client, exc) from None
            except Exception as exc:
                raise _rejected(client, exc) from exc
        for arrays in out.values():  # (_contiguous_rgb, inlined)
            rgb = arrays.get("rgb")
            if rgb is not None and not rgb.flags.c_contiguous:
                arrays["rgb"] = np.ascontiguousarray(rgb)
        return lambda: out


InProcessEngine.scene_class = InProcessScene


@contextlib.contextmanager
def _render_errors(client: InProcessEngine):
    """A render on ``client``'s renderer fails as the server's reply would have said."""
    try:
        yield
    except ProtocolError as exc:
        raise _rejected(client, exc) from None
    except Exception as exc:
        raise _rejected(client, exc) from exc


def _rejected(client: InProcessEngine, exc: Exception) -> Exception:
    """What the server's reply would have raised for a render on ``client``'s renderer that
    failed with ``exc``."""
    if isinstance(exc, ProtocolError):
        return ProtocolError(f"engine at {client.endpoint} rejected 'render': {exc}")
    # (as the server answers what it did not expect)
    message = str(exc) if isinstance(exc, EngineError) else f"{type(exc).__name__}: {exc}"
    return EngineError(f"engine at {client.endpoint} rejected 'render': {message}")


def _contiguous_rgb(out: dict) -> dict:
    """``{agent: {modality: array}}`` with every rgb C-contiguous (see :func:`_owned`)."""
    for arrays in out.values():
        if "rgb" in arrays:
            arrays["rgb"] = _owned(arrays["rgb"])
    return out


def _owned(buf: Any) -> Any:
    """A frame as the caller keeps it: C-contiguous (the renderer may hand rgb over as a view
    with its rows in reverse order)."""
    if isinstance(buf, np.ndarray) and not buf.flags.c_contiguous:
        return np.ascontiguousarray(buf)
    return buf


def launch(renderer: str = "software", timeout: float = 30.0, **_: Any) -> InProcessEngine:
    """:func:`embodied.engine.launch` for ``engine="inprocess"`` (the other launch arguments, which
    are about a process, do not apply)."""
    client = InProcessEngine(renderer, timeout)
    client.hello()
    return client
