"""What a round trip of the fast path's doorbell costs, and what a lighter one would (one core).

    taskset -c 0 python benchmarks/doorbell.py [--rounds 10] [--trips 2000]

Two processes (this one as the client, a forked child as the engine) ping-pong a 64-byte
request (a compact request of one camera: the 16-byte head and six doubles) and a 100-byte reply
(the reply prefix and a render reply's header) ``--trips`` times per round, each way:

- ``seqpacket``: what ``embodied.shm`` does now: a Unix ``SOCK_SEQPACKET`` pair; the engine
  waits in ``poll``, then ``recv`` and ``send``; the client ``send``, ``poll``, ``recvmsg``
  (with room for a descriptor, as the client asks);
- ``pipe``: two pipes, the same calls as ``os.read``/``os.write``;
- ``eventfd``: the request and the reply written into shared memory, an ``eventfd`` per
  direction rung (``eventfd_write``) and waited on (``poll``, ``eventfd_read``).

Rounds alternate between the three; per round trip it prints the medians of the wall time and
of the CPU time of both processes (from ``/proc/*/schedstat``), and the ratios to ``seqpacket``
(medians of the per-round ratios). Pin it to one core for the one-core figures: both processes
then take turns on it as an env and its engine do.
"""

from __future__ import annotations

import argparse
import mmap
import os
import select
import socket
import statistics
import struct
import sys
import time
from collections.abc import Callable

REQUEST = bytes(64)
REPLY = bytes(100)
BYE = b"!"
MODES = ("seqpacket", "pipe", "eventfd")


def cpu_ns(pid: int) -> int:
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


def engine(mode: str, ends: dict) -> None:
    """The child: answer requests until the parent says goodbye."""
    poll = select.poll()
    if mode == "seqpacket":
        sock = ends["theirs"]
        poll.register(sock.fileno(), select.POLLIN)
        while True:
            poll.poll(500)
            data = sock.recv(1 << 16)
            if data == BYE:
                return
            sock.send(REPLY)
    elif mode == "pipe":
        rd, wr = ends["req"][0], ends["rep"][1]
        poll.register(rd, select.POLLIN)
        while True:
            poll.poll(500)
            data = os.read(rd, 1 << 16)
            if data == BYE:
                return
            os.write(wr, REPLY)
    else:
        ring, ask, tell = ends["ring"], ends["ask"], ends["tell"]
        poll.register(ask, select.POLLIN)
        while True:
            poll.poll(500)
            if os.eventfd_read(ask) > 1:
                return  # (the parent's goodbye)
            _req = ring[:64]
            ring[64:164] = REPLY
            os.eventfd_write(tell, 1)


def make(mode: str) -> tuple[dict, int]:
    """Both ends of ``mode``'s channel, the child started on its side."""
    ends: dict = {}
    if mode == "seqpacket":
        ends["ours"], ends["theirs"] = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    elif mode == "pipe":
        ends["req"], ends["rep"] = os.pipe(), os.pipe()
    else:
        ends["ring"] = mmap.mmap(-1, 4096)
        ends["ask"], ends["tell"] = os.eventfd(0), os.eventfd(0)
    pid = os.fork()
    if pid == 0:
        try:
            engine(mode, ends)
        finally:
            os._exit(0)
    return ends, pid


def client(mode: str, ends: dict) -> Callable[[], None]:
    """One round trip of ``mode``, as the client makes it."""
    poll = select.poll()
    if mode == "seqpacket":
        sock = ends["ours"]
        poll.register(sock.fileno(), select.POLLIN)
        space = socket.CMSG_SPACE(struct.calcsize("i"))

        def trip() -> None:
            sock.send(REQUEST)
            poll.poll(10_000)
            sock.recvmsg(1 << 16, space)

    elif mode == "pipe":
        wr, rd = ends["req"][1], ends["rep"][0]
        poll.register(rd, select.POLLIN)

        def trip() -> None:
            os.write(wr, REQUEST)
            poll.poll(10_000)
            os.read(rd, 1 << 16)

    else:
        ring, ask, tell = ends["ring"], ends["ask"], ends["tell"]
        poll.register(tell, select.POLLIN)

        def trip() -> None:
            ring[:64] = REQUEST
            os.eventfd_write(ask, 1)
            poll.poll(10_000)
            os.eventfd_read(tell)
            _rep = ring[64:164]

    return trip


def close(mode: str, ends: dict, pid: int) -> None:
    if mode == "seqpacket":  # (a goodbye, not the end of file: every child holds every channel)
        ends["ours"].send(BYE)
    elif mode == "pipe":
        os.write(ends["req"][1], BYE)
    else:
        os.eventfd_write(ends["ask"], 2)
    os.waitpid(pid, 0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--trips", type=int, default=2000)
    args = p.parse_args(argv)
    if args.rounds < 1 or args.trips < 1:
        p.error("--rounds and --trips must be positive")
    chans = {m: make(m) for m in MODES}
    trips = {m: client(m, chans[m][0]) for m in MODES}
    got: dict[str, list[tuple[float, float]]] = {m: [] for m in MODES}
    try:
        for m in MODES:
            for _ in range(200):
                trips[m]()
        for r in range(args.rounds):
            for m in MODES[r % 3 :] + MODES[: r % 3]:
                trip, pid = trips[m], chans[m][1]
                c0, e0, t0 = time.process_time_ns(), cpu_ns(pid), time.perf_counter_ns()
                for _ in range(args.trips):
                    trip()
                wall = time.perf_counter_ns() - t0
                cpu = time.process_time_ns() - c0 + cpu_ns(pid) - e0
                got[m].append((wall / args.trips / 1e3, cpu / args.trips / 1e3))
    finally:
        for m in MODES:
            close(m, chans[m][0], chans[m][1])
    print(
        f"doorbell round trips, {args.rounds} alternating rounds of {args.trips}; "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )
    print("  channel      wall us  CPU us (both)  wall / seqpacket  CPU / seqpacket")
    for m in MODES:
        wall = statistics.median(g[0] for g in got[m])
        cpu = statistics.median(g[1] for g in got[m])
        rw = statistics.median(b[0] / a[0] for a, b in zip(got["seqpacket"], got[m]))
        rc = statistics.median(b[1] / a[1] for a, b in zip(got["seqpacket"], got[m]))
        print(f"  {m:10s} {wall:9.2f} {cpu:14.2f} {rw:17.3f} {rc:16.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
