"""The Panda3D engine process: a ZeroMQ REP server around :class:`Renderer`.

Run ``python -m embodied.bridges.panda3d.server --port 0 --ready-file F`` (or
``embodied engine serve``). Protocol: :mod:`embodied.protocol` (docs/architecture.md, "The wire"). Every bad
request gets an error reply and the server keeps serving. It exits on the ``close`` op,
on SIGTERM/SIGINT, and within about a second of the ``--parent-pid`` process going away.
Exit codes: 0 clean, 2 bad arguments, 3 renderer unavailable.
"""

from __future__ import annotations

import argparse
import hmac
import json
import logging
import os
import secrets
import signal
import sys
import time

import zmq

from embodied import protocol as P
from embodied.errors import EmbodiedError, ProtocolError

log = logging.getLogger("embodied.engine.panda3d")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
CAPABILITIES = ["rgb", "depth", "seg", "raycast", "text", "multi_agent", "render_updates", "scenes", "batch"]
MAX_SCENES = 256


def parse_args(argv: list[str] | None, prog: str | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog=prog or "python -m embodied.bridges.panda3d.server",
        description="The Panda3D engine process: a ZeroMQ server that renders scenes for embodied envs. "
        "It prints 'READY <endpoint>' when serving and exits on the close request, SIGTERM/SIGINT, "
        "or when --parent-pid is gone. Exit codes: 0 clean, 2 bad arguments, 3 renderer unavailable.",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (non-local needs --token)")
    p.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one")
    p.add_argument(
        "--renderer",
        choices=["software", "gl", "auto"],
        default="software",
        help="software (works everywhere), gl (GPU/EGL), auto (gl if it works) (default: %(default)s)",
    )
    p.add_argument("--ready-file", help="write {endpoint, pid, renderer} JSON here when serving")
    p.add_argument("--parent-pid", type=int, help="exit when this process is gone")
    p.add_argument("--token", help="shared secret every request must carry as 'token'")
    p.add_argument(
        "--max-message-bytes",
        type=int,
        default=P.DEFAULT_MAX_MESSAGE_BYTES,
        help="largest request accepted, in bytes (default: %(default)s)",
    )
    p.add_argument(
        "--max-scenes", type=int, default=MAX_SCENES, help="scenes held at once (default: %(default)s)"
    )
    p.add_argument(
        "--max-buffers", type=int, default=32, help="offscreen buffers kept, LRU (default: %(default)s)"
    )
    p.add_argument(
        "--max-buffer-pixels",
        type=int,
        default=4096 * 4096 * 2,
        help="pixels of all buffers together (default: %(default)s)",
    )
    p.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log detail on stderr (default: %(default)s)",
    )
    return p.parse_args(argv)


class Server:
    """Dispatches decoded requests to the renderer. ``handle`` never raises."""

    def __init__(self, renderer, token: str | None, max_bytes: int, max_scenes: int = MAX_SCENES):
        self.renderer, self.token, self.max_bytes = renderer, token, max_bytes
        self.max_scenes = max_scenes
        self.closing = False

    def handle(self, frames: list) -> list:
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
                if not isinstance(got, str) or not hmac.compare_digest(got.encode(), self.token.encode()):
                    raise ProtocolError(
                        "missing or wrong 'token': this engine was started with --token; "
                        "pass the same token to the client"
                    )
            op = header.get("op")
            if not isinstance(op, str) or op not in P.OPS:
                raise ProtocolError(f"field 'op': unknown op {op!r}; expected one of {list(P.OPS)}")
            return getattr(self, "op_" + op)(header)
        except ProtocolError as exc:
            log.info("bad request: %s", exc)
            return P.pack(P.error_reply(exc))
        except Exception as exc:  # the server lives on whatever happens
            log.exception("request failed")
            if isinstance(exc, EmbodiedError):
                return P.pack(P.error_reply(exc))
            return P.pack(
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
        return P.pack(
            {
                "ok": True,
                "protocol": P.PROTOCOL_VERSION,
                "engine": "panda3d",
                "renderer": r.backend,
                "driver": r.driver,
                "capabilities": CAPABILITIES,
                "max_message_bytes": self.max_bytes,
                "max_scenes": self.max_scenes,
                "max_batch": P.MAX_BATCH,
                "scenes": len(r.scenes),
                "pid": os.getpid(),
            }
        )

    def op_ping(self, h):
        return P.pack({"ok": True, "time": time.time()})

    def _use(self, h: dict, field: str = "scene"):
        """Select the scene the request names (ProtocolError for a missing or unknown handle)."""
        if field not in h:
            raise ProtocolError(
                f"field {field!r}: missing; every scene request names its scene by the handle "
                "load_scene returned (protocol 2, docs/protocol.md)"
            )
        return self.renderer.use(P.check_handle(h[field], field))

    def op_load_scene(self, h):
        """Create a scene (no 'scene' field) or replace one (its handle); all or nothing."""
        nodes = P.check_list(h.get("nodes", []), "nodes")
        name = P.check_type(h.get("name", ""), str, "name", "a string")[:200]
        r = self.renderer
        if h.get("scene") is not None:
            handle = self._use(h).handle
            count = r.load_scene(nodes, name, h.get("background"))
            return P.pack({"ok": True, "nodes": count, "scene": handle})
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
        return P.pack({"ok": True, "nodes": count, "scene": handle})

    def op_close_scene(self, h):
        self._use(h)
        self.renderer.close_scene(h["scene"])
        return P.pack({"ok": True})

    def op_update(self, h):
        self._use(h)
        n = self.renderer.update(P.check_list(h.get("updates", []), "updates"))
        return P.pack({"ok": True, "updated": n})

    def op_camera(self, h):
        self._use(h)
        self.renderer.set_cameras(P.check_list(h.get("cameras", []), "cameras"))
        return P.pack({"ok": True})

    def _render_item(self, item: dict, field: str) -> tuple:
        """Validate one scene's part of a render request; nothing is applied yet."""
        P.check_type(item, dict, field, "a map with 'scene', 'agents', 'updates', 'cameras'")
        pre = f"{field}." if field else ""
        if field and "scene" not in item:
            raise ProtocolError(f"field '{pre}scene': missing; name each scene by its handle")
        sc = self.renderer.use(P.check_handle(item.get("scene"), pre + "scene")) if field else self._use(item)
        agents = P.check_str_list(item.get("agents", ["a0"]), pre + "agents")
        cams = [
            P.check_camera(c, f"{pre}cameras[{i}]")
            for i, c in enumerate(P.check_list(item.get("cameras") or [], pre + "cameras"))
        ]
        known = set(sc.cameras) | {c["agent"] for c in cams}
        for a in agents:
            if a not in known:
                raise ProtocolError(
                    f"field '{pre}agents': no camera for agent {P.brief(a)} in scene {sc.handle!r}; "
                    f"send 'cameras' with this request or the 'camera' op first (known: {sorted(known)[:20]})"
                )
        updates = [
            P.check_update(u, f"{pre}updates[{i}]")
            for i, u in enumerate(P.check_list(item.get("updates") or [], pre + "updates"))
        ]
        for i, u in enumerate(updates):
            if u["id"] not in sc.nodes:
                raise ProtocolError(
                    f"field '{pre}updates[{i}].id': unknown node id {P.brief(u['id'])} in scene "
                    f"{sc.handle!r}; nothing was applied"
                )
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
        r = self.renderer
        descs, bufs = [], []
        for handle, agents, cams, updates in parts:
            r.use(handle)
            if updates:
                r.update(updates)
            if cams:
                r.set_cameras(cams)
            out = r.render(agents, mods)
            for a in agents:
                for m in mods:
                    descs.append(P.describe(a, m, out[a][m], handle))
                    bufs.append(out[a][m])
        return P.pack({"ok": True, "buffers": descs}, bufs)

    def op_raycast(self, h):
        self._use(h)
        return P.pack({"ok": True, **self.renderer.raycast(h.get("from"), h.get("to"))})

    def op_close(self, h):
        self.closing = True
        return P.pack({"ok": True})


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
    if args.host not in LOCAL_HOSTS and not args.token:
        print(
            f"error: refusing to bind {args.host!r} without --token: any machine that can reach "
            "it could drive this engine. Pass --token SECRET (and the same token to the client), "
            "or bind 127.0.0.1.",
            file=sys.stderr,
        )
        return 2
    if args.max_message_bytes < 1024:
        print("error: --max-message-bytes must be at least 1024", file=sys.stderr)
        return 2
    from embodied.bridges.panda3d.renderer import Renderer  # heavy import after arg checks

    try:
        renderer = Renderer(args.renderer, args.max_buffers, args.max_buffer_pixels)
    except EmbodiedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    ctx = zmq.Context()
    sock = ctx.socket(zmq.REP)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.MAXMSGSIZE, 4 * args.max_message_bytes)
    host = "[::1]" if args.host == "::1" else args.host
    if args.host == "::1":
        sock.setsockopt(zmq.IPV6, 1)
    try:
        sock.bind(f"tcp://{host}:{args.port if args.port else '*'}")
    except zmq.ZMQError as exc:
        print(
            f"error: cannot bind tcp://{host}:{args.port}: {exc}. Use --port 0 for a free port.",
            file=sys.stderr,
        )
        return 2
    endpoint = sock.getsockopt_string(zmq.LAST_ENDPOINT)
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.append(signum))
    if args.ready_file:
        _write_ready(
            args.ready_file,
            {
                "endpoint": endpoint,
                "pid": os.getpid(),
                "renderer": renderer.backend,
                "driver": renderer.driver,
            },
        )
    print(f"READY {endpoint}", flush=True)
    log.info("serving %s with the %s renderer (%s)", endpoint, renderer.backend, renderer.driver)
    server = Server(renderer, args.token, args.max_message_bytes, args.max_scenes)
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    last_check = time.monotonic()
    was_ppid = args.parent_pid is not None and os.getppid() == args.parent_pid
    try:
        while not stop and not server.closing:
            try:
                ready = poller.poll(500)
            except zmq.ZMQError as exc:  # EINTR from a signal
                if exc.errno == zmq.EINTR:
                    continue
                raise
            if ready:
                frames = sock.recv_multipart(copy=False)
                sock.send_multipart(server.handle(frames), copy=False)
            if args.parent_pid and time.monotonic() - last_check > 0.5:
                last_check = time.monotonic()
                if not _parent_alive(args.parent_pid, was_ppid):
                    log.warning("parent process %d is gone; exiting", args.parent_pid)
                    break
    finally:
        log.info("shutting down (%s)", f"signal {stop[0]}" if stop else "close/parent")
        sock.close(0)
        ctx.term()
        renderer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
