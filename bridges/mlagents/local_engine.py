"""The embedded Panda3D renderer in-process, behind the engine client interface (no socket).

The Unity player renders with it; envs take it like any engine (``Env(scene, engine=LocalEngine())``).
"""

from __future__ import annotations

import uuid

from embodied.engine import EngineClient
from embodied.errors import EngineError


class LocalEngine(EngineClient):
    """A Renderer in this process with the :class:`~embodied.engine.EngineClient` interface."""

    def __init__(self, renderer: str = "software"):
        from embodied.bridges.panda3d.renderer import Renderer

        self.renderer = Renderer(renderer)
        self.endpoint, self.timeout, self.token = "in-process", 0.0, None
        self.process, self.log_path, self.info = None, None, {}
        self._tmp_dir, self._closed, self._default = None, False, None

    def hello(self, timeout=None) -> dict:
        r = self.renderer
        self.info = {"engine": "panda3d", "renderer": r.backend, "driver": r.driver, "endpoint": "in-process"}
        return self.info

    def ping(self, timeout=None) -> float:
        return 0.0

    def render_many(self, items, modalities=("rgb",), timeout=None):
        out = [sc.render(modalities=modalities, **f) for sc, f in items]
        return lambda: out

    def request(self, op, fields=None, buffers=(), timeout=None):
        raise EngineError("the in-process engine has no wire protocol")

    def close(self) -> None:
        if not getattr(self, "_closed", True):
            self._closed = True
            self.renderer.close()

    def __repr__(self) -> str:
        return "<LocalEngine in-process>"


class LocalScene:
    """One scene of a LocalEngine (the interface of :class:`embodied.engine.RemoteScene`)."""

    def __init__(self, client: LocalEngine):
        self.client, self.handle = client, None

    def _use(self, create: bool = False):
        r = self.client.renderer
        if self.handle is None:
            if not create:
                raise EngineError("this scene is not loaded: load() it first")
            self.handle = uuid.uuid4().hex
        r.use(self.handle, create=True)
        return r

    def load(self, nodes, name: str = "", background=None, timeout=None) -> int:
        return self._use(create=True).load_scene(list(nodes), name, background)

    def update(self, updates, timeout=None) -> int:
        return self._use().update(list(updates))

    def set_cameras(self, cameras, timeout=None) -> None:
        self._use().set_cameras(list(cameras))

    def render(self, agents=("a0",), modalities=("rgb",), updates=None, cameras=None, timeout=None):
        r = self._use()
        if updates:
            r.update(list(updates))
        if cameras:
            r.set_cameras(list(cameras))
        return r.render(list(agents), list(modalities))

    def render_async(self, agents=("a0",), modalities=("rgb",), updates=None, cameras=None, timeout=None):
        out = self.render(agents, modalities, updates, cameras, timeout)
        return lambda: out

    def raycast(self, src, dst, timeout=None) -> dict:
        return self._use().raycast(src, dst)

    def close(self, timeout=None) -> None:
        handle, self.handle = self.handle, None
        if handle is not None and not self.client._closed:
            self.client.renderer.close_scene(handle)


LocalEngine.scene_class = LocalScene
