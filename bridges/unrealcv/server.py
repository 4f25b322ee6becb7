"""The embedded engine as an UnrealCV server: ``embodied engine serve --protocol unrealcv``.

Speaks the UnrealCV wire protocol (TCP and/or a Unix socket): every message is
``uint32 LE magic 0x9E2B83C1, uint32 LE length, payload``; requests are ``id:command`` and every
request gets exactly one reply ``id:body``, in order. A client is greeted with ``connected to
embodied``; one client is served at a time and a newcomer waits (its connection is accepted by
the kernel, it is greeted when the current client leaves). Bad or unknown commands get
``error <message>`` and the server keeps serving; a broken frame (wrong magic, oversize) drops
that client only. Commands: :mod:`embodied.bridges.unrealcv.level`; with ``--scene`` an
escape room is loaded and its agents act through ``vset /action/...``
(:mod:`embodied.bridges.unrealcv.actions`).

Exit codes: 0 clean (SIGTERM/SIGINT, or the ``--parent-pid`` process went away), 2 bad
arguments or the port is taken, 3 renderer unavailable.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import selectors
import signal
import socket
import struct
import sys

log = logging.getLogger("embodied.engine.unrealcv")
MAGIC = 0x9E2B83C1
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
_ID = re.compile(rb"(\d{1,18}):(.*)", re.S)


def parse_args(argv: list[str] | None, prog: str | None = None) -> argparse.Namespace:
    from embodied.cli import Parser, add_renderer_option, int_in  # one-line usage errors

    p = Parser(
        prog=f"{prog} --protocol unrealcv" if prog else "python -m embodied.bridges.unrealcv.server",
        description=__doc__.splitlines()[0].replace("``", ""),
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (only local ones)")
    p.add_argument(
        "--port",
        type=int_in(0, 65535),
        default=9000,
        help="TCP port (UnrealCV's default: 9000; 0: a free one)",
    )
    p.add_argument(
        "--unix",
        metavar="PATH",
        help="also listen on this Unix socket (UnrealZoo: /tmp/unrealcv_PORT.socket)",
    )
    p.add_argument("--no-tcp", action="store_true", help="listen on the Unix socket only")
    add_renderer_option(p)
    p.add_argument(
        "--width", "--ResX", type=int_in(16, 4096), default=640, help="default camera width (pixels)"
    )
    p.add_argument(
        "--height", "--ResY", type=int_in(16, 4096), default=480, help="default camera height (pixels)"
    )
    p.add_argument("--fov", type=float, default=90.0, help="default horizontal fov (degrees)")
    p.add_argument("--assets", metavar="YAML", help="asset table merged over the shipped one")
    p.add_argument("--scene", help="load this escape room; its agents act through 'vset /action/...'")
    p.add_argument("--ready-file", help="write 'PORT' here once listening")
    p.add_argument("--parent-pid", type=int, help="exit when this process is gone")
    p.add_argument("--max-message-bytes", type=int, default=1 << 20, help="largest request accepted")
    p.add_argument(
        "--client-timeout", type=float, default=30.0, help="seconds a client may stall mid-message"
    )
    p.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log detail on stderr (default: %(default)s)",
    )
    args = p.parse_args(argv)
    args.prog = p.prog  # errors name the command ('embodied engine serve --protocol unrealcv: error: ...')
    return args


def frame(payload: bytes) -> bytes:
    return struct.pack("<II", MAGIC, len(payload)) + payload


def _read_exact(sock: socket.socket, n: int) -> bytes | None:
    chunks, left = [], n
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class Session:
    """Serves one connected client until it leaves or breaks the framing."""

    def __init__(self, sock: socket.socket, peer: str, level, max_bytes: int, stall: float):
        self.sock, self.peer, self.level, self.max_bytes = sock, peer, level, max_bytes
        sock.settimeout(stall)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(frame(b"connected to embodied (Panda3D via UnrealCV protocol)"))
        self.requests = 0

    def serve_one(self) -> bool:
        """Read one request and answer it; False when the client is gone or must be dropped."""
        try:
            head = _read_exact(self.sock, 8)
            if head is None:
                return False
            magic, size = struct.unpack("<II", head)
            if magic != MAGIC:
                log.warning("client %s sent a frame without the UnrealCV magic; dropping it", self.peer)
                return False
            if size > self.max_bytes:
                log.warning(
                    "client %s sent %d bytes (limit %d); dropping it", self.peer, size, self.max_bytes
                )
                self.sock.sendall(frame(b"error message larger than --max-message-bytes"))
                return False
            payload = _read_exact(self.sock, size)
            if payload is None:
                return False
        except (OSError, TimeoutError) as exc:
            log.info("client %s: %s", self.peer, exc)
            return False
        m = _ID.fullmatch(payload)
        if m is None:
            reply = b"error malformed request: expected '<id>:<command>'"
        else:
            try:
                body = self.level.execute(m.group(2).decode("utf-8"))
            except UnicodeDecodeError:
                body = "error the command is not UTF-8 text"
            except Exception as exc:  # the server lives on whatever happens
                log.exception("command failed")
                body = f"error internal: {type(exc).__name__}: {exc}"
            if isinstance(body, str):
                body = body.encode("utf-8")
            reply = m.group(1) + b":" + body
        self.requests += 1
        try:
            self.sock.sendall(frame(reply))
        except OSError:
            return False
        return True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def _listen(args) -> list[socket.socket]:
    out = []
    if not args.no_tcp:
        fam = socket.AF_INET6 if args.host == "::1" else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((args.host, args.port))
        s.listen(16)
        out.append(s)
    if args.unix:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(args.unix)
        u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        u.bind(args.unix)
        os.chmod(args.unix, 0o600)
        u.listen(16)
        out.append(u)
    return out


def serve(listeners: list[socket.socket], level, args, stop: list) -> None:
    """Accept clients one at a time and answer their requests until ``stop`` is non-empty."""
    from embodied.bridges.panda3d.server import ParentWatch  # the one parent-death rule

    sel = selectors.DefaultSelector()
    for s in listeners:
        sel.register(s, selectors.EVENT_READ)
    session: Session | None = None
    parent = ParentWatch(args.parent_pid)
    try:
        while not stop:
            if session is None:
                for key, _ in sel.select(0.5):
                    conn, addr = key.fileobj.accept()
                    peer = str(addr or "unix")
                    try:
                        session = Session(conn, peer, level, args.max_message_bytes, args.client_timeout)
                        log.info("client %s connected", peer)
                    except OSError as exc:
                        log.info("client %s left before the greeting: %s", peer, exc)
                        conn.close()
                    break
            else:
                ready, _, _ = _select_one(session.sock, 0.5)
                if ready and not session.serve_one():
                    log.info("client %s left after %d requests", session.peer, session.requests)
                    session.close()
                    session = None
            if parent.gone():
                return
    finally:
        if session is not None:
            session.close()
        sel.close()


def _select_one(sock, timeout):
    import select

    try:
        return select.select([sock], [], [], timeout)
    except (OSError, ValueError):
        return [sock], [], []


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    args = parse_args(argv, prog)
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    def fail(message: str, code: int = 2) -> int:
        print(f"{args.prog}: error: {message}", file=sys.stderr)
        return code

    if args.host not in LOCAL_HOSTS:
        return fail(
            f"refusing to bind {args.host!r}: the UnrealCV protocol has no authentication. "
            "Bind 127.0.0.1 and tunnel (ssh -L) to reach it from elsewhere."
        )
    if args.no_tcp and not args.unix:
        return fail("--no-tcp needs --unix PATH")
    from embodied.bridges.panda3d.renderer import Renderer  # heavy import after the checks
    from embodied.bridges.unrealcv.assets import load_table
    from embodied.bridges.unrealcv.level import Level

    from embodied.errors import EmbodiedError

    stop: list = []  # handlers first: a SIGTERM while the scene loads still ends in a clean exit
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.append(signum))
    try:
        listeners = _listen(args)
    except OSError as exc:
        where = args.unix if args.no_tcp else f"{args.host}:{args.port}"
        return fail(f"cannot listen on {where}: {exc}. Pick another --port (0: a free one).")
    try:
        table = load_table(args.assets)
        renderer = Renderer(args.renderer)
    except EmbodiedError as exc:
        return fail(str(exc), 3)
    level = Level(renderer, table, args.width, args.height, args.fov)
    actions = None
    if args.scene:
        from embodied.bridges.unrealcv.actions import SceneActions

        try:
            actions = SceneActions(level, args.scene, args.width, args.height, args.fov)
        except (EmbodiedError, ValueError) as exc:
            return fail(f"cannot load scene {args.scene!r}: {' '.join(str(exc).split())}")
    where = []
    for s in listeners:
        name = s.getsockname()
        where.append(f"unix:{name}" if isinstance(name, str) else f"{name[0]}:{name[1]}")
    if args.ready_file:
        tmp = f"{args.ready_file}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(" ".join(where))
        os.replace(tmp, args.ready_file)
    print(f"READY unrealcv {' '.join(where)}", flush=True)
    log.info("UnrealCV server on %s, %s renderer", ", ".join(where), renderer.backend)
    try:
        serve(listeners, level, args, stop)
    finally:
        for s in listeners:
            s.close()
        if args.unix:
            with contextlib.suppress(OSError):
                os.unlink(args.unix)
        if actions is not None:
            actions.close()
        renderer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
