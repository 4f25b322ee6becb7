"""Agents, by name: a registry of lazy ``"module:Class"`` entry points (Gymnasium's habit).

An agent has ``reset(env)`` and ``act(obs, info) -> action`` (anything ``Env.step`` accepts).
"""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import ConfigError

AGENTS: dict[str, str] = {
    "oracle": "embodied.agents.oracle:OracleAgent",
    "random": "embodied.agents.random:RandomAgent",
}


def make_agent(name: str, **kwargs: Any):
    """``make_agent("oracle")``; unknown names list the known ones."""
    base = name.split(":", 1)[0]
    if base not in AGENTS:
        raise ConfigError(f"unknown agent {name!r}; known: {', '.join(sorted(AGENTS))}")
    module, cls = AGENTS[base].split(":")
    return getattr(importlib.import_module(module), cls)(**kwargs)
