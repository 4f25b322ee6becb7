"""Scene handles: envs sharing one engine each have their own scene (docs/protocol.md).

On protocol 1 every env on a shared engine replaced the one scene: these tests failed there
(A's next frame after C's reset showed C's scene; A's frames showed B opening the chest).
"""

import numpy as np
import pytest

import embodied
from embodied.env import Env

from .helpers import oracle_steps


@pytest.fixture(scope="module")
def engine():
    with embodied.launch() as client:
        yield client


def _oracle_actions(scene, engine):
    env = Env(scene, engine=engine, width=96, height=96)
    acts = [a for a, _o, _i in oracle_steps(env)]
    env.close()
    return acts


def _frames(env, actions, between=None):
    obs, _ = env.reset()
    out = [obs["rgb"].copy()]
    for i, act in enumerate(actions):
        if between is not None:
            between(i)
        obs, *_ = env.step(act)
        out.append(obs["rgb"].copy())
    return out


def test_different_scenes_on_one_engine_give_their_own_frames(engine):
    acts_a = _oracle_actions("key_door", engine)[:12]
    acts_c = _oracle_actions("note_code", engine)[:12]
    alone_a = _frames(Env("key_door", engine=engine, width=96, height=96), acts_a)
    alone_c = _frames(Env("note_code", engine=engine, width=96, height=96), acts_c)
    a = Env("key_door", engine=engine, width=96, height=96)
    c = Env("note_code", engine=engine, width=96, height=96)
    c.reset()
    got_c = []

    def c_acts(i):  # C resets and steps between every step of A
        if i % 3 == 0:
            obs, _ = c.reset()
            got_c.clear()
            got_c.append(obs["rgb"].copy())
            for act in acts_c[:i]:
                got_c.append(c.step(act)[0]["rgb"].copy())
        else:
            c.step("RotateLeft")
            c.step("RotateRight")

    got_a = _frames(a, acts_a, between=c_acts)
    assert len(got_a) == len(alone_a)
    for k, (x, y) in enumerate(zip(got_a, alone_a)):
        assert np.array_equal(x, y), f"key_door frame {k} differs when note_code shares the engine"
    for k, (x, y) in enumerate(zip(got_c, alone_c)):
        assert np.array_equal(x, y), f"note_code frame {k} differs when key_door shares the engine"
    assert not np.array_equal(alone_a[0], alone_c[0])  # the scenes do look different
    a.close(), c.close()


def test_same_scene_in_two_envs_do_not_see_each_other(engine):
    acts = _oracle_actions("chest_split_code", engine)
    quiet = Env("chest_split_code", engine=engine, width=96, height=96)
    busy = Env("chest_split_code", engine=engine, width=96, height=96)
    first, _ = quiet.reset()
    first = first["rgb"].copy()
    busy.reset()
    opened = False
    for act in acts:  # busy walks to the chest, opens it, takes the key ...
        _o, _r, term, _t, info = busy.step(act)
        opened |= str(act).startswith("Open(") and info["lastActionSuccess"]
        obs, *_ = quiet.step("RotateLeft")
        obs, *_ = quiet.step("RotateRight")  # ... while quiet turns back to where it started
        assert np.array_equal(obs["rgb"], first), f"quiet env saw {act}"
        if term:
            break
    assert opened
    quiet.close(), busy.close()


def test_closed_env_frees_its_scene(engine):
    before = engine.hello()["scenes"]
    envs = [Env("key_door", engine=engine, width=64, height=64) for _ in range(3)]
    for e in envs:
        e.reset()
    assert engine.hello()["scenes"] == before + 3
    for e in envs:
        e.close()
    assert engine.hello()["scenes"] == before
