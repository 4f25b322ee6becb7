"""Gymnasium ids, registered without importing Gymnasium (or the env) before anyone needs them.

``import embodied`` must stay cheap (the engine process and the validator import the package),
yet ``gymnasium.make("embodied/EscapeRoom-v0")`` must work after it. So: if Gymnasium is already
imported, register now; otherwise register the moment Gymnasium finishes importing, through a
one-shot import hook. Registration names an entry-point string, so the env class (and the
engine client, ZeroMQ, pydantic) load only when an env is made.
"""

from __future__ import annotations

import importlib.machinery
import sys

ENVS = {  # gymnasium id (in the embodied/ namespace) -> task
    "EscapeRoom-v0": "escape/chest-split-code",
    "KeyDoor-v0": "escape/key-door",
    "NoteCode-v0": "escape/note-code",
    "TwoRooms-v0": "escape/two-rooms",
    "KitchenPut-v0": "manip/kitchen-put",
}
ENTRY_POINT = "embodied.adapters.gym:EmbodiedGymEnv"


def register_envs() -> None:
    """Register every id in :data:`ENVS` under the ``embodied/`` namespace (idempotent)."""
    import gymnasium as gym

    for gid, task in ENVS.items():
        full = f"embodied/{gid}"
        if full not in gym.registry:
            gym.register(full, entry_point=ENTRY_POINT, kwargs={"task": task})


class _Loader:  # duck-typed (importlib.abc would import pathlib and more)
    def __init__(self, inner):
        self.inner = inner

    def create_module(self, spec):
        return self.inner.create_module(spec)

    def exec_module(self, module):
        self.inner.exec_module(module)
        register_envs()


class _Hook:  # a meta path finder, duck-typed
    """Finds nothing itself: when ``gymnasium`` is imported, wraps its loader to register afterwards."""

    def find_spec(self, name, path=None, target=None):
        if name != "gymnasium":
            return None
        remove_hook()
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _Loader(spec.loader)
        return spec


_HOOK = _Hook()


def remove_hook() -> None:
    if _HOOK in sys.meta_path:
        sys.meta_path.remove(_HOOK)


def install() -> None:
    """Register now if Gymnasium is loaded, else as soon as it is."""
    if "gymnasium" in sys.modules:
        register_envs()
    elif _HOOK not in sys.meta_path:
        sys.meta_path.insert(0, _HOOK)
