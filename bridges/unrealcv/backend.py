"""The Unreal backend: renders our scene nodes in any UnrealCV-enabled build.

:class:`UnrealCVEngine` has the interface of :class:`embodied.engine.EngineClient` (``hello``,
``ping``, ``load_scene``, ``update``, ``set_cameras``, ``render``, ``render_async``, ``close``), so
the env, the oracle and the benchmark run on it unchanged. It turns nodes into UnrealCV commands:

- each node becomes an actor spawned from the asset table (``kind``, else ``shape``; see
  :mod:`embodied.bridges.unrealcv.assets`), named after the node id (``chest#lid`` ->
  ``chest_lid``), placed, rotated and scaled to the node's size; hidden with ``hide``;
- its object-mask colour encodes the node's ``seg`` id, so ``object_mask`` images map back to our
  ids; colour and text go through ``vset /object/[str]/tint`` and ``/text`` when the server lists
  them, else through the asset's Blueprint functions (``vbp``), else they are skipped (logged once);
- agent ``k`` (in order of first use) looks through UnrealCV camera ``k`` (spawned if missing),
  with the agent's pose, fov and capture size;
- a render is ONE pipelined batch: scene updates, camera changes, then ``lit`` (BMP by default),
  ``depth`` (npy, cm -> m) and ``object_mask`` (BMP) per agent.

Errors name the endpoint, the log file (when this engine was launched) and the likely fix.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from urllib.parse import quote

import numpy as np
from embodied.bridges.single import SingleScene
from embodied.bridges.unrealcv import assets as A

from embodied import protocol as P
from embodied.engine import EngineClient, _stop_group, _tail
from embodied.errors import ConfigError, EngineError, EngineTimeout, ProtocolError

log = logging.getLogger("embodied.engine.unrealcv")
CAPABILITIES = ["rgb", "depth", "seg", "multi_agent", "render_updates"]
_BAD = re.compile(r"[^A-Za-z0-9_]")


class UnrealCVEngine(EngineClient):
    """Our engine interface over UnrealCV commands (see the module docstring).

    ``transport``: a :class:`~embodied.bridges.unrealcv.transport.ClientTransport` (the genuine
    ``unrealcv.Client``) or a ``LocalTransport``. ``process``/``log_path``: the build this client
    launched and owns (``close()`` stops its process group). ``image_format``: ``bmp`` or ``png``
    for lit and object-mask images. ``depth_far_cm``: depths at or beyond this become ``inf``.
    """

    scene_class = SingleScene  # an Unreal level holds one scene: load it, close it before the next
    EXIT_GRACE = 2.0  # seconds a lost connection waits for the build to exit (see _dead)

    def __init__(
        self,
        transport,
        table: A.AssetTable | None = None,
        timeout: float = 30.0,
        process=None,
        log_path: str | None = None,
        image_format: str = "bmp",
        depth_far_cm: float = 1e7,
    ):
        # no EngineClient.__init__: there is no ZeroMQ socket here
        if image_format not in ("bmp", "png"):
            raise ConfigError(f"image_format must be 'bmp' or 'png', got {image_format!r}")
        self.transport, self.table = transport, table or A.load_table()
        self.endpoint = f"unrealcv://{transport.endpoint}"
        self.timeout, self.token = float(timeout), None
        self.process, self.log_path = process, log_path
        self.image_format, self.depth_far_cm = image_format, float(depth_far_cm)
        self.info: dict = {}
        self._tmp_dir: str | None = None
        self._closed = False
        self._commands: tuple[str, ...] = ()
        self._names: dict[str, str] = {}  # node id -> actor name
        self._nodes: dict[str, dict] = {}  # node id -> node as last sent
        self._segs = np.zeros(0, np.int64)
        self._cam_ids: dict[str, int] = {}
        self._n_cameras = 0
        self._cam_sent: dict[int, tuple] = {}
        self._cameras: dict[str, dict] = {}
        self._warned: set[str] = set()
        self._default = None
        self._scene: UnrealScene | None = None  # the scene loaded in the level, if any

    # ------------------------------------------------------------ transport
    def _where(self) -> str:
        log_ = self.log_path or "none: this build was not launched by embodied"
        return f"UnrealCV server at {self.transport.endpoint} (log: {log_})"

    def _dead(self, grace: float = 0.0) -> EngineError | None:
        """The build's exit as an error, or None while it runs. ``grace``: seconds to wait for it to
        exit, after a lost connection: a killed build's sockets close before it can be reaped, so
        the lost connection can arrive while it still looks alive."""
        if self.process is None:
            return None
        if grace:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(grace)
        if self.process.poll() is None:
            return None
        return EngineError(
            f"the Unreal build (pid {self.process.pid}) behind {self._where()} exited with code "
            f"{self.process.returncode}:\n{_tail(self.log_path)}\nLikely fix: read the log (a crash, or "
            "killed for memory); a build that exits at start lacks the UnrealCV plugin or a GPU/Vulkan driver"
        )

    def _batch_send(self, commands: list[str]) -> Callable[[], list]:
        if self._closed:
            raise EngineError(f"the Unreal engine client for {self.endpoint} is closed; launch() again")
        try:
            self.transport.send(commands)
        except ConnectionError as exc:
            raise self._dead(self.EXIT_GRACE) or EngineError(f"{self._where()}: {exc}") from None
        n = len(commands)

        def receive(timeout: float | None = None) -> list:
            t = self.timeout if timeout is None else float(timeout)
            try:
                return self.transport.receive(n, t)
            except TimeoutError:
                raise self._dead() or EngineTimeout(
                    f"{self._where()} did not answer {n} command(s) (first: {commands[0][:80]!r}) within "
                    f"{t:g} s. Likely fix: the build is still loading or overloaded - pass a larger "
                    "timeout= to launch()/Env(engine_timeout=...), or read its log"
                ) from None
            except ConnectionError as exc:
                raise self._dead(self.EXIT_GRACE) or EngineError(f"{self._where()}: {exc}") from None

        return receive

    def batch(self, commands: list[str], timeout: float | None = None, check: bool = True) -> list:
        """Send UnrealCV commands in one pipelined batch; the replies in order. ``check``: raise
        EngineError on the first ``error ...`` reply (naming the command)."""
        if not commands:
            return []
        replies = self._batch_send(commands)(timeout)
        if check:
            self._check(commands, replies)
        return replies

    def _check(self, commands: list[str], replies: list) -> None:
        for cmd, rep in zip(commands, replies):
            if isinstance(rep, str) and rep.startswith("error"):
                raise EngineError(f"{self._where()} rejected {cmd[:100]!r}: {rep}")

    # ------------------------------------------------------------ ops
    def hello(self, timeout: float | None = None) -> dict:
        version, commands, cameras = self.batch(
            ["vget /unrealcv/version", "vget /unrealcv/commands", "vget /cameras"], timeout, check=False
        )
        if isinstance(commands, str) and not commands.startswith("error"):
            self._commands = tuple(" ".join(line.split()) for line in commands.splitlines() if line.strip())
        self._n_cameras = (
            len(cameras.split()) if isinstance(cameras, str) and not cameras.startswith("error") else 1
        )
        self.info = {
            "protocol": P.PROTOCOL_VERSION,
            "engine": "unreal",
            "renderer": "unrealcv",
            "driver": f"UnrealCV {version}",
            "capabilities": list(CAPABILITIES),
            "endpoint": self.endpoint,
            "pid": getattr(self.process, "pid", None),
        }
        return self.info

    def render_many(self, items, modalities=("rgb",), timeout=None):
        """Several scenes in one round trip: a level holds one scene, so at most one item."""
        pending = [sc.render_async(modalities=modalities, timeout=timeout, **f) for sc, f in items]
        return lambda: [p() for p in pending]

    def supports(self, template: str) -> bool:
        """Whether the server lists this command template in ``vget /unrealcv/commands``."""
        return template in self._commands

    def ping(self, timeout: float | None = None) -> float:
        t0 = time.perf_counter()
        self.batch(["vget /unrealcv/version"], timeout, check=False)
        return time.perf_counter() - t0

    def load_scene(
        self, nodes: list[dict], name: str = "", background=None, timeout: float | None = None
    ) -> int:
        checked = [P.check_node(n, f"nodes[{i}]") for i, n in enumerate(nodes)]
        seen: set[str] = set()
        for i, n in enumerate(checked):
            if n["id"] in seen:
                raise ProtocolError(f"field 'nodes[{i}].id': duplicate node id {n['id']!r}")
            seen.add(n["id"])
        rows = [self.table.for_node(n["kind"], n["shape"]) for n in checked]
        self.clear_scene(timeout)  # 1. remove what an earlier scene spawned
        # 2. spawn (a build may rename actors: the reply carries the name it used)
        names, used = [], set()
        for n in checked:
            base = _BAD.sub("_", n["id"]) or "node"
            actor, k = base, 1
            while actor in used:
                k += 1
                actor = f"{base}_{k}"
            used.add(actor)
            names.append(actor)
        spawn = [
            f"vset /objects/{'spawn_from_path' if r.by_path else 'spawn'} {r.spawn} {a}"
            for r, a in zip(rows, names)
        ]
        replies = self.batch(spawn, timeout, check=False)
        for cmd, rep, n in zip(spawn, replies, checked):
            if not isinstance(rep, str) or rep.startswith("error"):
                raise EngineError(
                    f"{self._where()} could not spawn node {n['id']!r} (kind {n['kind']!r}) with {cmd!r}: "
                    f"{rep!r:.200}. Likely fix: map this kind to an asset the build has, in the asset "
                    "table (docs/unreal.md#the-asset-table)"
                )
        for n, actor, rep in zip(checked, names, replies):
            self._names[n["id"]] = actor if rep.strip() in ("ok", "") else rep.strip().split()[0]
        # 3. place, scale, colour, hide
        cmds: list[str] = []
        for n, row in zip(checked, rows):
            actor = self._names[n["id"]]
            cmds.append(f"vset /object/{actor}/scale {' '.join(A.num(v) for v in row.scale(n['size']))}")
            cmds.append(f"vset /object/{actor}/color {' '.join(str(v) for v in A.mask_color(n['seg']))}")
            first = {k: v for k, v in n.items() if not (k == "text" and v is None) and k != "visible"}
            if not n["visible"]:
                first["visible"] = False
            cmds += self._node_cmds(n["id"], first, row)
            self._nodes[n["id"]] = n
        if background is not None:
            bg = P.check_color(background, "background")
            if self.supports("vset /scene/background [float] [float] [float]"):
                cmds.append(f"vset /scene/background {' '.join(A.num(v) for v in bg)}")
        self.batch(cmds, timeout)
        self._segs = np.unique(np.array([n["seg"] for n in checked], np.int64))
        return len(checked)

    def clear_scene(self, timeout: float | None = None) -> None:
        """Destroy every actor this client spawned."""
        self.batch([f"vset /object/{a}/destroy" for a in self._names.values()], timeout, check=False)
        self._names, self._nodes, self._segs = {}, {}, np.zeros(0, np.int64)

    def _node_cmds(self, nid: str, u: dict, row: A.Asset | None = None) -> list[str]:
        """Commands that bring actor ``nid`` to the (checked) fields of ``u``."""
        actor = self._names[nid]
        row = row or self.table.for_node(self._nodes[nid]["kind"], self._nodes[nid]["shape"])
        out = []
        if "pos" in u:
            out.append(
                f"vset /object/{actor}/location {' '.join(A.num(v) for v in A.to_ue_location(u['pos']))}"
            )
        if "hpr" in u:
            rot = A.to_ue_object_rotation(u["hpr"])
            out.append(f"vset /object/{actor}/rotation {' '.join(A.num(v) for v in rot)}")
        if "color" in u:
            out += self._styled(actor, row, "tint", " ".join(A.num(v) for v in u["color"]))
        if "text_color" in u:
            out += self._styled(actor, row, "text_color", " ".join(A.num(v) for v in u["text_color"]))
        if "text" in u:
            out += self._styled(actor, row, "text", quote(u["text"] or "", safe=""))
        if "visible" in u:
            out.append(f"vset /object/{actor}/{'show' if u['visible'] else 'hide'}")
        return out

    def _styled(self, actor: str, row: A.Asset, what: str, args: str) -> list[str]:
        template = f"vset /object/[str]/{what} " + ("[str]" if what == "text" else "[float] [float] [float]")
        if self.supports(template):
            return [f"vset /object/{actor}/{what} {args}".rstrip()]
        fn = row.text_function if what == "text" else row.tint_function if what == "tint" else None
        if fn:
            return [f"vbp {actor} {fn} {args}".rstrip()]
        if what not in self._warned:
            self._warned.add(what)
            log.warning(
                "%s does not list %r and the asset table gives no Blueprint function for it: %s is "
                "not shown (docs/unreal.md#colours-and-text)",
                self._where(),
                template,
                what,
            )
        return []

    def _update_cmds(self, updates: list[dict]) -> list[str]:
        checked = P.check_updates(updates, self._names)
        cmds = []
        for u in checked:
            cmds += self._node_cmds(u["id"], u)
            self._nodes[u["id"]].update({k: v for k, v in u.items() if k != "id"})
        return cmds

    def update(self, updates: list[dict], timeout: float | None = None) -> int:
        self.batch(self._update_cmds(updates), timeout)
        return len(updates)

    def _camera_cmds(self, cameras: list[dict]) -> list[str]:
        checked = P.check_cameras(cameras)
        cmds: list[str] = []
        for c in checked:
            self._cameras[c["agent"]] = c
            k = self._cam_ids.setdefault(c["agent"], len(self._cam_ids))
            while self._n_cameras <= k:
                cmds.append("vset /cameras/spawn")
                self._n_cameras += 1
            last = self._cam_sent.get(k)
            loc, rot = A.to_ue_location(c["pos"]), A.to_ue_camera_rotation(c["hpr"])
            if last is None or last[0] != loc:
                cmds.append(f"vset /camera/{k}/location {' '.join(A.num(v) for v in loc)}")
            if last is None or last[1] != rot:
                cmds.append(f"vset /camera/{k}/rotation {' '.join(A.num(v) for v in rot)}")
            if last is None or last[2] != c["fov"]:
                cmds.append(f"vset /camera/{k}/fov {A.num(c['fov'])}")
            if last is None or last[3] != (c["width"], c["height"]):
                cmds.append(f"vset /camera/{k}/size {c['width']} {c['height']}")
            self._cam_sent[k] = (loc, rot, c["fov"], (c["width"], c["height"]))
        return cmds

    def set_cameras(self, cameras: list[dict], timeout: float | None = None) -> None:
        self.batch(self._camera_cmds(cameras), timeout)

    def render(self, agents=("a0",), modalities=("rgb",), updates=None, cameras=None, timeout=None):
        return self.render_async(agents, modalities, updates, cameras, timeout)()

    def render_async(
        self,
        agents: Sequence[str] = ("a0",),
        modalities: Sequence[str] = ("rgb",),
        updates: list[dict] | None = None,
        cameras: list[dict] | None = None,
        timeout: float | None = None,
    ) -> Callable[[], dict[str, dict[str, np.ndarray]]]:
        mods = P.check_str_list(list(modalities), "modalities", P.MODALITIES)
        cmds = self._update_cmds(updates or []) + self._camera_cmds(cameras or [])
        agents = P.check_render_agents(list(agents), self._cameras)
        fmt = self.image_format
        views = {"rgb": f"lit {fmt}", "depth": "depth npy", "seg": f"object_mask {fmt}"}
        images = [(a, m, f"vget /camera/{self._cam_ids[a]}/{views[m]}") for a in agents for m in mods]
        all_cmds = cmds + [c for _, _, c in images]
        receive = self._batch_send(all_cmds)

        def result() -> dict[str, dict[str, np.ndarray]]:
            replies = receive(timeout)
            self._check(cmds, replies[: len(cmds)])
            out: dict[str, dict[str, np.ndarray]] = {}
            for (a, m, cmd), rep in zip(images, replies[len(cmds) :]):
                out.setdefault(a, {})[m] = self._decode(a, m, cmd, rep)
            return out

        return result

    def _decode(self, agent: str, modality: str, cmd: str, reply) -> np.ndarray:
        if isinstance(reply, str):
            raise EngineError(f"{self._where()} answered {cmd!r} with {reply[:200]!r} instead of an image")
        cam = self._cameras[agent]
        try:
            if modality == "depth":
                arr = np.load(io.BytesIO(reply), allow_pickle=False).astype(np.float32)
                arr = arr.reshape(arr.shape[:2]) / np.float32(100.0)
                arr[arr >= self.depth_far_cm / 100.0] = np.inf
            else:
                import cv2

                img = cv2.imdecode(np.frombuffer(reply, np.uint8), cv2.IMREAD_COLOR)
                if img is None:
                    raise ValueError("not a PNG/BMP image")
                arr = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
                if modality == "seg":
                    arr = A.mask_to_seg(arr, self._segs)
        except ValueError as exc:
            raise EngineError(f"{self._where()}: cannot decode the reply to {cmd!r}: {exc}") from None
        if arr.shape[:2] != (cam["height"], cam["width"]):
            raise EngineError(
                f"{self._where()} sent a {arr.shape[1]}x{arr.shape[0]} image for {cmd!r}, asked for "
                f"{cam['width']}x{cam['height']}. Likely fix: the build ignores 'vset /camera/N/size'; "
                "launch it with that resolution (launch(width=, height=))"
            )
        return np.ascontiguousarray(arr)

    def raycast(self, src, dst, timeout: float | None = None) -> dict:
        raise EngineError(
            "raycast is not available through UnrealCV (no stock command); the world model's own "
            "geometry answers visibility (embodied.world.World.visible)"
        )

    def request(self, op: str, fields=None, buffers=(), timeout=None):
        raise EngineError(f"{self.endpoint} speaks UnrealCV, not the ZeroMQ engine protocol (op {op!r})")

    # ------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Drop the connection; if this client launched the build, stop its process group."""
        if getattr(self, "_closed", True):
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self.transport.close()
        proc = self.process
        if proc is not None and proc.poll() is None:
            _stop_group(proc)
        if self._tmp_dir and proc is not None and proc.returncode in (0, -15):
            shutil.rmtree(self._tmp_dir, ignore_errors=True)

    def __repr__(self) -> str:
        owner = f" pid={self.process.pid}" if self.process is not None else ""
        return f"<UnrealCVEngine {self.endpoint}{owner}{' closed' if self._closed else ''}>"


UnrealScene = SingleScene


__all__ = ["CAPABILITIES", "UnrealCVEngine", "UnrealScene"]
