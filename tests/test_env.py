"""The env through a real engine process: obs/info contract, action forms, oracle escapes,
state save/restore, determinism across processes, aligned depth/segmentation, truncation."""

import numpy as np
import pytest

from embodied.actions import Action
from embodied.agents import make_agent
from embodied.env import Env

from .helpers import oracle_steps

ESCAPES = ["key_door", "note_code", "chest_split_code", "two_rooms"]


def run_oracle(env, record=None):
    for act, obs, info in oracle_steps(env):
        if record is not None:
            record.append((str(act), obs["rgb"].copy(), info))
    return info


@pytest.mark.parametrize("scene", [*ESCAPES, "kitchen_put"])
def test_oracle_solves_every_shipped_scene(make_env, scene):
    env = make_env(scene)
    info = run_oracle(env)
    assert info["success"] and info["progress"] == 1.0
    assert info["step"] <= env.max_steps


def test_obs_and_info_contract(make_env):
    env = make_env("chest_split_code")
    obs, info = env.reset()
    assert (
        obs["rgb"].shape == (224, 224, 3)
        and obs["rgb"].dtype == np.uint8
        and obs["rgb"].flags["C_CONTIGUOUS"]
    )
    assert isinstance(obs["text"], str)
    for k in (
        "lastActionSuccess",
        "errorMessage",
        "allowed_actions",
        "inventory",
        "progress",
        "objects",
        "agent",
        "step",
    ):
        assert k in info
    assert info["allowed_actions"][:3] == ["MoveAhead", "MoveBack", "MoveLeft"]
    meta = {o["objectId"]: o for o in info["objects"]}
    assert {"chest", "iron_key", "note_left", "note_right", "exit"} <= set(meta)
    assert meta["chest"]["isLocked"] and not meta["iron_key"]["visible"]  # inside the closed chest
    obs, _r, term, trunc, info = env.step("MoveAhead")
    assert info["action"] == "MoveAhead" and info["step"] == 1 and not term and not trunc


def test_action_forms_and_bad_actions_never_raise(make_env):
    env = make_env("key_door")
    obs, info = env.reset()
    # by id
    i = info["allowed_actions"].index("RotateLeft")
    obs, _, _, _, info = env.step(i)
    assert info["action"] == "RotateLeft" and info["lastActionSuccess"]
    # canonical string, Action, dict (AI2-THOR style), free text
    for a in ("RotateRight", Action("RotateLeft"), {"action": "RotateRight"}, "turn left"):
        obs, _, _, _, info = env.step(a)
        assert info["lastActionSuccess"], (a, info["errorMessage"])
    # bad input: a clear message, nothing lost
    before = env.get_state()["world"]["objects"]
    for bad in (10_000, -1, "Open(nothing_here)", {"action": "Fly"}, 3.5, "", "Pickup()", {"foo": 1}):
        obs, _r, _term, _trunc, info = env.step(bad)
        assert not info["lastActionSuccess"] and info["errorMessage"], bad
        assert obs["rgb"].shape == (224, 224, 3)
    assert env.get_state()["world"]["objects"] == before
    # template ids need their argument
    env2 = make_env("note_code")
    env2.reset()
    for a in ("RotateLeft", "RotateLeft"):
        env2.step(a)
    ids = [k for k, a in enumerate(env2.allowed_actions()) if a.name == "EnterCode"]
    assert ids, env2.allowed_actions()  # the keypad is in view after two turns
    _, _, _, _, info = env2.step(ids[0])
    assert not info["lastActionSuccess"] and "give its code" in info["errorMessage"]


def test_state_round_trip_reproduces_frames(make_env):
    env = make_env("chest_split_code")
    rec = []
    run_oracle(env, rec)
    env.reset()
    agent = make_agent("oracle")
    agent.reset(env)
    obs, info = env.reset()
    for _ in range(30):  # halfway: notes read, nothing unlocked yet
        obs, *_, info = env.step(agent.act(obs, info))
    saved = env.get_state()
    frame_at_save = obs["rgb"].copy()
    rest = [str(a) for a, _, _ in rec[30:]]
    frames_a = [env.step(a)[0]["rgb"].copy() for a in rest]
    env.set_state(saved)
    assert env.get_state() == saved
    assert np.array_equal(env.set_state(saved)[0]["rgb"], frame_at_save)
    frames_b = [env.step(a)[0]["rgb"].copy() for a in rest]
    assert all(np.array_equal(a, b) for a, b in zip(frames_a, frames_b))
    assert env.world.goal_reached()


def test_determinism_across_processes():
    actions = ["RotateLeft", "MoveAhead", "MoveAhead", "LookDown", "RotateRight", "MoveAhead"]
    frames = []
    for _ in range(2):
        with Env("two_rooms", seed=3) as env:
            env.reset(seed=3)
            frames.append([env.step(a)[0]["rgb"].copy() for a in actions])
    assert all(np.array_equal(a, b) for a, b in zip(*frames))


def test_depth_and_segmentation_align_with_rgb(make_env):
    env = make_env("kitchen_put", modalities=("rgb", "depth", "segmentation"))
    obs, info = env.reset()
    agent = make_agent("oracle")
    agent.reset(env)
    for _ in range(4):
        obs, _, _, _, info = env.step(agent.act(obs, info))
    rgb, depth, seg = obs["rgb"], obs["depth"], obs["segmentation"]
    assert depth.shape == seg.shape == rgb.shape[:2] and depth.dtype == np.float32 and seg.dtype == np.int32
    names = info["segmentation_ids"]
    present = {names.get(int(v)) for v in np.unique(seg)}
    assert "structure" in present
    assert {"table", "apple"} <= present  # the oracle stands at the table with the apple on it
    assert np.all(depth[seg > 0] > 0) and np.all(np.isfinite(depth[seg > 0]))
    # segment boundaries are where the RGB image has edges, in both directions, and nowhere else much
    img = rgb.astype(int)
    for axis in (0, 1):
        seg_edge = np.diff(seg, axis=axis) != 0
        rgb_step = np.abs(np.diff(img, axis=axis)).sum(-1)
        assert seg_edge.sum() > 50
        assert (rgb_step[seg_edge] > 20).mean() > 0.9, "segment boundaries must be visible edges in rgb"
        assert (rgb_step[~seg_edge] > 20).mean() < 0.1, "rgb edges inside segments: misaligned"
    # the table stands in front of the walls behind it: nearer, pixel for pixel in its columns
    ids = {v: k for k, v in names.items()}
    table = seg == ids["table"]
    cols = np.where(table.any(axis=0))[0]
    above = [c for c in cols if (seg[: table[:, c].argmax(), c] == ids["structure"]).any()]
    assert above and all(
        depth[table[:, c], c].min()
        < depth[: table[:, c].argmax(), c][seg[: table[:, c].argmax(), c] == ids["structure"]].max()
        for c in above
    )
    # a step can ask for depth alone
    obs, *_ = env.step("Pass", modalities=("depth",))
    assert set(obs) == {"depth", "text"}


def test_note_is_in_frame_when_read(make_env):
    env = make_env("note_code", modalities=("rgb", "segmentation"))
    obs = next(obs for act, obs, _ in oracle_steps(env) if str(act).startswith("Read("))
    seg_note = env.graph.seg["note"]
    mask = obs["segmentation"] == seg_note
    assert mask.mean() > 0.08, "the note should fill a good part of the frame when read"
    ink = obs["rgb"][mask].mean(axis=1) < 100  # dark text on the pale note
    assert 0.02 < ink.mean() < 0.5
    assert "4172" in obs["text"]


@pytest.mark.parametrize("bad", ["abc", "7", 1.5, True])
def test_a_seed_that_is_not_a_whole_number_is_refused(make_env, bad):
    import embodied
    from embodied.errors import ConfigError

    with pytest.raises(ConfigError, match="seed must be a whole number or None"):
        embodied.make("escape/key-door", seed=bad)  # refused before any engine starts
    env = make_env("key_door")
    with pytest.raises(ConfigError, match="seed must be a whole number or None"):
        env.reset(seed=bad)
    env.reset(seed=np.int64(3))  # numpy's whole numbers are seeds too
    assert env.seed == 3 and type(env.seed) is int


def test_truncation_at_budget(make_env):
    env = make_env("key_door", max_steps=3)
    env.reset()
    outs = [env.step("RotateLeft") for _ in range(3)]
    assert [o[3] for o in outs] == [False, False, True] and not any(o[2] for o in outs)


def test_done_terminates_without_success(make_env):
    env = make_env("key_door")
    env.reset()
    _obs, r, term, _trunc, info = env.step("Done")
    assert term and not info["success"] and r == 0.0


def test_navigate_to_needs_high_level_mode(make_env):
    env = make_env("key_door")
    _obs, info = env.reset()
    before = env.get_state()
    _obs, _, _, _, info = env.step("go to the exit door")
    assert (
        info["action"] == "NavigateTo(exit)"
        and not info["lastActionSuccess"]
        and "high-level" in info["errorMessage"]
    )
    assert env.get_state()["world"]["agents"] == before["world"]["agents"]
    assert not any(a.startswith("NavigateTo") for a in info["allowed_actions"])


def test_high_level_navigate_to(make_env):
    env = make_env("key_door", high_level=True)
    env.reset()
    assert "brass_key" not in env.world.agent("a0")["seen"]  # out of view at the start
    _obs, _, _, _, info = env.step("NavigateTo(brass_key)")
    assert not info["lastActionSuccess"] and "not been seen" in info["errorMessage"]
    for _ in range(4):
        env.step("RotateLeft")
    assert "table" in env.world.agent("a0")["seen"]
    _obs, _, _, _, info = env.step("NavigateTo(table)")
    assert info["lastActionSuccess"], info["errorMessage"]
    assert env.world.interactable("a0", "table")[0]
    assert any(a.startswith("NavigateTo(") for a in info["allowed_actions"])


def test_dead_engine_is_restarted_and_episode_restored():
    import os
    import signal

    with Env("chest_split_code") as env:
        obs, _info = env.reset()
        for a in ("RotateLeft", "MoveAhead", "LookDown"):
            obs, *_ = env.step(a)
        first = env.engine.process.pid
        os.kill(first, signal.SIGKILL)
        env.engine.process.wait(5)
        obs2, _, _, _, info2 = env.step("Pass")  # same pose: the same frame from a new engine
        assert env.engine_restarts == 1 and env.engine.process.pid != first
        assert np.array_equal(obs2["rgb"], obs["rgb"]) and info2["step"] == 4
        obs3, *_ = env.step("LookUp")
        assert not np.array_equal(obs3["rgb"], obs2["rgb"])
    with pytest.raises(OSError):
        os.kill(first, 0)


@pytest.mark.parametrize(
    "scene", ["key_door", "note_code", "chest_split_code", "two_rooms", "kitchen_put", "collab_split"]
)
def test_random_agent_and_garbage_never_break_the_env(make_env, scene):
    import random

    rng = random.Random(scene)
    env = make_env(scene, max_steps=150)
    agent = make_agent("random", seed=1)
    obs, info = env.reset()
    agent.reset(env)
    junk = [
        "",
        "   ",
        "🙂🙂",
        "Open(",
        "EnterCode(exit, )",
        "{'action': 1}",
        "\x00\x01",
        "give everything to nobody",
        "x" * 5000,
        "Put(a, b, c)",
        "NavigateTo(ghost)",
        "-3",
        "999999999999",
    ]
    for i in range(150):
        action = rng.choice(junk) if i % 7 == 3 else agent.act(obs, info)
        obs, _reward, term, trunc, info = env.step(action)
        assert obs["rgb"].shape == (224, 224, 3) and isinstance(obs["text"], str)
        assert info["lastActionSuccess"] or info["errorMessage"]
        if term or trunc:
            break
    assert info["step"] <= 150
