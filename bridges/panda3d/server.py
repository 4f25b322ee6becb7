"""The Panda3D engine process: a ZeroMQ REP server around :class:`Renderer`.

Run ``python -m embodied.bridges.panda3d.server --port 0 --ready-file F`` (or
``embodied engine serve``). Protocol: :mod:`embodied.protocol` (docs/architecture.md, "The wire"). Every bad
request gets an error reply and the server keeps serving. It exits on the ``close`` op,
on SIGTERM/SIGINT, and within about a second of the ``--parent-pid`` process going away.
Exit codes: 0 clean, 2 bad arguments, 3 renderer unavailable.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hmac
import json
import logging
import math
import mmap
import os
import secrets
import select
import shutil
import signal
import struct
import sys
import threading
import time
import weakref
from collections.abc import Callable

import numpy as np
import zmq

from embodied import auth
from embodied import protocol as P
from embodied.errors import EmbodiedError, ProtocolError
from embodied.shm import MAX_SHAPES, POSE, VIEWS

log = logging.getLogger("embodied.engine.panda3d")
LOCAL_HOSTS = auth.LOCAL_HOSTS
CAPABILITIES = ["rgb", "depth", "seg", "raycast", "text", "multi_agent", "render_updates", "scenes", "batch"]
COMPACT = "compact_render"  # capability: compact render requests on the fast path (embodied.shm)
MAX_SCENES = 256


def parse_args(argv: list[str] | None, prog: str | None = None) -> argparse.Namespace:
    from embodied.cli import Parser, add_renderer_option, int_in  # one-line usage errors

    p = Parser(
        prog=prog or "python -m embodied.bridges.panda3d.server",
        description="The Panda3D engine process: a ZeroMQ server that renders scenes for embodied envs. "
        "It prints 'READY <endpoint>' when serving and exits on the close request, SIGTERM/SIGINT, "
        "or when --parent-pid is gone. Exit codes: 0 clean, 2 bad arguments, 3 renderer unavailable.",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (non-local needs --token)")
    p.add_argument("--port", type=int_in(0, 65535), default=0, help="TCP port; 0 picks a free one")
    add_renderer_option(p)
    p.add_argument("--ready-file", help="write {endpoint, pid, renderer} JSON here when serving")
    p.add_argument(
        "--ready-fd",
        type=int_in(3),
        help="write the same JSON (one line) to this inherited pipe, then close it (what launch() uses)",
    )
    p.add_argument(
        "--heartbeat-file",
        help="an 8-byte file where a thread writes time.monotonic() every 0.2 s (the client's watchdog)",
    )
    p.add_argument("--parent-pid", type=int, help="exit when this process is gone")
    p.add_argument(
        "--die-with-parent",
        action="store_true",
        help="Linux: the kernel resumes this engine (SIGCONT) when its --parent-pid process dies, so a "
        "stopped engine exits too (what launch() asks for)",
    )
    p.add_argument(
        "--token",
        help=argparse.SUPPRESS,  # refused: argv is readable by every local user (ps)
    )
    p.add_argument(
        "--token-file",
        help="file holding the shared secret every request must carry as 'token' "
        f"(or set ${auth.TOKEN_ENV}; never pass it on the command line)",
    )
    p.add_argument("--curve-secret-file", help="CURVE: this server's zmq.auth '.key_secret' file (encrypts)")
    p.add_argument("--curve-clients", help="CURVE: directory of allowed client public keys (default: any)")
    p.add_argument(
        "--insecure-plaintext",
        action="store_true",
        help="allow a non-loopback bind without CURVE (the token then travels in plain text)",
    )
    p.add_argument("--cleanup-dir", help="remove this directory (the temp log dir) on a clean exit")
    p.add_argument(
        "--max-message-bytes",
        type=int,
        default=P.DEFAULT_MAX_MESSAGE_BYTES,
        help="largest request accepted, in bytes (default: %(default)s)",
    )
    p.add_argument(
        "--max-scenes", type=int_in(1), default=MAX_SCENES, help="scenes held at once (default: %(default)s)"
    )
    p.add_argument(
        "--max-buffers",
        type=int_in(1),
        default=32,
        help="offscreen buffers kept, LRU (default: %(default)s)",
    )
    p.add_argument(
        "--max-buffer-pixels",
        type=int_in(1),
        default=4096 * 4096 * 2,
        help="pixels of all buffers together (default: %(default)s)",
    )
    p.add_argument(
        "--render-threads",
        type=int_in(1, 2),
        default=1,
        help="threads that draw a request's scenes (1 or 2; default: %(default)s; "
        "docs/performance.md, 'Batched envs')",
    )
    p.add_argument(
        "--no-shm",
        action="store_true",
        help="no shared-memory frame path for local clients (frames only over ZeroMQ)",
    )
    p.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log detail on stderr (default: %(default)s)",
    )
    args = p.parse_args(argv)
    args.prog = p.prog  # usage errors name the command ('embodied engine serve: error: ...')
    return args


class _Shape:
    """A render request's shape registered by a fast-path connection (embodied.shm): its scenes
    (one, or several for a ``scenes`` request), each with its agents and its cameras' lenses and
    sizes, the modalities, what the reply's frames are and its header; a compact request of this
    shape brings only new poses (every camera of every scene, in order)."""

    __slots__ = ("_into", "cams", "draw", "header", "mods", "multi", "parts", "poses", "specs")

    def __init__(self, parts: list, mods: list, header: bytes, multi: bool):
        """``parts``: ``(scene, agents, cameras)`` per scene, in the request's order; ``multi``:
        the request named them in ``scenes`` (its replayed form does too)."""
        # (each scene held weakly: a closed scene is not kept alive by the shapes naming it)
        self.parts = [
            (
                sc.handle,
                weakref.ref(sc),
                agents,
                [(c["agent"], c["fov"], c["width"], c["height"]) for c in cams],
            )
            for sc, agents, cams in parts
        ]
        self.mods, self.header, self.multi = mods, header, multi
        self.draw = [(handle, agents) for handle, _ref, agents, _cams in self.parts]  # (render_scenes')
        self.cams = sum(len(p[3]) for p in self.parts)
        self.poses = struct.Struct(f"<{POSE * self.cams}d")
        self.specs = []
        for _sc, agents, cams in parts:
            size = {c["agent"]: (c["width"], c["height"]) for c in cams}  # (an agent's last camera wins)
            self.specs += [P.frame_spec(m, *size[a]) for a in agents for m in mods]
        self._into: dict[int, tuple] = {}  # id(arrays) -> (arrays, what into() made of them)

    def into(self, dest: list) -> list:
        """The arrays ``dest`` the frames of a one-scene request of this shape go into (the
        ring slot's, in reply order) per agent, as ``{modality: array}``; made once per list
        (the connection hands out the same list each time a slot comes round)."""
        got = self._into.get(id(dest))
        if got is None or got[0] is not dest:
            if len(self._into) >= 16:  # (a new ring's lists: the old ones are not kept alive)
                self._into.clear()
            k, agents = len(self.mods), self.parts[0][2]
            per = [dict(zip(self.mods, dest[j * k : j * k + k])) for j in range(len(agents))]
            got = self._into[id(dest)] = (dest, per)
        return got[1]

    def request(self, poses: tuple, sid: int) -> dict:
        """The full render request a compact one with these ``poses`` stands for."""
        items, i = [], 0
        for handle, _ref, agents, cams in self.parts:
            n = POSE * len(cams)
            items.append(
                {"scene": handle, "agents": list(agents), "cameras": P.posed_cameras(cams, poses[i : i + n])}
            )
            i += n
        head = {"op": "render", "modalities": list(self.mods), "shape": sid}
        return {**head, "scenes": items} if self.multi else {**head, **items[0]}


def _posed(cams: tuple, vals: tuple, i: int) -> list[dict]:
    """The cameras of a registered shape (``(agent, fov, width, height)`` each) posed by a compact
    request's doubles ``vals``, the first camera's from index ``i`` (``POSE`` doubles a camera)."""
    sent = []
    for agent, fov, w, h in cams:
        sent.append(
            {
                "agent": agent,
                "pos": vals[i : i + 3],
                "hpr": vals[i + 3 : i + 6],
                "fov": fov,
                "width": w,
                "height": h,
            }
        )
        i += POSE
    return sent


class Server:
    """Dispatches decoded requests to the renderer. ``handle`` never raises."""

    def __init__(self, renderer, token: str | None, max_bytes: int, max_scenes: int = MAX_SCENES):
        self.renderer, self.token, self.max_bytes = renderer, token, max_bytes
        self.max_scenes = max_scenes
        self.closing = False
        self.shm_name: str | None = None  # the shared-memory frame path, offered in hello (embodied.shm)
        self._log_window, self._logged, self._suppressed = 0.0, 0, 0
        self._token = token.encode() if token is not None else None
        # where the request being handled wants its frames: the shared-memory path's ring slot
        # (embodied.shm), given the frames' (shape, dtype) in reply order; None: arrays of their own
        self.sink: Callable[[list], list | None] | None = None
        self._replies: dict[tuple, bytes] = {}  # render reply headers packed before (same request shape)
        # the request shapes the fast-path connection of the request being handled registered
        # (embodied.shm): shape id -> _Shape; None: not on the fast path (no "shape" registered)
        self.shapes: dict[int, _Shape] | None = None

    pack = staticmethod(P.pack)  # how a reply leaves call(): msgpack header, then the buffers
    LOG_BURST, LOG_WINDOW = 10, 10.0  # at most 10 bad-request lines per 10 s, then one summary

    def note_bad(self, line: str) -> None:
        """Log a bad request, rate-limited so a flood of garbage cannot fill the disk."""
        now = time.monotonic()
        if now - self._log_window > self.LOG_WINDOW:
            if self._suppressed:
                log.warning(
                    "%d more bad requests in the last %.0f s (not logged)", self._suppressed, self.LOG_WINDOW
                )
            self._log_window, self._logged, self._suppressed = now, 0, 0
        if self._logged < self.LOG_BURST:
            self._logged += 1
            log.info("%s", line[:300])
        else:
            self._suppressed += 1

    def refuse(self, message: str) -> list:
        exc = ProtocolError(message)
        self.note_bad(f"bad request: {exc}")
        return P.pack(P.error_reply(exc))

    def handle(
        self,
        frames: list,
        sink: Callable[[list], list | None] | None = None,
        shapes: dict[int, _Shape] | None = None,
    ) -> list:
        """Answer one request (its frames as received). ``sink``, ``shapes``: see ``self.sink``,
        ``self.shapes``."""
        self.sink, self.shapes = sink, shapes
        try:
            return self._handle(frames)
        finally:
            self.sink = self.shapes = None

    def compact(
        self,
        sid: int | None,
        packet: bytes,
        offset: int,
        sink: Callable[[list], list | None] | None,
        shapes: dict[int, _Shape],
    ) -> list:
        """Answer a compact render request of the fast path (embodied.shm, docs/protocol.md "Local
        fast path"): shape ``sid`` registered on this connection, the cameras' poses as doubles
        from ``offset`` of ``packet``. Everything but the poses was checked when the shape was
        registered; poses that are not all finite, or a scene that was closed since,
        take the full request's way (its checks, its errors). Never raises."""
        shape = shapes.get(sid) if sid is not None else None
        if shape is None or len(packet) - offset != shape.poses.size:
            if sid is None:
                return self.refuse("compact render request: its 16-byte head is cut short")
            if shape is None:
                return self.refuse(
                    f"compact render request: shape {sid} was never registered on this connection; "
                    "send the full render request with 'shape' first (docs/protocol.md, Local fast path)"
                )
            return self.refuse(
                f"compact render request: {len(packet) - offset} bytes of poses for shape {sid}; "
                f"expected {shape.poses.size} ({shape.cams} cameras x {POSE * 8} bytes)"
            )
        vals = shape.poses.unpack_from(packet, offset)
        total = sum(vals)
        r = self.renderer
        parts = shape.parts
        if len(parts) == 1:  # one scene (the repeated request of an env: kept as short as can be)
            handle, ref, agents, cams = parts[0]
            sc = r.scenes.get(handle)
            if total - total != 0.0 or sc is None or sc is not ref():
                return self._replay(shape, vals, sid, sink, shapes)  # (not finite, or the scene went)
            try:  # (rgb read back, depth/seg decoded straight into the ring slot's arrays)
                into = shape.into(sink(shape.specs)) if sink is not None else None
                return [shape.header, *r.render_posed(sc, _posed(cams, vals, 0), agents, shape.mods, into)]
            except Exception as exc:
                return self._failed(exc)
        for handle, ref, _agents, _cams in parts:
            sc = r.scenes.get(handle)
            if sc is None or sc is not ref():
                total = math.nan  # (a scene went: the full request says so)
        if total - total != 0.0:
            return self._replay(shape, vals, sid, sink, shapes)
        try:  # several scenes: cameras set scene by scene, all drawn in one Panda3D frame
            mods, k, i, j = shape.mods, len(shape.mods), 0, 0
            dest = sink(shape.specs) if sink is not None else None  # (rgb read back, depth/seg
            intos: list | None = [] if dest is not None else None  # decoded into the ring slot)
            for handle, _ref, agents, cams in parts:
                r.use(handle)
                r.set_cameras(_posed(cams, vals, i), checked=True)
                i += POSE * len(cams)
                if intos is not None:
                    intos.append(
                        {a: dict(zip(mods, dest[j + n * k : j + n * k + k])) for n, a in enumerate(agents)}
                    )
                    j += len(agents) * k
            outs = r.render_scenes(shape.draw, mods, views=True, into=intos)
            return [
                shape.header,
                *[out[a][m] for out, (_h, agents) in zip(outs, shape.draw) for a in agents for m in mods],
            ]
        except Exception as exc:
            return self._failed(exc)

    def _replay(self, shape: _Shape, vals: tuple, sid: int, sink, shapes) -> list:
        """Answer the full request a compact one stands for (its checks, its error replies)."""
        self.sink, self.shapes = sink, shapes
        try:
            return self.call(shape.request(vals, sid))
        finally:
            self.sink = self.shapes = None

    def _handle(self, frames: list) -> list:
        try:
            size = sum(len(f) for f in frames)
            if size > self.max_bytes:
                raise ProtocolError(
                    f"message of {size} bytes exceeds the limit of {self.max_bytes} "
                    "bytes (--max-message-bytes)"
                )
            header = P.unpack_header(frames[0])
            if self.token is not None:
                got = header.get("token")
                if not isinstance(got, str) or not hmac.compare_digest(got.encode(), self._token):
                    raise ProtocolError(
                        "missing or wrong 'token': this engine requires one; pass the engine's "
                        "token to the client (connect(token=...) or $EMBODIED_ENGINE_TOKEN)"
                    )
        except ProtocolError as exc:
            self.note_bad(f"bad request: {exc}")
            return P.pack(P.error_reply(exc))
        return self.call(header)

    def call(self, header: dict) -> list:
        """Answer one admitted request (a decoded header): ``[reply, buffers...]`` as ``pack``
        makes them (msgpack here; an in-process engine keeps the objects). Never raises."""
        try:
            op = header.get("op")
            if not isinstance(op, str) or op not in P.OPS:
                raise ProtocolError(f"field 'op': unknown op {op!r}; expected one of {list(P.OPS)}")
            return getattr(self, "op_" + op)(header)
        except Exception as exc:  # the server lives on whatever happens
            return self._failed(exc)

    def _failed(self, exc: Exception) -> list:
        """The error reply to a request that raised ``exc`` (logged)."""
        if isinstance(exc, ProtocolError):
            self.note_bad(f"bad request: {exc}")
            return self.pack(P.error_reply(exc))
        log.exception("request failed", exc_info=exc)
        if isinstance(exc, EmbodiedError):
            return self.pack(P.error_reply(exc))
        return self.pack(
            {"ok": False, "error": {"type": "EngineError", "message": f"{type(exc).__name__}: {exc}"}}
        )

    def op_hello(self, h):
        r = self.renderer
        wanted = h.get("protocol", P.PROTOCOL_VERSION)
        if wanted != P.PROTOCOL_VERSION:
            raise ProtocolError(
                f"this engine speaks protocol {P.PROTOCOL_VERSION}, the client {P.brief(wanted)}; "
                "upgrade the older side (docs/protocol.md, versioning)"
            )
        return self.pack(
            {
                "ok": True,
                "protocol": P.PROTOCOL_VERSION,
                "engine": "panda3d",
                "renderer": r.backend,
                "driver": r.driver,
                "capabilities": [*CAPABILITIES, COMPACT] if self.shm_name else CAPABILITIES,
                "max_message_bytes": self.max_bytes,
                "max_scenes": self.max_scenes,
                "max_batch": P.MAX_BATCH,
                "scenes": len(r.scenes),
                "pid": os.getpid(),
                **({"shm": self.shm_name, "shm_slots": VIEWS} if self.shm_name else {}),
            }
        )

    def op_ping(self, h):
        return self.pack({"ok": True, "time": time.time()})

    def _use(self, h: dict, field: str = "scene"):
        """Select the scene the request names (ProtocolError for a missing or unknown handle)."""
        if field not in h:
            raise ProtocolError(
                f"field {field!r}: missing; every scene request names its scene by the handle "
                "load_scene returned (protocol 2, docs/protocol.md)"
            )
        return self._scene(h[field], field)

    def _scene(self, handle, field: str):
        """The scene a handle names: a known handle is taken as it is (it was checked when the
        engine made it); anything else is checked, then looked up (ProtocolError if unknown)."""
        sc = self.renderer.scenes.get(handle) if type(handle) is str else None
        return self.renderer.use(sc.handle if sc is not None else P.check_handle(handle, field))

    def op_load_scene(self, h):
        """Create a scene (no 'scene' field) or replace one (its handle); all or nothing."""
        nodes = P.check_list(h.get("nodes", []), "nodes")
        name = P.check_type(h.get("name", ""), str, "name", "a string")[:200]
        r = self.renderer
        if h.get("scene") is not None:
            handle = self._use(h).handle
            count = r.load_scene(nodes, name, h.get("background"))
            return self.pack({"ok": True, "nodes": count, "scene": handle})
        if len(r.scenes) >= self.max_scenes:
            raise ProtocolError(
                f"this engine holds {len(r.scenes)} scenes, its limit (--max-scenes); close_scene "
                "the ones no longer needed, or start another engine"
            )
        handle = secrets.token_hex(8)
        r.use(handle, create=True)
        try:
            count = r.load_scene(nodes, name, h.get("background"))
        except BaseException:
            r.close_scene(handle)
            raise
        return self.pack({"ok": True, "nodes": count, "scene": handle})

    def op_close_scene(self, h):
        self._use(h)
        self.renderer.close_scene(h["scene"])
        return self.pack({"ok": True})

    def op_update(self, h):
        self._use(h)
        n = self.renderer.update(P.check_list(h.get("updates", []), "updates"))
        return self.pack({"ok": True, "updated": n})

    def op_camera(self, h):
        self._use(h)
        self.renderer.set_cameras(P.check_list(h.get("cameras", []), "cameras"))
        return self.pack({"ok": True})

    def _render_item(self, item: dict, field: str) -> tuple:
        """Validate one scene's part of a render request; nothing is applied yet."""
        P.check_type(item, dict, field, "a map with 'scene', 'agents', 'updates', 'cameras'")
        pre = f"{field}." if field else ""
        if field and "scene" not in item:
            raise ProtocolError(f"field '{pre}scene': missing; name each scene by its handle")
        sc = self._scene(item.get("scene"), pre + "scene") if field else self._use(item)
        cams = P.check_cameras(item.get("cameras"), pre + "cameras")
        known = set(sc.cameras) | {c["agent"] for c in cams}
        agents = P.check_render_agents(item.get("agents", ["a0"]), known, pre + "agents", sc.handle)
        updates = P.check_updates(item.get("updates"), sc.nodes, pre + "updates", sc.handle)
        return sc.handle, agents, cams, updates

    def op_render(self, h):
        """Render one scene (``scene``, ``agents``, ``updates``, ``cameras``) or several
        (``scenes``: a list of such maps); all are validated before anything is applied."""
        mods = P.check_str_list(h.get("modalities", ["rgb"]), "modalities", P.MODALITIES)
        if "scenes" in h:
            items = P.check_list(h["scenes"], "scenes")
            if not 1 <= len(items) <= P.MAX_BATCH:
                raise ProtocolError(f"field 'scenes': {len(items)} items; expected 1..{P.MAX_BATCH}")
            parts = [self._render_item(it, f"scenes[{i}]") for i, it in enumerate(items)]
            if len({p[0] for p in parts}) != len(parts):
                raise ProtocolError("field 'scenes': a scene is named twice; name each scene once")
        else:
            parts = [self._render_item(h, "")]
        sid = self._shape_id(h, parts) if self.shapes is not None and "shape" in h else None
        r = self.renderer
        dest = self._destinations(parts, mods) if self.sink is not None else None
        if len(parts) > 1:  # several scenes: all their views in one Panda3D frame
            reply = self._render_scenes(parts, mods, dest)
            if sid is not None:  # later requests of this shape may come compact (embodied.shm)
                self.shapes[sid] = _Shape([(r.scenes[p[0]], p[1], p[2]) for p in parts], mods, reply[0], True)
            return reply
        ((handle, agents, cams, updates),) = parts
        r.use(handle)
        if updates:
            r.update(updates)
        if cams:
            r.set_cameras(cams, checked=True)  # _render_item checked them
        into = None
        if dest is not None:  # rgb read back, depth/seg decoded straight into the ring slot
            k = len(mods)
            into = {a: dict(zip(mods, dest[j * k : j * k + k])) for j, a in enumerate(agents)}
        out = r.render(agents, mods, checked=True, views=True, into=into)  # (views: copied out below)
        reply = self._render_reply(parts, [out], mods)
        if sid is not None:  # later requests of this shape may come compact (embodied.shm)
            self.shapes[sid] = _Shape([(r.scenes[handle], agents, cams)], mods, reply[0], "scenes" in h)
        return reply

    def _shape_id(self, h: dict, parts: list) -> int:
        """The checked ``shape`` field of a render request on the fast path: an id in
        1..MAX_SHAPES, on a request (of one scene or several) that sends a camera for every agent
        it renders (what a compact request of that shape repeats with new poses)."""
        sid = h["shape"]
        if type(sid) is not int or not 1 <= sid <= MAX_SHAPES:
            raise ProtocolError(f"field 'shape': expected an int in 1..{MAX_SHAPES}, got {P.brief(sid)}")
        for _handle, agents, cams, _updates in parts:
            if not set(agents) <= {c["agent"] for c in cams}:
                raise ProtocolError(
                    "field 'shape': a request with a shape sends a camera for every agent it renders "
                    "(a compact request repeats its cameras with new poses)"
                )
        return sid

    def _render_scenes(self, parts: list, mods: list, dest: list | None) -> list:
        """A checked render request of several scenes: updates and cameras applied scene by
        scene, then every view drawn in one Panda3D frame (``Renderer.render_scenes``), rgb
        read back and depth/seg decoded straight into ``dest`` (the ring slot) when given."""
        r = self.renderer
        intos: list | None = [] if dest is not None else None
        i, k = 0, len(mods)
        for handle, agents, cams, updates in parts:
            if updates or cams:
                r.use(handle)
                if updates:
                    r.update(updates)
                if cams:
                    r.set_cameras(cams, checked=True)  # _render_item checked them
            if intos is not None:
                intos.append(
                    {a: dict(zip(mods, dest[i + j * k : i + j * k + k])) for j, a in enumerate(agents)}
                )
                i += len(agents) * k
        outs = r.render_scenes([p[:2] for p in parts], mods, views=True, into=intos)
        return self._render_reply(parts, outs, mods)

    def _destinations(self, parts: list, mods: list) -> list | None:
        """The sink's arrays for every frame of a checked render request, in reply order."""
        shapes = []
        for handle, agents, cams, _updates in parts:
            known = self.renderer.scenes[handle].cameras
            sent = {c["agent"]: c for c in cams}
            for a in agents:
                c = sent.get(a) or known[a]
                w, h = c["width"], c["height"]
                shapes += [P.frame_spec(m, w, h) for m in mods]
        return self.sink(shapes)

    REPLIES = 64  # packed render reply headers remembered

    def _render_reply(self, parts: list, outs: list, mods: list) -> list:
        """The reply to a render request (``outs``: each part's ``{agent: {modality: array}}``):
        its header is the same for every request of the same shape (scenes, agents, modalities,
        frame sizes), so it is packed once."""
        key, bufs = [], []
        for (handle, agents, _cams, _updates), out in zip(parts, outs):
            for a in agents:
                for m in mods:
                    arr = out[a][m]
                    key.append((handle, a, m, arr.shape, arr.dtype.num))
                    bufs.append(arr)
        key = tuple(key)
        header = self._replies.get(key) if self.pack is P.pack else None
        if header is None:
            descs = [P.describe(a, m, arr, h) for (h, a, m, _s, _n), arr in zip(key, bufs)]
            if self.pack is not P.pack:  # (an in-process server keeps replies as objects)
                return self.pack({"ok": True, "buffers": descs}, bufs)
            header = P.pack({"ok": True, "buffers": descs})[0]
            if len(self._replies) >= self.REPLIES:
                self._replies.clear()
            self._replies[key] = header
        return [header, *bufs]

    def op_raycast(self, h):
        self._use(h)
        return self.pack({"ok": True, **self.renderer.raycast(h.get("from"), h.get("to"))})

    def op_close(self, h):
        self.closing = True
        return self.pack({"ok": True})


def _wake_on_parent_death(pid: int) -> bool:
    """Linux: ask the kernel to send this process SIGCONT when the thread that spawned it exits
    (``prctl(PR_SET_PDEATHSIG)``): an engine stopped (SIGSTOP) when its client is killed resumes,
    and its :func:`_parent_alive` watchdog then exits cleanly (removing its temp log dir), where
    before it stayed behind in state T. SIGCONT, not SIGKILL: a killed engine could not clean
    up. The signal follows the thread that forked us: when that thread exits first (a launching
    worker thread), the kernel sends it (a SIGCONT to a running process does nothing), hands us
    to another thread of the parent and keeps the request, so it fires again when the parent
    process dies; launching from any thread is covered. Returns False when ``pid`` is no
    longer our parent (it died before the request took hold); True elsewhere than Linux."""
    if not sys.platform.startswith("linux"):
        return True
    import ctypes

    try:
        if ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGCONT, 0, 0, 0) != 0:  # PR_SET_PDEATHSIG
            log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
    except (OSError, AttributeError) as exc:
        log.warning("cannot set PR_SET_PDEATHSIG (%s); the parent watchdog alone applies", exc)
    return os.getppid() == pid


def _guard_orphan(pid: int, was_ppid: bool, cleanup_dir: str | None, grace: float = 3.0) -> None:
    """A daemon thread that ends this process ``grace`` s after parent ``pid`` is gone if the
    serving loop has not ended it by then (a main thread hung in a render or a deadlock): it
    removes ``cleanup_dir`` and exits at once."""

    def watch() -> None:
        while _parent_alive(pid, was_ppid):
            time.sleep(0.5)
        time.sleep(grace)
        log.warning("parent process %d is gone and the serving loop did not exit; exiting now", pid)
        if cleanup_dir:
            shutil.rmtree(cleanup_dir, ignore_errors=True)
        os._exit(1)

    threading.Thread(target=watch, name="orphan-guard", daemon=True).start()


def _parent_alive(pid: int, was_ppid: bool) -> bool:
    """False once pid is gone (or, if it was our parent, once we were re-parented: this also
    catches a killed parent that is still an unreaped zombie)."""
    if was_ppid and os.getppid() != pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ParentWatch:
    """Whether the ``--parent-pid`` process is gone, for a serving loop that asks on every turn:
    it checks at most every ``period`` s, and logs once when the parent is gone. ``pid`` None or
    0: never gone. Shared by the engine processes (Panda3D, UnrealCV, the Unity player)."""

    def __init__(self, pid: int | None, period: float = 0.5):
        self.pid, self.period = pid, period
        self.was_ppid = bool(pid) and os.getppid() == pid
        self._last = time.monotonic()

    def gone(self) -> bool:
        if not self.pid or time.monotonic() - self._last <= self.period:
            return False
        self._last = time.monotonic()
        if _parent_alive(self.pid, self.was_ppid):
            return False
        log.warning("parent process %d is gone; exiting", self.pid)
        return True


HEARTBEAT_PERIOD = 0.2


def _start_heartbeat(path: str) -> threading.Event:
    """Beat into ``path`` (a double: CLOCK_MONOTONIC seconds, shared by all processes) until the
    returned event is set. The render releases the GIL, so the beat stops only when the whole
    process does (SIGSTOP, a deadlock, swapped out): exactly what the client's watchdog detects."""
    fd = os.open(path, os.O_RDWR)
    try:
        mm = mmap.mmap(fd, 8)
    finally:
        os.close(fd)
    stop = threading.Event()
    struct.pack_into("d", mm, 0, time.monotonic())

    def beat() -> None:
        while not stop.wait(HEARTBEAT_PERIOD):
            struct.pack_into("d", mm, 0, time.monotonic())

    threading.Thread(target=beat, name="heartbeat", daemon=True).start()
    return stop


def _write_ready(path: str, info: dict) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(info, f)
    os.replace(tmp, path)


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """Serve until close / signal / parent death. Returns the exit code."""
    args = parse_args(argv, prog)
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.die_with_parent and args.parent_pid and not _wake_on_parent_death(args.parent_pid):
        log.warning("parent process %d is gone before start-up; exiting", args.parent_pid)
        return 0
    if args.token is not None:
        return _usage(
            "--token is not accepted: a command line is readable by every local user (ps). "
            f"Set ${auth.TOKEN_ENV} or pass --token-file FILE.",
            args.prog,
        )
    try:
        token = auth.read_token(args.token_file)
    except EmbodiedError as exc:
        return _usage(str(exc), args.prog)
    local = args.host in LOCAL_HOSTS
    if not local and not token:
        return _usage(
            f"refusing to bind {args.host!r} without a token: any machine that can reach it could "
            f"drive this engine. Set ${auth.TOKEN_ENV} or --token-file (and give the client the "
            "same token), or bind 127.0.0.1.",
            args.prog,
        )
    if not local and not args.curve_secret_file and not args.insecure_plaintext:
        return _usage(
            f"refusing to bind {args.host!r} without encryption: pass --curve-secret-file KEY "
            "(see docs/protocol.md, Security), or --insecure-plaintext on a trusted network.",
            args.prog,
        )
    if args.max_message_bytes < 1024:
        return _usage("--max-message-bytes must be at least 1024", args.prog)
    from embodied.bridges.panda3d.renderer import Renderer  # heavy import after arg checks

    try:
        renderer = Renderer(
            args.renderer, args.max_buffers, args.max_buffer_pixels, threads=args.render_threads
        )
    except EmbodiedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)  # replies never block: one to a vanished client is dropped
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDTIMEO, 0)
    authenticator = None
    if args.curve_secret_file:
        try:
            authenticator = auth.serve_curve(ctx, sock, args.curve_secret_file, args.curve_clients)
        except EmbodiedError as exc:
            return _usage(str(exc), args.prog)
    sock.setsockopt(zmq.MAXMSGSIZE, 4 * args.max_message_bytes)
    host = "[::1]" if args.host == "::1" else args.host
    if args.host == "::1":
        sock.setsockopt(zmq.IPV6, 1)
    try:
        sock.bind(f"tcp://{host}:{args.port if args.port else '*'}")
    except zmq.ZMQError as exc:
        return _usage(
            f"cannot bind tcp://{host}:{args.port}: {exc}. Use --port 0 for a free port.", args.prog
        )
    endpoint = sock.getsockopt_string(zmq.LAST_ENDPOINT)
    stop = []
    beating = _start_heartbeat(args.heartbeat_file) if args.heartbeat_file else None
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.append(signum))
    ready = {
        "endpoint": endpoint,
        "pid": os.getpid(),
        "renderer": renderer.backend,
        "driver": renderer.driver,
    }
    if args.ready_file:
        _write_ready(args.ready_file, ready)
    if args.ready_fd is not None:
        try:
            os.write(args.ready_fd, json.dumps(ready).encode() + b"\n")
            os.close(args.ready_fd)
        except OSError as exc:  # the launcher is gone: nothing to tell
            log.warning("could not write to --ready-fd %d: %s", args.ready_fd, exc)
    print(f"READY {endpoint}", flush=True)
    log.info("serving %s with the %s renderer (%s)", endpoint, renderer.backend, renderer.driver)
    server = Server(renderer, token, args.max_message_bytes, args.max_scenes)
    # one select.poll over plain descriptors: the shared-memory sockets, ZeroMQ's notification
    # descriptor, and a pipe signals write to; a fast-path request then costs a poll(2) and its
    # own recv, not a zmq_poll over the ROUTER socket (docs/performance.md, "Where a step goes")
    poller = select.poll()
    zfd = sock.getsockopt(zmq.FD)
    poller.register(zfd, select.POLLIN)
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    poller.register(wake_r, select.POLLIN)
    old_wakeup = signal.set_wakeup_fd(wake_w)  # a signal wakes the poll (stop is then checked)
    fast = None
    if not args.no_shm and local:  # render frames through shared memory for local clients
        from embodied.shm import FastServer

        fast = FastServer(
            server.handle, lambda fd: poller.register(fd, select.POLLIN), poller.unregister, server.compact
        )
        server.shm_name = fast.name
    gc.collect()
    gc.freeze()  # the start-up heap (numpy, Panda3D, ...) is never scanned by the cyclic GC again
    parent = ParentWatch(args.parent_pid)
    if args.parent_pid:
        _guard_orphan(args.parent_pid, parent.was_ppid, args.cleanup_dir)
    zmq_due = True  # ZeroMQ's descriptor is edge-triggered: ask the socket itself until it has nothing
    try:
        while not stop and not server.closing:
            if zmq_due:
                if sock.getsockopt(zmq.EVENTS) & zmq.POLLIN:
                    _serve_one(sock, server)  # one per turn, as before; more are looked for next turn
                    if stop or server.closing:
                        break
                else:
                    zmq_due = False
            for fd, _ in poller.poll(0 if zmq_due else 500):
                if fd == zfd:
                    zmq_due = True
                elif fd == wake_r:
                    with contextlib.suppress(OSError):
                        os.read(wake_r, 512)
                elif fast is not None:
                    fast.ready(fd)
            if parent.gone():
                break
    finally:
        log.info("shutting down (%s)", f"signal {stop[0]}" if stop else "close/parent")
        signal.set_wakeup_fd(old_wakeup)
        os.close(wake_r)
        os.close(wake_w)
        if fast is not None:
            fast.close()
        sock.close(0)
        if authenticator is not None:
            authenticator.stop()
        ctx.term()
        renderer.close()
        if beating is not None:
            beating.set()
        if args.cleanup_dir:  # a clean exit: the temp log dir is not needed (also after a parent SIGKILL)
            shutil.rmtree(args.cleanup_dir, ignore_errors=True)
    return 0


def _usage(message: str, prog: str) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return 2


def _serve_one(sock: zmq.Socket, server: Server) -> None:
    """Receive one request on the ROUTER socket and send its reply (never blocking). Frames the
    renderer gave as views (rows bottom-up) are made contiguous for ZeroMQ here; the
    shared-memory path copies them straight into its ring instead (embodied.shm)."""
    frames = sock.recv_multipart(copy=False)
    # a REQ client sends [identity, (request id,) b"", header, buffers...]: the envelope ends at
    # the first empty frame; a DEALER without the delimiter: just [identity, header, ...]
    cut = next((i for i, f in enumerate(frames[1:4], 1) if len(f) == 0), 0)
    envelope, body = frames[: cut + 1], frames[cut + 1 :]
    reply = server.handle(body) if body else server.refuse("empty message: expected a msgpack header frame")
    reply = [np.ascontiguousarray(f) if isinstance(f, np.ndarray) else f for f in reply]
    try:
        sock.send_multipart([*envelope, *reply], copy=False, flags=zmq.NOBLOCK)
    except zmq.Again:  # the client is gone or not reading: drop the reply, keep serving others
        server.note_bad("reply dropped: the client is not reading")


if __name__ == "__main__":
    sys.exit(main())
