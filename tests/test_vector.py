"""make_vec: n envs batched over engines give exactly the frames and returns of n plain envs."""

import os
import signal

import numpy as np
import pytest

import embodied
from embodied.adapters.gym import EmbodiedGymEnv
from embodied.errors import ConfigError
from embodied.vector import _lanes

KW = dict(action_mode="discrete", obs_mode="image", width=40, height=32)


def test_batched_envs_match_plain_envs_step_for_step():
    n = 3
    rng = np.random.default_rng(0)
    acts = rng.integers(0, 9, size=(12, n))  # navigation indices
    vec = embodied.make_vec("escape/key-door", n, engine_per=2, max_steps=5, **KW)
    try:
        assert len(vec.engines) == 2 and vec.observation_space.shape == (n, 32, 40, 3)
        assert vec.single_action_space.n == 16
        obs, infos = vec.reset(seed=0)
        got = [(obs.copy(), None, None, None)]
        for a in acts:
            obs, rew, term, trunc, infos = vec.step(a)
            got.append((obs.copy(), rew.copy(), term | trunc, infos["step"].copy()))
        assert infos["_step"].all() and infos["lastActionSuccess"].dtype == bool
        assert "objects" not in infos and "allowed_actions" not in infos  # info_keys="cheap"
    finally:
        vec.close()
    assert vec.engines == [] and vec.envs == []
    # the same actions on plain envs, one engine each, with Gymnasium's NEXT_STEP autoreset by hand
    for i in range(n):
        env = EmbodiedGymEnv("escape/key-door", max_steps=5, **KW)
        try:
            o, _ = env.reset(seed=i)
            assert np.array_equal(o, got[0][0][i])
            ended = False
            for t, a in enumerate(acts, start=1):
                if ended:
                    o, _ = env.reset()
                    r, done, step = 0.0, False, 0
                else:
                    o, r, term, trunc, info = env.step(int(a[i]))
                    done, step = term or trunc, info["step"]
                assert np.array_equal(o, got[t][0][i]), (i, t)
                assert (r, done, step) == (got[t][1][i], got[t][2][i], got[t][3][i]), (i, t)
                ended = done
        finally:
            env.close()


def _oracle_indices(task: str, seed: int) -> list[int]:
    """The discrete table indices that solve ``task`` (seed ``seed``), found on a plain env."""
    from embodied.actions import Action
    from embodied.planning import expand_step

    env = EmbodiedGymEnv(task, **KW)
    try:
        env.reset(seed=seed)
        w, aid, out = env.env.world, env.env.agent_id, []
        for step in env.env.verdict.plan:
            for a in expand_step(w, aid, step):
                a = a if isinstance(a, Action) else Action(a)
                out.append(env.action_table.index(Action(a.name, tuple(a.args))))
                if env.step(out[-1])[2]:
                    return out
        raise AssertionError(f"the oracle's plan did not solve {task}")
    finally:
        env.close()


@pytest.mark.parametrize("render_threads, parts", [(1, 0), (2, 0), (1, 2)])
def test_pipelined_lanes_give_plain_env_trajectories_pixel_for_pixel(render_threads, parts):
    """5 envs on 2 engines (4 + 1), the 4 in pipelined requests (one per env on a one-thread
    engine, 2 + 2 on an engine drawing on two threads; or 1 + 3 with ``parts`` 2, the 3 in one
    request of several scenes, compact once registered): every observation, reward,
    termination, truncation and cheap info entry equals that of plain envs stepped one by one with
    the same seeds and actions (NEXT_STEP autoreset replayed by hand); env 0 plays the oracle's
    solution (pick up, unlock, open: state changes, success), the others random table actions
    (interactions that fail, Done); returned frames stay as they were after later steps."""
    task, n, steps = "escape/key-door", 5, 40
    rng = np.random.default_rng(1)
    acts = rng.integers(0, 16, size=(steps, n))
    solve = _oracle_indices(task, 0)
    acts[: len(solve), 0] = solve
    cap = len(solve) + 2  # the oracle's env succeeds, random ones end by Done or by this cap
    vec = embodied.make_vec(task, n, engine_per=4, max_steps=cap, render_threads=render_threads, **KW)
    try:
        assert vec._lanes == ([[0, 4], [1], [2], [3]] if render_threads == 1 else [[0, 1, 4], [2, 3]])
        if parts:
            vec._lanes = _lanes(n, 4, parts)
            assert vec._lanes == [[0, 4], [1, 2, 3]]
        # one env of an engine per part: each request leaves as soon as its env queues it
        assert vec._batcher.eager == (render_threads == 1 and not parts)
        sent: list[int] = []  # the shape ids of compact requests of several scenes
        fast = vec.engines[0]._fast
        send = fast.send_compact
        fast.send_compact = lambda sid, poses: (sent.append(len(poses) // 48), send(sid, poses))[1]
        obs, infos = vec.reset(seed=0)
        got = [(obs, None, None, None, infos)]
        for a in acts:
            got.append(vec.step(a))
            assert got[-1][0] is not got[-2][0]  # a new array each step: earlier ones stay valid
        keys = [k for k in infos if not k.startswith("_")]
        assert "step" in keys and "agent" in keys
        # (poses of several scenes in one compact request: the parts of 2 or 3 envs went compact)
        assert sum(c > 1 for c in sent) >= (steps // 2 if parts or render_threads == 2 else 0)
    finally:
        vec.close()
    assert any(g[1] is not None and g[1][0] >= 1.0 for g in got)  # the oracle's env succeeded
    assert any(g[2] is not None and g[3].any() for g in got)  # some env ran out of steps
    engine = embodied.launch()
    try:
        for i in range(n):
            env = EmbodiedGymEnv(task, engine=engine, max_steps=cap, **KW)
            o, info = env.reset(seed=i)
            assert np.array_equal(o, got[0][0][i])
            ended = False
            for t, a in enumerate(acts, start=1):
                if ended:
                    o, info = env.reset()
                    r, term, trunc = 0.0, False, False
                else:
                    o, r, term, trunc, info = env.step(int(a[i]))
                obs_t, rew_t, term_t, trunc_t, infos_t = got[t]
                assert np.array_equal(o, obs_t[i]), (i, t)
                assert (r, term, trunc) == (rew_t[i], term_t[i], trunc_t[i]), (i, t)
                for k in keys:
                    want, have = info[k], infos_t[k]
                    if isinstance(want, dict):
                        assert want == {kk: have[kk][i] for kk in want}, (i, t, k)
                    else:
                        assert want == have[i] and infos_t["_" + k][i], (i, t, k)
                ended = term or trunc
            env.close()
    finally:
        engine.close()


def test_all_info_keys_engine_restart_and_bad_arguments():
    vec = embodied.make_vec("escape/key-door", 2, engine_per=2, info_keys="all", **KW)
    try:
        vec.reset(seed=0)
        first, _, _, _, infos = vec.step(np.array([4, 5]))  # RotateLeft, RotateRight
        first = first.copy()
        assert len(infos["objects"]) == 2 and infos["objects"][0][0]["objectId"]
        assert "Done" in infos["allowed_actions"][1]
        vec.step(np.array([4, 4]))
        old = vec.engines[0].process
        os.kill(old.pid, signal.SIGKILL)
        old.wait(10)
        obs, _, _, _, infos = vec.step(np.array([5, 5]))  # the engine is restarted, the step goes on
        assert vec.engine_restarts == 1 and vec.engines[0].process.pid != old.pid
        assert np.array_equal(obs, first)  # turned back: the same views, rendered by the new engine
        assert list(infos["step"]) == [3, 3]
    finally:
        vec.close()
    bad = ({"engine_per": 0}, {"info_keys": 3}, {"engine": "unity"}, {"engine": vec}, {"render_threads": 3})
    for kw in bad:
        with pytest.raises(ConfigError, match=r"engine_per|info_keys|'panda3d', 'inprocess'|render_threads"):
            embodied.make_vec("escape/key-door", 2, **kw)
    with pytest.raises(ConfigError):
        embodied.make_vec("escape/key-door", 0)


def test_a_failed_step_leaves_no_trace_while_a_request_is_on_its_way():
    """A bad action in the third lane raises after the first lanes' requests went out: every env's
    step is rolled back, the late answer is dropped, and the next step gives plain envs' frames."""
    from embodied.errors import ActionError

    vec = embodied.make_vec("escape/key-door", 4, engine_per=4, **KW)
    try:
        vec.reset(seed=0)
        assert vec._lanes == [[0], [1], [2], [3]]
        with pytest.raises(ActionError):
            vec.step(np.array([0, 4, 99, 5]))
        obs, _, _, _, infos = vec.step(np.array([0, 4, 4, 5]))
        assert list(infos["step"]) == [1, 1, 1, 1]
    finally:
        vec.close()
    engine = embodied.launch()
    try:
        for i, a in enumerate([0, 4, 4, 5]):
            env = EmbodiedGymEnv("escape/key-door", engine=engine, **KW)
            env.reset(seed=i)
            assert np.array_equal(env.step(a)[0], obs[i]), i
            env.close()
    finally:
        engine.close()


def test_in_process_vector_env_steps_like_engine_processes():
    """make_vec(engine="inprocess"): every env's scene on this process's renderer, one batched
    request per step; the same observations and returns as envs on an engine process."""
    acts = np.random.default_rng(1).integers(0, 16, size=(6, 3))  # (every table action: interactions too)
    runs = []
    for engine in ("inprocess", "panda3d"):
        vec = embodied.make_vec("escape/key-door", 3, engine_per=3, engine=engine, max_steps=4, **KW)
        try:
            assert all(
                e.frame_transport == ("inprocess" if engine == "inprocess" else "shm") for e in vec.engines
            )
            obs, _ = vec.reset(seed=0)
            out = [obs.copy()]
            for a in acts:
                obs, rew, term, trunc, infos = vec.step(a)
                out += [obs.copy(), rew.copy(), term | trunc, infos["step"].copy()]
        finally:
            vec.close()
        runs.append(out)
    for x, y in zip(*runs):
        assert np.array_equal(x, y)


@pytest.mark.parametrize("engine_kind", ["panda3d", "inprocess"])
def test_one_request_for_several_scenes_gives_each_scenes_own_frames(engine_kind):
    """One render request naming several scenes (drawn in one Panda3D frame, the id pass in one
    more; a two-agent scene takes a second round) gives, scene by scene, exactly the rgb, depth
    and seg arrays of rendering each scene on its own, also at different frame sizes."""
    from embodied.env import Env

    engine = embodied.launch(engine=engine_kind)
    envs = []
    try:
        for scene, (w, h) in [("key_door", (40, 32)), ("collab_split", (40, 32)), ("note_code", (24, 20))]:
            env = Env(scene, engine=engine, width=w, height=h)
            env.reset(seed=1)
            env.step_all({aid: "RotateLeft" for aid in env.world.agent_ids})
            envs.append(env)
        assert len(envs[1].world.agent_ids) == 2
        mods = ["rgb", "depth", "seg"]
        items = [
            (
                e.scene,
                {"agents": list(e.world.agent_ids), "cameras": [e.camera(a) for a in e.world.agent_ids]},
            )
            for e in envs
        ]
        for _ in range(2):  # (the second time the buffers exist already)
            together = engine.render_many(items, mods)()
            for (sc, fields), got in zip(items, together):
                alone = sc.render(fields["agents"], mods)
                assert sorted(got) == sorted(alone) == sorted(fields["agents"])
                for a in alone:
                    for m in mods:
                        assert got[a][m].shape == alone[a][m].shape
                        assert np.array_equal(got[a][m], alone[a][m]), (sc, a, m)
                assert (got[fields["agents"][0]]["seg"] > 0).any()
    finally:
        for env in envs:
            env.close()
        engine.close()


@pytest.mark.parametrize("script", ["vec_scaling.py", "vec_timeline.py"])
def test_vec_benchmarks_say_an_unknown_task_in_one_line(script):
    import subprocess
    import sys

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks", script)
    run = subprocess.run(
        [sys.executable, path, "--task", "nope"], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 2, run.stderr
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert run.stderr.startswith(f"{script}: error: ") and "'nope'" in run.stderr
