"""Adapters to the standard RL interfaces: Gymnasium (single agent) and PettingZoo (multi-agent)."""

import importlib as _importlib


def __getattr__(name: str):
    """``embodied.adapters.pettingzoo`` after a plain ``import embodied`` (loaded on first use)."""
    if name in ("gym", "pettingzoo", "discrete"):
        return _importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'embodied.adapters' has no attribute {name!r}")
