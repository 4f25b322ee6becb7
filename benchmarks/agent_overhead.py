"""Per-step harness overhead of the openai:MODEL agent: everything but the model call.

    python benchmarks/agent_overhead.py [--steps 150] [--size 224] [--history last] [--text-only]
                                        [--rounds 3]

The agent talks to the local OpenAI-compatible server (:class:`embodied.testing.FakeOpenAI`),
which answers at once, so what is left is ours. Per step it reports medians of:

- ``agent harness``: ``agent.act`` minus the model call: the prompt (text, JPEG encoding of the
  frame, history), parsing the answer, grounding it through ``Env.to_action``, accounting;
- ``model call``: the genuine ``openai`` SDK's call to the local server (SDK + HTTP round trip on
  127.0.0.1; with a real model, its latency replaces this);
- ``env.step``: rules + render round trip to the engine process;
- ``recording``: ``run_episode`` writing the frame PNG and the captioned GIF frame, per step
  (measured as the run_episode wall time minus act and step time, in its own round).

Rounds alternate between the bare loop and the recorded episode so machine noise hits both;
the machine is shared, so quote the ratios (harness / env.step) rather than the milliseconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time

from embodied.agents import make_agent
from embodied.env import Env
from embodied.record import run_episode
from embodied.testing import FakeOpenAI

CYCLE = [
    "RotateLeft",
    "MoveAhead",
    "RotateRight",
    "MoveAhead",
    "LookDown",
    "LookUp",
    "RotateRight",
    "MoveBack",
]


def script():
    n = {"i": 0}

    def answer(req):
        n["i"] += 1
        return json.dumps({"thought": "benchmark walk", "action": CYCLE[n["i"] % len(CYCLE)]})

    return answer


def bare_round(env, agent, steps: int) -> dict[str, list[float]]:
    out = {"harness": [], "call": [], "env": []}
    obs, info = env.reset()
    agent.reset(env)
    for _ in range(steps):
        agent.act(obs, info)
        r = agent.last_record
        t = time.perf_counter()
        obs, _, term, trunc, info = env.step(r["chosen_action"])
        out["env"].append(time.perf_counter() - t)
        out["harness"].append(r["harness_s"])
        out["call"].append(r["call_s"])
        if term or trunc:
            obs, info = env.reset()
    return out


class Timed:
    """Wraps an agent to time act() inside run_episode."""

    def __init__(self, agent):
        self.agent, self.act_s = agent, []

    def __getattr__(self, name):
        return getattr(self.agent, name)

    def reset(self, env):
        self.agent.agent_id = self.agent_id
        self.agent.reset(env)

    def act(self, obs, info):
        t = time.perf_counter()
        a = self.agent.act(obs, info)
        self.act_s.append(time.perf_counter() - t)
        return a


def recorded_round(env, agent, steps: int) -> float:
    """Seconds per step that run_episode adds for recording (frames, GIF, steps.jsonl)."""
    timed = Timed(agent)
    budget, env.max_steps = env.max_steps, steps
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        m = run_episode(env, timed, d)
        wall = time.perf_counter() - t
    env.max_steps = budget
    steps_done = m.steps
    bare = bare_round(env, agent, steps_done)
    return (wall - sum(timed.act_s) - sum(bare["env"])) / steps_done


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--history", default="last")
    p.add_argument("--text-only", action="store_true")
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    with FakeOpenAI(script()) as srv, Env("chest_split_code", width=a.size, height=a.size) as env:
        agent = make_agent("openai:gpt-4o", base_url=srv.base_url, history=a.history, text_only=a.text_only)
        bare_round(env, agent, 10)  # warm up
        acc = {"harness": [], "call": [], "env": []}
        rec = []
        for _ in range(a.rounds):
            for k, v in bare_round(env, agent, a.steps).items():
                acc[k] += v
            rec.append(recorded_round(env, agent, a.steps // 2))
    med = {k: statistics.median(v) * 1e3 for k, v in acc.items()}
    print(
        f"openai agent per step, {a.size}x{a.size}, history={a.history}, text_only={a.text_only}, "
        f"{len(acc['env'])} steps over {a.rounds} rounds (medians, ms):"
    )
    print(f"  agent harness (prompt, JPEG, parse, ground, accounting): {med['harness']:.2f}")
    print(f"  model call (openai SDK -> local server, instant answer):   {med['call']:.2f}")
    print(f"  env.step (rules + render round trip to the engine):        {med['env']:.2f}")
    print(f"  recording (PNG + captioned GIF frame + jsonl), per step:   {statistics.median(rec) * 1e3:.2f}")
    print(f"  harness / env.step: {med['harness'] / med['env']:.2f}")


if __name__ == "__main__":
    main()
