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
    "openai": "embodied.agents.openai_agent:OpenAIAgent",  # openai:MODEL, any OpenAI-compatible endpoint
    "human": "embodied.agents.human:HumanAgent",
}


def make_agent(name: str, **kwargs: Any):
    """``make_agent("oracle")``, ``make_agent("openai:gpt-4o", base_url=...)``; unknown names list
    the known ones. The part after ``:`` is passed as ``model=``."""
    base, _, model = name.partition(":")
    if base not in AGENTS:
        raise ConfigError(f"unknown agent {name!r}; known: {', '.join(sorted(AGENTS))}")
    if model:
        kwargs.setdefault("model", model)
    module, cls = AGENTS[base].split(":")
    return getattr(importlib.import_module(module), cls)(**kwargs)
