"""What the engine process costs a render request, in three steps, side by side (one core).

    taskset -c 0 python benchmarks/split_cost.py [--size 224] [--requests 300] [--rounds 5]
                                                [--seconds 1.5] [--scene chest_split_code]

Records the render requests of ``--requests`` random navigation steps of an env (through the
engine process, as ``env.step`` sends them), then replays them, alternating rounds of
``--seconds`` between:

- ``renderer``: the renderer alone in this process (set the camera, render, read back: the
  in-process render-only loop of compare_miniworld.py);
- ``one process``: the same requests through the engine's request handling
  (``Server.handle``) and the shared-memory fast path (``embodied.shm``: client send, engine
  receive, reply into the ring, client receive and copy), client and engine in this one process
  over a socket pair: everything of the engine process but the second process;
- ``engine process``: the same requests to a real engine process (``launch()``), through the
  same fast path;
- ``... compact``: the two above with the requests compact (embodied.shm: the request's shape
  registered once, then only the cameras' poses sent; what an env sends on a local engine), the
  other two with every request in full (msgpack, checked field by field), as before compact
  requests existed.

Per request it prints the CPU time of every process involved (medians of the rounds), its
system part, and the context switches; then the differences: what the request handling and the
transport cost (``one process - renderer``) and what the second process costs by itself
(``engine process - one process``: the switches between the two processes and what runs cold
after them). Pin it to one core for the one-core figures (``taskset -c 0``); on a machine loaded
by others, ``chrt -f 5`` keeps other processes from running between the two processes' turns.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import sys
import time
from collections.abc import Callable

NAV = ("MoveAhead", "MoveBack", "MoveLeft", "MoveRight", "RotateLeft", "RotateRight", "LookUp", "LookDown")


def usage(pids: list[int]) -> tuple[float, float, int]:
    """(CPU seconds, system CPU seconds, context switches) of this process and ``pids``."""
    t = os.times()
    cpu, sys_cpu, switches = t.user + t.system, t.system, 0
    for pid in [os.getpid(), *pids]:
        if pid != os.getpid():
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            tick = os.sysconf("SC_CLK_TCK")
            cpu += (int(fields[11]) + int(fields[12])) / tick
            sys_cpu += int(fields[12]) / tick
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                        switches += int(line.split()[1])
    return cpu, sys_cpu, switches


def record(scene: str, w: int, h: int, n: int) -> tuple[list[dict], list[dict], str]:
    """The headers of ``n`` steps' render requests, the scene's nodes and its name."""
    from embodied import protocol as P
    from embodied import shm
    from embodied.env import Env

    env = Env(scene, width=w, height=h)
    env.engine._fast.compact = False  # (every request in full, to be recorded)
    env.reset()
    sent: list[bytes] = []
    send = shm.FastClient.send

    def keep(self, header: bytes) -> int:
        sent.append(bytes(header))
        return send(self, header)

    shm.FastClient.send = keep
    try:
        rng = random.Random(0)
        for _ in range(n):
            _, _, term, trunc, _ = env.step(rng.choice(NAV))
            if term or trunc:
                env.reset()
    finally:
        shm.FastClient.send = send
    if not sent:
        raise SystemExit("no request went through the shared-memory path (is the engine local?)")
    nodes, name = env.graph.build_nodes(), env.spec.name
    env.close()
    requests = []
    for header in sent:
        req = P.unpack_header(header)
        req.pop("token", None)
        requests.append(req)
    return requests, nodes, name


def renderer_alone(
    requests: list[dict], nodes: list, name: str
) -> tuple[Callable[[], None], Callable[[], None]]:
    from embodied.bridges.panda3d.renderer import Renderer

    r = Renderer("software")
    r.load_scene(nodes, name=name)
    cams = [req["cameras"][0] for req in requests]
    i = 0

    def step() -> None:
        nonlocal i
        cam = cams[i % len(cams)]
        i += 1
        r.set_cameras([cam])
        r.render([cam["agent"]], ("rgb",))

    return step, r.close


def one_process(
    requests: list[dict], nodes: list, name: str, compact: bool = False
) -> tuple[Callable[[], None], Callable[[], None]]:
    """Client and engine of the fast path in this process, over a socket pair (``compact``:
    the requests compact, as an env sends them)."""
    from embodied.bridges.panda3d.renderer import Renderer
    from embodied.bridges.panda3d.server import Server

    from embodied import protocol as P
    from embodied import shm

    r = Renderer("software")
    server = Server(r, None, 1 << 26)
    handle = P.unpack_header(server.call({"op": "load_scene", "nodes": nodes, "name": name})[0])["scene"]
    packed = [P.pack({**req, "scene": handle})[0] for req in requests]
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    conn = shm._Conn(theirs)
    client = shm.FastClient.__new__(shm.FastClient)  # (connected to the pair, not by name)
    client.sock, client.views, client.seq, client.gen, client._plans = ours, False, 0, 0, {}
    client.ring = client.ring_bytes = None
    client.compact, client._shapes = compact, {}
    # (compact replies' frames in place, as an env on a local engine gets them: embodied.shm)
    client.slots, client._anchors, client._asked, client.last_slot = shm.VIEWS if compact else 0, [], {}, 0
    client._wait = None  # (the socket's receive timeout: none)
    i = 0
    if compact:  # the shape registered by the first request, as the client does
        entry, _ = client.shape(
            handle, requests[0]["agents"], requests[0]["modalities"], requests[0]["cameras"]
        )
        client.send(P.pack({**requests[0], "scene": handle, "shape": entry[0]})[0])
        conn.serve(server.handle, server.compact)
        header, base, _seq = client.receive()
        client.decode(P.unpack_header(header), header, base)
        entry[1] = True

    def step() -> None:
        nonlocal i
        req = requests[i % len(requests)]
        if compact:
            entry, poses = client.shape(handle, req["agents"], req["modalities"], req["cameras"])
            client.send_compact(entry[0], poses)
        else:
            client.send(packed[i % len(packed)])
        i += 1
        conn.serve(server.handle, server.compact)
        header, base, _seq = client.receive()
        if client.decoded(header, base) is None:
            client.decode(P.unpack_header(header), header, base)

    def close() -> None:
        conn.close()
        client.close()
        r.close()

    return step, close


def engine_process(
    requests: list[dict], nodes: list, name: str
) -> tuple[Callable[[], None], Callable[[], None], Callable[[], None], int]:
    """Steps sending the requests to a real engine process through the client's scene
    (``RemoteScene.render_async``, as an env does): in full, and compact."""
    from embodied.engine import launch

    engine = launch()
    if engine.frame_transport != "shm" or not engine._fast.compact:
        raise SystemExit("the engine offered no shared-memory path with compact requests")
    sc = engine.scene()
    sc.load(nodes, name=name)
    i = 0

    def stepper(compact: bool) -> Callable[[], None]:
        def step() -> None:
            nonlocal i
            req = requests[i % len(requests)]
            i += 1
            engine._fast.compact = compact
            sc.render_async(req["agents"], req["modalities"], req.get("updates"), req["cameras"])()

        return step

    return stepper(False), stepper(True), engine.close, engine.process.pid


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--requests", type=int, default=300)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=1.5)
    p.add_argument("--scene", default="chest_split_code")
    args = p.parse_args(argv)
    if args.size < 1 or args.requests < 1 or args.rounds < 1 or args.seconds <= 0:
        p.error("--size, --requests, --rounds and --seconds must be positive")
    requests, nodes, name = record(args.scene, args.size, args.size, args.requests)
    alone, close_alone = renderer_alone(requests, nodes, name)
    local, close_local = one_process(requests, nodes, name)
    local_compact, close_local_compact = one_process(requests, nodes, name, compact=True)
    remote, remote_compact, close_remote, pid = engine_process(requests, nodes, name)
    systems = {
        "renderer": (alone, []),
        "one process": (local, []),
        "one process compact": (local_compact, []),
        "engine process": (remote, [pid]),
        "engine process compact": (remote_compact, [pid]),
    }
    got: dict[str, list[tuple[float, float, float, float]]] = {k: [] for k in systems}
    try:
        for step, _pids in systems.values():  # warm up
            for _ in range(50):
                step()
        for _ in range(args.rounds):
            for key, (step, pids) in systems.items():
                n, t0, (c0, s0, x0) = 0, time.perf_counter(), usage(pids)
                while time.perf_counter() - t0 < args.seconds:
                    step()
                    n += 1
                wall = time.perf_counter() - t0
                c1, s1, x1 = usage(pids)
                got[key].append(((c1 - c0) / n * 1e6, (s1 - s0) / n * 1e6, (x1 - x0) / n, wall / n * 1e6))
    finally:
        close_remote()
        close_local_compact()
        close_local()
        close_alone()
    med = {k: [statistics.median(r[i] for r in v) for i in range(4)] for k, v in got.items()}
    print(
        f"{args.scene} {args.size}x{args.size}: {len(requests)} recorded render requests replayed, "
        f"{args.rounds} alternating rounds of {args.seconds:g} s, medians per request; load average "
        f"{os.getloadavg()[0]:.1f} at the end"
    )
    print(f"  {'':22s} {'CPU us':>8s} {'of it sys':>9s} {'switches':>8s} {'wall us':>8s}  rounds (CPU us)")
    for key, (cpu, sys_cpu, switches, wall) in med.items():
        rounds = " ".join(f"{r[0]:.0f}" for r in got[key])
        print(f"  {key:22s} {cpu:8.1f} {sys_cpu:9.1f} {switches:8.2f} {wall:8.1f}  {rounds}")
    ratio = {k: statistics.median(r[0] / a[0] for r, a in zip(v, got["renderer"])) for k, v in got.items()}
    alone_cpu = med["renderer"][0]
    print(
        f"  request handling + transport (one process - renderer): "
        f"{med['one process'][0] - alone_cpu:6.1f} us ({ratio['one process']:.2f}x the renderer)"
    )
    print(
        f"  the second process by itself (engine process - one process): "
        f"{med['engine process'][0] - med['one process'][0]:6.1f} us "
        f"(engine process {ratio['engine process']:.2f}x the renderer)"
    )
    for where in ("one process", "engine process"):
        same = statistics.median(c[0] / f[0] for c, f in zip(got[f"{where} compact"], got[where]))
        print(
            f"  compact / full requests, {where}: CPU {med[f'{where} compact'][0]:6.1f} / "
            f"{med[where][0]:6.1f} us, median of the rounds' ratios {same:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
