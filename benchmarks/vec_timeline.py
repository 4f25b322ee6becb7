"""Timeline of one ``make_vec`` step: where the engine idles and what the client does meanwhile.

    python benchmarks/vec_timeline.py [--task escape/key-door] [--size 84] [--envs 4] [--steps 300]
                                      [--plot docs/vec_timeline.png]

Runs ``make_vec(task, envs, engine_per=envs)`` (one engine) and stamps, with the monotonic clock,
the client's phases of each step from outside the library (instance wrappers set up here only,
so the library carries no hook): every env's three stepper parts (actions applied and request
queued; progress, reward and info; frames), each ``RenderBatcher.send``, each request leaving on
and each answer read from the shared-memory channel, each frame written into the observation
array, and the caller's own code between steps. The engine's side comes from the kernel:
``perf record -e sched:sched_switch -k CLOCK_MONOTONIC`` on the engine process, so the engine's
main thread's on-CPU intervals are known on the same clock. Needs ``perf`` and the rights to
trace (root, or ``perf_event_paranoid`` <= 1).

Prints, per client phase (averaged over ``--steps`` steps after a warm-up): its mean duration, and
how much of it the engine's main thread was on a CPU, busy, or off it (idle: waiting for a request,
or runnable but not running: then it shows as ``waiting for a CPU``). The sum of the idle column
is what keeps 4 envs on one engine under their ceiling (docs/performance.md, "Batched envs"); the
``engine idle per step`` line says where it falls: before the step's first request, after its last
answer, in the caller's code, in autoresets, elsewhere.
``--plot`` draws a few steps as a PNG.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from bisect import bisect_left

import numpy as np

NS = time.monotonic_ns
PERF = ["perf", "record", "-q", "-a", "-k", "CLOCK_MONOTONIC"]


class Stamps:
    def __init__(self):
        self.events: list[tuple[int, str]] = []
        self.on = False

    def __call__(self, label: str) -> None:
        if self.on:
            self.events.append((NS(), label))


class TracedStepper:
    """An env's stepper, stamping the start and end of each of its parts."""

    PARTS = ("apply", "rules", "frames")

    def __init__(self, st, i: int, stamp: Stamps):
        self.st, self.i, self.stamp, self.part = st, i, stamp, 0

    def __iter__(self):
        return self

    def __next__(self):
        name = self.PARTS[min(self.part, 2)]
        self.part += 1
        self.stamp(f"{name}{self.i}<")
        try:
            return next(self.st)
        finally:
            self.stamp(f"{name}{self.i}>")

    def close(self):
        self.st.close()


def instrument(vec, stamp: Stamps) -> None:
    """Wrap (on instances only) the parts of ``vec`` whose times the timeline shows."""
    for i, genv in enumerate(vec.envs):
        env = genv.env
        orig_stepper = env.stepper
        env.stepper = lambda actions, modalities=None, i=i, f=orig_stepper: TracedStepper(
            f(actions, modalities), i, stamp
        )
        orig_obs = genv._obs

        def obs(o, f=orig_obs, i=i):
            stamp(f"obs{i}<")
            try:
                return f(o)
            finally:
                stamp(f"obs{i}>")

        genv._obs = obs
        orig_reset = genv.reset

        def reset(f=orig_reset, **kw):
            stamp("reset<")
            try:
                return f(**kw)
            finally:
                stamp("reset>")

        genv.reset = reset
    b = vec._batcher
    orig_send = b.send

    def send():
        stamp("batch<")
        orig_send()
        stamp("batch>")

    b.send = send
    for eng in vec.engines:
        fast = eng._fast
        fsend, frecv = fast.send, fast.receive

        def fs(header, f=fsend):
            stamp("request<")
            seq = f(header)
            stamp("request>")
            return seq

        def fr(wait=None, f=frecv):  # (one recvmsg waits for the answer and reads it)
            stamp("wait<")
            got = f(wait)
            stamp("wait>")
            return got

        fast.send, fast.receive = fs, fr


def on_cpu(perf_data: str, tids: list[int]) -> dict[int, tuple[list, list]]:
    """Per thread of ``tids``: the intervals (monotonic ns) it ran, and those it waited for a CPU
    (woken, or preempted, but not running), from a ``sched_switch`` + ``sched_wakeup`` recording."""
    out = subprocess.run(
        ["perf", "script", "-i", perf_data, "--ns", "-F", "time,event,trace"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    got: dict[int, tuple[list, list]] = {tid: ([], []) for tid in tids}
    start: dict[int, int | None] = dict.fromkeys(tids)  # on a CPU since
    ready: dict[int, int | None] = dict.fromkeys(tids)  # waiting for a CPU since
    for line in out.splitlines():
        t_str, _, rest = line.strip().partition(":")
        t = round(float(t_str) * 1e9)
        event, _, trace = rest.strip().partition(": ")
        field = dict(kv.split("=", 1) for kv in trace.replace(" ==> ", " ").split() if "=" in kv)
        if event.endswith("sched_wakeup"):
            tid = int(field["pid"])
            if tid in got and start[tid] is None and ready[tid] is None:
                ready[tid] = t
            continue
        prev, nxt = int(field["prev_pid"]), int(field["next_pid"])
        if prev in got and start[prev] is not None:
            got[prev][0].append((start[prev], t))
            start[prev] = None
            ready[prev] = t if field["prev_state"].startswith("R") else None
        if nxt in got:
            start[nxt] = t
            if ready[nxt] is not None:
                got[nxt][1].append((ready[nxt], t))
                ready[nxt] = None
    return got


def busy_ns(runs: list[tuple[int, int]], starts: list[int], a: int, b: int) -> int:
    """How long ``runs`` (sorted, disjoint) overlap ``[a, b)``."""
    total = 0
    j = max(bisect_left(starts, a) - 1, 0)
    while j < len(runs) and runs[j][0] < b:
        s, e = runs[j]
        total += max(0, min(e, b) - max(s, a))
        j += 1
    return total


def phases(events: list[tuple[int, str]]) -> list[list[tuple[str, int, int]]]:
    """Each step's client phases, ``(name, start, end)`` in order, covering the step and the
    caller's code after it (up to the next step's start)."""
    steps, cur = [], None
    for t, label in events:
        if label == "step<":
            if cur is not None:
                steps.append(cur)
            cur = [(t, label)]
        elif cur is not None:
            cur.append((t, label))
    out = []
    for ev in steps[:-1]:
        ph, t_prev, name = [], ev[0][0], None
        lane, waits, resetting = 0, 0, False
        for t, label in ev[1:]:
            if label == "reset<":
                name, resetting = "decode + write obs", True
            elif label == "reset>":
                name, resetting = "autoresets", False
            elif resetting:
                continue
            elif label == "batch<":
                name = f"apply part {lane}"
            elif label == "batch>":
                name = f"send part {lane}"
                lane += 1
            elif label.startswith("rules") and label.endswith(">"):
                name = "rewards, infos (all envs)"
            elif label == "wait>":
                name = f"wait for answer {waits}"
                waits += 1
            elif label.startswith("obs") and label.endswith(">"):
                name = "decode + write obs"
            elif label == "step>":
                name = "infos, after the frames"
            else:
                continue
            ph.append((name, t_prev, t))
            t_prev = t
        out.append((ev[0][0], ph, t_prev))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="escape/key-door")
    p.add_argument("--size", type=int, default=84)
    p.add_argument("--envs", type=int, default=4)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--plot", default=None, help="write a PNG of a few steps here")
    p.add_argument(
        "--pin",
        action="store_true",
        help="this process on the first allowed CPU, the engine on the second (as on a quiet machine)",
    )
    p.add_argument("--lanes", type=int, default=None, help="parts per step (EmbodiedVectorEnv.LANES)")
    args = p.parse_args(argv)
    import embodied
    from embodied.cli import error_line
    from embodied.errors import EmbodiedError
    from embodied.vector import EmbodiedVectorEnv

    if args.lanes:
        EmbodiedVectorEnv.LANES = args.lanes

    kw = dict(action_mode="discrete", obs_mode="image", width=args.size, height=args.size)
    try:
        vec = embodied.make_vec(args.task, args.envs, engine_per=args.envs, **kw)
    except EmbodiedError as exc:  # (an unknown task, a bad size: one line, exit 2)
        print(f"{p.prog}: error: {error_line(exc)}", file=sys.stderr)
        return 2
    stamp = Stamps()
    rng = np.random.default_rng(0)
    tmp = tempfile.mkdtemp(prefix="vec-timeline-")
    data = os.path.join(tmp, "perf.data")
    try:
        vec.reset(seed=0)
        instrument(vec, stamp)
        engine_pid, me = vec.engines[0].process.pid, threading.get_native_id()
        if args.pin:
            cpus = sorted(os.sched_getaffinity(0))
            os.sched_setaffinity(0, {cpus[0]})
            os.sched_setaffinity(engine_pid, {cpus[1]})
        wakeups = ["-e", "sched:sched_wakeup", "--filter", f"pid == {engine_pid} || pid == {me}"]
        switches = " || ".join(f"prev_pid == {t} || next_pid == {t}" for t in (engine_pid, me))
        acts = [rng.integers(9, size=args.envs) for _ in range(args.warmup + args.steps + 1)]
        for a in acts[: args.warmup]:
            vec.step(a)
        perf = subprocess.Popen(
            [*PERF, "-o", data, "-e", "sched:sched_switch", "--filter", switches, *wakeups],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)  # (perf attached)
        stamp.on = True
        for a in acts[args.warmup :]:
            stamp("step<")
            vec.step(a)
            stamp("step>")
        stamp.on = False
        perf.send_signal(2)
        perf.wait(30)
    finally:
        vec.close()
    threads = on_cpu(data, [engine_pid, me])
    steps = phases(stamp.events)
    spans = list(itertools.pairwise(steps))  # a step with the caller's code after it, to the next step

    def overlap(tid: int, kind: int, a: int, b: int) -> int:
        ivs = threads[tid][kind]
        return busy_ns(ivs, [s for s, _ in ivs], a, b)

    rows: list[dict[str, tuple[int, int, int, int]]] = []
    gaps: list[tuple[int, int, int, int, int]] = []  # per step: the engine's idle, by where (see below)
    clean = []
    for (t0, ph, t_end), (t1, _, _) in spans:
        row: dict[str, list[int]] = {}
        last_wait = max((k for k, (name, _, _) in enumerate(ph) if name.startswith("wait for")), default=-1)
        first_sent = next((k for k, (name, _, _) in enumerate(ph) if name.startswith("send part")), -1)
        gap = [
            0,
            0,
            0,
            0,
            0,
        ]  # idle before the first request, after the last answer, the caller, autoresets, else
        for k, (name, a, b) in enumerate([*ph, ("caller, between steps", t_end, t1)]):
            r = row.setdefault(name, [0, 0, 0, 0])
            r[0] += b - a
            on, waits = overlap(engine_pid, 0, a, b), overlap(engine_pid, 1, a, b)
            r[1] += on
            r[2] += waits
            r[3] += overlap(me, 1, a, b)
            where = (
                2
                if k == len(ph)
                else 3
                if name == "autoresets"
                else 0
                if k <= first_sent
                else 1
                if k > last_wait
                else 4
            )
            gap[where] += b - a - on - waits
        rows.append(row)
        gaps.append(tuple(gap))
        # a step where neither process waited for a CPU (others' load) shows the quiet machine
        clean.append(overlap(engine_pid, 1, t0, t1) + overlap(me, 1, t0, t1) < 20_000)
    order: list[str] = []
    for row in rows:
        order += [k for k in row if k not in order]
    step_ns = [t1 - t0 for ((t0, _, _), (t1, _, _)) in spans]
    print(
        f"{args.task}, {args.size}x{args.size}, make_vec {args.envs} envs on 1 engine, {len(spans)} steps "
        f"({sum(clean)} with neither process waiting for a CPU), load average {os.getloadavg()[0]:.1f}"
    )
    for title, pick in (("steps where neither process waited for a CPU", True), ("all steps", False)):
        sel = [r for r, c in zip(rows, clean) if c or not pick]
        if not sel:
            continue
        n = len(sel)
        print(f"\n{title} ({n}), microseconds per step, means:")
        print(
            f"{'client phase':32s} {'wall':>7s} {'engine on CPU':>14s} {'engine idle':>12s} "
            f"{'engine waits CPU':>17s} {'client waits CPU':>17s} {'median wall':>12s}"
        )
        tot = [0.0] * 4
        for name in order:
            v = [sum(r.get(name, (0, 0, 0, 0))[k] for r in sel) / n / 1e3 for k in range(4)]
            tot = [x + y for x, y in zip(tot, v)]
            med = statistics.median(r.get(name, (0,))[0] for r in sel) / 1e3
            print(
                f"{name:32s} {v[0]:7.0f} {v[1]:14.0f} {v[0] - v[1] - v[2]:12.0f} {v[2]:17.0f} {v[3]:17.0f} "
                f"{med:12.0f}"
            )
        print(
            f"{'whole step':32s} {tot[0]:7.0f} {tot[1]:14.0f} {tot[0] - tot[1] - tot[2]:12.0f} {tot[2]:17.0f} "
            f"{tot[3]:17.0f}"
        )
        print(
            f"engine on CPU {100 * tot[1] / tot[0]:.0f}% of the wall time; {args.envs * 1e6 / tot[0]:.0f} "
            f"env-steps/s (median step {statistics.median(step_ns) / 1e3:.0f} us)"
        )
        g = [sum(x[k] for x, c in zip(gaps, clean) if c or not pick) / n / 1e3 for k in range(5)]
        print(
            f"engine idle per step {sum(g):.0f} us: before the step's first request {g[0]:.0f} (C_pre: the "
            f"first part's actions, rules and request), after its last answer {g[1]:.0f} (C_post: the last "
            f"frames read and written, the step's end), the caller {g[2]:.0f}, autoresets {g[3]:.0f}, "
            f"elsewhere {g[4]:.0f}; engine on a CPU {tot[1] / args.envs:.0f} us per env-step (E_b); "
            f"wall per env-step {tot[0] / args.envs:.0f} = E_b + idle/{args.envs} + waits for a CPU"
        )
    if args.plot:
        first = next((i for i in range(len(clean) - 4) if all(clean[i : i + 4])), 0)
        plot(args.plot, steps[first : first + 4], threads[engine_pid], args)
    return 0


def plot(path: str, steps, engine: tuple[list, list], args) -> None:
    """Draw ``steps`` (the client's phases) above the engine's on-CPU and waiting-for-CPU intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t_base, t_last = steps[0][0], steps[-1][2]
    colours = {
        "apply part (its envs' actions, rules, requests)": "tab:blue",
        "send part": "navy",
        "rewards, infos (all envs)": "tab:green",
        "wait for answer": "lightgrey",
        "decode + write obs": "tab:orange",
        "autoresets": "black",
        "infos, after the frames": "tab:red",
    }

    def colour(name: str) -> str:
        for k, c in colours.items():
            if name.startswith(k.split(" (")[0].rstrip("0123456789 ")):
                return c
        return "black"

    fig, ax = plt.subplots(figsize=(11, 3.2))
    for _, ph, _ in steps:
        for name, a, b in ph:
            ax.barh(1, (b - a) / 1e3, left=(a - t_base) / 1e3, color=colour(name), height=0.6)
    for row, (ivs, shade) in enumerate(zip(engine, ("tab:gray", "salmon"))):
        for s, e in ivs:
            if e >= t_base and s <= t_last:
                ax.barh(0, (e - s) / 1e3, left=(s - t_base) / 1e3, color=shade, height=0.6 - 0.3 * row)
    ax.set_yticks([0, 1], ["engine", "client"])
    ax.set_xlabel("microseconds")
    ax.set_title(
        f"make_vec({args.envs} envs, 1 engine), {args.size}x{args.size}: {len(steps)} steps "
        "(engine: grey on a CPU, red waiting for one)"
    )
    names = {n for _, ph, _ in steps for n, _, _ in ph}
    shown = {k: v for k, v in colours.items() if any(colour(n) == v for n in names)}
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in shown.values()]
    ax.legend(handles, shown.keys(), fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.3))
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    sys.exit(main())
