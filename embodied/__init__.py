"""embodied: a Python platform for embodied-AI research.

    import embodied
    with embodied.make("escape/key-door") as env:       # launches the embedded Panda3D engine
        obs, info = env.reset(seed=0)
        obs, reward, terminated, truncated, info = env.step("pick up the brass key")

``embodied.launch()`` starts an engine process and returns a connected client;
``embodied.connect(endpoint)`` attaches to one already running.

Importing the package is cheap: the names below load on first use (PEP 562), so the engine
process and the validator do not pull in the runtime stack (docs/architecture.md, "Layers").
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import _gym_ids
from .errors import (
    ActionError,
    AgentAPIError,
    ConfigError,
    EmbodiedError,
    EngineError,
    EngineTimeout,
    EnvClosedError,
    EpisodeEndedError,
    ProtocolError,
    SpecError,
    StateError,
)

__version__ = "0.1.0"

_LAZY = {  # public name -> module that defines it
    "Action": ".actions",
    "EngineClient": ".engine",
    "connect": ".engine",
    "launch": ".engine",
    "Env": ".env",
    "make_vec": ".vector",
    "Task": ".tasks",
    "list_tasks": ".tasks",
    "register": ".tasks",
}

if TYPE_CHECKING:
    from .actions import Action
    from .engine import EngineClient, connect, launch
    from .env import Env
    from .tasks import Task, list_tasks, register
    from .vector import make_vec


_SUBPACKAGES = ("adapters", "agents", "procedural", "tasks", "testing")  # embodied.agents.make_agent(...)


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'embodied' has no attribute {name!r}")
    value = getattr(importlib.import_module(mod, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_SUBPACKAGES))


def make(
    scene_or_task: Any,
    engine: Any = "panda3d",
    width: int = 224,
    height: int = 224,
    seed: int | None = None,
    **kwargs: Any,
):
    """An :class:`~embodied.env.Env` for a registered task, a Task, or a scene spec (see ``Env`` for kwargs).

    Keyword arguments that ``Env`` does not take are the task's settings (``depth=3`` for ``gen/escape``)."""
    import inspect

    from .env import Env
    from .tasks import make_task

    env_args = inspect.signature(Env).parameters
    task_args = {k: kwargs.pop(k) for k in list(kwargs) if k not in env_args}
    if task_args:  # e.g. make("gen/escape", depth=3): settings of the task, not of the env
        scene_or_task = make_task(scene_or_task, **task_args)
    return Env(scene_or_task, engine=engine, width=width, height=height, seed=seed, **kwargs)


__all__ = [
    "Action",
    "ActionError",
    "AgentAPIError",
    "ConfigError",
    "EmbodiedError",
    "EngineClient",
    "EngineError",
    "EngineTimeout",
    "Env",
    "EnvClosedError",
    "EpisodeEndedError",
    "ProtocolError",
    "SpecError",
    "StateError",
    "Task",
    "connect",
    "launch",
    "list_tasks",
    "make",
    "make_vec",
    "register",
]

_gym_ids.install()
