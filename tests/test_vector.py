"""make_vec: n envs batched over engines give exactly the frames and returns of n plain envs."""

import os
import signal

import numpy as np
import pytest

import embodied
from embodied.adapters.gym import EmbodiedGymEnv
from embodied.errors import ConfigError

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
    for kw in ({"engine_per": 0}, {"info_keys": 3}, {"engine": "panda3d"}):
        with pytest.raises(ConfigError):
            embodied.make_vec("escape/key-door", 2, **kw)
    with pytest.raises(ConfigError):
        embodied.make_vec("escape/key-door", 0)
