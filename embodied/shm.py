"""Frames through shared memory for local engines: the fast path of the engine protocol.

ZeroMQ over TCP costs about as much per 224² frame as the render itself (its I/O threads, the
copies through the kernel). For an engine on the same machine, ``render`` requests take another
way (docs/protocol.md, "Local fast path"):

- The engine listens on a Unix ``SOCK_SEQPACKET`` socket in the abstract namespace (no file to
  clean up) and names it in its ``hello`` reply (``"shm"``). It accepts only peers of its own
  user id (``SO_PEERCRED``); every request still carries the token, checked as on ZeroMQ.
- A request is one packet: an 8-byte sequence number, then the same msgpack header as on
  ZeroMQ (no buffer frames). The engine handles it with the same code, so the semantics and the
  error replies are the same.
- Per connection the engine keeps a ring of ``DEPTH`` slots in a ``memfd`` (anonymous shared
  memory, passed to the client once with ``SCM_RIGHTS`` and again whenever it must grow). A
  reply is one packet: a fixed prefix (sequence number, ring generation, ring size, slot offset)
  and the msgpack reply header; the frames lie in the slot, one after another, each at a 64-byte
  aligned offset, in the order of the header's ``buffers`` list.
- The client maps the ring and, by default, copies each frame out (one memcpy: frames then
  belong to the caller, exactly as with ZeroMQ). With ``views=True`` it returns read-only numpy
  views into the ring instead: a view stays valid until ``DEPTH - 1`` more renders on the same
  client have returned (the slot is then reused); copy what you keep longer.
- The repeated request of a running env (same scene, agents, modalities and camera lenses and
  sizes, new poses, no node updates) goes compact once the engine knows its shape: the client
  asks for it by sending the full request once with ``"shape": id``; afterwards a request is a
  fixed 16-byte head (sequence number, the marker byte 0xC1, which no msgpack header starts
  with, the shape id) and the cameras' poses as little-endian doubles, six per camera. The
  engine renders it with the registered checks (nothing left to check but that the poses are
  finite) and answers as to the full request; a pose that is not finite, or a scene that was
  closed since, goes through the full request's checks, so the errors are the same.
- A reply to a request that timed out carries an old sequence number and is dropped. A dead
  engine closes the socket: the client raises the same errors as on ZeroMQ (EngineError with
  the exit code and log tail), and crash recovery works unchanged.
"""

from __future__ import annotations

import array
import contextlib
import math
import mmap
import operator
import os
import secrets
import socket
import struct
import sys
import weakref
from collections.abc import Callable

import numpy as np

from . import protocol as P
from .bridges.panda3d.decode import recycled

DEPTH = 2  # ring slots per connection the engine takes in turn
VIEWS = 8  # more slots after those, which a client names in its compact requests (frames handed out in place)
ALIGN = 64
MAX_PACKET = 1 << 16  # a request larger than this goes over ZeroMQ
SEQ = struct.Struct("<Q")
REPLY = struct.Struct(
    "<QIIQQ"
)  # seq, ring generation, 1 if a new ring's fd rides along, ring size, slot offset
# a compact request's head: seq, COMPACT_MARK, the view slot its frames go to (1..VIEWS; 0: the
# engine's turn), shape id; then poses
COMPACT = struct.Struct("<QBBxxI")
COMPACT_MARK = 0xC1  # (a byte msgpack never uses: no full request starts with it)
MAX_SHAPES = 64  # request shapes one connection may register (ids 1..MAX_SHAPES)
POSE = 6  # doubles per camera in a compact request: pos x, y, z, hpr h, p, r


def _copied(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    np.copyto(dst, src)
    return dst


def _aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def layout(descs: list[dict]) -> list[tuple[int, int]]:
    """(offset in the slot, bytes) of each described buffer."""
    out, off = [], 0
    for d in descs:
        n = math.prod(d["shape"]) * np.dtype(P.DTYPES[d["dtype"]]).itemsize
        out.append((off, n))
        off += _aligned(n)
    return out


# ---------------------------------------------------------------- engine side
class _Ring:
    def __init__(self, slot_bytes: int, gen: int):
        self.slot = max(_aligned(slot_bytes), 1 << 16)
        self.size = self.slot * (DEPTH + VIEWS)  # (pages of slots never used are never touched)
        self.gen = gen
        self.fd = os.memfd_create(f"embodied-frames-{gen}", os.MFD_CLOEXEC)
        os.ftruncate(self.fd, self.size)
        self.mm = mmap.mmap(self.fd, self.size)
        self.bytes = np.frombuffer(self.mm, np.uint8)  # the ring as an array (frames are copied in)
        self.next = 0

    def put(self, off: int, buf) -> None:
        """Copy one reply buffer into the ring at ``off``: a numpy array of any strides (the
        renderer hands rgb over as a view with its rows in reverse order: flipped in this copy)."""
        if isinstance(buf, np.ndarray):
            np.copyto(self.bytes[off : off + buf.nbytes].view(buf.dtype).reshape(buf.shape), buf)
        else:
            view = memoryview(buf).cast("B")
            self.mm[off : off + view.nbytes] = view

    def close(self) -> None:
        del self.bytes  # (an exported buffer would keep the map from closing)
        with contextlib.suppress(BufferError):  # (arrays still viewing it unmap it when they go)
            self.mm.close()
        os.close(self.fd)


class _Conn:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.shapes: dict[int, object] = {}  # request shapes this connection registered (the server's)
        self.ring: _Ring | None = None
        self.gens = 0
        self.fresh = False  # the ring is new: its fd rides along with the next reply that has frames
        self.planned: list | None = None  # what sink() handed out for the request being handled
        self.at = 0  # the offset of the slot those arrays are in
        self.want: int | None = None  # the view slot (0..VIEWS-1) the request being handled named
        # the arrays sink() laid out per list of specs (a registered shape's, the same list every
        # request: several shapes take turns in a batch), per slot offset, in the ring they are of
        self._laid: dict[int, tuple] = {}  # id(specs) -> (specs, ring, {slot offset: arrays})

    def _slot(self, need: int) -> int:
        """The offset of the slot the next reply with frames uses (a larger ring if ``need``
        bytes do not fit: the client keeps its mapping of the old one as long as it needs it)."""
        if self.ring is None or need > self.ring.slot:
            if self.ring is not None:
                self.ring.close()
            self.gens += 1
            self.ring = _Ring(need, self.gens)
            self.fresh = True
        return self._base()

    def _base(self) -> int:
        """The offset of the slot the reply being made uses: the view slot the request named,
        else the next of the slots taken in turn."""
        ring = self.ring
        return ring.slot * (DEPTH + self.want) if self.want is not None else ring.next % DEPTH * ring.slot

    def sink(self, specs: list) -> list:
        """Arrays in the reply's ring slot for frames of these ``(shape, dtype)``, in reply
        order: the engine renders into them, so they need no copy into the ring afterwards.
        The arrays of a slot are made once for the list ``specs`` (a compact request's shape
        passes the same list every time; several shapes may take turns) and handed out again
        when the slot comes round."""
        laid = self._laid.get(id(specs))
        ring = self.ring
        if laid is not None and laid[0] is specs and laid[1] is ring:
            want = self.want  # (_base, inlined: every compact request comes here)
            at = ring.slot * (DEPTH + want) if want is not None else ring.next % DEPTH * ring.slot
            out = laid[2].get(at)
            if out is not None:
                self.planned, self.at = out, at
                return out
        sizes = [math.prod(shape) * np.dtype(dtype).itemsize for shape, dtype in specs]
        base = self._slot(sum(_aligned(n) for n in sizes))
        ring, out, off = self.ring.bytes, [], base
        for (shape, dtype), n in zip(specs, sizes):
            out.append(ring[off : off + n].view(dtype).reshape(shape))
            off += _aligned(n)
        if laid is None or laid[0] is not specs or laid[1] is not self.ring:
            if len(self._laid) >= 2 * MAX_SHAPES:  # (a full request's specs are a list of its own)
                self._laid.clear()
            laid = self._laid[id(specs)] = (specs, self.ring, {})
        laid[2][base] = out
        self.planned, self.at = out, base
        return out

    def serve(self, handle: Callable[..., list], compact: Callable[..., list] | None = None) -> bool:
        """Answer one request (``compact``: the server's handler of compact requests); False when
        the client has gone."""
        try:
            data = self.sock.recv(MAX_PACKET + SEQ.size)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False
        if not data:
            return False
        self.planned = self.want = None
        if compact is not None and len(data) >= COMPACT.size and data[SEQ.size] == COMPACT_MARK:
            seq, _mark, slot, sid = COMPACT.unpack_from(data)
            if 1 <= slot <= VIEWS:  # (another value: the slots in turn; the reply says where)
                self.want = slot - 1
            frames = compact(sid, data, COMPACT.size, self.sink, self.shapes)
        elif len(data) < SEQ.size:
            return True  # not even a sequence number: nothing to answer to
        else:
            (seq,) = SEQ.unpack_from(data)
            if compact is not None and len(data) > SEQ.size and data[SEQ.size] == COMPACT_MARK:
                frames = compact(None, data, COMPACT.size, self.sink, self.shapes)  # (its head cut short)
            else:
                frames = handle([data[SEQ.size :]], self.sink, self.shapes)
        header, bufs = frames[0], frames[1:]
        planned, self.planned = self.planned, None
        fds, base, new = [], 0, 0
        if (
            bufs
            and planned is not None
            and len(planned) == len(bufs)
            and all(map(operator.is_, bufs, planned))
        ):
            base = self.at  # (every frame was made in the slot)
            ring = self.ring
            if self.want is None:
                ring.next += 1
            if self.fresh:
                fds, new, self.fresh = [ring.fd], 1, False
        elif bufs:
            sizes = [b.nbytes if isinstance(b, np.ndarray) else memoryview(b).nbytes for b in bufs]
            if planned is not None and [p.nbytes for p in planned] == sizes:
                base = self.at
            else:  # (frames the sink was not asked for)
                planned = None
                base = self._slot(sum(_aligned(n) for n in sizes))
            ring = self.ring
            if self.want is None:
                ring.next += 1
            off = base
            for i, (b, n) in enumerate(zip(bufs, sizes)):
                if planned is None or b is not planned[i]:  # (rgb was read back into the slot)
                    ring.put(off, b)
                off += _aligned(n)
            if self.fresh:
                fds, new, self.fresh = [ring.fd], 1, False
        ring = self.ring
        prefix = REPLY.pack(seq, ring.gen if ring else 0, new, ring.size if ring else 0, base)
        try:
            if fds:
                socket.send_fds(self.sock, [prefix, header], fds)
            else:  # (one packet either way; send is the shorter call)
                self.sock.send(prefix + header)
        except OSError:
            return False
        return True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
        if self.ring is not None:
            self.ring.close()
            self.ring = None


class FastServer:
    """The engine's side: a listening socket plus one ring per client connection.

    ``register(fd)``/``unregister(fd)`` add and remove file descriptors from the engine's poll
    loop; call :meth:`ready` with a descriptor the loop found readable.
    """

    def __init__(
        self,
        handle: Callable[..., list],
        register: Callable[[int], None],
        unregister: Callable[[int], None],
        compact: Callable[..., list] | None = None,
    ):
        """``handle(frames, sink, shapes)`` answers a request; ``compact(shape id (None: the head
        is cut short), packet, offset of the poses, sink, shapes)`` a compact one (None: compact
        requests are not served)."""
        self.handle, self.register, self.unregister = handle, register, unregister
        self.compact = compact
        self.name = f"embodied-{os.getpid()}-{secrets.token_hex(8)}"
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.listener.bind("\0" + self.name)
        self.listener.listen(64)
        self.listener.setblocking(False)
        self.conns: dict[int, _Conn] = {}
        self.lfd = self.listener.fileno()
        register(self.lfd)

    def owns(self, fd) -> bool:
        return fd == self.lfd or fd in self.conns

    def ready(self, fd: int) -> None:
        conn = self.conns.get(fd)
        if conn is not None:
            if not conn.serve(self.handle, self.compact):
                self.unregister(fd)
                del self.conns[fd]
                conn.close()
            return
        if fd == self.lfd:
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            _pid, uid, _gid = struct.unpack("3i", creds)
            if uid != os.getuid():
                sock.close()  # another user: only this user's processes may map our frames
                return
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
            self.conns[sock.fileno()] = _Conn(sock)
            self.register(sock.fileno())

    def close(self) -> None:
        for fd, conn in list(self.conns.items()):
            self.unregister(fd)
            conn.close()
        self.conns.clear()
        with contextlib.suppress(Exception):
            self.unregister(self.lfd)
        self.listener.close()


# ---------------------------------------------------------------- client side
_CLIENTS: weakref.WeakSet = weakref.WeakSet()  # clients with view slots (see FastClient.retire_held)


def _before_fork() -> None:
    for client in list(_CLIENTS):
        client.retire_held()


os.register_at_fork(before=_before_fork)
_SEQUENCES = (list, tuple)
_LENS = operator.itemgetter("agent", "fov", "width", "height")  # what a camera adds to a request's shape
_FD_SPACE = socket.CMSG_SPACE(struct.calcsize("i"))  # room for the one descriptor a reply may carry
_TIMEVAL = struct.Struct("@ll")  # struct timeval: seconds, microseconds (SO_RCVTIMEO)


def _fds(anc: list) -> list[int]:
    """The file descriptors of a received message's ancillary data (as ``socket.recv_fds``)."""
    fds = array.array("i")
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    return list(fds)


class FastClient:
    """The client's side: one connection to an engine's fast path (see the module docstring)."""

    def __init__(self, name: str, views: bool = False, slots: int = 0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.connect("\0" + name)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        self.views = views
        # view slots of the engine's rings (its hello's "shm_slots"; 0: none, every frame is copied):
        # a compact request names one that nothing references, and its frames are handed out in
        # place, as arrays over the slot (see :meth:`decoded`)
        self.slots = 0 if views else slots
        self._anchors: list = []  # per view slot of the ring: [uint8 array over it, its refcount alone]
        self._asked: dict[int, int] = {}  # sequence number -> the view slot its request named
        self.last_slot = 0  # the view slot the reply last received was asked into (0: none)
        self.seq = 0
        self.ring: mmap.mmap | None = None
        self.ring_bytes: np.ndarray | None = None  # the ring as a read-only uint8 array
        self.gen = 0
        self._plans: dict[bytes, list] = {}  # reply header -> [where its frames lie, ring, offset -> views]
        self.compact = False  # the engine serves compact render requests (its hello says so)
        # request shape -> [id, registered (the engine answered the request registering it), Struct of its poses]
        self._shapes: dict[tuple, list] = {}
        self._wait: float | None = None  # the socket's receive timeout, seconds (see receive; None: none)
        if self.slots:
            _CLIENTS.add(self)

    def retire_held(self) -> None:
        """Never name again a view slot that an array references now (called before a fork: a
        child process shares the ring's pages, and its references are not counted here)."""
        for entry in self._anchors:
            if sys.getrefcount(entry[0]) != entry[1]:
                entry[1] = -1

    def send(self, header: bytes) -> int:
        """Send one request header; returns its sequence number."""
        self.seq += 1
        self.sock.send(SEQ.pack(self.seq) + header)
        return self.seq

    def shape(self, handle: str, agents, modalities, cameras: list) -> tuple[list, bytes | None] | None:
        """A render request of one scene with ``cameras`` and no node updates, as a request shape:
        ``(entry, poses)`` with the poses packed for :meth:`send_compact` once the engine has
        registered the shape (``entry[1]``), ``(entry, None)`` to send the full request with
        ``"shape": entry[0]`` (it registers the shape); None: send the full request as it is
        (cameras without lens or size fields, a camera missing for an agent). After
        ``MAX_SHAPES`` shapes the numbering starts again from 1 (re-registering replaces the
        engine's entry of that id)."""
        try:  # (a flat key: one scene's is cheaper to build than shape_of's)
            key = (handle, tuple(agents), tuple(modalities), *map(_LENS, cameras))
            entry = self._shapes.get(key)
        except (KeyError, TypeError):  # (a camera that is not a map, unhashable values)
            return None
        return self._entry(key, entry, ((handle, agents, cameras),))

    def shape_of(self, parts, modalities) -> tuple[list, bytes | None] | None:
        """:meth:`shape` of a render request of several scenes (``scenes``; its parts
        ``(handle, agents, cameras)`` in order, none with node updates); the poses are every
        scene's cameras', in order."""
        try:
            key: tuple = (True, tuple(modalities))  # (no one-scene key starts with True)
            for handle, agents, cameras in parts:
                key += ((handle, tuple(agents), *map(_LENS, cameras)),)
            entry = self._shapes.get(key)
        except (KeyError, TypeError):  # (a camera that is not a map, unhashable values)
            return None
        return self._entry(key, entry, parts)

    def _entry(self, key: tuple, entry: list | None, parts) -> tuple[list, bytes | None] | None:
        """The shape ``key`` (``entry``: its entry, None if new) and the poses of ``parts``."""
        if entry is None:
            for _handle, agents, cameras in parts:
                if not set(agents) <= {c["agent"] for c in cameras}:
                    return None
            if len(self._shapes) >= MAX_SHAPES:  # (ids are given again from 1: the engine's are replaced)
                self._shapes.clear()
            entry = self._shapes[key] = [
                len(self._shapes) + 1,
                False,
                struct.Struct(f"<{POSE * sum(len(p[2]) for p in parts)}d"),
            ]
        if not entry[1]:
            return entry, None
        vals: list = []
        for _handle, _agents, cameras in parts:
            for c in cameras:
                pos, hpr = c.get("pos"), c.get("hpr")
                if (
                    type(pos) not in _SEQUENCES
                    or type(hpr) not in _SEQUENCES
                    or len(pos) != 3
                    or len(hpr) != 3
                ):
                    return entry, None  # (the full request's checks say what is wrong)
                vals += pos
                vals += hpr
        try:
            return entry, entry[2].pack(*vals)
        except (struct.error, OverflowError, TypeError):
            return entry, None

    def send_posed(self, key: tuple, poses) -> int:
        """Send a compact request of the one-scene shape ``key`` (as :meth:`shape` makes it:
        scene handle, agents, modalities, each camera's ``(agent, fov, width, height)``) with
        ``poses``, six numbers a camera in order; returns its sequence number, or 0 if the
        engine has not registered that shape yet or the poses do not pack as doubles (send the
        full request then: its checks say what is wrong). For a caller that sends the same
        shape every time and keeps the key (an env's poser, embodied.engine): no camera maps
        to read, no key to build per request."""
        entry = self._shapes.get(key)
        if entry is None or not entry[1]:
            return 0
        try:
            packed = entry[2].pack(*poses)
        except (struct.error, OverflowError, TypeError):
            return 0
        return self.send_compact(entry[0], packed)

    def send_compact(self, sid: int, poses: bytes) -> int:
        """Send a compact render request of registered shape ``sid``; returns its sequence number.
        Its frames go to a view slot that nothing references (none free: the engine's turn)."""
        self.seq += 1
        slot = self._free() if self.slots else 0
        self.sock.send(COMPACT.pack(self.seq, COMPACT_MARK, slot, sid) + poses)
        if slot:
            self._asked[self.seq] = slot
        return self.seq

    def _free(self) -> int:
        """A view slot (1..slots) no array handed out references and no request on its way names
        (before the first ring: slot 1); 0 if there is none."""
        anchors, asked = self._anchors, self._asked
        if not anchors:
            return 1 if not asked else 0
        for k, entry in enumerate(anchors, 1):  # (counted as when made: nothing references the slot)
            if sys.getrefcount(entry[0]) == entry[1] and (not asked or k not in asked.values()):
                return k
        return 0

    def receive(self, wait: float | None = None) -> tuple[bytes, int, int] | bool | None:
        """One reply packet: (header bytes, slot offset, sequence number); False if none came
        within ``wait`` seconds (None: wait for one); None once closed. The wait is the socket's
        receive timeout (``SO_RCVTIMEO``), set only when it changes: a reply costs one
        ``recvmsg``, no ``poll``."""
        if wait != self._wait:
            self._wait = wait
            usec = 0 if wait is None else max(1, round(wait * 1e6))  # (0: no timeout)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _TIMEVAL.pack(*divmod(usec, 1000000)))
        try:
            msg, anc, _flags, _addr = self.sock.recvmsg(MAX_PACKET, _FD_SPACE)
        except BlockingIOError:  # (the timeout: EAGAIN)
            return False
        if not msg:
            return None
        seq, gen, new, size, base = REPLY.unpack_from(msg)
        self.last_slot = self._asked.pop(seq, 0) if self._asked else 0
        fds = _fds(anc) if anc else None
        if fds:
            try:  # (writable where frames are handed out in place: they are the caller's arrays)
                ring = mmap.mmap(fds[0], size, prot=mmap.PROT_READ | (mmap.PROT_WRITE if self.slots else 0))
            finally:
                for fd in fds:
                    os.close(fd)
            if new:
                self.ring, self.gen = ring, gen  # views into an old ring keep it mapped
                self.ring_bytes = np.frombuffer(ring, np.uint8)
                self._anchors = []
                if self.slots:  # (the engine's ring: DEPTH slots taken in turn, then the view slots)
                    n = size // (DEPTH + self.slots)
                    for k in range(self.slots):
                        self._anchors.append([np.frombuffer(ring, np.uint8, n, (DEPTH + k) * n), 0])
                    for entry in self._anchors:
                        entry[1] = sys.getrefcount(entry[0])
        return msg[REPLY.size :], base, seq

    def frames(self, reply: dict, base: int) -> list:
        """The reply's buffers as the ZeroMQ path gives them (copies, or views into the ring)."""
        descs = reply.get("buffers", [])
        if not descs:
            return []
        view = memoryview(self.ring)
        out = []
        for off, n in layout(descs):
            part = view[base + off : base + off + n]
            out.append(part if self.views else bytearray(part))
        return out

    PLANS = 64  # reply layouts remembered (one per distinct set of frame shapes)

    def decode(self, reply: dict, header: bytes, base: int) -> dict:
        """A render reply's frames as ``{scene: {agent: {name: array}}}`` (checked like ZeroMQ's, by
        :func:`embodied.protocol.decode_scenes`); its layout is remembered for :meth:`decoded`."""
        descs = reply.get("buffers", [])
        scenes = P.decode_scenes(reply, self.frames(reply, base))
        entries = [
            (
                d.get("scene"),
                d["agent"],
                d["name"],
                np.dtype(P.DTYPES[d["dtype"]]),
                tuple(d["shape"]),
                off,
                n,
                [],
            )
            for d, (off, n) in zip(descs, layout(descs))
        ]
        if len(self._plans) >= self.PLANS:
            self._plans.clear()
        self._plans[bytes(header)] = [entries, None, {}]  # (+ the ring its views are of, offset -> views)
        return scenes

    def decoded(self, header: bytes, base: int) -> dict | None:
        """:meth:`decode` for a reply whose header is byte for byte one decoded before (every
        step of an env sends the same one); None if it is new. Copies are written into arrays
        of earlier replies that nothing references any more (``decode.recycled``: never one a
        caller still holds), not into new ones: a new 224² frame came from fresh pages (page
        faults) on most steps."""
        plan = self._plans.get(header)
        ring = self.ring_bytes
        if plan is None or ring is None:
            return None
        entries, of, views = plan
        slot = self.last_slot
        if slot and slot <= len(self._anchors):
            anchor = self._anchors[slot - 1][0]
            at = base - (DEPTH + slot - 1) * anchor.size  # (0: the engine wrote where it was asked)
            if at == 0 and entries and entries[-1][5] + entries[-1][6] <= anchor.size:
                # the frames in place: new arrays over the slot (each references its array, so
                # the slot is not named again while any of them, or a view of one, is alive)
                out: dict = {}
                for scene, agent, name, dtype, shape, off, _n, _pool in entries:
                    arr = np.ndarray(shape, dtype, anchor, off)
                    out.setdefault(scene, {}).setdefault(agent, {})[name] = arr
                return out
        if of is not ring:  # (views of the slots are made once per ring)
            views.clear()
            plan[1] = ring
        srcs = views.get(base)
        if srcs is None:
            srcs = []
            for _scene, _agent, _name, dtype, shape, off, n, _pool in entries:
                if base + off + n > ring.size:
                    return None
                srcs.append(ring[base + off : base + off + n].view(dtype).reshape(shape))
            views[base] = srcs
        out: dict = {}
        for (scene, agent, name, dtype, shape, _off, _n, pool), src in zip(entries, srcs):
            arr = src.view() if self.views else _copied(src, recycled(pool, shape, dtype))
            out.setdefault(scene, {}).setdefault(agent, {})[name] = arr
        return out

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
