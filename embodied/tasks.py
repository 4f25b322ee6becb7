"""Tasks: a scene (from a spec or built in Python with a seeded rng), a goal, checkpoints,
an optional reward hook and a step budget, registered by name (Gymnasium's registry habit).

Write a task by subclassing :class:`Task` and overriding what differs::

    class RedChest(Task):
        max_steps = 150
        def build(self, rng):                      # a fresh scene per seed
            code = f"{rng.randrange(10000):04d}"
            return {..., "goal": {"exit_through": "exit"}}

    register("mine/red-chest", RedChest)           # or "my_module:RedChest"
    env = embodied.make("mine/red-chest", seed=3)

``build`` returns anything :func:`~embodied.spec.load_spec` takes; ``goal`` and ``checkpoints``
(if set on the task) replace the spec's; ``reward(env, agent, info, default)`` may reshape the reward.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import ConfigError, SpecError
from .spec import Spec, load_spec


class Task:
    """A scene plus what counts as success. Subclass and override; every hook has a default."""

    name: str = ""
    scene: Any = None  # spec source used by the default ``build``
    goal: dict[str, Any] | None = None  # replaces the spec's goal when set
    checkpoints: list[dict[str, Any]] | None = None
    max_steps: int | None = None
    description: str = ""

    def __init__(self, scene: Any = None, **overrides: Any):
        if scene is not None:
            self.scene = scene
        for k, v in overrides.items():
            if not hasattr(self, k):
                raise ConfigError(f"{type(self).__name__} has no setting {k!r}")
            setattr(self, k, v)

    def build(self, rng: random.Random) -> Any:
        """The scene for this episode. Override to generate one from ``rng`` (seeded by ``reset(seed=...)``)."""
        if self.scene is None:
            raise ConfigError(f"{type(self).__name__} sets no scene and does not override build()")
        return self.scene

    def spec(self, seed: int | None) -> Spec:
        spec = load_spec(self.build(random.Random(seed if seed is not None else 0)))
        if self.goal is not None or self.checkpoints is not None or self.max_steps is not None:
            data = spec.model_dump(mode="json", exclude_none=True)
            if self.goal is not None:
                data["goal"] = self.goal
            if self.checkpoints is not None:
                data["checkpoints"] = self.checkpoints
            if self.max_steps is not None:
                data["max_steps"] = self.max_steps
            spec = load_spec(data)
        return spec

    def reward(self, env, agent: str, info: dict[str, Any], default: float) -> float:
        """Per-step reward; the default is 1 on success plus 0.1 per new checkpoint."""
        return default

    @property
    def seeded(self) -> bool:
        """Does the scene depend on the seed (``build`` overridden)?"""
        return type(self).build is not Task.build


# name -> Task subclass, instance factory, "module:Class" string, or a shipped scene name
REGISTRY: dict[str, Any] = {
    "escape/key-door": "key_door",
    "escape/note-code": "note_code",
    "escape/chest-split-code": "chest_split_code",
    "escape/two-rooms": "two_rooms",
    "manip/kitchen-put": "kitchen_put",
    "collab/split-knowledge": "collab_split",
    "gen/escape": "embodied.procedural.task:GenEscape",
}


def register(name: str, entry: Any, overwrite: bool = False) -> None:
    """Register a task: a Task subclass, a factory, a ``"module:Class"`` string or a scene source."""
    if name in REGISTRY and not overwrite:
        raise ConfigError(f"task {name!r} is already registered; pass overwrite=True to replace it")
    REGISTRY[name] = entry


def make_task(obj: Any, **kwargs: Any) -> Task:
    """A Task from a registered name, a Task, a Task class, or any scene source."""
    if isinstance(obj, Task):
        return obj
    if isinstance(obj, type) and issubclass(obj, Task):
        return obj(**kwargs)
    if isinstance(obj, str) and obj in REGISTRY:
        entry = REGISTRY[obj]
        if isinstance(entry, str) and ":" in entry:
            module, cls = entry.split(":")
            entry = getattr(importlib.import_module(module), cls)
        task = make_task(entry, **kwargs) if not isinstance(entry, str) else Task(entry, **kwargs)
        task.name = task.name or obj
        return task
    if isinstance(obj, str) and "/" in obj and not obj.endswith(".json") and not Path(obj).exists():
        raise SpecError(
            f"unknown task {obj!r}; registered tasks: {', '.join(list_tasks())} "
            "(or pass a scene file, a shipped scene name, a dict or a Task)"
        )
    if isinstance(obj, Callable) and not isinstance(obj, (str, dict)):
        return make_task(obj(**kwargs))
    return Task(obj, **kwargs)


def list_tasks() -> list[str]:
    return sorted(REGISTRY)


def describe_goal(pred: Any) -> str:
    """A goal predicate in words: ``{"exit_through": "exit"}`` -> ``"escape through exit"``."""
    if not isinstance(pred, dict) or not pred:
        return str(pred)
    key = next((k for k in pred if k != "agents"), None)
    val = pred.get(key)
    args = val if isinstance(val, list) else [val]
    if key == "all":
        return " and ".join(describe_goal(p) for p in args)
    if key == "any":
        return " or ".join(describe_goal(p) for p in args)
    if key == "not":
        return f"not ({describe_goal(val)})"
    if key == "exit_through":
        who = "every agent" if pred.get("agents") == "all" else ""
        return f"{who + ' ' if who else ''}escape through {args[0]}"
    if key == "inside":
        return f"put {args[0]} in {args[1]}"
    if key == "holding":
        return f"{args[0]} holds {args[1]}" if len(args) > 1 else f"hold {args[0]}"
    if key == "agent_in":
        return f"{args[0]} gets to {args[1]}" if len(args) > 1 else f"get to {args[0]}"
    if key == "read":
        return f"{args[0]} reads {args[1]}" if len(args) > 1 else f"read {args[0]}"
    if key == "said":
        return f"{args[0]} says {args[1]!r}" if len(args) > 1 else f"say {args[0]!r}"
    if key == "state":
        return f"{args[0]} is {args[1]}"
    return f"{key} {args}"
