"""Task scripting API, Gymnasium and PettingZoo adapters, and the two-agent collaboration scene."""

import subprocess
import sys
from pathlib import Path

import gymnasium
import numpy as np
import pytest

import embodied
from embodied.agents import make_agent
from embodied.errors import ConfigError
from embodied.tasks import Task, list_tasks, make_task, register

ROOT = Path(__file__).resolve().parents[1]


class Coded(Task):
    max_steps = 50

    def build(self, rng):
        code = f"{rng.randrange(10000):04d}"
        return {
            "rooms": [{"id": "r", "size": [4, 4]}],
            "doors": [{"id": "exit", "between": ["r", "outside"], "lock": {"kind": "code", "code": code}}],
            "objects": [{"id": "note", "type": "note", "room": "r", "text": f"code {code}"}],
            "agents": [{"id": "a0", "room": "r"}],
            "goal": {"exit_through": "exit"},
        }

    def reward(self, env, agent, info, default):
        return default - 0.5


def test_registry_and_seeded_build():
    assert {"escape/key-door", "collab/split-knowledge"} <= set(list_tasks())
    register("test/coded", Coded, overwrite=True)
    with pytest.raises(ConfigError, match="already registered"):
        register("test/coded", Coded)
    t = make_task("test/coded")
    a, b, a2 = t.spec(1), t.spec(2), t.spec(1)
    assert a.doors[0].lock.code != b.doors[0].lock.code and a.doors[0].lock.code == a2.doors[0].lock.code
    assert a.max_steps == 50
    with pytest.raises(ConfigError, match="no setting 'no_such_setting'"):
        Task("key_door", no_such_setting=1)


def test_task_goal_override_and_reward_hook(engine):
    register("test/coded", Coded, overwrite=True)
    with embodied.make("test/coded", seed=1, engine=engine) as env:
        code1 = env.spec.doors[0].lock.code
        env.reset(seed=2)
        assert env.spec.doors[0].lock.code != code1  # a new scene per seed, reloaded in the engine
        obs, r, *_ = env.step("RotateLeft")
        assert r == -0.5
        env.reset(seed=1)
        assert env.spec.doors[0].lock.code == code1
    t = Task("kitchen_put", goal={"holding": "apple"})
    with embodied.make(t, engine=engine) as env:
        obs, info = env.reset()
        oracle = make_agent("oracle")
        oracle.reset(env)
        while True:
            obs, r, term, trunc, info = env.step(oracle.act(obs, info))
            if term or trunc:
                break
        assert info["success"] and info["inventory"] == ["apple"] and info["step"] < 40


def test_custom_task_example_runs():
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "custom_task.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "success: True" in out.stdout


def test_gymnasium_check_env():  # as a user makes it: its own engine, a recorded spec
    from gymnasium.utils.env_checker import check_env

    env = gymnasium.make("embodied/EscapeRoom-v0", width=96, height=96)
    try:
        assert not env.spec.disable_env_checker  # Gymnasium's passive checker wraps it
        check_env(env.unwrapped)
        obs, info = env.reset(seed=0)
        assert env.observation_space.contains(obs)
        obs, _r, _term, _trunc, info = env.step("look down")
        assert info["action"] == "LookDown"
        listed = info["allowed_actions"]
        obs, _r, _term, _trunc, info = env.step("3")  # an action id as text: the 4th listed action
        assert info["action"] == listed[3] == "MoveRight"
        obs, _r, _term, _trunc, info = env.step("~~~ 🙂 nonsense")
        assert not info["lastActionSuccess"] and info["errorMessage"]
    finally:
        env.close()


def test_gymnasium_depth_and_segmentation_in_space_and_obs(engine):
    env = gymnasium.make(
        "embodied/KeyDoor-v0", width=64, height=48, modalities=("rgb", "depth", "segmentation"), engine=engine
    )
    try:
        space = env.observation_space
        assert set(space.spaces) == {"rgb", "depth", "segmentation", "text"}
        obs, info = env.reset(seed=0)
        assert space.contains(obs)
        assert obs["depth"].shape == (48, 64) and obs["depth"].dtype == np.float32
        assert obs["segmentation"].dtype == np.int32 and obs["segmentation"].max() > 0
        assert set(np.unique(obs["segmentation"])) - {0} <= set(map(int, info["segmentation_ids"]))
        obs, *_ = env.step("MoveAhead")
        assert space.contains(obs)
    finally:
        env.close()
    depth_only = gymnasium.make(
        "embodied/KeyDoor-v0", width=32, height=32, modalities=("depth",), engine=engine
    )
    try:
        assert set(depth_only.observation_space.spaces) == {"depth", "text"}
    finally:
        depth_only.close()


def test_gymnasium_refuses_multi_agent_task_unless_agent_given(engine):
    with pytest.raises(ConfigError, match=r"2 agents .*agent='ana'.*pettingzoo"):
        gymnasium.make(
            "embodied/EscapeRoom-v0", task="collab/split-knowledge", width=32, height=32, engine=engine
        )
    env = gymnasium.make(
        "embodied/EscapeRoom-v0",
        task="collab/split-knowledge",
        agent="bo",
        width=32,
        height=32,
        engine=engine,
    )
    try:
        _obs, info = env.reset(seed=0)
        assert info["agent"]["id"] == "bo"
        world = env.unwrapped.env.world
        ana, bo = world.pose("ana"), world.pose("bo")
        _obs, _r, _t, _tr, info = env.step("RotateLeft")
        assert info["agent"]["id"] == "bo" and info["lastActionSuccess"]
        assert world.pose("bo") != bo and world.pose("ana") == ana  # bo turned, ana stood still
    finally:
        env.close()


def test_pettingzoo_aec_env(engine):
    from pettingzoo.test import api_test

    from embodied.adapters.pettingzoo import env as aec_env

    env = aec_env("collab/split-knowledge", width=48, height=48, engine=engine)
    try:
        api_test(env, num_cycles=10)
        env.reset(seed=0)
        assert env.agent_selection == "ana"
        env.step("RotateLeft")  # ana chooses; the world waits for bo
        assert env.agent_selection == "bo"
        env.step("Pass")
        obs = env.observe("ana")
        assert obs["rgb"].shape == (48, 48, 3)
    finally:
        env.close()


def test_pettingzoo_api_and_collab_oracles(engine):
    from pettingzoo.test import parallel_api_test

    from embodied.adapters.pettingzoo import parallel_env

    env = parallel_env("collab/split-knowledge", width=96, height=96, engine=engine)
    try:
        parallel_api_test(env, num_cycles=40)
        obs, infos = env.reset(seed=0)
        assert set(obs) == {"ana", "bo"} and obs["ana"]["rgb"].shape == (96, 96, 3)
        agents = {a: make_agent("oracle", agent_id=a) for a in env.possible_agents}
        for ag in agents.values():
            ag.reset(env.env)
        heard = False
        for _ in range(200):
            actions = {a: agents[a].act(obs[a], infos[a]) for a in env.agents}
            obs, _rew, _term, _trunc, infos = env.step(actions)
            heard |= "ana says: the code is 7351" in obs["bo"]["text"]
            if not env.agents:
                break
        assert infos["bo"]["success"] and heard
        said = env.env.world.state["said"]
        assert said and said[0][0] == "ana"
    finally:
        env.close()


def test_collab_unsolvable_alone():
    """Bo alone cannot learn the code; the single-agent solver proves talking is needed."""
    from embodied.solver import solve
    from embodied.spec import load_spec

    data = load_spec("collab_split").to_json()
    data["agents"] = [a for a in data["agents"] if a["id"] == "bo"]
    v = solve(load_spec(data))
    assert not v.solvable and "never read" in v.reason


def test_unknown_task_lists_registered():
    from embodied.errors import SpecError

    with pytest.raises(SpecError, match=r"registered tasks: .*escape/key-door"):
        make_task("escape/nope")
