"""The in-process engine (embodied/inprocess.py): the real renderer and request handling in the
test's process, checked against the engine process it stands in for."""

import json
import random

import gymnasium
import numpy as np
import pytest

import embodied
from embodied.agents import make_agent
from embodied.env import Env
from embodied.errors import EngineError, ProtocolError
from embodied.inprocess import InProcessEngine

from .helpers import bench_oracle_rows

ALL = ("rgb", "depth", "segmentation")
NAV = ("MoveAhead", "MoveBack", "RotateLeft", "RotateRight", "LookUp", "LookDown", "MoveLeft")


def _plain(info) -> dict:
    return json.loads(json.dumps(info))  # every lazy entry computed


def test_same_frames_rewards_and_infos_as_the_engine_process(engine):
    """Random moves, then the oracle's plan, stepped in both: pixel-identical frames (all three
    modalities), the same rewards, ends and infos."""
    kw = dict(width=64, height=48, modalities=ALL, seed=3)
    ours, theirs = (
        Env("escape/key-door", engine="inprocess", **kw),
        Env("escape/key-door", engine=engine, **kw),
    )
    try:
        assert ours.engine.frame_transport == "inprocess" and ours.engine.process is None
        o1, i1 = ours.reset(seed=3)
        o2, i2 = theirs.reset(seed=3)
        agent, rng = make_agent("oracle"), random.Random(0)
        steps = 0
        while True:
            for m in ALL:
                assert o1[m].dtype == o2[m].dtype and np.array_equal(o1[m], o2[m]), (steps, m)
            assert o1["text"] == o2["text"] and _plain(i1) == _plain(i2)
            if steps == 6:
                agent.reset(ours)  # (the oracle plans from here)
            act = rng.choice(NAV) if steps < 6 else agent.act(o1, i1)
            o1, r1, t1, u1, i1 = ours.step(act)
            o2, r2, t2, u2, i2 = theirs.step(act)
            assert (r1, t1, u1) == (r2, t2, u2), (steps, act)
            steps += 1
            if t1 or u1:
                break
        assert i1["success"] and r1 > 0 and steps > 5
    finally:
        ours.close()
        theirs.close()


@pytest.mark.parametrize(
    "op,fields",
    [
        ("update", {"updates": [{"id": "no-such-node", "pos": [0, 0, 0]}]}),
        ("update", {"updates": [{"id": "floor", "pos": [0, "x", 0]}]}),
        ("camera", {"cameras": [{"agent": "a0", "fov": 500}]}),
        ("render", {"agents": ["nobody"], "modalities": ["rgb"]}),
        ("render", {"agents": ["a0"], "modalities": ["infrared"]}),
        ("render", {"agents": ["a0"], "cameras": [{"agent": "a0", "width": 0}]}),
        ("raycast", {"from": [0, 0], "to": [1, 1, 1]}),
        ("load_scene", {"nodes": [{"id": "x", "seg": 0, "shape": "box", "size": [1, 1, 1]}]}),
    ],
)
def test_bad_requests_fail_alike(engine, op, fields):
    """A malformed request raises the same error type with the same message in both engines."""
    node = {"id": "floor", "seg": 1, "shape": "box", "size": [4, 4, 0.1]}
    cam = {"agent": "a0", "pos": [0, -2, 1], "hpr": [0, -10, 0], "width": 32, "height": 32}
    got = []
    inproc = embodied.launch("inprocess")
    try:
        for client in (inproc, engine):
            sc = client.scene()
            sc.load([node])
            sc.set_cameras([cam])
            with pytest.raises(EngineError) as err:
                if op == "render":
                    sc.render(**fields)
                else:
                    client.request(op, {"scene": sc.handle, **fields})
            message = str(err.value).split(" rejected ", 1)[1].replace(sc.handle, "HANDLE")
            sc.close()
            got.append((type(err.value), message))
        assert got[0] == got[1]
        assert got[0][0] is ProtocolError
    finally:
        inproc.close()
    with pytest.raises(EngineError, match="closed"):
        inproc.scene().load([node])


def test_an_envs_own_render_fails_as_the_server_would_say(monkeypatch):
    """``InProcessScene.render_own`` (an env's own requests, not checked again) raises what the
    server's reply would have: a ProtocolError for a bad node update, an EngineError naming an
    unexpected failure, and the client's errors before a load and after close."""
    node = {"id": "floor", "seg": 1, "shape": "box", "size": [4, 4, 0.1]}
    cam = {"agent": "a0", "pos": [0, -2, 1], "hpr": [0, -10, 0], "fov": 90.0, "width": 16, "height": 16}
    bad = [{"id": "no-such-node", "pos": [0, 0, 0]}]
    client = embodied.launch("inprocess")
    try:
        sc = client.scene()
        with pytest.raises(EngineError, match="before load"):
            sc.render_own(["a0"], ["rgb"], None, [cam])
        sc.load([node])
        assert sc.render_own(["a0"], ["rgb"], None, [cam])()["a0"]["rgb"].shape == (16, 16, 3)
        with pytest.raises(ProtocolError) as own:
            sc.render_own(["a0"], ["rgb"], bad, [cam])
        assert str(own.value).endswith(
            "rejected 'render': field 'updates[0].id': unknown node id 'no-such-node'; nothing was applied"
        )
        assert own.value.__cause__ is None
        renderer = client.server.renderer

        def broken(*args, **kwargs):
            raise RuntimeError("the rasteriser fell over")

        monkeypatch.setattr(renderer, "render", broken)
        with pytest.raises(
            EngineError, match="rejected 'render': RuntimeError: the rasteriser fell over"
        ) as err:
            sc.render_own(["a0"], ["rgb"], None, [cam])
        assert isinstance(err.value.__cause__, RuntimeError)
        monkeypatch.undo()
    finally:
        client.close()
    with pytest.raises(EngineError, match="closed"):
        sc.render_own(["a0"], ["rgb"], None, [cam])


def test_two_envs_in_one_process_do_not_disturb_each_other():
    """Two in-process envs (different scenes) stepped in turn give the frames each gives alone;
    frames kept from earlier steps stay as they were."""
    rng = random.Random(1)
    acts = [rng.choice(NAV) for _ in range(12)]

    def alone(task):
        with Env(task, engine="inprocess", width=40, height=40) as env:
            frames = [env.reset(seed=0)[0]["rgb"]]
            frames += [env.step(a)[0]["rgb"] for a in acts]
            return frames

    want_a, want_b = alone("escape/key-door"), alone("escape/two-rooms")
    a = Env("escape/key-door", engine="inprocess", width=40, height=40)
    b = Env("escape/two-rooms", engine="inprocess", width=40, height=40)
    try:
        assert a.engine.server is b.engine.server  # one renderer, two scenes
        got_a, got_b = [a.reset(seed=0)[0]["rgb"]], [b.reset(seed=0)[0]["rgb"]]
        assert a.scene.handle != b.scene.handle
        kept = [f.copy() for f in got_a]
        for act in acts:
            got_a.append(a.step(act)[0]["rgb"])
            got_b.append(b.step(act)[0]["rgb"])
            kept.append(got_a[-1].copy())
        for x, y in zip(got_a, want_a):
            assert np.array_equal(x, y)
        for x, y in zip(got_b, want_b):
            assert np.array_equal(x, y)
        for x, y in zip(got_a, kept):  # nothing handed out earlier was overwritten
            assert np.array_equal(x, y)
        assert not all(np.array_equal(got_a[0], f) for f in got_a[1:])  # (the moves changed the view)
    finally:
        a.close()
        b.close()


def test_close_frees_the_scene_and_make_works_again():
    env = embodied.make("escape/key-door", engine="inprocess", width=32, height=32)
    env.reset(seed=0)
    server, handle = env.engine.server, env.scene.handle
    assert handle in server.renderer.scenes
    env.close()
    assert handle not in server.renderer.scenes
    with embodied.make("escape/key-door", engine="inprocess", width=32, height=32) as again:
        obs, _ = again.reset(seed=0)
        assert obs["rgb"].shape == (32, 32, 3) and obs["rgb"].any()
        assert again.engine.server is server
    client = InProcessEngine()
    sc = client.scene()
    sc.load([{"id": "floor", "seg": 1, "shape": "box", "size": [4, 4, 0.1]}])
    client.close()  # a client's close frees every scene it made
    assert sc.handle not in server.renderer.scenes


def test_rl_checkers_pass_on_the_in_process_env():
    env = gymnasium.make(
        "embodied/KeyDoor-v0",
        engine="inprocess",
        width=48,
        height=40,
        action_mode="discrete",
        obs_mode="image",
    ).unwrapped
    try:
        assert env.env.engine.frame_transport == "inprocess"
        from gymnasium.utils.env_checker import check_env as gym_check

        gym_check(env, skip_render_check=True)
        sb3 = pytest.importorskip("stable_baselines3.common.env_checker", reason="the rl extra (docs/rl.md)")
        sb3.check_env(env, warn=True)
    finally:
        env.close()


def test_two_agents_render_alike(engine):
    """A two-agent scene: every agent's frame (all modalities) the same in both engines."""
    kw = dict(width=40, height=32, modalities=ALL)
    ours, theirs = Env("collab_split", engine="inprocess", **kw), Env("collab_split", engine=engine, **kw)
    try:
        o1, _ = ours.reset_all()
        o2, _ = theirs.reset_all()
        rng = random.Random(2)
        for _ in range(6):
            for aid in o1:
                for m in ALL:
                    assert np.array_equal(o1[aid][m], o2[aid][m]), (aid, m)
            acts = {aid: rng.choice(NAV) for aid in ours.world.agent_ids}
            o1, r1, *_ = ours.step_all(acts)
            o2, r2, *_ = theirs.step_all(acts)
            assert r1 == r2
    finally:
        ours.close()
        theirs.close()


def test_benchmark_cli_runs_in_process(tmp_path):
    """`EMBODIED_ENGINE=inprocess embodied bench run ...`: the CLI's envs run in-process, with the
    results of the engine process."""
    rows = {name: bench_oracle_rows(tmp_path / name, name, 48) for name in ("panda3d", "inprocess")}
    assert rows["inprocess"] == rows["panda3d"] and all(s for s, _ in rows["inprocess"])
