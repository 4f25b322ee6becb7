"""Gymnasium and PettingZoo wrappers for any ML-Agents environment (``UnityEnvironment`` 0.28;
gym-unity 0.28 is unusable with current Gymnasium).

- :class:`UnityGymEnv`: one behavior with one agent -> ``gymnasium.Env``. Visual observations
  become uint8 (H, W, C) (``uint8_visual=False`` keeps ML-Agents' float32 0..1); one discrete
  branch is ``Discrete``, several ``MultiDiscrete``, continuous actions ``Box(-1, 1)``.
  ``terminated`` when the agent's episode ended, ``truncated`` when it was interrupted (step
  budget); ``info["action_mask"]`` holds the allowed discrete actions (True = allowed).
- :class:`UnityParallelEnv`: every agent of every behavior -> ``pettingzoo.ParallelEnv``; agents are
  named ``<behavior>_<k>`` by their order at reset (ML-Agents gives a new agent id each episode).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from embodied.errors import ConfigError


def _obs_space(spec, uint8_visual: bool) -> spaces.Space:
    out = []
    for o in spec.observation_specs:
        if len(o.shape) == 3 and uint8_visual:
            out.append(spaces.Box(0, 255, tuple(o.shape), np.uint8))
        else:
            out.append(spaces.Box(-np.inf, np.inf, tuple(o.shape), np.float32))
    return out[0] if len(out) == 1 else spaces.Tuple(out)


def _act_space(spec) -> spaces.Space:
    a = spec.action_spec
    if a.continuous_size and a.discrete_size:
        raise ConfigError(
            "hybrid (continuous + discrete) actions have no Gymnasium space here; use mlagents_envs directly"
        )
    if a.continuous_size:
        return spaces.Box(-1.0, 1.0, (a.continuous_size,), np.float32)
    if len(a.discrete_branches) == 1:
        return spaces.Discrete(a.discrete_branches[0])
    return spaces.MultiDiscrete(list(a.discrete_branches))


def _convert(obs_list, k: int, uint8_visual: bool):
    out = []
    for o in obs_list:
        x = o[k]
        if x.ndim == 3 and uint8_visual:
            x = np.rint(x * 255.0).astype(np.uint8)
        out.append(x)
    return out[0] if len(out) == 1 else tuple(out)


def _action_tuple(spec, actions: list):
    from mlagents_envs.base_env import ActionTuple

    a = spec.action_spec
    if a.continuous_size:
        return ActionTuple(
            continuous=np.asarray(actions, np.float32).reshape(len(actions), a.continuous_size)
        )
    return ActionTuple(discrete=np.asarray(actions, np.int32).reshape(len(actions), len(a.discrete_branches)))


def _mask(steps, k: int):
    if steps.action_mask is None:
        return None
    return np.concatenate([~m[k] for m in steps.action_mask])


class UnityGymEnv(gym.Env):
    """A single-agent ML-Agents environment as a Gymnasium env (see the module docstring)."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, unity_env, behavior: str | None = None, uint8_visual: bool = True):
        self.unity = unity_env
        self.unity.reset()
        names = list(self.unity.behavior_specs)
        if behavior is None:
            if len(names) != 1:
                raise ConfigError(f"the environment has behaviors {names}; pass behavior= one of them")
            behavior = names[0]
        self.behavior, self.uint8_visual = behavior, uint8_visual
        self.spec_ = self.unity.behavior_specs[behavior]
        self.observation_space = _obs_space(self.spec_, uint8_visual)
        self.action_space = _act_space(self.spec_)
        self._last = None

    def _single(self, steps) -> None:
        if len(steps) != 1:
            raise ConfigError(
                f"behavior {self.behavior!r} has {len(steps)} agents; use UnityParallelEnv for several"
            )

    def reset(self, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.unity.reset()
        decision, _ = self.unity.get_steps(self.behavior)
        self._single(decision)
        self._last = _convert(decision.obs, 0, self.uint8_visual)
        return self._last, {"action_mask": _mask(decision, 0), "agent_id": int(decision.agent_id[0])}

    def step(self, action):
        self.unity.set_actions(self.behavior, _action_tuple(self.spec_, [action]))
        self.unity.step()
        decision, terminal = self.unity.get_steps(self.behavior)
        if len(terminal) > 0:
            obs = _convert(terminal.obs, 0, self.uint8_visual)
            interrupted = bool(terminal.interrupted[0])
            info: dict[str, Any] = {"agent_id": int(terminal.agent_id[0])}
            self._last = obs
            return obs, float(terminal.reward[0]), not interrupted, interrupted, info
        self._single(decision)
        self._last = _convert(decision.obs, 0, self.uint8_visual)
        info = {"action_mask": _mask(decision, 0), "agent_id": int(decision.agent_id[0])}
        return self._last, float(decision.reward[0]), False, False, info

    def render(self):
        return self._last if isinstance(self._last, np.ndarray) and self._last.ndim == 3 else None

    def close(self) -> None:
        self.unity.close()


class UnityParallelEnv(ParallelEnv):
    """Every agent of an ML-Agents environment as a PettingZoo ``ParallelEnv``."""

    metadata = {"render_modes": [], "name": "mlagents_parallel_v0"}

    def __init__(self, unity_env, uint8_visual: bool = True):
        self.unity, self.uint8_visual = unity_env, uint8_visual
        self.unity.reset()
        self.specs = dict(self.unity.behavior_specs)
        self._ids: dict[str, tuple[str, int]] = {}
        self._names_at_reset()
        self.possible_agents = list(self._ids)
        self.agents = list(self.possible_agents)
        self.observation_spaces = {
            a: _obs_space(self.specs[self._ids[a][0]], uint8_visual) for a in self.agents
        }
        self.action_spaces = {a: _act_space(self.specs[self._ids[a][0]]) for a in self.agents}

    def _names_at_reset(self) -> dict:
        self._ids, obs, infos = {}, {}, {}
        for b in self.specs:
            decision, _ = self.unity.get_steps(b)
            short = b.split("?")[0]
            for k, aid in enumerate(decision.agent_id):
                name = f"{short}_{k}"
                self._ids[name] = (b, int(aid))
                obs[name] = _convert(decision.obs, k, self.uint8_visual)
                infos[name] = {"action_mask": _mask(decision, k), "agent_id": int(aid)}
        return obs, infos

    def observation_space(self, agent):
        return self.observation_spaces[agent]

    def action_space(self, agent):
        return self.action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None):
        self.unity.reset()
        obs, infos = self._names_at_reset()
        self.agents = [a for a in self.possible_agents if a in obs]
        return obs, infos

    def step(self, actions: dict):
        for b, spec in self.specs.items():
            decision, _ = self.unity.get_steps(b)
            if len(decision) == 0:
                continue
            by_id = {aid: name for name, (bb, aid) in self._ids.items() if bb == b}
            default = spec.action_spec.empty_action(1)
            row = [actions.get(by_id.get(int(i))) for i in decision.agent_id]
            filled = [
                r
                if r is not None
                else (default.discrete[0] if spec.action_spec.discrete_size else default.continuous[0])
                for r in row
            ]
            self.unity.set_actions(b, _action_tuple(spec, filled))
        self.unity.step()
        obs, rew, term, trunc, infos = {}, {}, {}, {}, {}
        for name in list(self.agents):
            b, aid = self._ids[name]
            decision, terminal = self.unity.get_steps(b)
            if aid in terminal.agent_id_to_index:
                k = terminal.agent_id_to_index[aid]
                obs[name] = _convert(terminal.obs, k, self.uint8_visual)
                rew[name] = float(terminal.reward[k])
                trunc[name] = bool(terminal.interrupted[k])
                term[name] = not trunc[name]
                infos[name] = {"agent_id": aid}
            elif aid in decision.agent_id_to_index:
                k = decision.agent_id_to_index[aid]
                obs[name] = _convert(decision.obs, k, self.uint8_visual)
                rew[name], term[name], trunc[name] = float(decision.reward[k]), False, False
                infos[name] = {"action_mask": _mask(decision, k), "agent_id": aid}
        self.agents = [a for a in self.agents if a in obs and not (term[a] or trunc[a])]
        return obs, rew, term, trunc, infos

    def close(self) -> None:
        self.unity.close()
