"""embodied: a Python platform for embodied-AI research.

    import embodied
    with embodied.make("escape/key-door") as env:       # launches the embedded Panda3D engine
        obs, info = env.reset(seed=0)
        obs, reward, terminated, truncated, info = env.step("pick up the brass key")

``embodied.launch()`` starts an engine process and returns a connected client;
``embodied.connect(endpoint)`` attaches to one already running.
"""

from __future__ import annotations

from typing import Any

from .actions import Action
from .engine import EngineClient, connect, launch
from .errors import (
    ActionError,
    AgentAPIError,
    EmbodiedError,
    EngineError,
    EngineTimeout,
    ProtocolError,
    SpecError,
)
from .tasks import Task, list_tasks, register

__version__ = "0.1.0"


def make(
    scene_or_task: Any,
    engine: Any = "panda3d",
    width: int = 224,
    height: int = 224,
    seed: int | None = None,
    **kwargs: Any,
):
    """An :class:`~embodied.env.Env` for a registered task, a Task, or a scene spec (see ``Env`` for kwargs)."""
    from .env import Env

    return Env(scene_or_task, engine=engine, width=width, height=height, seed=seed, **kwargs)


__all__ = [
    "Action",
    "ActionError",
    "AgentAPIError",
    "EmbodiedError",
    "EngineClient",
    "EngineError",
    "EngineTimeout",
    "ProtocolError",
    "SpecError",
    "Task",
    "connect",
    "launch",
    "list_tasks",
    "make",
    "register",
]

from .adapters.gym import register_envs as _register_gym_envs  # noqa: E402

_register_gym_envs()
