"""One scene per engine, for bridges whose engines have no scene handles."""

from __future__ import annotations

from embodied.errors import EngineError


class SingleScene:
    """The one scene of an engine without scene handles (an Unreal level, a Unity player), with the
    interface of :class:`embodied.engine.RemoteScene`. A second scene is refused until the first
    is closed: launch one engine per env.

    The engine provides ``load_scene``, ``clear_scene``, ``update``, ``set_cameras``, ``render``,
    ``render_async``, ``raycast``, ``endpoint``, ``_closed`` and ``_scene``."""

    def __init__(self, client):
        self.client = client
        self.handle: str | None = None

    def _live(self, op: str):
        if self.handle is None:
            raise EngineError(f"{op!r} before load(): this scene is not loaded")
        return self.client

    def load(self, nodes, name: str = "", background=None, timeout: float | None = None) -> int:
        eng = self.client
        other = eng._scene
        if other is not None and other is not self and other.handle is not None:
            raise EngineError(
                f"{eng.endpoint} already shows a scene (this engine holds one scene); close it first, "
                "or launch one engine per env"
            )
        n = eng.load_scene(nodes, name, background, timeout)
        eng._scene, self.handle = self, f"level:{name or 'scene'}"
        return n

    def update(self, updates, timeout=None) -> int:
        return self._live("update").update(updates, timeout)

    def set_cameras(self, cameras, timeout=None) -> None:
        self._live("camera").set_cameras(cameras, timeout)

    def render(self, agents=("a0",), modalities=("rgb",), updates=None, cameras=None, timeout=None):
        return self._live("render").render(agents, modalities, updates, cameras, timeout)

    def render_async(self, agents=("a0",), modalities=("rgb",), updates=None, cameras=None, timeout=None):
        return self._live("render").render_async(agents, modalities, updates, cameras, timeout)

    def raycast(self, src, dst, timeout=None) -> dict:
        return self.client.raycast(src, dst, timeout)

    def close(self, timeout: float | None = None) -> None:
        """Destroy the scene's actors (nothing happens if it was never loaded or the client is closed)."""
        handle, self.handle = self.handle, None
        eng = self.client
        if handle is not None and eng._scene is self:
            eng._scene = None
            if not eng._closed:
                eng.clear_scene(timeout)

    def __repr__(self) -> str:
        return f"<SingleScene {self.handle or '(not loaded)'} on {self.client.endpoint}>"
