"""Gymnasium adapter: ``gymnasium.make("embodied/EscapeRoom-v0")`` after ``import embodied``.

Observation space: ``Dict(rgb=Box(0, 255, (H, W, 3), uint8), text=Text)``; action space: ``Text``
(free text, canonical strings like ``"Open(chest)"``, or action ids as digits). Info carries
everything :class:`~embodied.env.Env` reports (allowed actions, object metadata, progress).

For RL libraries: ``action_mode="discrete"`` gives a fixed ``Discrete(n)`` action space per task
(the table is documented in :mod:`embodied.adapters.discrete`; ``env.action_table`` lists it) and
``obs_mode="image"`` a ``Box(0, 255, (H, W, C), uint8)`` observation: RGB, plus one depth channel
(0..255 over 0..10 m) when ``"depth"`` is among ``modalities``. Both pass
``stable_baselines3.common.env_checker.check_env`` and work with ``gymnasium.make_vec`` and the
usual wrappers (``ResizeObservation``, ``FrameStackObservation``). See docs/rl.md.
"""

from __future__ import annotations

import string
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from .._gym_ids import ENVS, register_envs
from ..actions import Action
from ..env import Env
from ..errors import ActionError, ConfigError
from . import discrete

__all__ = ["ENVS", "EmbodiedGymEnv", "clean_text", "observation", "observation_space", "register_envs"]

CHARSET = frozenset(string.printable)  # what observations and actions may contain; others are dropped
MAX_TEXT = 1024


def clean_text(text: str, limit: int = MAX_TEXT) -> str:
    return "".join(c for c in text if c in CHARSET)[:limit]


def observation_space(env: Env, max_text: int = MAX_TEXT) -> spaces.Dict:
    """One agent's observation space: the env's modalities (rgb, depth, segmentation) and text."""
    h, w = env.height, env.width
    parts: dict[str, spaces.Space] = {}
    if "rgb" in env.modalities:
        parts["rgb"] = spaces.Box(0, 255, (h, w, 3), np.uint8)
    if "depth" in env.modalities:  # meters along the view axis; inf where nothing is hit
        parts["depth"] = spaces.Box(0.0, np.inf, (h, w), np.float32)
    if "segmentation" in env.modalities:  # ids -> names in info["segmentation_ids"]; 0 is nothing
        parts["segmentation"] = spaces.Box(0, np.iinfo(np.int32).max, (h, w), np.int32)
    parts["text"] = spaces.Text(max_length=max_text, min_length=0, charset=CHARSET)
    return spaces.Dict(parts)


def observation(obs: dict[str, Any], space: spaces.Dict, max_text: int = MAX_TEXT) -> dict[str, Any]:
    """An env observation as ``space`` holds it (text cleaned to the charset and length)."""
    return {k: clean_text(obs["text"], max_text) if k == "text" else obs[k] for k in space.spaces}


class EmbodiedGymEnv(gym.Env):
    """A Gymnasium ``Env`` around :class:`~embodied.env.Env` (which owns the engine process).

    ``modalities=("rgb", "depth", "segmentation")`` puts each in the observation space and the
    observation. A multi-agent scene needs ``agent=`` (the one this env controls; teammates stand
    still) or, for every agent acting, the PettingZoo envs in :mod:`embodied.adapters.pettingzoo`.
    Other keyword arguments go to :class:`~embodied.env.Env`.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 8}

    def __init__(
        self,
        task: Any = "escape/chest-split-code",
        width: int = 224,
        height: int = 224,
        render_mode: str | None = None,
        max_text: int = MAX_TEXT,
        action_mode: str = "text",
        obs_mode: str = "dict",
        **env_kwargs: Any,
    ):
        if render_mode not in (None, "rgb_array"):
            raise ConfigError(f"render_mode {render_mode!r} is not supported; use 'rgb_array' or None")
        if action_mode not in ("text", "discrete"):
            raise ConfigError(f"action_mode {action_mode!r} is not supported; use 'text' or 'discrete'")
        if obs_mode not in ("dict", "image"):
            raise ConfigError(f"obs_mode {obs_mode!r} is not supported; use 'dict' or 'image'")
        self.render_mode = render_mode
        self.max_text = max_text
        self.env = None
        self.action_mode, self.obs_mode = action_mode, obs_mode
        self.env = Env(task, width=width, height=height, **env_kwargs)
        agents = self.env.world.agent_ids
        if len(agents) > 1 and env_kwargs.get("agent") is None:
            name = getattr(self.env.task, "name", "") or self.env.spec.name
            self.env.close()
            raise ConfigError(
                f"{name!r} has {len(agents)} agents ({', '.join(agents)}); this single-agent Gymnasium env "
                f"would control only one: pass agent='{agents[0]}' (teammates then stand still), or use "
                f"embodied.adapters.pettingzoo.parallel_env({name!r}) / .env({name!r}) for all of them"
            )
        self.observation_space = observation_space(self.env, max_text)
        self.action_space = spaces.Text(max_length=256, min_length=1, charset=CHARSET)
        if obs_mode == "image":
            self._depth = "depth" in self.env.modalities
            channels = 4 if self._depth else 3
            self.observation_space = spaces.Box(0, 255, (height, width, channels), np.uint8)
        if action_mode == "discrete":
            self.action_table: list[Action] = discrete.build_table(self.env.world, self.env.agent_id)
            self.action_space = spaces.Discrete(len(self.action_table))

    def _obs(self, obs: dict[str, Any]) -> Any:
        if self.obs_mode == "image":
            if not self._depth:
                return obs["rgb"]
            return np.concatenate([obs["rgb"], discrete.depth_channel(obs["depth"])[..., None]], axis=2)
        return observation(obs, self.observation_space, self.max_text)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        obs, info = self.env.reset(seed=seed, options=options)
        return self._obs(obs), info

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(self.env_action(action))
        return self._obs(obs), float(reward), bool(terminated), bool(truncated), info

    def env_action(self, action: Any) -> Any:
        """This space's action as :meth:`embodied.env.Env.step` takes it."""
        if self.action_mode == "discrete":
            return self._table_action(action)
        if isinstance(action, str) and action.strip().isdigit():
            return int(action.strip())
        return action

    def _table_action(self, action: Any) -> Action:
        if type(action) is int or isinstance(action, np.integer):  # (a vector env's: no array made)
            index = int(action)
        else:
            arr = np.asarray(action) if not isinstance(action, (str, bytes)) else np.asarray(-1)
            index = int(arr) if arr.shape == () and arr.dtype.kind in "iu" else -1
        if not 0 <= index < len(self.action_table):
            raise ActionError(
                f"action {action!r} is outside Discrete({len(self.action_table)}); "
                "pass an index into env.action_table"
            )
        return discrete.resolve(self.env.world, self.env.agent_id, self.action_table[index])

    def render(self):
        return self.env.render() if self.render_mode == "rgb_array" else None

    def close(self):
        if getattr(self, "env", None) is not None:
            self.env.close()
            self.env = None
