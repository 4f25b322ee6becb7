"""The Unity backend: our scenes rendered by an ML-Agents player, through the genuine
``mlagents_envs.environment.UnityEnvironment``.

``embodied.launch(engine="unity", build=PATH)`` (the engine registry points at :func:`launch`)
starts a Unity build, or ``embodied-unity-player`` when no build is given, in render mode: scene
commands (``load_scene``, ``update``, ``camera``, ``render``) travel on the scene side channel
(:mod:`embodied.bridges.mlagents.channel`) with each ML-Agents step; each rendered camera comes
back as one agent of behavior ``Camera?team=0`` whose visual observation is the rgb frame
(PNG on the wire, decoded exactly to uint8); depth and segmentation come back on the side
channel. :class:`UnityEngine` has the interface of :class:`embodied.engine.EngineClient`, so the
env, the oracle and the benchmark run on it unchanged.

Ports are automatic (:func:`embodied.bridges.mlagents.environment.open_unity`); the trainer side
binds 127.0.0.1; every timeout is ``timeout=``; a player that dies is reported with its exit code,
its log file and the likely fix, and ``close()`` leaves no process behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
import uuid

import numpy as np
from embodied.bridges.launching import build_from, log_dir_for, own, refuse_remote
from embodied.bridges.single import SingleScene

from embodied import protocol as P
from embodied.engine import EngineClient, _stop_group, _tail
from embodied.errors import EngineError, EngineTimeout, ProtocolError

BEHAVIOR = "Camera?team=0"
CAPABILITIES = ["rgb", "depth", "seg", "multi_agent", "render_updates"]


class UnityEngine(EngineClient):
    """Our engine interface over an ML-Agents player (see the module docstring)."""

    scene_class = SingleScene

    def __init__(self, uenv, channel, timeout: float, log_path: str | None, tmp_dir: str | None = None):
        self.uenv, self.channel = uenv, channel
        self.endpoint = f"mlagents://127.0.0.1:{uenv._port}"
        self.timeout, self.token = float(timeout), None
        self.process, self.log_path = uenv._process, log_path
        self.info: dict = {}
        self._tmp_dir, self._closed, self._default = tmp_dir, False, None
        self._scene: SingleScene | None = None
        self._cameras: dict[str, dict] = {}
        self.steps = 0

    # ------------------------------------------------------------ transport
    def _where(self) -> str:
        return f"Unity player at {self.endpoint} (log: {self.log_path or 'unknown'})"

    def _error(self, exc: BaseException) -> EngineError:
        proc = self.process
        if proc is not None and proc.poll() is not None:
            return EngineError(
                f"the {self._where()} exited with code {proc.returncode}:\n{_tail(self.log_path)}\n"
                "Likely fix: read its log; a build without the embodied SceneChannel and a 'Camera' "
                "behavior cannot render our scenes (docs/unity.md)"
            )
        name = type(exc).__name__
        if "TimeOut" in name:
            return EngineTimeout(
                f"the {self._where()} did not answer within {self.timeout:g} s ({name}). Likely fix: "
                "a slow machine or a loading build - pass a larger timeout= to launch()/Env(engine_timeout=...)"
            )
        return EngineError(f"the {self._where()} failed: {name}: {exc}")

    def _exchange(self) -> None:
        if self._closed:
            raise EngineError(f"the Unity engine client for {self.endpoint} is closed; launch() again")
        try:
            self.uenv.step()
        except Exception as exc:
            raise self._error(exc) from None
        self.steps += 1

    def call(self, op: str, **fields) -> dict:
        """One scene-channel request carried by one ML-Agents step; the reply (raises on errors)."""
        rid = self.channel.request(op, **fields)
        self._exchange()
        reply = self.channel.replies.pop(rid, None)
        if reply is None:
            raise EngineError(
                f"the {self._where()} did not answer {op!r} on the scene channel. Likely fix: the build "
                "lacks the embodied SceneChannel (bridges/mlagents/unity/, docs/unity.md)"
            )
        if not reply.get("ok"):
            raise ProtocolError(f"the {self._where()} rejected {op!r}: {reply.get('error')}")
        return reply

    # ------------------------------------------------------------ ops
    def hello(self, timeout: float | None = None) -> dict:
        self.info = {
            "protocol": P.PROTOCOL_VERSION,
            "engine": "unity",
            "renderer": "mlagents",
            "driver": f"ML-Agents {self.uenv.API_VERSION}",
            "capabilities": list(CAPABILITIES),
            "endpoint": self.endpoint,
            "pid": getattr(self.process, "pid", None),
        }
        return self.info

    def ping(self, timeout: float | None = None) -> float:
        t0 = time.perf_counter()
        self.call("info")
        return time.perf_counter() - t0

    def load_scene(self, nodes, name: str = "", background=None, timeout: float | None = None) -> int:
        fields = {"nodes": [P.check_node(n, f"nodes[{i}]") for i, n in enumerate(nodes)], "name": name}
        if background is not None:
            fields["background"] = list(P.check_color(background, "background"))
        return self.call("load_scene", **fields)["nodes"]

    def clear_scene(self, timeout: float | None = None) -> None:
        self.call("load_scene", nodes=[], name="")

    def update(self, updates, timeout: float | None = None) -> int:
        return self.call("update", updates=list(updates))["updated"]

    def set_cameras(self, cameras, timeout: float | None = None) -> None:
        checked = [P.check_camera(c, f"cameras[{i}]") for i, c in enumerate(cameras)]
        self.call("camera", cameras=checked)
        self._cameras.update({c["agent"]: c for c in checked})

    def render(self, agents=("a0",), modalities=("rgb",), updates=None, cameras=None, timeout=None):
        agents = P.check_str_list(list(agents), "agents")
        mods = P.check_str_list(list(modalities), "modalities", P.MODALITIES)
        fields: dict = {"agents": agents, "modalities": mods}
        if updates:
            fields["updates"] = list(updates)
        if cameras:
            fields["cameras"] = [P.check_camera(c, f"cameras[{i}]") for i, c in enumerate(cameras)]
        reply = self.call("render", **fields)
        self._cameras.update({c["agent"]: c for c in fields.get("cameras", [])})
        decision, _terminal = self.uenv.get_steps(BEHAVIOR)
        if len(decision) != len(agents):
            raise EngineError(
                f"the {self._where()} returned {len(decision)} camera agents for {len(agents)} cameras"
            )
        h, w = reply["size"]
        out: dict[str, dict[str, np.ndarray]] = {}
        frames = decision.obs[0]
        for k, a in enumerate(agents):
            res = {}
            if "rgb" in mods:
                res["rgb"] = np.rint(frames[k] * 255.0).astype(np.uint8)
            bufs = reply.get("buffers", {}).get(a, {})
            if "depth" in mods:
                res["depth"] = np.frombuffer(bufs["depth"], np.float32).reshape(h, w)
            if "seg" in mods:
                res["seg"] = np.frombuffer(bufs["seg"], np.int32).reshape(h, w)
            out[a] = res
        return out

    def render_async(self, agents=("a0",), modalities=("rgb",), updates=None, cameras=None, timeout=None):
        out = self.render(agents, modalities, updates, cameras, timeout)
        return lambda: out

    def render_many(self, items, modalities=("rgb",), timeout=None):
        out = [sc.render(modalities=modalities, **f) for sc, f in items]
        return lambda: out

    def raycast(self, src, dst, timeout: float | None = None) -> dict:
        raise EngineError("raycast is not available through ML-Agents; the world model answers visibility")

    def request(self, op, fields=None, buffers=(), timeout=None):
        raise EngineError(f"{self.endpoint} speaks ML-Agents, not the ZeroMQ engine protocol (op {op!r})")

    # ------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Close the ML-Agents connection (status 400) and make sure the player is gone."""
        if getattr(self, "_closed", True):
            return
        self._closed = True
        proc = self.process
        with contextlib.suppress(Exception):
            self.uenv._close(timeout=5)
        if proc is not None and proc.poll() is None:
            _stop_group(proc, grace=2.0)
        if self._tmp_dir and proc is not None and proc.returncode == 0:
            shutil.rmtree(self._tmp_dir, ignore_errors=True)

    def __repr__(self) -> str:
        return f"<UnityEngine {self.endpoint}{' closed' if self._closed else ''}>"


def player_path() -> str:
    """The ``embodied-unity-player`` console script (beside this Python, else on PATH)."""
    here = os.path.join(os.path.dirname(sys.executable), "embodied-unity-player")
    path = here if os.path.exists(here) else shutil.which("embodied-unity-player")
    if not path:
        raise EngineError(
            "embodied-unity-player is not installed; reinstall the package (pip install -e '.[unity]')"
        )
    return path


def launch(
    engine: str = "unity",
    headless: bool = True,
    renderer: str = "software",
    host: str = "127.0.0.1",
    port: int = 0,
    timeout: float = 60.0,
    log_dir: str | None = None,
    token: str | None = None,
    build: str | None = None,
    additional_args: list[str] | tuple = (),
    seed: int = 0,
):
    """Start a Unity build (or ``embodied-unity-player``) in render mode; an owning UnityEngine.

    ``port``: 0 picks a free one (else that port); ``timeout``: ML-Agents' ``timeout_wait`` and
    the wait for every step. ``headless`` passes ``-nographics -batchmode`` to real builds (the
    embedded player is always headless)."""
    try:
        from embodied.bridges.mlagents.channel import scene_channel
        from embodied.bridges.mlagents.environment import open_unity
    except ImportError as exc:
        raise EngineError(
            f"the Unity bridge needs mlagents-envs: pip install 'embodied[unity]' ({exc})"
        ) from None
    refuse_remote("ML-Agents", token, host, "the trainer side of ML-Agents cannot bind elsewhere")
    build = build_from(build, "EMBODIED_UNITY_BUILD")
    file_name = build or player_path()
    log_dir, tmp_dir = log_dir_for(log_dir, "embodied-unity-")
    log_path = os.path.join(log_dir, f"player-{uuid.uuid4().hex[:12]}.log")
    args = ["-logFile", log_path]
    if build is None:
        args += ["--render-only", "--renderer", renderer, "--parent-pid", str(os.getpid())]
    args += [str(a) for a in additional_args]
    channel = scene_channel()
    try:
        uenv = open_unity(
            file_name=file_name,
            base_port=int(port) or None,
            seed=seed,
            no_graphics=bool(headless and build),
            timeout_wait=int(max(1, round(timeout))),
            additional_args=args,
            side_channels=[channel],
        )
    except Exception as exc:
        raise EngineError(
            f"cannot start the Unity player {file_name} ({type(exc).__name__}: {exc}); log {log_path}:\n"
            f"{_tail(log_path)}\nLikely fix: check the build runs by hand with --mlagents-port, or pass "
            "a larger timeout="
        ) from None
    eng = UnityEngine(uenv, channel, timeout, log_path, tmp_dir)
    # the first step is ML-Agents' reset: the player's behavior appears
    return own(eng, lambda: (eng._exchange(), eng.hello()))
