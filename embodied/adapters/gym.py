"""Gymnasium adapter: ``gymnasium.make("embodied/EscapeRoom-v0")`` after ``import embodied``.

Observation space: ``Dict(rgb=Box(0, 255, (H, W, 3), uint8), text=Text)``; action space: ``Text``
(free text, canonical strings like ``"Open(chest)"``, or action ids as digits). Info carries
everything :class:`~embodied.env.Env` reports (allowed actions, object metadata, progress).
"""

from __future__ import annotations

import string
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from .._gym_ids import ENVS, register_envs
from ..env import Env
from ..errors import ConfigError

__all__ = ["ENVS", "EmbodiedGymEnv", "clean_text", "register_envs"]

CHARSET = frozenset(string.printable)  # what observations and actions may contain; others are dropped
MAX_TEXT = 1024


def clean_text(text: str, limit: int = MAX_TEXT) -> str:
    return "".join(c for c in text if c in CHARSET)[:limit]


class EmbodiedGymEnv(gym.Env):
    """A Gymnasium ``Env`` around :class:`~embodied.env.Env` (which owns the engine process)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 8}

    def __init__(
        self,
        task: Any = "escape/chest-split-code",
        width: int = 224,
        height: int = 224,
        render_mode: str | None = None,
        max_text: int = MAX_TEXT,
        **env_kwargs: Any,
    ):
        if render_mode not in (None, "rgb_array"):
            raise ConfigError(f"render_mode {render_mode!r} is not supported; use 'rgb_array' or None")
        self.render_mode = render_mode
        self.max_text = max_text
        self.env = Env(task, width=width, height=height, **env_kwargs)
        self.observation_space = spaces.Dict(
            {
                "rgb": spaces.Box(0, 255, (height, width, 3), np.uint8),
                "text": spaces.Text(max_length=max_text, min_length=0, charset=CHARSET),
            }
        )
        self.action_space = spaces.Text(max_length=256, min_length=1, charset=CHARSET)

    def _obs(self, obs: dict[str, Any]) -> dict[str, Any]:
        return {"rgb": obs["rgb"], "text": clean_text(obs["text"], self.max_text)}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        obs, info = self.env.reset(seed=seed, options=options)
        return self._obs(obs), info

    def step(self, action: Any):
        if isinstance(action, str) and action.strip().isdigit():
            action = int(action.strip())
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._obs(obs), float(reward), bool(terminated), bool(truncated), info

    def render(self):
        return self.env.render() if self.render_mode == "rgb_array" else None

    def close(self):
        if getattr(self, "env", None) is not None:
            self.env.close()
            self.env = None
