"""PettingZoo envs for multi-agent scenes: every agent acts each step, each with its own camera.

    from embodied.adapters.pettingzoo import parallel_env
    env = parallel_env("collab/split-knowledge")   # or env(...) for the AEC (turn-by-turn) API
    obs, infos = env.reset(seed=0)
    obs, rewards, terms, truncs, infos = env.step({"ana": "read the note", "bo": "Pass"})

Agents talk with ``Say(text)`` (teammates get it in their next ``obs["text"]``) and hand things
over with ``Give(object, agent)``. The episode ends for all agents together.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv
from pettingzoo.utils.conversions import parallel_to_aec

from ..env import Env
from .gym import CHARSET, MAX_TEXT, observation, observation_space


class EmbodiedParallelEnv(ParallelEnv):
    metadata = {"render_modes": ["rgb_array"], "name": "embodied_parallel_v0", "is_parallelizable": True}

    def __init__(
        self,
        task: Any = "collab/split-knowledge",
        width: int = 224,
        height: int = 224,
        render_mode: str | None = None,
        max_text: int = MAX_TEXT,
        **env_kwargs: Any,
    ):
        self.env = Env(task, width=width, height=height, **env_kwargs)
        self.render_mode = render_mode
        self.max_text = max_text
        self.possible_agents = list(self.env.world.agent_ids)
        self.agents: list[str] = []
        self.observation_spaces = {a: observation_space(self.env, max_text) for a in self.possible_agents}
        self.action_spaces = {
            a: spaces.Text(max_length=256, min_length=1, charset=CHARSET) for a in self.possible_agents
        }

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    def _obs(self, o: dict[str, Any]) -> dict[str, Any]:
        return observation(o, self.observation_spaces[self.possible_agents[0]], self.max_text)

    def reset(self, seed: int | None = None, options: dict | None = None):
        obs, infos = self.env.reset_all(seed=seed, options=options)
        self.agents = list(self.possible_agents)
        return {a: self._obs(obs[a]) for a in self.agents}, {a: infos[a] for a in self.agents}

    def step(self, actions: dict[str, Any]):
        acts = {a: actions.get(a, "Pass") for a in self.agents}
        acts = {
            a: int(v.strip()) if isinstance(v, str) and v.strip().isdigit() else v for a, v in acts.items()
        }
        obs, rew, term, trunc, info = self.env.step_all(acts)
        agents = list(self.agents)
        observations = {a: self._obs(obs[a]) for a in agents}
        rewards = {a: float(rew[a]) for a in agents}
        terminations = {a: bool(term) for a in agents}
        truncations = {a: bool(trunc) for a in agents}
        infos = {a: info[a] for a in agents}
        if term or trunc:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def render(self):
        if self.render_mode != "rgb_array" or self.env.last_obs is None:
            return None
        return self.state()

    def state(self) -> np.ndarray:
        """All agents' frames side by side (PettingZoo's global state)."""
        return np.concatenate([self.env.last_obs[a]["rgb"] for a in self.possible_agents], axis=1)

    def close(self):
        if getattr(self, "env", None) is not None:
            self.env.close()
            self.env = None


def parallel_env(task: Any = "collab/split-knowledge", **kwargs: Any) -> EmbodiedParallelEnv:
    return EmbodiedParallelEnv(task, **kwargs)


def env(task: Any = "collab/split-knowledge", **kwargs: Any):
    """The AEC (agent-by-agent) form: PettingZoo's ``parallel_to_aec`` over :func:`parallel_env`.
    Agents act in turn; the world steps once every agent has chosen its action."""
    return parallel_to_aec(parallel_env(task, **kwargs))
