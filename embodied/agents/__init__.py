"""Agents, by name: a registry of lazy ``"module:Class"`` entry points (Gymnasium's habit).

An agent has ``reset(env)`` and ``act(obs, info) -> action`` (anything ``Env.step`` accepts).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError

AGENTS: dict[str, str] = {
    "oracle": "embodied.agents.oracle:OracleAgent",
    "random": "embodied.agents.random:RandomAgent",
    "openai": "embodied.agents.openai_agent:OpenAIAgent",  # openai:MODEL, any OpenAI-compatible endpoint
    "human": "embodied.agents.human:HumanAgent",
}


def agent_class(name: str):
    """The class behind a registered agent name (``oracle``, ``openai:gpt-4o``); unknown names
    list the known ones."""
    base = name.partition(":")[0]
    if base not in AGENTS:
        known = ", ".join("openai:MODEL" if a == "openai" else a for a in sorted(AGENTS))
        raise ConfigError(f"unknown agent {name!r}; known: {known}")
    module, cls = AGENTS[base].split(":")
    return getattr(importlib.import_module(module), cls)


def make_agent(name: str, **kwargs: Any):
    """``make_agent("oracle")``, ``make_agent("openai:gpt-4o", base_url=...)``; unknown names list
    the known ones. The part after ``:`` is passed as ``model=``."""
    cls = agent_class(name)
    model = name.partition(":")[2]
    if model:
        kwargs.setdefault("model", model)
    return cls(**kwargs)


_KINDS = {"int": (int, "a whole number"), "float": (float, "a number"), "bool": (bool, "true or false")}
_KINDS |= {"str": (str, "a word or path"), "None": (type(None), "null")}


def option_value(factory: Callable, key: str, text: str, load: Callable[[str], Any]) -> Any:
    """The value of agent option ``key`` given on a command line as ``text``: parsed with ``load``
    (YAML or JSON) and checked against the type the constructor's parameter is annotated with
    (``int``, ``float``, ``bool``, ``str``, ``X | None``); a parameter typed ``str`` takes the text
    as given. Options the constructor does not name, or typed otherwise, are left to it.

    Raises:
        ConfigError: ``seed takes a whole number (e.g. seed=7), not 'abc'``.
        ValueError: from ``load``, for text that is not a value at all.
    """
    try:
        param = inspect.signature(factory).parameters.get(key)
    except (TypeError, ValueError):
        param = None
    ann = param.annotation if param is not None else inspect.Parameter.empty
    if isinstance(ann, type):
        ann = ann.__name__
    names = [t.strip() for t in ann.split("|")] if isinstance(ann, str) else []
    if not names or any(n not in _KINDS for n in names):
        return load(text)  # not annotated with plain types: the constructor checks it
    if "None" in names and text.strip().lower() in ("null", "none", "~"):
        return None
    if "str" in names:
        return text
    value = load(text)
    for n in names:
        kind = _KINDS[n][0]
        if isinstance(value, kind) and not (kind is not bool and isinstance(value, bool)):
            return value
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
    wanted = " or ".join(_KINDS[n][1] for n in names)
    example = {"int": "7", "float": "0.5", "bool": "true"}[next(n for n in names if n != "None")]
    raise ConfigError(f"{key} takes {wanted} (e.g. {key}={example}), not {text!r}")
