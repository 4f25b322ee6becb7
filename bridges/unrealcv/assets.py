"""The type -> asset table and the coordinate conventions shared by the Unreal backend and the
embedded UnrealCV server.

Frames: ours is Panda3D's (x east, y north, z up, meters; hpr in degrees, heading counter-clockwise
seen from above, cameras look along +y). Unreal's is left-handed (X forward, Y right, Z up,
centimetres; rotation as pitch yaw roll, yaw clockwise seen from above, cameras look along +X).
So ``(X, Y, Z) = 100 * (x, -y, z)``; an object's ``yaw = -h``, its pitch about our local x becomes
Unreal's roll and its roll about our local y becomes Unreal's (negated) pitch; a camera's
``yaw = -h - 90`` and ``pitch = p``. The functions below are exact inverses of each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from embodied.errors import EngineError

TABLE = Path(__file__).with_name("assets.yaml")
SHAPES = ("box", "cylinder", "sphere", "card")


@dataclass(frozen=True)
class Asset:
    """One row of the table: what to spawn for a node and its native size (cm)."""

    spawn: str  # asset path or class name
    by_path: bool  # True: spawn_from_path, False: spawn (class)
    size: tuple[float, float, float]
    shape: str
    tint_function: str | None = None
    text_function: str | None = None

    def scale(self, size_m) -> tuple[float, float, float]:
        """The actor scale that gives a node of ``size_m`` meters (1 along flat axes)."""
        return tuple(s * 100.0 / n if n > 0 else 1.0 for s, n in zip(size_m, self.size))

    def size_m(self, scale) -> tuple[float, float, float]:
        return tuple(n * k / 100.0 for n, k in zip(self.size, scale))


@dataclass
class AssetTable:
    kinds: dict[str, Asset] = field(default_factory=dict)
    shapes: dict[str, Asset] = field(default_factory=dict)

    def for_node(self, kind: str, shape: str) -> Asset:
        row = self.kinds.get(kind) or self.shapes.get(shape)
        if row is None:
            raise EngineError(
                f"the asset table has no row for kind {kind!r} nor shape {shape!r}; add one under "
                "'kinds' or 'shapes' (see docs/unreal.md#the-asset-table)"
            )
        return row

    def by_spawn(self) -> dict[str, Asset]:
        """Asset path / class name -> row (the embedded server draws spawned actors from this)."""
        out: dict[str, Asset] = {}
        for row in list(self.shapes.values()) + list(self.kinds.values()):
            out.setdefault(row.spawn, row)
        return out


def _row(where: str, raw: Any) -> Asset:
    if not isinstance(raw, dict):
        raise EngineError(f"asset table {where}: expected a mapping like {{asset: ..., size: [...]}}")
    if ("asset" in raw) == ("class" in raw):
        raise EngineError(f"asset table {where}: give exactly one of 'asset' (a path) or 'class'")
    size = raw.get("size")
    if not (isinstance(size, list) and len(size) == 3 and all(isinstance(v, (int, float)) for v in size)):
        raise EngineError(f"asset table {where}.size: expected [x, y, z] centimetres, got {size!r}")
    shape = raw.get("shape", "box")
    if shape not in SHAPES:
        raise EngineError(f"asset table {where}.shape: {shape!r} is not one of {list(SHAPES)}")
    spawn = str(raw.get("asset") or raw.get("class"))
    if not spawn or any(c.isspace() for c in spawn):
        raise EngineError(f"asset table {where}: asset/class {spawn!r} must be one word")
    return Asset(
        spawn,
        "asset" in raw,
        tuple(float(v) for v in size),
        shape,
        raw.get("tint_function"),
        raw.get("text_function"),
    )


def _parse(data: Any, source: str) -> dict[str, dict[str, Asset]]:
    if not isinstance(data, dict):
        raise EngineError(f"asset table {source}: expected a mapping with 'kinds' and/or 'shapes'")
    out: dict[str, dict[str, Asset]] = {"kinds": {}, "shapes": {}}
    for section in ("kinds", "shapes"):
        for key, raw in (data.get(section) or {}).items():
            out[section][str(key)] = _row(f"{source}: {section}.{key}", raw)
    return out


@lru_cache(maxsize=1)
def _default() -> dict[str, dict[str, Asset]]:
    return _parse(yaml.safe_load(TABLE.read_text()), str(TABLE))


def load_table(extra: str | Path | dict | None = None) -> AssetTable:
    """The shipped table, with ``extra`` (a YAML path or a dict) merged over it."""
    base = _default()
    table = AssetTable(dict(base["kinds"]), dict(base["shapes"]))
    if extra is not None:
        if isinstance(extra, dict):
            data, source = extra, "(dict)"
        else:
            try:
                data, source = yaml.safe_load(Path(extra).read_text()), str(extra)
            except (OSError, yaml.YAMLError) as exc:
                raise EngineError(f"cannot read asset table {extra}: {exc}") from None
        more = _parse(data, source)
        table.kinds.update(more["kinds"])
        table.shapes.update(more["shapes"])
    return table


# ---------------------------------------------------------------- coordinates


def _wrap(a: float) -> float:
    a = math.fmod(a, 360.0)
    if a > 180.0:
        a -= 360.0
    elif a <= -180.0:
        a += 360.0
    return a + 0.0


def to_ue_location(pos) -> tuple[float, float, float]:
    return (pos[0] * 100.0, -pos[1] * 100.0, pos[2] * 100.0)


def from_ue_location(loc) -> tuple[float, float, float]:
    return (loc[0] / 100.0, -loc[1] / 100.0, loc[2] / 100.0)


def to_ue_object_rotation(hpr) -> tuple[float, float, float]:
    """Our object hpr -> Unreal (pitch, yaw, roll)."""
    return (-hpr[2] + 0.0, _wrap(-hpr[0]), hpr[1] + 0.0)


def from_ue_object_rotation(rot) -> tuple[float, float, float]:
    return (_wrap(-rot[1]), rot[2] + 0.0, -rot[0] + 0.0)


def to_ue_camera_rotation(hpr) -> tuple[float, float, float]:
    return (hpr[1] + 0.0, _wrap(-hpr[0] - 90.0), hpr[2] + 0.0)


def from_ue_camera_rotation(rot) -> tuple[float, float, float]:
    return (_wrap(-rot[1] - 90.0), rot[0] + 0.0, rot[2] + 0.0)


def num(v: float) -> str:
    """A float as a command argument that parses back exactly."""
    return repr(float(v))


# ---------------------------------------------------------------- object-mask colours

_MASK_BITS = 18  # 6 bits per channel: a colour survives +-1 of encoding noise
_MUL = 0x2F3A5  # odd, so multiplying by it permutes 0..2^18-1 (spreads small ids over colours)
_INV = pow(_MUL, -1, 1 << _MASK_BITS)


def mask_color(seg: int) -> tuple[int, int, int]:
    """A distinct object-mask colour for segmentation id ``seg`` (1 .. 2^18-1)."""
    code = (seg * _MUL) & ((1 << _MASK_BITS) - 1)
    return (((code >> 12) & 63) * 4 + 2, ((code >> 6) & 63) * 4 + 2, (code & 63) * 4 + 2)


def mask_to_seg(rgb, known) -> Any:
    """Object-mask image (H, W, 3 uint8 RGB) -> int32 segmentation ids; colours that encode no id in
    ``known`` (a sorted int array of ids in use), and black, become 0."""
    import numpy as np

    c = rgb.astype(np.int64) >> 2
    code = (c[..., 0] << 12) | (c[..., 1] << 6) | c[..., 2]
    seg = (code * _INV) & ((1 << _MASK_BITS) - 1)
    known = np.asarray(known, np.int64)
    ok = np.isin(seg, known) & (rgb.max(axis=-1) > 1)
    return np.where(ok, seg, 0).astype(np.int32)
