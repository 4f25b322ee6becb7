"""Unit shapes for the Panda3D renderer and their exact ray intersections (numpy).

Every shape is built at unit size centred on the origin and scaled by the node's ``size``:
box [-0.5, 0.5]^3; cylinder radius 0.5 around local z, z in [-0.5, 0.5]; sphere radius 0.5;
card: the rectangle x, z in [-0.5, 0.5] at y = 0, front facing -y (drawn on both sides).
Faces carry flat per-face normals (cylinder sides and spheres are smooth). Tessellated
shapes are inscribed in the analytic ones, so a rendered pixel always has an analytic hit.

``intersect(shape, o, d, strict)`` returns the ray parameter t (o + t*d) of the first hit
per ray, in the unit space of the shape; with ``strict=False`` rays that graze past an edge
(rasterisation vs. pixel-centre differences) get the nearest plausible t instead of inf.
"""

from __future__ import annotations

import math

import numpy as np
from panda3d.core import Geom, GeomNode, GeomTriangles, GeomVertexData, GeomVertexFormat, GeomVertexWriter

SEGMENTS = 32


def _geom(name: str, quads_or_tris) -> GeomNode:
    """quads_or_tris: list of (vertices, normals) polygons, convex, counter-clockwise from outside."""
    vdata = GeomVertexData(name, GeomVertexFormat.get_v3n3(), Geom.UH_static)
    vw, nw = GeomVertexWriter(vdata, "vertex"), GeomVertexWriter(vdata, "normal")
    prim = GeomTriangles(Geom.UH_static)
    base = 0
    for verts, norms in quads_or_tris:
        for v, n in zip(verts, norms):
            vw.add_data3(*v)
            nw.add_data3(*n)
        for k in range(1, len(verts) - 1):
            prim.add_vertices(base, base + k, base + k + 1)
        base += len(verts)
    geom = Geom(vdata)
    geom.add_primitive(prim)
    node = GeomNode(name)
    node.add_geom(geom)
    return node


def _box():
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
                corners.append(tuple(p))
            if sign < 0:
                corners.reverse()
            polys.append((corners, [tuple(n)] * 4))
    return polys


def _card():
    front = [(-0.5, 0, -0.5), (0.5, 0, -0.5), (0.5, 0, 0.5), (-0.5, 0, 0.5)]
    return [(front, [(0, -1, 0)] * 4), (front[::-1], [(0, 1, 0)] * 4)]


def _cylinder():
    polys = []
    ring = [
        (0.5 * math.cos(2 * math.pi * i / SEGMENTS), 0.5 * math.sin(2 * math.pi * i / SEGMENTS))
        for i in range(SEGMENTS)
    ]
    for i in range(SEGMENTS):
        (x0, y0), (x1, y1) = ring[i], ring[(i + 1) % SEGMENTS]
        verts = [(x0, y0, -0.5), (x1, y1, -0.5), (x1, y1, 0.5), (x0, y0, 0.5)]
        polys.append(
            (verts, [(2 * x0, 2 * y0, 0), (2 * x1, 2 * y1, 0), (2 * x1, 2 * y1, 0), (2 * x0, 2 * y0, 0)])
        )
    polys.append(([(x, y, 0.5) for x, y in ring], [(0, 0, 1)] * SEGMENTS))
    polys.append(([(x, y, -0.5) for x, y in reversed(ring)], [(0, 0, -1)] * SEGMENTS))
    return polys


def _sphere(rings: int = 12):
    def pt(i, j):
        th, ph = math.pi * i / rings, 2 * math.pi * j / SEGMENTS
        n = (math.sin(th) * math.cos(ph), math.sin(th) * math.sin(ph), math.cos(th))
        return tuple(0.5 * c for c in n), n

    polys = []
    for i in range(rings):
        for j in range(SEGMENTS):
            quad = [pt(i, j), pt(i + 1, j), pt(i + 1, j + 1), pt(i, j + 1)]
            if i == 0:
                quad = quad[:3]
            elif i == rings - 1:
                quad = quad[:2] + quad[3:]
            polys.append(([q[0] for q in quad], [q[1] for q in quad]))
    return polys


def make_unit_geoms() -> dict[str, GeomNode]:
    """One shared GeomNode per shape name."""
    return {
        "box": _geom("box", _box()),
        "card": _geom("card", _card()),
        "cylinder": _geom("cylinder", _cylinder()),
        "sphere": _geom("sphere", _sphere()),
    }


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
