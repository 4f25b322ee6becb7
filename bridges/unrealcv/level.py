"""The UnrealCV command set, answered by the embedded Panda3D renderer.

A :class:`Level` holds what an Unreal level holds for UnrealCV: actors (spawned from the asset
table, with location, rotation, scale, object-mask colour, visibility, and our tint and text)
and cameras (location, rotation, horizontal fov, capture size), and answers one command string at
a time with the reply body: text, ``ok``, ``error <message>``, or image bytes (PNG, BMP, npy).
Nothing received is evaluated: a command is matched against fixed patterns, numbers are parsed
with ``float``/``int``. Units and frames are Unreal's (cm, pitch yaw roll; see
:mod:`embodied.bridges.unrealcv.assets`); depth is plane depth in cm (inf where nothing is hit).
"""

from __future__ import annotations

import io
import math
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from embodied.bridges.unrealcv import assets as A
from PIL import Image

from embodied.errors import EmbodiedError

VERSION = "1.1.0"  # the UnrealCV server version this level answers like (command list >= 1.1.0)
NAME = r"([A-Za-z0-9_.\-]+)"
F = r"(\S+)"
MAX_ACTORS = 100_000

# One template per line for `vget /unrealcv/commands` (never `*_shared`: no shared memory here).
COMMANDS = """vget /unrealcv/commands
vget /unrealcv/version
vget /unrealcv/status
vget /cameras
vset /cameras/spawn
vget /camera/[uint]/location
vset /camera/[uint]/location [float] [float] [float]
vget /camera/[uint]/rotation
vset /camera/[uint]/rotation [float] [float] [float]
vset /camera/[uint]/pose [float] [float] [float] [float] [float] [float]
vget /camera/[uint]/fov
vset /camera/[uint]/fov [float]
vget /camera/[uint]/size
vset /camera/[uint]/size [uint] [uint]
vget /camera/[uint]/lit [str]
vget /camera/[uint]/depth [str]
vget /camera/[uint]/object_mask [str]
vget /objects
vset /objects/spawn [str] [str]
vset /objects/spawn [str] [str] [float] [float] [float]
vset /objects/spawn_from_path [str] [str]
vset /objects/spawn_from_path [str] [str] [float] [float] [float]
vget /object/[str]/location
vset /object/[str]/location [float] [float] [float]
vget /object/[str]/rotation
vset /object/[str]/rotation [float] [float] [float]
vget /object/[str]/scale
vset /object/[str]/scale [float] [float] [float]
vget /object/[str]/color
vset /object/[str]/color [uint] [uint] [uint]
vget /object/[str]/uclass_name
vget /object/[str]/bounds
vset /object/[str]/hide
vset /object/[str]/show
vset /object/[str]/destroy
vset /object/[str]/tint [float] [float] [float]
vset /object/[str]/text [str]
vset /object/[str]/text_color [float] [float] [float]
vset /scene/background [float] [float] [float]"""


class CommandError(EmbodiedError):
    """A command that cannot be done; its message becomes the ``error <message>`` reply."""


@dataclass
class Actor:
    name: str
    asset: A.Asset
    index: int
    location: tuple = (0.0, 0.0, 0.0)
    rotation: tuple = (0.0, 0.0, 0.0)
    scale: tuple = (1.0, 1.0, 1.0)
    mask: tuple = (0, 0, 0)
    tint: tuple = (0.7, 0.7, 0.7)
    visible: bool = True
    text: str | None = None
    text_color: tuple = (0.05, 0.05, 0.05)

    def node(self) -> dict:
        n = {
            "id": self.name,
            "seg": self.index,
            "kind": "",
            "shape": self.asset.shape,
            "size": list(self.asset.size_m(self.scale)),
            "pos": list(A.from_ue_location(self.location)),
            "hpr": list(A.from_ue_object_rotation(self.rotation)),
            "color": list(self.tint),
            "visible": self.visible,
            "text_color": list(self.text_color),
        }
        if self.text is not None:
            n["text"] = self.text
        return n


@dataclass
class Cam:
    location: tuple = (0.0, 0.0, 170.0)
    rotation: tuple = (0.0, 0.0, 0.0)
    fov: float = 90.0
    width: int = 640
    height: int = 480

    def camera(self, agent: str) -> dict:
        return {
            "agent": agent,
            "pos": list(A.from_ue_location(self.location)),
            "hpr": list(A.from_ue_camera_rotation(self.rotation)),
            "fov": self.fov,
            "width": self.width,
            "height": self.height,
        }


@dataclass
class Level:
    """The actors and cameras of one UnrealCV 'level', drawn by ``renderer`` (a Panda3D Renderer)."""

    renderer: object
    table: A.AssetTable
    width: int = 640
    height: int = 480
    fov: float = 90.0
    actors: dict[str, Actor] = field(default_factory=dict)
    cameras: list[Cam] = field(default_factory=list)
    background: tuple = (0.62, 0.76, 0.92)
    extra: list[tuple[re.Pattern, Callable]] = field(default_factory=list)
    extra_commands: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.cameras = self.cameras or [Cam(fov=self.fov, width=self.width, height=self.height)]
        self._spawn_rows = self.table.by_spawn()
        self._next_index = 1
        self._rebuild = True  # actors added/removed/rescaled: reload the renderer's scene
        self._changed: set[str] = set()
        self._routes = [(re.compile(p), h) for p, h in self._table()]

    # ------------------------------------------------------------ dispatch
    def add_commands(self, templates: list[str], routes: list[tuple[str, Callable]]) -> None:
        """Extend the command set (``routes``: regex on the whole command -> handler(*groups))."""
        self.extra_commands += templates
        self.extra += [(re.compile(p, re.S), h) for p, h in routes]

    def execute(self, command: str) -> str | bytes:
        """One command -> its reply body. Never raises for a bad command: ``error ...``."""
        cmd = command.strip()
        try:
            for pattern, handler in self.extra + self._routes:
                m = pattern.fullmatch(cmd)
                if m:
                    return handler(*m.groups())
            return f"error unknown command {cmd[:120]!r}; 'vget /unrealcv/commands' lists the commands"
        except (CommandError, EmbodiedError) as exc:
            return f"error {exc}"
        except (ValueError, OverflowError) as exc:
            return f"error bad argument in {cmd[:120]!r}: {exc}"

    def _table(self):
        cam = r"vget /camera/(\d+)/"
        obj = rf" /object/{NAME}/"
        return [
            (r"vget /unrealcv/commands", lambda: "\n".join([COMMANDS, *self.extra_commands])),
            (r"vget /unrealcv/version", lambda: VERSION),
            (r"vget /unrealcv/status", self._status),
            (r"vget /cameras", lambda: " ".join(f"Camera_{i}" for i in range(len(self.cameras)))),
            (r"vset /cameras/spawn", self._spawn_camera),
            (cam + r"location", lambda i: _fmt(self._cam(i).location)),
            (cam + r"rotation", lambda i: _fmt(self._cam(i).rotation)),
            (cam + r"fov", lambda i: _fmt([self._cam(i).fov])),
            (cam + r"size", lambda i: f"{self._cam(i).width} {self._cam(i).height}"),
            (rf"vset /camera/(\d+)/location {F} {F} {F}", self._cam_location),
            (rf"vset /camera/(\d+)/rotation {F} {F} {F}", self._cam_rotation),
            (rf"vset /camera/(\d+)/pose {F} {F} {F} {F} {F} {F}", self._cam_pose),
            (rf"vset /camera/(\d+)/fov {F}", self._cam_fov),
            (rf"vset /camera/(\d+)/size {F} {F}", self._cam_size),
            (cam + r"(lit|depth|object_mask)(?: (\S+))?", self._image),
            (r"vget /objects", lambda: " ".join(self.actors)),
            (rf"vset /objects/(spawn|spawn_from_path) (\S+)(?: {NAME})?(?: {F} {F} {F})?", self._spawn),
            ("vget" + obj + "location", lambda n: _fmt(self._actor(n).location)),
            ("vget" + obj + "rotation", lambda n: _fmt(self._actor(n).rotation)),
            ("vget" + obj + "scale", lambda n: _fmt(self._actor(n).scale)),
            ("vget" + obj + "color", self._get_color),
            ("vget" + obj + "uclass_name", lambda n: self._actor(n).asset.spawn),
            ("vget" + obj + "bounds", self._bounds),
            ("vset" + obj + f"(location|rotation|scale) {F} {F} {F}", self._set_vec),
            ("vset" + obj + f"color {F} {F} {F}", self._set_color),
            ("vset" + obj + "(hide|show)", self._show),
            ("vset" + obj + "destroy", self._destroy),
            ("vset" + obj + f"(tint|text_color) {F} {F} {F}", self._set_tint),
            ("vset" + obj + r"text(?: (.*))?", self._set_text),
            (rf"vset /scene/background {F} {F} {F}", self._set_background),
        ]

    # ------------------------------------------------------------ cameras
    def _status(self) -> str:
        return (
            f"Is Listening\nClient Connected\nEmbedded Panda3D renderer ({getattr(self.renderer, 'backend', '?')})"
            f"\nConfiguration\nWidth:{self.width}\nHeight:{self.height}\nFOV:{self.fov}"
        )

    def _cam(self, i: str) -> Cam:
        k = int(i)
        if k >= len(self.cameras):
            raise CommandError(
                f"no camera {k}; there are {len(self.cameras)} (vget /cameras), add one with vset /cameras/spawn"
            )
        return self.cameras[k]

    def _spawn_camera(self) -> str:
        if len(self.cameras) >= 64:
            raise CommandError("at most 64 cameras")
        self.cameras.append(Cam(fov=self.fov, width=self.width, height=self.height))
        return f"Camera_{len(self.cameras) - 1}"

    def _cam_location(self, i, *xyz) -> str:
        self._cam(i).location = _floats(xyz)
        return "ok"

    def _cam_rotation(self, i, *pyr) -> str:
        self._cam(i).rotation = _floats(pyr)
        return "ok"

    def _cam_pose(self, i, *v) -> str:
        c, f = self._cam(i), _floats(v)
        c.location, c.rotation = f[:3], f[3:]
        return "ok"

    def _cam_fov(self, i, fov) -> str:
        f = float(fov)
        if not 1 <= f <= 170:
            raise CommandError(f"fov must be 1..170 degrees, got {fov}")
        self._cam(i).fov = f
        return "ok"

    def _cam_size(self, i, w, h) -> str:
        w, h = int(w), int(h)
        if not (1 <= w <= 4096 and 1 <= h <= 4096):
            raise CommandError(f"size must be 1..4096 pixels each, got {w} {h}")
        c = self._cam(i)
        c.width, c.height = w, h
        return "ok"

    # ------------------------------------------------------------ images
    def _image(self, i: str, mode: str, fmt: str | None):
        self._cam(i)
        if fmt not in ("png", "bmp", "npy"):
            raise CommandError(
                f"image format {fmt!r}: this server sends images, it does not save files; "
                f"ask for 'vget /camera/{i}/{mode} png', 'bmp' or 'npy'"
            )
        frame = self.render(int(i), {"lit": "rgb", "depth": "depth", "object_mask": "seg"}[mode])
        if mode == "depth":
            depth = frame * np.float32(100.0)  # meters -> cm
            if fmt != "npy":
                raise CommandError(f"depth comes as npy: 'vget /camera/{i}/depth npy'")
            return _npy(depth)
        if mode == "object_mask":
            lut = np.zeros((self._next_index, 3), np.uint8)
            for a in self.actors.values():
                lut[a.index] = a.mask
            rgb = lut[frame]
        else:
            rgb = frame
        return _encode(rgb, fmt)

    def render(self, cam: int, modality: str) -> np.ndarray:
        """Bring the renderer up to date and render one modality of camera ``cam``."""
        r = self.renderer
        if self._rebuild:
            r.load_scene([a.node() for a in self.actors.values()], "unrealcv", self.background)
            self._rebuild, self._changed = False, set()
        elif self._changed:
            ups = []
            for name in self._changed:
                n = self.actors[name].node()
                ups.append({k: n[k] for k in ("id", "pos", "hpr", "color", "visible", "text_color")})
                ups[-1]["text"] = n.get("text")
            r.update(ups)
            self._changed = set()
        agent = f"camera{cam}"
        r.set_cameras([self.cameras[cam].camera(agent)])
        return r.render([agent], [modality])[agent][modality]

    # ------------------------------------------------------------ objects
    def _actor(self, name: str) -> Actor:
        a = self.actors.get(name)
        if a is None:
            near = [n for n in self.actors if name.lower() in n.lower()][:5]
            hint = f"; similar: {', '.join(near)}" if near else "; 'vget /objects' lists them"
            raise CommandError(f"unknown object {name!r}{hint}")
        return a

    def _spawn(self, how: str, what: str, name: str | None, *xyz) -> str:
        row = self._spawn_rows.get(what)
        if row is None:
            known = ", ".join(sorted(self._spawn_rows))
            raise CommandError(
                f"cannot spawn {what!r}: this level knows only the asset table's {known} "
                "(pass --assets FILE to the server for more)"
            )
        if row.by_path != (how == "spawn_from_path"):
            hint = "spawn_from_path" if row.by_path else "spawn"
            raise CommandError(
                f"{what!r} is {'an asset path' if row.by_path else 'a class'}; use vset /objects/{hint}"
            )
        if len(self.actors) >= MAX_ACTORS:
            raise CommandError(f"at most {MAX_ACTORS} objects")
        if name is None:
            name = f"{what.rsplit('/', 1)[-1].split('.')[0]}_{self._next_index}"
        if name in self.actors:
            raise CommandError(f"an object named {name!r} exists; destroy it first or pick another name")
        a = Actor(name, row, self._next_index, mask=A.mask_color(self._next_index))
        if xyz[0] is not None:
            a.location = _floats(xyz)
        self._next_index += 1
        self.actors[name] = a
        self._rebuild = True
        return name

    def _get_color(self, n: str) -> str:
        r, g, b = self._actor(n).mask
        return f"(R={r},G={g},B={b},A=255)"

    def _bounds(self, n: str) -> str:
        a = self._actor(n)
        half = [s * 50.0 for s in a.asset.size_m(a.scale)]  # cm, axis-aligned before rotation
        lo = [c - h for c, h in zip(a.location, half)]
        hi = [c + h for c, h in zip(a.location, half)]
        return _fmt(lo + hi)

    def _set_vec(self, n: str, what: str, *v) -> str:
        a, f = self._actor(n), _floats(v)
        if what == "scale" and any(x < 0 for x in f):
            raise CommandError(f"scale must be >= 0, got {_fmt(f)}")
        setattr(a, what, f)
        if what == "scale":
            self._rebuild = True
        self._changed.add(n)
        return "ok"

    def _set_color(self, n: str, *rgb) -> str:
        c = tuple(int(x) for x in rgb)
        if any(not 0 <= x <= 255 for x in c):
            raise CommandError(f"object-mask colour components must be 0..255, got {rgb}")
        self._actor(n).mask = c
        return "ok"

    def _show(self, n: str, what: str) -> str:
        self._actor(n).visible = what == "show"
        self._changed.add(n)
        return "ok"

    def _destroy(self, n: str) -> str:
        self._actor(n)
        del self.actors[n]
        self._rebuild = True
        return "ok"

    def _set_tint(self, n: str, what: str, *rgb) -> str:
        c = _floats(rgb)
        if any(not 0 <= x <= 1 for x in c):
            raise CommandError(f"{what} components must be 0..1, got {_fmt(c)}")
        setattr(self._actor(n), what, c)
        self._changed.add(n)
        return "ok"

    def _set_text(self, n: str, text: str | None) -> str:
        from urllib.parse import unquote

        a = self._actor(n)
        a.text = unquote(text) if text else None  # percent-encoded: one word on the wire
        if a.text is not None and len(a.text) > 4096:
            raise CommandError("text longer than 4096 characters")
        self._changed.add(n)
        return "ok"

    def _set_background(self, *rgb) -> str:
        c = _floats(rgb)
        if any(not 0 <= x <= 1 for x in c):
            raise CommandError(f"background components must be 0..1, got {_fmt(c)}")
        self.background = c
        self._rebuild = True
        return "ok"


def _floats(values) -> tuple[float, ...]:
    out = tuple(float(v) for v in values)
    if not all(math.isfinite(v) for v in out):
        raise CommandError(f"expected finite numbers, got {' '.join(values)}")
    return out


def _fmt(values) -> str:
    return " ".join(f"{v:.3f}" for v in values)


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def _encode(rgb: np.ndarray, fmt: str) -> bytes:
    """RGB (H, W, 3) uint8 -> RGBA PNG, top-down BGRA BMP, or RGBA npy (as UnrealCV sends them)."""
    h, w = rgb.shape[:2]
    if fmt == "bmp":
        bgra = np.empty((h, w, 4), np.uint8)
        bgra[..., 0], bgra[..., 1], bgra[..., 2], bgra[..., 3] = rgb[..., 2], rgb[..., 1], rgb[..., 0], 255
        size = h * w * 4
        header = struct.pack("<2sIHHI", b"BM", 54 + size, 0, 0, 54)
        info = struct.pack("<IiiHHIIiiII", 40, w, -h, 1, 32, 0, size, 2835, 2835, 0, 0)
        return header + info + bgra.tobytes()
    rgba = np.empty((h, w, 4), np.uint8)
    rgba[..., :3], rgba[..., 3] = rgb, 255
    if fmt == "npy":
        return _npy(rgba)
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()
