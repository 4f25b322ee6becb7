"""The RL path: a fixed Discrete(n) action table, Box image observations, RL-library checks,
and (slow) a real stable-baselines3 PPO run that learns above the random agent."""

import importlib.util
import json
import sys
from pathlib import Path

import gymnasium
import numpy as np
import pytest

import embodied  # noqa: F401  (registers the gymnasium ids)
from embodied.actions import Action
from embodied.adapters import discrete
from embodied.adapters.gym import EmbodiedGymEnv
from embodied.errors import ActionError

from .helpers import world

ROOT = Path(__file__).resolve().parents[1]


def test_table_order_is_fixed_and_documented():
    w = world("key_door")
    table = [str(a) for a in discrete.build_table(w, "a0")]
    assert table == [
        "MoveAhead",
        "MoveBack",
        "MoveLeft",
        "MoveRight",
        "RotateLeft",
        "RotateRight",
        "TurnAround",
        "LookUp",
        "LookDown",
        "Put(brass_key, table)",
        "Pickup(brass_key)",
        "Open(exit)",
        "Close(exit)",
        "Unlock(exit, brass_key)",
        "Drop(brass_key)",
        "Done",
    ]
    # the table depends on the scene only, not on the state
    w.state["agents"]["a0"]["inventory"].append("brass_key")
    assert [str(a) for a in discrete.build_table(w, "a0")] == table


def test_enter_code_types_the_code_the_agent_learned():
    w = world("note_code")
    keypad = next(a for a in discrete.build_table(w, "a0") if a.name == "EnterCode")
    assert discrete.resolve(w, "a0", keypad).args[1] == discrete.UNKNOWN_CODE  # nothing read yet
    lock = w.code_lock(keypad.args[0])[1]
    clues = lock.clues or [o for o, s in w.objs.items() if s.text and lock.code in s.text]
    w.agent("a0")["read"].extend(clues)
    assert discrete.resolve(w, "a0", keypad) == Action("EnterCode", (keypad.args[0], lock.code))
    assert discrete.resolve(w, "a0", Action("MoveAhead")) == Action("MoveAhead")


def test_depth_channel_scale():
    d = np.array([[0.0, 5.0, 10.0, 30.0, np.inf]], np.float32)
    assert discrete.depth_channel(d).tolist() == [[0, 128, 255, 255, 255]]


def test_discrete_image_env_passes_checkers_and_steps():
    env = EmbodiedGymEnv(
        "escape/key-door",
        width=48,
        height=40,
        action_mode="discrete",
        obs_mode="image",
        modalities=("rgb", "depth"),
    )
    try:
        assert env.observation_space.shape == (40, 48, 4)
        assert env.action_space == gymnasium.spaces.Discrete(len(env.action_table))
        from gymnasium.utils.env_checker import check_env as gym_check

        gym_check(env, skip_render_check=True)
        if importlib.util.find_spec("stable_baselines3") is not None:
            from stable_baselines3.common.env_checker import check_env as sb3_check

            sb3_check(env, warn=True)
        obs, info = env.reset()
        assert obs.dtype == np.uint8 and obs.shape == (40, 48, 4)
        depth = env.env.last_obs[env.env.agent_id]["depth"]
        assert np.array_equal(obs[..., 3], discrete.depth_channel(depth))
        assert np.array_equal(obs[..., :3], env.env.last_obs[env.env.agent_id]["rgb"])
        idx = [str(a) for a in env.action_table]
        _, _, _, _, info = env.step(idx.index("Unlock(exit, brass_key)"))
        assert not info["lastActionSuccess"] and info["errorMessage"]  # not held: fails like any other
        obs2, _, _, _, info = env.step(np.int64(idx.index("RotateLeft")))
        assert info["lastActionSuccess"] and info["action"] == "RotateLeft"
        assert not np.array_equal(obs, obs2)
        for bad in (len(idx), -1, 1.5, "0", [0, 1]):
            with pytest.raises(ActionError, match="outside Discrete"):
                env.step(bad)
    finally:
        env.close()


def test_wrappers_and_make_vec():
    pytest.importorskip("cv2", reason="ResizeObservation needs opencv (the rl extra)")
    from gymnasium.wrappers import FrameStackObservation, ResizeObservation

    kw = dict(action_mode="discrete", obs_mode="image", width=64, height=64)
    env = FrameStackObservation(ResizeObservation(gymnasium.make("embodied/KeyDoor-v0", **kw), (32, 32)), 4)
    try:
        obs, _ = env.reset(seed=0)
        assert obs.shape == (4, 32, 32, 3)
        obs, *_ = env.step(0)
        assert obs.shape == (4, 32, 32, 3) and env.observation_space.contains(obs)
    finally:
        env.close()
    vec = gymnasium.make_vec("embodied/KeyDoor-v0", num_envs=2, vectorization_mode="sync", **kw)
    try:
        obs, _ = vec.reset(seed=0)
        assert obs.shape == (2, 64, 64, 3)
        obs, _, _, _, info = vec.step(np.array([0, 4]))
        assert obs.shape == (2, 64, 64, 3) and not np.array_equal(obs[0], obs[1])
        assert list(info["lastActionSuccess"]) == [True, True]
    finally:
        vec.close()


def test_bad_modes_are_refused():
    for kw in ({"action_mode": "continuous"}, {"obs_mode": "pixels"}):
        with pytest.raises(ValueError, match="not supported"):
            EmbodiedGymEnv("escape/key-door", **kw)


@pytest.mark.slow
def test_ppo_learns_above_random(tmp_path):
    pytest.importorskip("stable_baselines3", reason="install the rl extra (docs/rl.md)")
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import train_ppo
    finally:
        sys.path.pop(0)
    result = train_ppo.train(10000, str(tmp_path), seed=0, random_episodes=100)
    assert (tmp_path / "learning_curve.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "result.json").read_text()) == result
    assert result["last_fifth_success"] >= result["random_success"] + 0.3, result


def test_table_covers_every_action_the_env_can_offer():
    from embodied.rules import offered_actions

    for scene in ("key_door", "chest_split_code", "kitchen_put", "collab_split"):
        w = world(scene)
        for aid in w.agent_ids:
            table = set(discrete.build_table(w, aid))
            things = list(w.objs) + list(w.door_specs)
            portable = [o for o in w.objs if w.can(o, "pickupable")]
            for held, flip in (([], False), (portable, False), (portable, True)):
                w.reset_state()
                w.agent(aid)["inventory"][:] = held
                for t in things:
                    w.thing(t)["open"] = flip
                    w.thing(t)["on"] = flip
                for act in offered_actions(w, aid, things):
                    if act.name == "Say":
                        continue
                    if act.name == "EnterCode":
                        act = Action("EnterCode", (act.args[0], discrete.UNKNOWN_CODE))
                    assert act in table, (scene, aid, str(act))
