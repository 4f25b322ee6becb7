"""The env's contracts: errors for misuse, honoured arguments, state round trips, rewards, and one
action table shared by the env and the solver."""

import json

import numpy as np
import pytest

import embodied
from embodied.errors import ConfigError, EmbodiedError, EnvClosedError, EpisodeEndedError, StateError
from embodied.nav import NavConfig
from embodied.planning import checkpoints_from_plan, expand_step
from embodied.rules import CODE, TEXT, apply, offered_actions
from embodied.solver import candidates, solve
from embodied.spec import load_spec, shipped_scenes
from embodied.world import World


def test_step_after_end_and_after_close(engine, make_env):
    env = make_env("key_door", max_steps=2)
    env.reset()
    env.step("RotateLeft")
    *_, trunc, _info = env.step("RotateLeft")
    assert trunc
    with pytest.raises(EpisodeEndedError, match="reset"):
        env.step("RotateLeft")
    env.reset()  # a reset starts a new episode
    _obs, _r, term, _t, _i = env.step("Done")
    assert term
    with pytest.raises(EpisodeEndedError):
        env.step("MoveAhead")
    env.close()
    env.close()  # twice is fine
    for call in (lambda: env.step("MoveAhead"), env.reset, lambda: env.set_state({})):
        with pytest.raises(EnvClosedError, match="closed"):
            call()
    assert engine.ping() > 0  # a shared engine outlives the env


def test_fov_is_honoured_and_conflicts_refused(make_env):
    env60 = make_env("chest_split_code", nav=NavConfig(fov=60), width=64, height=64)
    assert env60.nav.fov == 60 and env60.world.nav.fov == 60
    wide = make_env("chest_split_code", fov=90, width=64, height=64)
    a = env60.reset()[0]["rgb"]
    b = wide.reset()[0]["rgb"]
    assert not np.array_equal(a, b)  # the camera really got 60 degrees
    assert make_env("chest_split_code", fov=60).nav.fov == 60
    with pytest.raises(ConfigError, match="conflicts"):
        make_env("chest_split_code", fov=70, nav=NavConfig(fov=60))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"modalities": ("rgb", "normals")}, "unknown modalities"),
        ({"width": 0}, "width"),
        ({"height": 2.5}, "height"),
        ({"fov": 200}, "fov"),
        ({"allowed_actions": "all"}, "allowed_actions"),
        ({"agent": "nobody"}, "unknown agent"),
    ],
)
def test_bad_arguments_are_config_errors(make_env, kwargs, match):
    with pytest.raises(ConfigError, match=match) as e:
        make_env("key_door", **kwargs)
    assert isinstance(e.value, EmbodiedError)


def test_step_rejects_unknown_agents_and_modalities(make_env):
    env = make_env("key_door")
    env.reset()
    with pytest.raises(ConfigError, match="unknown agents"):
        env.step_all({"zed": "MoveAhead"})
    with pytest.raises(ConfigError, match="unknown modalities"):
        env.step("MoveAhead", modalities=("normals",))


def test_allowed_actions_visible_vs_interactable(make_env):
    vis = make_env("chest_split_code")
    near = make_env("chest_split_code", allowed_actions="interactable")
    _o, info_v = vis.reset()
    _o, info_n = near.reset()
    # the exit is in view but 2.5 m away: listed by default (no leak), not when only interactable ones are
    assert "Open(exit)" in info_v["allowed_actions"]
    assert "Open(exit)" not in info_n["allowed_actions"]
    exit_meta = next(o for o in info_v["objects"] if o["objectId"] == "exit")
    assert exit_meta["visible"] and not exit_meta["interactable"]
    assert info_n["allowed_actions"][-1] == "Done" and "MoveAhead" in info_n["allowed_actions"]


def test_state_json_round_trip_and_rejection(make_env):
    env = make_env("chest_split_code")
    env.reset()
    for a in ("RotateLeft", "MoveAhead", "MoveAhead", "RotateRight"):
        env.step(a)
    saved = json.loads(json.dumps(env.get_state()))  # through JSON: tuples become lists
    obs1, _r, _t, _tr, info1 = env.step("MoveAhead")
    env.set_state(saved)
    obs2, _r, _t, _tr, info2 = env.step("MoveAhead")
    assert np.array_equal(obs1["rgb"], obs2["rgb"]) and info1 == info2

    before = env.get_state()
    other = make_env("key_door").get_state()
    bad_states = {
        "another scene": other,
        "not a dict": [1, 2],
        "missing key": {k: v for k, v in before.items() if k != "reached"},
        "wrong kind": _edit(before, lambda s: s["world"]["objects"]["chest"].update(open="yes")),
        "missing field": _edit(before, lambda s: s["world"]["agents"]["a0"].pop("x")),
        "held not listed": _edit(
            before, lambda s: s["world"]["objects"]["iron_key"].update(loc=["held", "a0"])
        ),
        "bad checkpoint": _edit(before, lambda s: s.update(reached=[99])),
        "nan pose": _edit(before, lambda s: s["world"]["agents"]["a0"].update(x=float("nan"))),
    }
    for why, bad in bad_states.items():
        with pytest.raises(StateError):
            env.set_state(bad)
        assert env.get_state() == before, why  # nothing changed


def _edit(state, fn):
    s = json.loads(json.dumps(state))
    fn(s)
    return s


def test_checkpoint_reward(make_env):
    """+0.1 exactly on the steps that reach a new checkpoint, +1 on success, nothing otherwise."""
    from embodied.agents import make_agent

    env = make_env("key_door")
    obs, info = env.reset()
    n = len(env.checkpoints)
    assert n >= 2
    agent = make_agent("oracle")
    agent.reset(env)
    total, before, gains = 0.0, 0.0, 0
    while True:
        obs, r, term, trunc, info = env.step(agent.act(obs, info))
        gained = round((info["progress"] - before) * n)
        before = info["progress"]
        assert r == pytest.approx(0.1 * gained + (1.0 if info["success"] else 0.0)), info["action"]
        total += r
        gains += gained
        if term or trunc:
            break
    assert info["success"] and gains == n
    assert total == pytest.approx(1.0 + 0.1 * n)


def test_env_lists_exactly_the_shared_table(make_env):
    env = make_env("chest_split_code")
    _obs, info = env.reset()
    w = env.world
    in_view = [t for t, v in env.visible("a0").items() if v]
    assert info["allowed_actions"] == [str(a) for a in offered_actions(w, "a0", in_view)]


def _generic(action):
    """An action as the env lists it: the code or text an agent fills in becomes the placeholder."""
    if action.name == "EnterCode":
        return str(embodied.Action("EnterCode", (action.args[0], CODE)))
    if action.name == "Say":
        return str(embodied.Action("Say", (TEXT,)))
    return str(action)


@pytest.mark.parametrize("scene", shipped_scenes())
def test_solver_plan_only_uses_actions_the_env_lists(scene):
    """Walk the oracle's plan on the world model; before each interaction, the env's list for
    that moment (offered_actions over what is in view) must contain it. Fails if the solver and
    the env drift apart (a verb the env never offers, a target the env does not list)."""
    spec = load_spec(scene)
    verdict = solve(spec)
    assert verdict.solvable, verdict.reason
    w = World(spec)
    assert checkpoints_from_plan(verdict.plan, w)
    used = 0
    for step in verdict.plan:
        moves = expand_step(w, step.agent, step)
        assert moves is not None, step
        for m in moves:
            if isinstance(m, str):
                assert apply(w, step.agent, embodied.Action(m)).success
                continue
            in_view = [t for t in list(w.objs) + list(w.door_specs) if w.visible(step.agent, t)]
            listed = [str(a) for a in offered_actions(w, step.agent, in_view)]
            assert _generic(m) in listed, f"{scene}: plan step {m} is not among the env's actions {listed}"
            assert apply(w, step.agent, m).success, m
            used += 1
    assert w.goal_reached() and used > 0


@pytest.mark.parametrize("scene", shipped_scenes())
def test_solver_candidates_are_a_subset_of_offered_actions(scene):
    """In the abstract (room-level) world the solver searches, every candidate is an offered action."""
    spec = load_spec(scene)
    w = World(spec)
    w.abstract = True
    for aid in w.agent_ids:
        in_view = [t for t in list(w.objs) + list(w.door_specs) if w.visible(aid, t)]
        listed = {str(a) for a in offered_actions(w, aid, in_view)}
        for c in candidates(w, aid, set()):
            if c.verb != "GoTo":
                assert _generic(c.action) in listed, c


def test_readme_python_example_is_true(tmp_path):
    """Run the README's Python example; what its comments promise must be what it prints."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    promised = re.search(r"# numbered: (.*)", code).group(1)
    names = re.findall(r'"([^"]+)"', promised)
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    first = r.stdout.splitlines()[0]
    listed = eval(first, {})  # the printed list of strings
    assert names and all(n in listed for n in names), (names, listed)
    assert listed[4] == "RotateLeft"  # the text says so about action id 4
    assert "RotateLeft True" in r.stdout.splitlines()[2]
