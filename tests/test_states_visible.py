"""Contract: in every shipped scene, every successful action that changes an object's (or a
door's) state changes the frame of the agent who did it, who is looking at that object."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import embodied
from embodied.agents import make_agent
from embodied.env import Env
from embodied.spec import shipped_scenes


@pytest.fixture(scope="module")
def engine():
    with embodied.launch() as client:
        yield client


def _things(env) -> dict:
    """Objects' and doors' states (not agents', not bookkeeping), deep-copied."""
    w = copy.deepcopy(env.get_state()["world"])
    objs = {k: {f: v for f, v in o.items() if f != "seen"} for k, o in w["objects"].items()}
    return {"objects": objs, "doors": w["doors"]}


@pytest.mark.parametrize("scene", shipped_scenes())
def test_every_state_change_is_visible(engine, scene):
    with Env(scene, engine=engine, width=160, height=120) as env:
        obs, infos = env.reset_all()
        ids = list(obs)
        agents = {}
        for aid in ids:
            agents[aid] = make_agent("oracle")
            agents[aid].agent_id = aid
            agents[aid].reset(env)
        before = _things(env)
        changed = 0
        for _ in range(400):
            actions = {aid: agents[aid].act(obs[aid], infos[aid]) for aid in ids}
            new_obs, _r, term, trunc, infos = env.step_all(actions)
            after = _things(env)
            if after != before:
                for aid in ids:  # every agent whose own action succeeded and changed the world
                    i = infos[aid]
                    if i["lastActionSuccess"] and i["action"].split("(")[0] not in ("Pass", "Say", "Done"):
                        changed += 1
                        assert not np.array_equal(obs[aid]["rgb"], new_obs[aid]["rgb"]), (
                            f"{scene}: {aid}'s '{i['action']}' changed the world but not {aid}'s frame"
                        )
            obs, before = new_obs, after
            if term or trunc:
                break
        assert changed >= 1 or scene == "two_rooms", f"{scene}: no state-changing step was checked"
