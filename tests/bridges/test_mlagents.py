"""The Unity bridge end to end: the genuine ``mlagents_envs`` client (``UnityEnvironment``) against
``embodied-unity-player`` (real processes, real gRPC), the env on engine="unity", the wrappers.
No mocks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

pytest.importorskip("mlagents_envs")
from embodied.bridges.mlagents.backend import UnityEngine, player_path
from embodied.bridges.mlagents.channel import scene_channel
from embodied.bridges.mlagents.environment import open_unity
from embodied.bridges.mlagents.wrappers import UnityGymEnv, UnityParallelEnv
from mlagents_envs.base_env import ActionTuple
from mlagents_envs.exception import UnityEnvironmentException

from embodied.env import Env
from embodied.errors import EngineError
from tests.bridges.net import outside_address, reachable
from tests.helpers import oracle_steps

SMALL = ["--width", "64", "--height", "48"]


def _gone(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(")")[-1].split()[0] == "Z":
                    return True
        except (ProcessLookupError, FileNotFoundError):
            return True
        time.sleep(0.05)
    return False


def test_genuine_client_reset_step_side_channel_close(tmp_path):
    ch = scene_channel()
    env = open_unity(
        player_path(), side_channels=[ch], timeout_wait=60, log_folder=str(tmp_path), additional_args=SMALL
    )
    pid = env._process.pid
    try:
        assert reachable("127.0.0.1", env._port)
        outside = outside_address()
        if outside:  # the trainer's gRPC server listens on 127.0.0.1 only (the stock one: every interface)
            assert not reachable(outside, env._port)
        env.reset()
        (behavior,) = env.behavior_specs
        spec = env.behavior_specs[behavior]
        assert behavior == "Embodied?team=0"
        assert spec.observation_specs[0].shape == (48, 64, 3) and len(spec.action_spec.discrete_branches) == 1
        done = spec.action_spec.discrete_branches[0] - 1  # the fixed action table ends with Done
        decision, terminal = env.get_steps(behavior)
        assert len(decision) == 1 and len(terminal) == 0
        assert list(~decision.action_mask[0][0][:9]) == [True] * 9 and not decision.action_mask[0][0][done]
        assert decision.obs[0].shape == (1, 48, 64, 3) and 0 < decision.obs[0].mean() < 1
        first_id = int(decision.agent_id[0])
        rid = ch.request("info")
        env.set_actions(behavior, ActionTuple(discrete=np.array([[4]], np.int32)))  # RotateLeft
        env.step()
        step_event = ch.replies[0]["info"]["a0"]
        assert step_event["action"] == "RotateLeft" and step_event["lastActionSuccess"]
        assert ch.replies[rid]["ok"]
        assert ch.request("bogus") and (env.step() or True)
        assert not ch.replies[max(ch.replies)]["ok"] and "unknown op" in ch.replies[max(ch.replies)]["error"]
        # Done ends the episode: a terminal step, and the next episode with a new agent id
        decision, _ = env.get_steps(behavior)
        env.set_actions(behavior, ActionTuple(discrete=np.array([[done]], np.int32)))
        env.step()
        decision, terminal = env.get_steps(behavior)
        assert list(terminal.agent_id) == [first_id] and not terminal.interrupted[0]
        assert len(decision) == 1 and int(decision.agent_id[0]) != first_id
        ch.request("set_scene", scene="escape/note-code")  # a side-channel round trip that changes the world
        env.reset()
        assert ch.replies[max(ch.replies)]["ok"]
    finally:
        env.close()
    assert _gone(pid)  # status 400 ends the player
    log = (tmp_path / "Player-0.log").read_text()
    assert "closed by the trainer (status 400)" in log


def test_gymnasium_and_pettingzoo_wrappers(capfd, caplog):
    gym_env = UnityGymEnv(open_unity(player_path(), timeout_wait=60, additional_args=SMALL))
    try:
        obs, info = gym_env.reset()
        assert gym_env.observation_space.contains(obs) and obs.dtype == np.uint8
        done = gym_env.action_space.n - 1  # Done ends the fixed action table
        assert info["action_mask"][:9].all() and info["action_mask"][done]
        obs, _rew, term, trunc, info = gym_env.step(0)
        assert obs.shape == (48, 64, 3) and not term and not trunc
        _obs, _rew, term, trunc, _info = gym_env.step(done)
        assert term and not trunc
    finally:
        gym_env.close()

    par = UnityParallelEnv(
        open_unity(
            player_path(), timeout_wait=60, additional_args=[*SMALL, "--scene", "collab/split-knowledge"]
        )
    )
    try:
        obs, infos = par.reset()
        assert all(i["action_mask"][:9].all() for i in infos.values())  # navigation is always offered
        assert par.agents == ["Embodied_0", "Embodied_1"] and all(
            o.shape == (48, 64, 3) for o in obs.values()
        )
        steps = 0
        while par.agents and steps < 5:  # a multi-agent episode: both act every step, then both say Done
            acts = {a: (0 if steps < 2 else par.action_space(a).n - 1) for a in par.agents}
            obs, _rew, term, _trunc, _infos = par.step(acts)
            steps += 1
        assert steps == 3 and all(term.values()) and not par.agents
    finally:
        par.close()
    # open_unity listens on the player's channel: its step events are not 'unknown' every step
    out, err = capfd.readouterr()
    assert "Unknown side channel" not in out + err + caplog.text


def test_env_parity_and_engine_unity_and_a_crashed_player():
    runs = {}
    for engine in ("panda3d", "unity"):
        with Env(
            "note_code", engine=engine, width=80, height=60, modalities=("rgb", "depth", "segmentation")
        ) as env:
            runs[engine] = [(str(a), env.get_state(), o, i["success"]) for a, o, i in oracle_steps(env)]
            if engine == "unity":
                eng = env.engine
                assert isinstance(eng, UnityEngine) and eng.hello()["engine"] == "unity"
                pid = eng.process.pid
                os.kill(pid, signal.SIGKILL)  # a crashed player is reported with its log and exit code
                with pytest.raises(EngineError, match=r"(?s)player-.*\.log.*exited with code -9.*Likely fix"):
                    eng.render(["a0"], ["rgb"])
    assert _gone(pid)  # and nothing is left behind
    a, b = runs["panda3d"], runs["unity"]
    assert len(a) == len(b) > 10 and a[-1][3] and b[-1][3]
    for (act_a, st_a, obs_a, _), (act_b, st_b, obs_b, _) in zip(a, b):
        assert act_a == act_b and st_a == st_b
        for m in ("rgb", "depth", "segmentation"):
            assert obs_a[m].shape == obs_b[m].shape and np.array_equal(obs_a[m], obs_b[m])


FOUR = textwrap.dedent(
    """
    import sys, numpy as np
    from mlagents_envs.base_env import ActionTuple
    from embodied.bridges.mlagents.backend import player_path
    from embodied.bridges.mlagents.environment import open_unity
    env = open_unity(player_path(), timeout_wait=120, additional_args=["--width", "32", "--height", "24"])
    env.reset()
    (b,) = env.behavior_specs
    for _ in range(3):
        env.set_actions(b, ActionTuple(discrete=np.array([[5]], np.int32)))
        env.step()
    print("PORT", env._port, env._process.pid, flush=True)
    env.close()
    """
)


@pytest.mark.slow
def test_four_players_from_four_processes_at_once():
    procs = [
        subprocess.Popen([sys.executable, "-c", FOUR], stdout=subprocess.PIPE, text=True) for _ in range(4)
    ]
    outs = [p.communicate(timeout=240)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outs
    ports = [line.split()[1] for o in outs for line in o.splitlines() if line.startswith("PORT")]
    pids = [int(line.split()[2]) for o in outs for line in o.splitlines() if line.startswith("PORT")]
    assert len(set(ports)) == 4
    assert all(_gone(p) for p in pids)


def test_unknown_build_and_bad_host_are_clear_errors(tmp_path):
    import embodied

    with pytest.raises(EngineError, match="cannot start the Unity player"):
        embodied.launch(engine="unity", build=str(tmp_path / "NoSuchGame"), timeout=5)
    with pytest.raises(EngineError, match=r"listens on 127\.0\.0\.1 only"):
        embodied.launch(engine="unity", host="0.0.0.0")
    with pytest.raises(UnityEnvironmentException):
        open_unity(str(tmp_path / "missing.x86_64"), timeout_wait=5)


@pytest.mark.slow
def test_a_code_puzzle_solved_through_discrete_actions():
    """The oracle's plan, as indices of the fixed action table, solves a code-locked room in the
    player: EnterCode types the code the agent read."""
    from embodied.bridges.mlagents.local_engine import LocalEngine
    from embodied.bridges.mlagents.player import _key

    from embodied.actions import parse_canonical
    from embodied.adapters.discrete import build_table

    with LocalEngine() as eng, Env("note_code", engine=eng, width=32, height=24) as env:
        plan = [a if hasattr(a, "name") else parse_canonical(str(a)) for a, _o, _i in oracle_steps(env)]
        table = [_key(a) for a in build_table(env.world, "a0")]
    indices = [table.index(_key(a)) for a in plan]
    assert any(str(a).startswith("EnterCode") for a in plan)
    unity = open_unity(player_path(), timeout_wait=60, additional_args=[*SMALL, "--scene", "note_code"])
    try:
        unity.reset()
        (b,) = unity.behavior_specs
        for k in indices:
            unity.set_actions(b, ActionTuple(discrete=np.array([[k]], np.int32)))
            unity.step()
        _decision, terminal = unity.get_steps(b)
        assert len(terminal) == 1 and terminal.reward[0] >= 1.0 and not terminal.interrupted[0]
    finally:
        unity.close()


CLOSE_QUIETLY = """
import shutil, embodied
from embodied.bridges.mlagents.environment import open_unity
for _ in range(2):
    env = embodied.make("key_door", engine="unity", width=48, height=32)
    env.reset()
    env.step("RotateLeft")
    env.close()
    uenv = open_unity(shutil.which("embodied-unity-player"), additional_args=["--width", "48", "--height", "32"])
    uenv.reset()
    uenv.step()
    uenv.close()
print("closed")
"""


def test_closing_is_quiet_on_the_users_terminal():
    """Closing used to print gRPC's 'Got goaway' (the player's expected end, logged at INFO level
    by gRPC's core to the terminal) on about half the closes; the player now shows gRPC errors only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRPC_")}
    r = subprocess.run(
        [sys.executable, "-c", CLOSE_QUIETLY], capture_output=True, text=True, timeout=240, env=env
    )
    assert r.returncode == 0 and r.stdout.strip() == "closed", r.stderr
    assert "goaway" not in r.stderr.lower() and "chttp2" not in r.stderr, r.stderr
