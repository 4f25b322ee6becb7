"""The Unreal bridge: drive UnrealCV-enabled builds, and serve the UnrealCV protocol from the
embedded engine (docs/unreal.md).

- :func:`launch` / ``embodied.launch(engine="unreal", build=PATH)``: start a build, return a client
  with the engine interface (:class:`~embodied.bridges.unrealcv.backend.UnrealCVEngine`);
- :func:`connect`: attach to a running UnrealCV server;
- ``embodied engine serve --protocol unrealcv``: :mod:`embodied.bridges.unrealcv.server`.
"""

from __future__ import annotations


def launch(*args, **kwargs):
    from .launcher import launch as _launch

    return _launch(*args, **kwargs)


def connect(*args, **kwargs):
    from .launcher import connect as _connect

    return _connect(*args, **kwargs)


__all__ = ["connect", "launch"]
