"""Procedural surface textures (numpy), seeded, nothing downloaded.

Each material is a light, mostly grey pattern that *modulates* the part's colour, so a "red
chest" is red wood and colour names keep their meaning. Textures are power-of-two squares
(the software rasteriser needs that), mipmapped, and cover ``TILE[name]`` meters per repeat.
The same (name, seed) always gives the same pixels.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from panda3d.core import SamplerState, Texture

from embodied.errors import ConfigError

SIZE = 64
MINFILTER = SamplerState.FT_nearest_mipmap_nearest
MAGFILTER = SamplerState.FT_nearest
# meters of surface covered by one repeat of each material
TILE = {
    "wood": 0.6,
    "planks": 1.6,
    "plaster": 1.5,
    "tiles": 0.8,
    "carpet": 1.0,
    "metal": 0.5,
    "grass": 2.0,
    "paper": 0.5,
    "fabric": 0.4,
    "brick": 1.2,
}
MATERIALS = tuple(TILE)
# large surfaces without a model (floors, ground) get these materials as geometry instead of a
# texture: cells (meters along, across) with a seeded tone each; textured floors and walls
# would halve the software renderer's frame rate. Walls and ceilings (plaster) stay plain.
CELLS = {
    # 0: boards run the whole length; 0.3 m wide: a board is two long triangles the rasteriser
    # sets up on every scanline it crosses, so the floor's cost grows with the boards in view
    # (0.2 m boards: collab_split 1.834 M instructions per RGB step, 0.3 m: 1.762 M, docs/rendering.md)
    "planks": ((0.0, 0.3), 0.12),
    "tiles": ((0.5, 0.5), 0.07),
    "carpet": ((1.0, 1.0), 0.03),
    "grass": ((2.0, 2.0), 0.12),
    "brick": ((0.3, 0.1), 0.1),
}
PLAIN = ("plaster", "paper", "metal", "wood", "fabric")


def _noise(rng: np.random.Generator, n: int, cells: int) -> np.ndarray:
    """Smooth periodic value noise in [0, 1], ``cells`` lattice cells per side."""
    lat = rng.random((cells, cells))
    x = np.arange(n) * cells / n
    i0 = np.floor(x).astype(int)
    f = x - i0
    f = f * f * (3 - 2 * f)
    i1 = (i0 + 1) % cells
    rows = lat[i0] * (1 - f)[:, None] + lat[i1] * f[:, None]
    return rows[:, i0] * (1 - f)[None, :] + rows[:, i1] * f[None, :]


def _fbm(rng, n, octaves=(4, 8, 16)) -> np.ndarray:
    out = sum(_noise(rng, n, c) / (k + 1) for k, c in enumerate(octaves))
    out -= out.min()
    return out / max(out.max(), 1e-9)


def pattern(name: str, seed: int = 0, n: int = SIZE) -> np.ndarray:
    """Luminance pattern (n, n) float in about [0.55, 1.0] for material ``name``."""
    if name not in MATERIALS:
        raise ConfigError(f"unknown material {name!r}; use one of {', '.join(MATERIALS)}")
    rng = np.random.default_rng([seed, MATERIALS.index(name)])
    y, x = np.mgrid[0:n, 0:n] / n
    if name == "wood":
        warp = _fbm(rng, n) * 2.5
        rings = 0.5 + 0.5 * np.sin((y * 14 + warp) * np.pi)
        lum = 0.78 + 0.16 * rings + 0.06 * _noise(rng, n, 32)
    elif name == "planks":
        boards = 4
        b = np.floor(y * boards).astype(int)
        shift = rng.random(boards)[b]
        grain = 0.5 + 0.5 * np.sin((x * 3 + shift * 7 + _fbm(rng, n) * 1.5) * np.pi * 4)
        tone = 0.85 + 0.15 * rng.random(boards)[b]
        lum = tone * (0.86 + 0.14 * grain)
        seam = (y * boards) % 1.0
        lum = np.where((seam < 0.04) | (((x + shift) * 1.0) % 1.0 < 0.015), 0.5, lum)
    elif name == "plaster":
        lum = 0.9 + 0.1 * _fbm(rng, n, (8, 16, 32))
    elif name == "tiles":
        k = 4
        gx, gy = (x * k) % 1.0, (y * k) % 1.0
        tone = 0.9 + 0.1 * rng.random((k, k))[(y * k).astype(int) % k, (x * k).astype(int) % k]
        lum = np.where((gx < 0.06) | (gy < 0.06), 0.55, tone)
    elif name == "carpet":
        lum = 0.75 + 0.25 * _noise(rng, n, 32) * (0.7 + 0.3 * _noise(rng, n, 4))
    elif name == "metal":
        streak = _noise(rng, n, 16)[:, :1].repeat(n, axis=1)
        lum = 0.82 + 0.12 * streak + 0.06 * rng.random((n, n))
    elif name == "grass":
        lum = 0.65 + 0.35 * _fbm(rng, n, (8, 16, 32))
    elif name == "paper":
        lum = 0.95 + 0.05 * _noise(rng, n, 16)
    elif name == "fabric":
        weave = 0.5 + 0.25 * (np.sin(x * n * np.pi / 2) + np.sin(y * n * np.pi / 2))
        lum = 0.8 + 0.2 * weave
    elif name == "brick":
        rows = 8
        r = np.floor(y * rows).astype(int)
        off = (r % 2) * 0.25
        bx = (x + off) * 4 % 1.0
        tone = 0.8 + 0.2 * _noise(rng, n, 8)
        lum = np.where(((y * rows) % 1.0 < 0.1) | (bx < 0.05), 0.6, tone)
    else:
        raise ConfigError(f"material {name!r} has no pattern yet; use one of {', '.join(MATERIALS)}")
    return np.clip(lum, 0.0, 1.0)


@lru_cache(maxsize=128)
def grain(name: str, seed: int = 0) -> tuple[float, float]:
    """(mean, standard deviation) of ``pattern(name, seed)`` as the texture stores it (0..1)."""
    lum = (pattern(name, seed) * 255).astype(np.uint8) / 255.0
    return float(lum.mean()), float(lum.std())


@lru_cache(maxsize=128)
def texture(name: str, seed: int = 0) -> Texture:
    """A mipmapped, repeating RGB texture of ``pattern(name, seed)`` (shared, cached)."""
    lum = (pattern(name, seed) * 255).astype(np.uint8)
    rgb = np.repeat(lum[::-1, :, None], 3, axis=2)
    tex = Texture(f"{name}:{seed}")
    tex.setup_2d_texture(SIZE, SIZE, Texture.T_unsigned_byte, Texture.F_rgb)
    tex.set_ram_image_as(np.ascontiguousarray(rgb).tobytes(), "RGB")
    tex.set_minfilter(MINFILTER)
    tex.set_magfilter(MAGFILTER)
    tex.set_wrap_u(SamplerState.WM_repeat)
    tex.set_wrap_v(SamplerState.WM_repeat)
    return tex
