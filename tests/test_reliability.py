"""Faults injected into real engine processes: kills at every step index, SIGSTOP (watchdog),
a kill during recovery, a shared engine dying mid-step (rollback), and set_state validation.

On the previous main: a kill left the first frame after the restart a few pixels off (reload
from state drew coplanar faces in another order), a second kill during the reload raised, a
SIGSTOPped engine blocked for the whole per-call timeout, a failed step left the world advanced
(a retry applied the action twice), and set_state accepted NaN and agents inside walls.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import time

import numpy as np
import pytest

import embodied.env as env_mod
from embodied.env import Env
from embodied.errors import StateError, StepRolledBack

from .helpers import oracle_steps

SIZE = 64


@pytest.fixture(scope="module")
def shared():
    import embodied

    with embodied.launch() as eng:
        yield eng


def _episode(scene="key_door", engine="panda3d"):
    """The oracle's actions and the uninterrupted frames (first = reset)."""
    with Env(scene, engine=engine, width=SIZE, height=SIZE) as env:
        obs, _ = env.reset()
        frames, acts = [obs["rgb"].copy()], []
        for act, obs, _info in oracle_steps(env):
            acts.append(act)
            frames.append(obs["rgb"].copy())
    return acts, frames


@pytest.fixture(scope="module")
def episode(shared):
    return _episode("key_door", shared)


def _kill(env):
    pid = env.engine.process.pid
    os.kill(pid, signal.SIGKILL)
    env.engine.process.wait(5)
    return pid


def _run_with_kills(env, acts, frames, kill_at):
    """Step through ``acts``, SIGKILLing the engine before the steps in ``kill_at``; every frame must
    equal the uninterrupted run's, and no transition may be lost or applied twice."""
    obs, _ = env.reset()
    assert np.array_equal(obs["rgb"], frames[0])
    for i, act in enumerate(acts):
        if i in kill_at:
            _kill(env)
        obs, _r, _term, _trunc, info = env.step(act)
        assert info["step"] == i + 1, "a transition was lost or duplicated"
        assert np.array_equal(obs["rgb"], frames[i + 1]), f"frame after step {i} (kill at {sorted(kill_at)})"
    assert info["success"]


def test_kills_at_step_indices_and_during_recovery_lose_nothing(monkeypatch, episode):
    acts, frames = episode
    real_launch = env_mod.launch
    kills = []

    def launch_then_kill_once(**kw):  # the first replacement engine dies while the scene reloads
        eng = real_launch(**kw)
        if not kills:
            kills.append(eng.process.pid)
            os.kill(eng.process.pid, signal.SIGKILL)
        return eng

    with Env("key_door", width=SIZE, height=SIZE) as env:
        _run_with_kills(env, acts, frames, {0, len(acts) - 1})
        assert env.engine_restarts == 2 and env.engine_faults["crash"] == 2
        monkeypatch.setattr(env_mod, "launch", launch_then_kill_once)
        _run_with_kills(env, acts, frames, {3})
        assert len(kills) == 1 and env.engine_restarts == 4 and env.engine_faults["crash"] == 3


@pytest.mark.slow
@pytest.mark.parametrize("scene", ["key_door", "chest_split_code"])
def test_kill_at_every_step_index_renders_identically(scene):
    acts, frames = _episode(scene)
    with Env(scene, width=SIZE, height=SIZE) as env:
        for k in range(len(acts)):
            _run_with_kills(env, acts, frames, {k})
        assert env.engine_restarts == len(acts)


def _resume_and_kill(pid: int) -> None:
    """Never leave a SIGSTOPped engine behind (a killed pytest run is covered by the engine's
    parent-death signal)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stopped = f.read().rsplit(")", 1)[-1].split()[0] in "Tt"
    except OSError:  # gone (or no /proc): nothing to do
        return
    if stopped:  # still ours, still stopped: the watchdog did not get to it
        for sig in (signal.SIGCONT, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)


def test_sigstop_is_detected_by_the_watchdog_and_restored(caplog, episode, request):
    acts, frames = episode
    with Env("key_door", width=SIZE, height=SIZE, engine_timeout=60) as env:
        env.reset()
        for act in acts[:4]:
            env.step(act)
        stopped = env.engine.process.pid
        os.kill(stopped, signal.SIGSTOP)
        request.addfinalizer(lambda: _resume_and_kill(stopped))  # whatever fails below
        limit = env.engine.heartbeat_timeout  # (1.5 s; the per-call timeout is 60 s)
        t0 = time.time()
        with caplog.at_level(logging.WARNING, logger="embodied.env"):
            obs, *_, info = env.step(acts[4])
        took = time.time() - t0
        assert env.engine_faults["hang"] == 1 and info["engine_faults"]["hang"] == 1
        # Detected when the env said so, before it restarted the engine (the restart's few seconds
        # grow with the load: 10 s once at load 15): within the heartbeat limit, a beat period
        # (0.2 s) and a poll (0.25 s), plus 2 s for a loaded machine - far from the 60 s timeout.
        said = next(r for r in caplog.records if "hang" in r.message)
        assert said.created - t0 < limit + 0.2 + 0.25 + 2.0, (said.created - t0, took)
        assert took < 60 / 2, took  # the restart too: not a timeout
        assert np.array_equal(obs["rgb"], frames[5]) and info["step"] == 5
        assert any("hang" in r.message for r in caplog.records)
        with pytest.raises(ProcessLookupError):  # the hung engine was killed, not left behind
            for _ in range(50):
                os.kill(stopped, 0)
                time.sleep(0.05)


def test_failed_step_on_a_shared_engine_is_rolled_back():
    import embodied

    eng = embodied.launch()
    env = Env("key_door", engine=eng, width=SIZE, height=SIZE)
    env.reset()
    env.step("MoveAhead")
    before = env.get_state()
    _kill(env)
    with pytest.raises(StepRolledBack, match="rolled back"):
        env.step("MoveAhead")
    assert env.get_state() == before  # nothing advanced: retrying applies the action once
    eng.close()


def test_set_state_validates_everything_before_replacing(shared):
    with Env("key_door", engine=shared, width=SIZE, height=SIZE) as env:
        env.reset()
        env.step("MoveAhead")
        good = env.get_state()

        def broken(edit):
            s = env.get_state()
            edit(s["world"])
            return s

        a0 = next(iter(good["world"]["agents"]))
        wall = env.world.layout.walls[0]
        cases = {
            "nan": broken(lambda w: w["agents"][a0].__setitem__("x", math.nan)),
            "inside a wall": broken(
                lambda w: w["agents"][a0].update(x=(wall.x0 + wall.x1) / 2, y=(wall.y0 + wall.y1) / 2)
            ),
            "missing key": broken(lambda w: w["objects"][next(iter(w["objects"]))].pop("loc")),
            "unknown object": broken(lambda w: w["agents"][a0]["inventory"].append("ghost")),
            "bad loc": broken(
                lambda w: w["objects"][next(iter(w["objects"]))].__setitem__("loc", ["in", None])
            ),
            "huge text": broken(lambda w: w["said"].append([a0, "x" * 100_000, 1])),
            "not a dict": broken(lambda w: w.__setitem__("doors", [])),
        }
        for name, bad in cases.items():
            with pytest.raises(StateError) as err:
                env.set_state(bad)
            assert len(str(err.value)) < 2000, name
            assert env.get_state() == good, f"{name}: state was replaced"
        for bad in ({"world": good["world"]}, {**good, "reached": [99]}, {**good, "done": "yes"}, None):
            with pytest.raises(StateError):
                env.set_state(bad)
        env.set_state(good)
        assert env.get_state() == good


def test_states_of_real_episodes_pass_validation(shared):
    from embodied.state_check import check_state

    for scene in ("note_code", "kitchen_put"):
        with Env(scene, engine=shared, width=32, height=32) as env:
            for _act, _obs, _info in oracle_steps(env):
                check_state(env.world, env.world.get_state())
