"""Agents for benchmark runs: a registered name (``oracle``, ``random``, ``human``,
``openai:MODEL``) or a ``package.module:Class`` path, built once per agent id and episode."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from typing import Any

from ..agents import AGENTS, agent_class, make_agent
from .suites import SuiteError


def resolve(agent: str):
    """The agent's class or factory; raises SuiteError with the known names when unknown."""
    base = agent.split(":", 1)[0]
    if base in AGENTS:
        if base == "openai" and importlib.util.find_spec("openai") is None:  # before any episode starts
            raise SuiteError(
                "the openai:MODEL agent needs the openai package: pip install 'embodied[openai]'"
            )
        return None
    if ":" in agent and "." in base:
        module, cls = agent.split(":", 1)
        try:
            found = getattr(import_from_cwd(module), cls)
        except (ImportError, AttributeError) as e:
            raise SuiteError(f"cannot load agent {agent!r}: {e}") from None
        except Exception as e:  # its module fails to import (a SyntaxError, an error at import)
            raise SuiteError(
                f"cannot load agent {agent!r}: importing {module} raised {type(e).__name__}: {e} "
                f"(python -c 'import {module}' shows where)"
            ) from None
        if not callable(found) or (isinstance(found, type) and not _is_agent(found)):
            raise SuiteError(f"{agent} is not an agent: {AGENT_CONTRACT}")
        return found
    raise SuiteError(f"unknown agent {agent!r}; known: {', '.join(sorted(AGENTS))} or package.module:Class")


def import_from_cwd(module: str):
    """``importlib.import_module``, the current directory searched too (last), as ``python -m``
    does: an agent or builder in ./my_agents/ is found by ``embodied ...`` as by ``python``."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.append(cwd)
    return importlib.import_module(module)


def agent_factory(agent: str):
    """The agent's class (registered names too) or factory; SuiteError when unknown."""
    return resolve(agent) or agent_class(agent)


def options_not_taken(agent: str, options: dict[str, Any]) -> list[str]:
    """The keys of ``options`` that the agent's constructor has no parameter for (none when it
    takes ``**kwargs`` or its signature cannot be read)."""
    factory = agent_factory(agent)
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return []
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return []
    return [k for k in options if k not in params]


def build_agent(agent: str, kwargs: dict[str, Any], seed: int, agent_id: str):
    """An agent object; ``seed`` and ``agent_id`` are passed when its constructor takes them."""
    call, kw = agent_call(agent, kwargs, seed, agent_id)
    made = call(**kw)
    if not _is_agent(made):  # a factory that returned something else: one line, not a crash mid-episode
        raise SuiteError(f"{agent} made a {type(made).__name__}, not an agent: {AGENT_CONTRACT}")
    return made


def agent_call(agent: str, kwargs: dict[str, Any], seed: int, agent_id: str):
    """``(call, kw)``: what :func:`build_agent` calls and with what, checked against the factory's
    signature without calling it: SuiteError for a factory that cannot take them (``os.path:join``
    would be a TypeError mid-episode)."""
    factory = resolve(agent)
    if factory is None:
        factory = agent_class(agent)
        call = lambda **kw: make_agent(agent, **kw)  # noqa: E731
    else:
        call = factory
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        sig = None
    params = sig.parameters if sig is not None else {}
    takes_any = sig is None or any(p.kind == p.VAR_KEYWORD for p in params.values())
    kw = dict(kwargs)
    for name, value in (("seed", seed), ("agent_id", agent_id)):
        if name in params or takes_any:
            kw.setdefault(name, value)
    if sig is not None:
        try:
            sig.bind(**kw)
        except TypeError as e:
            given = ", ".join(kw) or "no arguments"
            raise SuiteError(
                f"--agent {agent} cannot be called with {given} ({e}); an agent factory takes keyword "
                "options (seed, agent_id if it wants them) and returns an agent (docs/agents.md)"
            ) from None
    return call, kw


AGENT_CONTRACT = "an agent has reset(env) and act(obs, info) -> action (docs/agents.md)"


def _is_agent(obj: Any) -> bool:
    return callable(getattr(obj, "reset", None)) and callable(getattr(obj, "act", None))
