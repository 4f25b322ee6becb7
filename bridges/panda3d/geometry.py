"""Shapes for the Panda3D renderer: polygons, baked meshes, and exact ray intersections (numpy).

Every unit shape is centred on the origin inside the unit box [-0.5, 0.5]^3: box; cylinder
radius 0.5 around local z, z in [-0.5, 0.5]; cone (a cylinder whose top radius is ``taper``
times the bottom's); sphere radius 0.5; torus in the xy plane (tube radius ``tube``, outer
radius 0.5); card: the rectangle x, z in [-0.5, 0.5] at y = 0, front facing -y (both sides).
A shape is a list of planar convex polygons (vertices counter-clockwise from outside, with
per-vertex normals: flat faces, smooth sides). Tessellated shapes are inscribed in the
analytic ones.

:func:`bake` turns posed polygons into two Panda3D meshes that share their triangles: a
lit, coloured, textured one for RGB and a flat one for the id pass whose every polygon
carries its own face id as colour; it also returns each polygon's plane, from which the
renderer computes exact depth (see ``renderer``).

``intersect(shape, o, d, strict)`` returns the ray parameter t (o + t*d) of the first hit
per ray, in the unit space of the shape (used by the ``raycast`` op on node hulls).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from panda3d.core import (
    Geom,
    GeomNode,
    GeomTriangles,
    GeomVertexArrayFormat,
    GeomVertexData,
    GeomVertexFormat,
)

from embodied.errors import ConfigError

SEGMENTS = 32
MAX_FACES = (1 << 24) - 1  # id pass: 8 bits per channel (flat vertex colours come through exactly)


def _format(*cols):
    arr = GeomVertexArrayFormat()
    for name, n, nt, contents in cols:
        arr.add_column(name, n, nt, contents)
    return GeomVertexFormat.register_format(GeomVertexFormat(arr))


RGB_FORMAT = _format(
    ("vertex", 3, Geom.NT_float32, Geom.C_point),
    ("normal", 3, Geom.NT_float32, Geom.C_normal),
    ("color", 4, Geom.NT_float32, Geom.C_color),
    ("texcoord", 2, Geom.NT_float32, Geom.C_texcoord),
)
RGB_DTYPE = np.dtype([("v", "<f4", 3), ("n", "<f4", 3), ("c", "<f4", 4), ("t", "<f4", 2)])
# Baked meshes: lighting is computed per vertex in numpy (see :func:`shade`) and drawn unlit.
# Positions are stored as 4 floats (w = 1): tinydisplay reads a 4-float point column directly,
# while a 3-float one goes through a generic converter (~65 instructions more per vertex per
# frame; the rasteriser assumes w = 1 either way, so the pixels are the same).
BAKED_FORMAT = _format(
    ("vertex", 4, Geom.NT_float32, Geom.C_point),
    ("color", 4, Geom.NT_float32, Geom.C_color),
    ("texcoord", 2, Geom.NT_float32, Geom.C_texcoord),
)
BAKED_DTYPE = np.dtype([("v", "<f4", 4), ("c", "<f4", 4), ("t", "<f4", 2)])
FLAT_FORMAT = _format(
    ("vertex", 4, Geom.NT_float32, Geom.C_point), ("color", 4, Geom.NT_float32, Geom.C_color)
)
FLAT_DTYPE = np.dtype([("v", "<f4", 4), ("c", "<f4", 4)])
ID_FORMAT = _format(("vertex", 4, Geom.NT_float32, Geom.C_point), ("color", 4, Geom.NT_uint8, Geom.C_color))
ID_DTYPE = np.dtype([("v", "<f4", 4), ("c", "u1", 4)])

Poly = tuple[np.ndarray, np.ndarray]  # (k, 3) vertices, (k, 3) normals


def _box() -> list[Poly]:
    polys = []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            n = [0.0, 0.0, 0.0]
            n[axis] = sign
            u, v = [(axis + 1) % 3, (axis + 2) % 3]
            corners = []
            for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
                p = [0.0, 0.0, 0.0]
                p[axis], p[u], p[v] = 0.5 * sign, 0.5 * a, 0.5 * b
                corners.append(p)
            if sign < 0:
                corners.reverse()
            polys.append((np.array(corners), np.array([n] * 4)))
    return polys


def _card() -> list[Poly]:
    front = np.array([(-0.5, 0, -0.5), (0.5, 0, -0.5), (0.5, 0, 0.5), (-0.5, 0, 0.5)], float)
    return [
        (front, np.array([(0, -1, 0)] * 4, float)),
        (front[::-1].copy(), np.array([(0, 1, 0)] * 4, float)),
    ]


def _cone(segments: int, taper: float) -> list[Poly]:
    """A cylinder (taper 1) or a truncated cone: bottom radius 0.5, top radius 0.5 * taper."""
    ang = [2 * math.pi * i / segments for i in range(segments)]
    ring = [(math.cos(a), math.sin(a)) for a in ang]
    r0, r1 = 0.5, 0.5 * taper
    slope = r0 - r1  # outward normal of the side: (cos, sin, slope) normalised
    polys = []
    for i in range(segments):
        (c0, s0), (c1, s1) = ring[i], ring[(i + 1) % segments]
        verts = [
            (r0 * c0, r0 * s0, -0.5),
            (r0 * c1, r0 * s1, -0.5),
            (r1 * c1, r1 * s1, 0.5),
            (r1 * c0, r1 * s0, 0.5),
        ]
        if r1 < 1e-6:
            verts = verts[:3]
        norms = [(c0, s0, slope), (c1, s1, slope), (c1, s1, slope), (c0, s0, slope)][: len(verts)]
        polys.append((np.array(verts), np.array(norms)))
    if r1 >= 1e-6:
        polys.append((np.array([(r1 * c, r1 * s, 0.5) for c, s in ring]), np.array([(0, 0, 1.0)] * segments)))
    polys.append(
        (np.array([(r0 * c, r0 * s, -0.5) for c, s in reversed(ring)]), np.array([(0, 0, -1.0)] * segments))
    )
    return polys


def _sphere(segments: int) -> list[Poly]:
    rings = max(4, segments * 3 // 8)

    def pt(i, j):
        th, ph = math.pi * i / rings, 2 * math.pi * j / segments
        n = (math.sin(th) * math.cos(ph), math.sin(th) * math.sin(ph), math.cos(th))
        return tuple(0.5 * c for c in n), n

    polys = []
    for i in range(rings):
        for j in range(segments):
            quad = [pt(i, j), pt(i + 1, j), pt(i + 1, j + 1), pt(i, j + 1)]
            if i == 0:
                quad = quad[:3]
            elif i == rings - 1:
                quad = quad[:2] + quad[3:]
            polys.append((np.array([q[0] for q in quad]), np.array([q[1] for q in quad])))
    return polys


def _torus(segments: int, tube: float) -> list[Poly]:
    """A ring in the xy plane, outer radius 0.5, tube radius ``tube`` (triangles: quads are not planar)."""
    rt = min(max(tube, 0.01), 0.25)
    rc = 0.5 - rt
    minor = max(6, segments // 2)

    def pt(i, j):
        a, b = 2 * math.pi * i / segments, 2 * math.pi * j / minor
        n = (math.cos(b) * math.cos(a), math.cos(b) * math.sin(a), math.sin(b))
        p = ((rc + rt * math.cos(b)) * math.cos(a), (rc + rt * math.cos(b)) * math.sin(a), rt * math.sin(b))
        return p, n

    polys = []
    for i in range(segments):
        for j in range(minor):
            q = [pt(i, j), pt(i + 1, j), pt(i + 1, j + 1), pt(i, j + 1)]
            for tri in ((q[0], q[1], q[2]), (q[0], q[2], q[3])):
                polys.append((np.array([t[0] for t in tri]), np.array([t[1] for t in tri])))
    return polys


UNIT_SHAPES = ("box", "card", "cylinder", "cone", "sphere", "torus")


def unit_polys(shape: str, segments: int = SEGMENTS, taper: float = 1.0, tube: float = 0.15) -> list[Poly]:
    """The polygons of a unit shape (see the module docstring)."""
    if shape == "box":
        return _box()
    if shape == "card":
        return _card()
    if shape == "cylinder":
        return _cone(segments, 1.0)
    if shape == "cone":
        return _cone(segments, taper)
    if shape == "sphere":
        return _sphere(segments)
    if shape == "torus":
        return _torus(segments, tube)
    raise ConfigError(f"unknown shape {shape!r}; use one of {', '.join(UNIT_SHAPES)}")


def transform(polys: list[Poly], linear: np.ndarray, offset) -> list[Poly]:
    """Apply p -> p @ linear + offset (row vectors) to vertices, and the matching normal map."""
    nmat = np.linalg.inv(linear).T
    out = []
    for v, n in polys:
        nn = n @ nmat
        nn /= np.maximum(np.linalg.norm(nn, axis=1, keepdims=True), 1e-12)
        out.append((v @ linear + np.asarray(offset, float), nn))
    return out


@dataclass
class Batch:
    """Polygons that share one texture and one render state (posed, in the group's frame, meters)."""

    polys: list = field(default_factory=list)  # (verts, normals, rgba, uv) per polygon
    texture: str = ""
    glow: bool = False


def face_uv(verts: np.ndarray, normal: np.ndarray, tile: float) -> np.ndarray:
    """Texture coordinates by projecting on the plane most facing the polygon (meters / tile)."""
    ax = int(np.argmax(np.abs(normal)))
    u, v = {0: (1, 2), 1: (0, 2), 2: (0, 1)}[ax]
    return verts[:, [u, v]] / tile


def split_cells(verts: np.ndarray, normal: np.ndarray, cell: tuple, seed: int) -> list[tuple]:
    """Cut an axis-aligned rectangle into cells (meters along its longer and shorter side);
    returns (vertices, tone in [-1, 1]) per cell, tones seeded per cell index."""
    ax = int(np.argmax(np.abs(normal)))
    a, b = [i for i in range(3) if i != ax]
    lo, hi = verts.min(axis=0), verts.max(axis=0)
    if hi[a] - lo[a] < hi[b] - lo[b]:
        a, b = b, a  # a: the longer side
    along, across = cell
    na = max(1, round((hi[a] - lo[a]) / along)) if along else 1
    nb = max(1, round((hi[b] - lo[b]) / across))
    ea, eb = np.linspace(lo[a], hi[a], na + 1), np.linspace(lo[b], hi[b], nb + 1)
    rng = np.random.default_rng(seed)
    tones = rng.uniform(-1, 1, (nb, na))
    out = []
    ccw = np.cross(verts[1] - verts[0], verts[2] - verts[0]) @ normal > 0
    for j in range(nb):
        for i in range(na):
            q = np.zeros((4, 3))
            q[:, ax] = verts[0, ax]
            for k, (u, v) in enumerate(((0, 0), (1, 0), (1, 1), (0, 1))):
                q[k, a], q[k, b] = ea[i + u], eb[j + v]
            if (np.cross(q[1] - q[0], q[2] - q[0]) @ normal > 0) != ccw:
                q = q[::-1].copy()
            out.append((q, tones[j, i]))
    return out


def plane_of(verts: np.ndarray) -> np.ndarray:
    """(a, b, c, d) with a x + b y + c z + d = 0 through a planar polygon (Newell's normal)."""
    nxt = np.roll(verts, -1, axis=0)
    n = np.array(
        [
            np.sum((verts[:, 1] - nxt[:, 1]) * (verts[:, 2] + nxt[:, 2])),
            np.sum((verts[:, 2] - nxt[:, 2]) * (verts[:, 0] + nxt[:, 0])),
            np.sum((verts[:, 0] - nxt[:, 0]) * (verts[:, 1] + nxt[:, 1])),
        ]
    )
    n /= max(np.linalg.norm(n), 1e-15)
    return np.array([*n, -float(n @ verts.mean(axis=0))])


def fan_triangles(counts) -> np.ndarray:
    """Triangle fans of consecutive convex polygons with ``counts`` vertices each: uint32 indices."""
    return _triangles(counts)


def _triangles(counts: list[int]) -> np.ndarray:
    idx = []
    base = 0
    for k in counts:
        idx += [(base, base + i, base + i + 1) for i in range(1, k - 1)]
        base += k
    return np.asarray(idx, np.uint32).reshape(-1)


def make_geom(fmt, data: np.ndarray, tris: np.ndarray) -> Geom:
    vdata = GeomVertexData("mesh", fmt, Geom.UH_static)
    vdata.unclean_set_num_rows(len(data))
    vdata.modify_array_handle(0).copy_data_from(data.tobytes())
    prim = GeomTriangles(Geom.UH_static)
    prim.set_index_type(Geom.NT_uint32)
    prim.modify_vertices().modify_handle().copy_data_from(tris.tobytes())
    geom = Geom(vdata)
    geom.add_primitive(prim)
    return geom


def rgb_geom(polys: list) -> Geom:
    """One lit mesh of (verts, normals, rgba, uv) polygons."""
    counts = [len(p[0]) for p in polys]
    data = np.zeros(sum(counts), RGB_DTYPE)
    data["v"] = np.concatenate([p[0] for p in polys])
    data["n"] = np.concatenate([p[1] for p in polys])
    data["c"] = np.concatenate([np.broadcast_to(p[2], (len(p[0]), 4)) for p in polys])
    data["t"] = np.concatenate([p[3] for p in polys])
    return make_geom(RGB_FORMAT, data, _triangles(counts))


class BakedMesh:
    """A mesh drawn without lights whose vertex colours carry the lighting (ambient plus
    directional diffuse, per vertex: what Panda3D's fixed-function lighting computed for these
    meshes, colour^2 * light, done once per pose instead of every frame; glowing parts keep
    their colour). :meth:`shade` recomputes the colours for a new orientation,
    colour or light rig."""

    __slots__ = ("base", "centres", "data", "geom", "glow", "key", "normals", "tris", "vdata")

    def __init__(self, polys: list, textured: bool, share: bool = True):
        """``polys``: (verts, normals, rgba, uv, glow) per polygon, in the mesh's frame.

        ``share``: polygons meeting at a vertex with the same position, normal, colour, glow and
        texture coordinate share one vertex (the smooth sides of round parts: a third fewer vertices
        to transform per frame; the triangles and their vertex values are unchanged, so are the
        pixels). Not with room lights, where each polygon's own centre picks its light."""
        counts = [len(p[0]) for p in polys]
        verts = np.concatenate([p[0] for p in polys]).astype(np.float64)
        uv = (
            np.concatenate([p[3] for p in polys]).astype(np.float64)
            if textured
            else np.zeros((len(verts), 0))
        )
        normals = np.concatenate([p[1] for p in polys]).astype(np.float64)
        centres = np.repeat(np.array([p[0].mean(axis=0) for p in polys]), counts, axis=0)
        base = np.concatenate([np.broadcast_to(p[2], (len(p[0]), 4)) for p in polys]).astype(np.float64)
        glow = np.repeat(np.array([bool(p[4]) for p in polys]), counts)
        tris = _triangles(counts)
        if share:
            key = np.concatenate([verts, normals, base, glow[:, None], uv], axis=1)
            _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
            keep, tris = _first_use(first, inverse, tris)
            verts, uv, normals, centres, base, glow = (
                a[keep] for a in (verts, uv, normals, centres, base, glow)
            )
        self.data = np.zeros(len(verts), BAKED_DTYPE if textured else FLAT_DTYPE)
        self.data["v"][:, :3] = verts
        self.data["v"][:, 3] = 1.0
        if textured:
            self.data["t"] = uv
        self.normals, self.centres, self.base, self.glow = normals, centres, base, glow
        self.tris = np.asarray(tris, np.uint32)
        self.geom = make_geom(BAKED_FORMAT if textured else FLAT_FORMAT, self.data, tris)
        self.key = None

    def shade(self, mat: np.ndarray, lighting: tuple, color=None) -> None:
        """Colours for the mesh at world matrix ``mat`` (4x4, row vectors) under ``lighting`` =
        (the scene's rig, [(region [x0, y0, x1, y1], rig), ...]): a polygon takes the rig of the
        first region holding the point 5 cm in front of its centre (so each face of a wall between
        two rooms is lit by its own room), else the scene's. A rig is (ambient rgb, directions (k, 3)
        the light travels, colours (k, 3), ...). ``color`` replaces every vertex's rgb."""
        rig, regions = lighting
        pose = mat if regions else mat[:3, :3]  # only regions make the position matter
        key = (pose.round(9).tobytes(), id(lighting), color)
        if key == self.key:
            return
        self.key = key
        normals = self.normals @ mat[:3, :3]
        light = shade(normals, rig)
        if regions:
            probe = self.centres @ mat[:3, :3] + mat[3, :3] + 0.05 * normals
            todo = np.ones(len(probe), bool)
            for (x0, y0, x1, y1), room in regions:
                inside = (
                    todo
                    & (probe[:, 0] >= x0)
                    & (probe[:, 0] <= x1)
                    & (probe[:, 1] >= y0)
                    & (probe[:, 1] <= y1)
                )
                if inside.any():
                    light[inside] = shade(normals[inside], room)
                    todo &= ~inside
        base = (
            self.base[:, :3]
            if color is None
            else np.broadcast_to(np.asarray(color, float), self.base[:, :3].shape)
        )
        c = np.empty_like(self.base)
        c[:, 3] = self.base[:, 3]
        c[:, :3] = base * base * light  # as Panda3D lit it: colour^2 * light
        c[self.glow, :3] = base[self.glow]
        self.data["c"] = np.clip(c, 0.0, 1.0)
        # Panda3D's geom cache keeps a munged form of the vertex data a frame drew, and a write
        # through a reference it holds makes a copy: dropping this geom's entries first keeps
        # the engine from growing (~1 KB per state change, 20 MB over 20,000 steps, once). The
        # write reference is let go at once: while one is held (it locks the data for writing),
        # a render thread reading the data waits for ever (docs/performance.md, "Batched envs").
        self.geom.clear_cache()
        vdata = self.geom.modify_vertex_data()
        vdata.modify_array_handle(0).copy_data_from(self.data.tobytes())


def shade(normals: np.ndarray, rig: tuple) -> np.ndarray:
    """Light reaching surfaces of these world normals (N, 3): ambient + sum of diffuse terms."""
    ambient, dirs, colors = rig[:3]
    lam = np.maximum(normals @ -dirs.T, 0.0) if len(dirs) else np.zeros((len(normals), 0))
    return ambient + lam @ colors


def id_colors(ids: np.ndarray) -> np.ndarray:
    """RGBA bytes encoding face ids: red = bits 16-23, green = bits 8-15, blue = bits 0-7."""
    ids = np.asarray(ids, np.int64)
    out = np.zeros((len(ids), 4), np.uint8)  # alpha 0: the frame's uint32 is the id itself
    for c in range(3):
        out[:, c] = (ids >> (8 * (2 - c))) & 255
    return out


def _first_use(first: np.ndarray, inverse: np.ndarray, tris) -> tuple[np.ndarray, np.ndarray]:
    """From ``np.unique``'s ``first`` and ``inverse`` over a mesh's vertices: the vertices to keep
    (one of each group of equal ones), in the order of their first use, and ``tris`` pointing at
    them."""
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return first[order], rank[inverse.reshape(-1)][tris].astype(np.uint32)


def _same_bytes(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique``'s ``first`` and ``inverse`` over the rows of ``a`` (a 2-D array, or a 1-D
    structured one), rows equal only when byte for byte."""
    a = np.ascontiguousarray(a)
    rows = a.view(np.dtype((np.void, a.itemsize * (a.shape[1] if a.ndim == 2 else 1)))).reshape(-1)
    _u, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


def same_plane(planes: np.ndarray) -> np.ndarray:
    """Per polygon, the index of the first polygon whose plane (a, b, c, d) is bit for bit the
    same: such polygons of one group (one node, so one seg) decode to the same seg and the same
    depth, so the id pass draws them in one face id (:func:`id_geom`)."""
    first, inverse = _same_bytes(np.asarray(planes, np.float64))
    return first[inverse]


def shared_vertices(data: np.ndarray, tris: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``data`` (ID_DTYPE) with byte-for-byte identical vertices (position and id colour) made
    one, in the order of their first use, and ``tris`` pointing at them: the same triangles from
    the same numbers, fewer vertices for tinydisplay to transform."""
    keep, tris = _first_use(*_same_bytes(data), tris)
    return data[keep], tris


def id_geom(verts: list[np.ndarray], ids) -> Geom:
    """The id-pass mesh: polygon i drawn flat in the colour of face id ``ids[i]`` (an int: ids
    ``ids``, ``ids + 1``, ...); vertices shared where position and id are the same."""
    counts = [len(v) for v in verts]
    if np.ndim(ids) == 0:
        ids = np.arange(ids, ids + len(verts))
    data = np.zeros(sum(counts), ID_DTYPE)
    data["v"][:, :3] = np.concatenate(verts)
    data["v"][:, 3] = 1.0
    data["c"] = np.repeat(id_colors(ids), counts, axis=0)
    return make_geom(ID_FORMAT, *shared_vertices(data, _triangles(counts)))


def id_mesh_geom(pieces: list[tuple[np.ndarray, np.ndarray]]) -> Geom:
    """One id-pass geom of (ID_DTYPE vertices, triangles) pieces, drawn in this order; vertices
    shared where position and id are the same."""
    offsets = np.cumsum([0] + [len(d) for d, _t in pieces[:-1]])
    data = np.concatenate([d for d, _t in pieces])
    tris = np.concatenate([t + o for (_d, t), o in zip(pieces, offsets)]).astype(np.uint32)
    return make_geom(ID_FORMAT, *shared_vertices(data, tris))


def geom_node(name: str, geoms) -> GeomNode:
    node = GeomNode(name)
    for g, state in geoms:
        node.add_geom(g, state) if state is not None else node.add_geom(g)
    return node


# ---------------------------------------------------------------- ray intersection


def _quadratic(a, b, c, strict):
    """Smaller root of a t^2 + 2 b t + c = 0 (inf where none)."""
    disc = b * b - a * c
    if not strict:
        disc = np.maximum(disc, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (-b - np.sqrt(disc)) / a
    return np.where(np.isfinite(t), t, np.inf)


def intersect(shape: str, o: np.ndarray, d: np.ndarray, strict: bool = True) -> np.ndarray:
    """First hit t >= 0 of rays o + t d (o: (3,), d: (N, 3)), in unit space; inf for a miss."""
    ox, oy, oz = (float(v) for v in o)
    dx, dy, dz = d[:, 0], d[:, 1], d[:, 2]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if shape == "box":
            lo = hi = None
            for oc, dc in ((ox, dx), (oy, dy), (oz, dz)):
                inv = 1.0 / dc
                t1, t2 = (-0.5 - oc) * inv, (0.5 - oc) * inv
                a, b = np.minimum(t1, t2), np.maximum(t1, t2)
                lo = a if lo is None else np.maximum(lo, a)
                hi = b if hi is None else np.minimum(hi, b)
            t = np.where(lo >= 0, lo, hi)
            if strict:
                t = np.where((lo <= hi) & (hi >= 0), t, np.inf)
        elif shape == "card":
            t = -oy / dy
            if strict:
                t = np.where((np.abs(ox + t * dx) <= 0.5) & (np.abs(oz + t * dz) <= 0.5), t, np.inf)
        elif shape == "sphere":
            t = _quadratic(
                dx * dx + dy * dy + dz * dz,
                ox * dx + oy * dy + oz * dz,
                ox * ox + oy * oy + oz * oz - 0.25,
                strict,
            )
        else:  # cylinder: side, then caps
            side = _quadratic(dx * dx + dy * dy, ox * dx + oy * dy, ox * ox + oy * oy - 0.25, strict)
            t = np.where(np.abs(oz + side * dz) <= 0.5, side, np.inf)
            for z in (-0.5, 0.5):
                tc = (z - oz) / dz
                px, py = ox + tc * dx, oy + tc * dy
                t = np.where((px * px + py * py <= 0.25) & (tc >= 0) & (tc < t), tc, t)
            if not strict:
                t = np.where(np.isfinite(t), t, side)
        t = np.where(np.isnan(t), np.inf, t)
        return np.where(t >= 0, t, np.inf) if strict else t
