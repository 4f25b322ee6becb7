"""Test helpers: build worlds from small specs and walk agents with the real planner."""

from __future__ import annotations

from embodied.actions import Action
from embodied.planning import path_to_interact
from embodied.rules import apply
from embodied.spec import load_spec
from embodied.world import World


def world(spec) -> World:
    return World(load_spec(spec))


def approach(w: World, target: str, aid: str = "a0") -> None:
    """Walk (with real moves) until ``target`` is interactable."""
    moves = path_to_interact(w, aid, target)
    assert moves is not None, f"no path to {target}"
    for m in moves:
        r = apply(w, aid, Action(m))
        assert r.success, (m, r.message)
    assert w.interactable(aid, target)[0]


def do(w: World, text: str, aid: str = "a0"):
    from embodied.actions import parse_canonical

    return apply(w, aid, parse_canonical(text))


def room(**extra):
    """A one-room spec with an exit; ``extra`` overrides/extends top-level keys."""
    spec = {
        "format": "embodied.scene/1",
        "name": "t",
        "rooms": [{"id": "hall", "size": [5, 4], "at": [0, 0]}],
        "doors": [{"id": "exit", "between": ["hall", "outside"], "wall": "north"}],
        "objects": [],
        "agents": [{"id": "a0", "room": "hall"}],
        "goal": {"exit_through": "exit"},
    }
    spec.update(extra)
    return spec


def oracle_steps(env):
    """Reset ``env`` and yield ``(action, obs, info)`` for each oracle step until the episode ends."""
    from embodied.agents import make_agent

    obs, info = env.reset()
    agent = make_agent("oracle")
    agent.reset(env)
    while True:
        act = agent.act(obs, info)
        obs, _r, term, trunc, info = env.step(act)
        yield act, obs, info
        if term or trunc:
            return


def bench_oracle_rows(out_dir, engine: str, size: int) -> list[tuple[bool, int]]:
    """(success, steps) per episode of `embodied bench run` (ESC tier 1, two oracle episodes) with
    ``EMBODIED_ENGINE=engine``, run as a user would: the installed CLI in a subprocess."""
    import json
    import os
    import subprocess
    import sys

    exe = os.path.join(os.path.dirname(sys.executable), "embodied")
    cmd = [exe, "bench", "run", "--suite", "ESC", "--agent", "oracle", "--out", str(out_dir)]
    cmd += ["--tiers", "1", "--episodes", "2", "--size", str(size), "--frames", "none"]
    subprocess.run(
        cmd, check=True, env={**os.environ, "EMBODIED_ENGINE": engine}, capture_output=True, timeout=300
    )
    lines = (out_dir / "results.jsonl").read_text().splitlines()
    return [(r["success"], r["steps"]) for r in map(json.loads, lines)]
