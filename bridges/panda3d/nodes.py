"""Scene nodes to meshes: parts baked into a lit RGB mesh and a flat id mesh per group, posed by state.

:class:`NodeBuilder` is the half of :class:`~embodied.bridges.panda3d.renderer.Renderer` that
builds and updates nodes (it expects the renderer's ``models``, ``root``/``scene``/``id_scene``
and face tables). Per node: its static parts are baked into one mesh per material (plus one
unlit), each group of parts sharing a ``move``/``color_if``/``show_if`` rule into one more;
every polygon gets a face id and a plane (docs/rendering.md). Floors and ground without a model
get their material as toned geometry, not a texture; textures go on parts big enough to show
them.
"""

from __future__ import annotations

import numpy as np
from embodied.bridges.panda3d import geometry as G
from embodied.bridges.panda3d.models import Model, Part, resolve_color, truthy
from embodied.bridges.panda3d.text import text_card
from embodied.bridges.panda3d.textures import CELLS, PLAIN, TILE, grain, texture
from panda3d.core import LightAttrib, RenderState, TextureAttrib, TransformState

from embodied.errors import ProtocolError
from embodied.protocol import check_state

LOOK_FIELDS = ("model", "state", "material", "look_seed", "region")  # node fields beyond embodied.protocol's


def check_look(raw: dict, field: str, update: bool = False) -> dict:
    """Validate the renderer's node fields (``model``, ``state``, ``material``, ``look_seed``)."""
    out = {}
    for key in ("model", "material"):
        if key in raw and not update:
            v = raw[key]
            if v is not None and not isinstance(v, str):
                raise ProtocolError(f"field '{field}.{key}': expected a string, got {type(v).__name__}")
            out[key] = v or ""
    if "look_seed" in raw and not update:
        v = raw["look_seed"]
        if not isinstance(v, int) or isinstance(v, bool):
            raise ProtocolError(f"field '{field}.look_seed': expected an int, got {v!r}")
        out["look_seed"] = v
    if "state" in raw:
        out["state"] = check_state(raw["state"], f"{field}.state")
    if raw.get("region") is not None and not update:
        v = raw["region"]
        ok = isinstance(v, list | tuple) and len(v) == 4
        ok = ok and all(isinstance(x, int | float) and not isinstance(x, bool) and np.isfinite(x) for x in v)
        if not ok or v[0] > v[2] or v[1] > v[3]:
            raise ProtocolError(
                f"field '{field}.region': expected [x0, y0, x1, y1] with x0 <= x1, y0 <= y1, got {v!r:.80}"
            )
        out["region"] = [float(x) for x in v]
    return out


def split_look(raw, field: str, update: bool):
    if isinstance(raw, dict) and any(k in raw for k in LOOK_FIELDS):
        look = check_look(raw, field, update)
        return {k: v for k, v in raw.items() if k not in LOOK_FIELDS}, look
    return raw, {}


# Textures cost the software rasteriser about a third of its frame rate per covered pixel, so
# only parts big enough to show their grain get one (small parts show their colour and shade).
TEXTURED = ("wood", "fabric", "paper", "metal", "tiles", "carpet", "planks", "brick", "grass", "plaster")
MIN_TEXTURED_AREA = 0.08  # m^2, the part's largest face
# ... and only parts whose grain shows: a texture modulates the part's colour, so on a dark part
# (a dark wooden door, a black keypad) its grain spans a few levels of 255 and is hardly seen,
# while each of its pixels costs ~5x an untextured one. A part is textured if the grain's standard
# deviation, on a face of the part's colour in the scene's brightest light, is at least MIN_GRAIN
# levels; else it is drawn plain in the texture's mean shade (docs/rendering.md).
MIN_GRAIN = 6.5


def _area(polys) -> float:
    best = 0.0
    for v, _n in polys:
        c = np.cross(v[1:-1] - v[0], v[2:] - v[0]).sum(axis=0)
        best = max(best, 0.5 * float(np.linalg.norm(c)))
    return best


# Round parts get segments by their size: the rasteriser's cost is per triangle (transform, clip,
# set-up) more than per pixel, and a 5 cm knob seen from an arm's length covers a few pixels.
SEGMENTS_PER_M = 60
MIN_SEGMENTS = 8


def _segments(part: Part, size: np.ndarray) -> int:
    """A round part's segment count: its model's, fewer for a small part (at least 8)."""
    extent = float(np.max(np.array(part.size) * size))
    return min(part.segments, max(MIN_SEGMENTS, int(np.ceil(SEGMENTS_PER_M * extent))))


def _same(a, b) -> bool:
    """Two field values (numbers, bools or sequences of numbers) are equal."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(float(x) == float(y) for x, y in zip(a, b))
    return a == b


def _rotation(hpr) -> np.ndarray:
    m = TransformState.make_hpr(tuple(hpr)).get_mat()
    return np.array([[m[i][j] for j in range(3)] for i in range(3)])


# A room's structure (its floor, ceiling and walls) is drawn as one geom per render state: a
# drawn geom costs ~20 k instructions per frame (cull, state, transform set-up) whatever its
# size, and a room's pieces are mostly in view together (docs/rendering.md).
STRUCTURE = frozenset(("floor", "ceiling", "wall"))
ROOM_MARGIN = 0.3  # m: a piece whose centre lies this close to a floor's rectangle is that room's


# A polygon inside another box part of its group (a keypad's buttons behind its face, a table's
# legs under its top) is never seen by an eye outside that box: it is left out of both passes.
INSIDE_EPS = 1e-9  # in the box's unit coordinates


def _inside_box(u: np.ndarray, normal: np.ndarray) -> bool:
    """Is a polygon with vertices ``u`` (k, 3) in a box's unit coordinates (the box is
    [-0.5, 0.5]^3) and its normal ``normal`` (in those coordinates) hidden by the box: inside it,
    or on one of its faces but facing into it (a face turned outwards there would draw at the very
    depth of the box's own face, so it stays)."""
    if np.abs(u).max() > 0.5 + INSIDE_EPS:
        return False
    for axis in range(3):
        for side in (-0.5, 0.5):
            if np.abs(u[:, axis] - side).max() <= INSIDE_EPS and normal[axis] * side >= 0:
                return False  # on the box's face, facing out as it does
    return True


# A face of a merged room is left out while the eye is inside the room's box if the whole box lies
# at least this far behind the face's plane: it faces away from every eye there (back-face culled,
# never drawn; tinydisplay would still transform its vertices and clip it at the view's edges).
AWAY_MARGIN = 0.01  # m
# ... and that box is the floor's rectangle shrunk by BOX_INSET on each side: faces lying in the
# plane of its edges and facing out (the sides of the floor and ceiling slabs, under the walls)
# then face away from every eye in it too. An eye that close to a room's edge stands inside a wall;
# it gets the level-face variant.
BOX_INSET = 0.02  # m


# A merged room gets a variant for the eye in another room's box only if that box lies within
# NEAR_ROOMS of its own (its neighbours, seen through the doors between them): a variant for every
# pair of rooms would make loading grow with the square of the rooms (36 rooms: +37 % CPU).
NEAR_ROOMS = 1.0  # m


def _gap(a: tuple, b: tuple) -> float:
    """The distance between two rectangles (x0, y0, x1, y1) (0 where they overlap)."""
    return float(np.hypot(max(a[0] - b[2], b[0] - a[2], 0.0), max(a[1] - b[3], b[1] - a[3], 0.0)))


def _faces_away(p0: np.ndarray, normal: np.ndarray, box: tuple, lo: float, hi: float) -> np.ndarray:
    """Per triangle (a corner ``p0`` and unit ``normal`` each): does the box (x0, y0, x1, y1) x
    [lo, hi] lie wholly behind its plane by AWAY_MARGIN or more?"""
    x0, y0, x1, y1 = box
    corners = np.array([(x, y, z) for x in (x0, x1) for y in (y0, y1) for z in (lo, hi)])
    ahead = (corners @ normal.T - (normal * p0).sum(axis=1)).max(axis=0)  # (most in front)
    return ahead <= -AWAY_MARGIN


class _Gate:
    """A merged room drawn whole; or (``pick`` with the eye's height between the room's floor
    undersides and its wall tops) without the level faces that face away from such an eye; or
    (the eye inside a room's box: a floor's rectangle, shrunk by BOX_INSET, between heights both
    rooms' level faces allow) without every face that faces away from all of that box as well.
    ``variants`` holds those, each a tuple of node paths (the RGB pass's and the id pass's,
    switched together): the whole room, the level variant, then one per entry of ``views``
    ((x0, y0, x1, y1), lo, hi, index in ``variants``), the room's own box first, then the other
    rooms' (docs/rendering.md "Small frames")."""

    __slots__ = ("hi", "lo", "pos", "shown", "variants", "views")

    def __init__(self, variants: tuple, lo: float, hi: float, views: list):
        self.variants, self.lo, self.hi, self.views = variants, lo, hi, views
        self.shown = 0
        self.pos = None
        for variant in variants[1:]:
            for nodepath in variant:
                nodepath.stash()

    def pick(self, pos) -> None:
        pos = tuple(pos)
        if pos == self.pos:
            return
        self.pos = pos
        x, y, z = pos
        which = 0
        if self.lo <= z <= self.hi:
            which = 1
            for (x0, y0, x1, y1), lo, hi, index in self.views:
                if x0 <= x <= x1 and y0 <= y <= y1 and lo <= z <= hi:
                    which = index
                    break
        if which != self.shown:
            for nodepath in self.variants[self.shown]:
                nodepath.stash()
            for nodepath in self.variants[which]:
                nodepath.unstash()
            self.shown = which


class _Group:
    """One mesh of a node: its static parts, or the parts that share one move/recolour/show rule."""

    __slots__ = ("faces", "first", "idn", "meshes", "pivot", "planes", "rgb", "rule")

    def __init__(self, rgb, idn, first, planes, rule, pivot, meshes=(), faces=()):
        self.rgb, self.idn, self.first, self.planes, self.rule, self.pivot = (
            rgb,
            idn,
            first,
            planes,
            rule,
            pivot,
        )
        self.meshes = meshes  # G.BakedMesh per material (none for a user's asset: it is lit)
        # per mesh: (face ids of its polygons in its order, their vertex counts), for the id pass's
        # merged rooms (NodeBuilder._merge_structure)
        self.faces = faces


class NodeBuilder:
    """Builds, recolours, poses and labels scene nodes (mixed into the Renderer)."""

    merge_structure = True  # draw each room's structure as one geom (see _merge_structure)

    def _parts(self, n: dict) -> tuple[Part, ...]:
        model = self.models.get(n["model"]) if n["model"] else None
        if model is not None and model.parts:
            return model.parts
        return (Part(n["shape"], material=n["material"]),)

    def _posed(self, n: dict) -> dict[tuple, list]:
        """Polygons of every part in the node's frame (meters), grouped: {rule: [(part, polys)]}."""
        size = np.array([max(v, 1e-4) for v in n["size"]])
        groups: dict[tuple, list] = {}
        for part in self._parts(n):
            polys = G.unit_polys(part.shape, _segments(part, size), part.taper, part.tube)
            linear = np.diag(part.size) @ _rotation(part.hpr) @ np.diag(size)
            polys = G.transform(polys, linear, np.array(part.at) * size)
            groups.setdefault(part.group if part.dynamic else (None, None, None), []).append((part, polys))
        return groups

    @staticmethod
    def _hidden(items: list, size: np.ndarray) -> list[np.ndarray]:
        """Per part of one group (``[(part, polys)]`` in the node's frame), which of its polygons
        lie inside another box part of the group (see :func:`_inside_box`): closed boxes that
        move, recolour and show together, so no eye outside them sees those polygons."""
        boxes = []
        for part, _polys in items:
            if part.shape == "box":
                linear = np.diag(part.size) @ _rotation(part.hpr) @ np.diag(size)
                boxes.append((part, np.linalg.inv(linear), np.array(part.at) * size, linear))
        out = []
        for part, polys in items:
            hidden = np.zeros(len(polys), bool)
            for other, inv, at, linear in boxes:
                if other is part:
                    continue
                for k, (v, _n) in enumerate(polys):
                    hidden[k] = hidden[k] or _inside_box((v - at) @ inv, G.plane_of(v)[:3] @ linear.T)
            out.append(hidden)
        return out

    def _max_light(self) -> float:
        """The brightest light of the scene's rigs (ambient plus every directional light, the
        brightest channel): an upper bound of what a face bakes (G.BakedMesh.shade)."""
        rig, regions = self.current.lighting
        return max(float((r[0] + r[2].sum(axis=0)).max()) for r in [rig, *(room for _b, room in regions)])

    def _build(self, index: int, n: dict):
        np_ = self.scene.attach_new_node(n["id"])
        idn = self.id_scene.attach_new_node(n["id"])
        rec = dict(n, np=np_, idn=idn, index=index, textnp=None, groups=[])
        model = self.models.get(n["model"]) if n["model"] else None
        if model is not None and model.file:
            self._build_asset(rec, model)
        else:
            self._build_parts(rec)
        self.nodes[n["id"]] = rec
        self.order.append(n["id"])
        self._apply(rec, n, first=True)

    def _build_parts(self, rec: dict):
        size = np.array([max(v, 1e-4) for v in rec["size"]])
        body = tuple(rec["color"])
        seed = rec["look_seed"]
        for rule, items in self._posed(rec).items():
            move = rule[0]
            pivot = np.array(move.pivot) * size if move is not None else np.zeros(3)
            batches: dict[str, list] = {}
            faces: dict[str, list] = {}  # per batch: the index in id_verts of each of its polygons
            id_verts = []
            hidden = self._hidden(items, size) if len(items) > 1 else [None] * len(items)
            for (part, polys), inside in zip(items, hidden):
                col = (1.0, 1.0, 1.0) if part.color_if else resolve_color(part.color, body)
                rgba = np.array([*col, 1.0])
                tile = TILE.get(part.material, 1.0)
                if not rec["model"] and part.material in CELLS | dict.fromkeys(PLAIN):
                    polys = self._cells(polys, part.material, rgba, seed, batches, pivot)
                    faces.setdefault("", []).extend(range(len(id_verts), len(id_verts) + len(polys)))
                    id_verts += [v - pivot for v, _n in polys]
                    continue
                mat = part.material if part.material in TEXTURED and _area(polys) >= MIN_TEXTURED_AREA else ""
                if mat and not part.color_if:
                    mean, std = grain(mat, seed)
                    lit = rgba[:3] if part.glow else rgba[:3] ** 2 * self._max_light()
                    if 255 * float(lit.max()) * std < MIN_GRAIN:
                        # plain, in the texture's mean shade (baked light is colour^2 * light)
                        rgba[:3] *= mean if part.glow else np.sqrt(mean)
                        mat = ""
                for k, (v, nrm) in enumerate(polys):
                    if inside is not None and inside[k]:
                        continue
                    face_n = G.plane_of(v)[:3]
                    uv = G.face_uv(v, face_n, tile)
                    batches.setdefault(mat, []).append((v - pivot, nrm, rgba, uv, part.glow))
                    faces.setdefault(mat, []).append(len(id_verts))
                    id_verts.append(v - pivot)
            meshes, geoms, mesh_faces = [], [], []
            for mat, polys in batches.items():
                mesh = G.BakedMesh(polys, textured=bool(mat), share=not self.current.regions)
                attribs = [LightAttrib.make_all_off()]  # lit by its vertex colours (see _shade)
                if mat:
                    attribs.append(TextureAttrib.make(texture(mat, seed)))
                meshes.append(mesh)
                geoms.append((mesh.geom, RenderState.make(*attribs)))
                mesh_faces.append(np.array(faces[mat]))
            first = self._alloc(len(id_verts))
            self.face_seg[first : first + len(id_verts)] = rec["seg"]
            planes = np.array([G.plane_of(v) for v in id_verts])
            drawn = first + G.same_plane(planes)  # the face id each polygon is drawn in (see id_geom)
            rgb = rec["np"].attach_new_node(G.geom_node("rgb", geoms))
            idn = rec["idn"].attach_new_node(G.geom_node("id", [(G.id_geom(id_verts, drawn), None)]))
            for nodepath in (rgb, idn):
                nodepath.set_pos(*pivot)
            counts = np.array([len(v) for v in id_verts])
            mesh_faces = [(drawn[f], counts[f]) for f in mesh_faces]
            rec["groups"].append(_Group(rgb, idn, first, planes, rule, pivot, meshes, mesh_faces))

    @staticmethod
    def _cells(polys, material: str, rgba, seed: int, batches: dict, pivot) -> list:
        """A big surface's material as geometry (toned cells, no texture); returns its polygons."""
        out = []
        for k, (v, nrm) in enumerate(polys):
            n = G.plane_of(v)[:3]
            if material not in CELLS or len(v) != 4 or n[2] < 0.9:  # only the top face is patterned
                cells = [(v, 0.0)]
            else:
                cells = G.split_cells(v, n, CELLS[material][0], seed * 1009 + k)
            amp = CELLS.get(material, (None, 0.0))[1]
            for q, tone in cells:
                col = rgba.copy()
                col[:3] *= 1.0 + amp * tone
                batches.setdefault("", []).append(
                    (q - pivot, np.repeat(nrm[:1], len(q), 0), col, q[:, :2], False)
                )
                out.append((q, nrm))
        return out

    def _build_asset(self, rec: dict, model: Model):
        """A user's model file, fitted to the node's size, drawn as loaded; ids from its triangles."""
        from embodied.bridges.panda3d.assets import load_asset

        size = [max(v, 1e-4) for v in rec["size"]]
        rgb, tris = load_asset(model.file, size, model.hpr)
        rgb.reparent_to(rec["np"])
        first = self._alloc(len(tris))
        self.face_seg[first : first + len(tris)] = rec["seg"]
        planes = np.array([G.plane_of(v) for v in tris])
        drawn = first + G.same_plane(planes)
        idn = rec["idn"].attach_new_node(G.geom_node("id", [(G.id_geom(list(tris), drawn), None)]))
        rec["groups"].append(_Group(rgb, idn, first, planes, (None, None, None), np.zeros(3)))

    def _apply(self, rec: dict, u: dict, first: bool = False):
        np_, idn = rec["np"], rec["idn"]
        if "pos" in u:
            np_.set_pos(*u["pos"])
            idn.set_pos(*u["pos"])
        if "hpr" in u:
            np_.set_hpr(*u["hpr"])
            idn.set_hpr(*u["hpr"])
        if "visible" in u:
            for nodepath in (np_, idn):
                nodepath.show() if u["visible"] else nodepath.hide()
        recolor = "color" in u and not first and tuple(u["color"]) != tuple(rec["color"])
        looks = (rec.get("text"), tuple(rec.get("color") or ()), tuple(rec.get("text_color") or ()))
        for key in ("pos", "hpr", "color", "visible", "text_color", "text"):
            if key in u:
                rec[key] = u[key]
        if "state" in u:
            rec["state"] = {**rec["state"], **u["state"]} if not first else dict(u["state"])
        if recolor and not (self.models.get(rec["model"]) or Model("")).file:
            for g in rec["groups"]:  # re-bake the colours (ids and planes stay)
                g.rgb.remove_node()
            old = rec["groups"]
            rec["groups"] = []
            self.n_faces, saved = old[0].first, self.n_faces
            self._build_parts(rec)
            for g_old, g in zip(old, rec["groups"]):
                g.idn.remove_node()
                g.idn = g_old.idn
            self.n_faces = saved
        if first or "state" in u or recolor:
            self._pose_groups(rec)
        if first or "state" in u or recolor or "hpr" in u or "pos" in u:
            self._shade(rec)
        self.current.dirty.add(rec["id"])
        if rec["textnp"] is None or looks != (
            rec.get("text"),
            tuple(rec.get("color") or ()),
            tuple(rec.get("text_color") or ()),
        ):
            self._text(rec)  # redraw only when the text or its colors really changed

    def _merge_structure(self) -> None:
        """Draw each room's structure as one geom per render state, in the scene's frame, ahead of
        the other nodes (which drew after the structure already). A room is a floor node's
        rectangle; a static, visible, text-less floor, ceiling or wall joins the first room whose
        rectangle (grown by ROOM_MARGIN) holds its centre. The pieces' own nodes are stashed, not
        removed: raycasts read them. The id pass merges the same rooms (:meth:`_id_room`). An update that changes a
        piece undoes its room's merge (:meth:`_unmerge`)."""
        sc = self.current
        sc.merged, sc.merges, sc.gates = {}, {}, {}
        if not self.merge_structure:
            return
        floors = [self.nodes[n] for n in self.order if self.nodes[n]["kind"] == "floor"]
        rooms: dict[int, list] = {}
        for nid in self.order:
            rec = self.nodes[nid]
            if not (
                rec["kind"] in STRUCTURE
                and rec.get("visible", True)
                and rec["textnp"] is None
                and rec["groups"]
                and all(g.meshes and g.rule == (None, None, None) for g in rec["groups"])
            ):
                continue
            x, y = rec["pos"][0], rec["pos"][1]
            for k, f in enumerate(floors):
                (fx, fy), (sx, sy) = f["pos"][:2], f["size"][:2]
                if abs(x - fx) <= sx / 2 + ROOM_MARGIN and abs(y - fy) <= sy / 2 + ROOM_MARGIN:
                    rooms.setdefault(k, []).append(rec)
                    break
        plans = []  # (room, its pieces, its geoms' parts, lo, hi, box) per merged room
        for k, recs in rooms.items():
            if len(recs) < 2:
                continue
            states: list = []  # [(RenderState, [(vertex data, triangles, faces)])] in first-use order
            for rec in recs:
                for g in rec["groups"]:
                    mat = np.array(g.rgb.get_mat(self.scene), dtype=np.float64).reshape(4, 4)
                    node = g.rgb.node()
                    for i, mesh in enumerate(g.meshes):
                        state = node.get_geom_state(i)
                        data = mesh.data.copy()
                        data["v"] = mesh.data["v"].astype(np.float64) @ mat
                        part = (data, mesh.tris, g.faces[i])
                        for st, parts in states:
                            if st == state:
                                parts.append(part)
                                break
                        else:
                            states.append((state, [part]))
            built, lo, hi = [], -np.inf, np.inf
            for state, parts in states:
                offsets = np.cumsum([0] + [len(d) for d, _t, _f in parts[:-1]])
                data = np.concatenate([d for d, _t, _f in parts])
                tris = np.concatenate([t + o for (_d, t, _f), o in zip(parts, offsets)]).astype(np.uint32)
                # the level faces below the room's mid-height that face down and those above it that
                # face up (undersides of floors and walls, tops of walls and ceilings) face away from
                # an eye between the highest of the former and the lowest of the latter
                p = data["v"][:, :3].astype(np.float64)[tris.reshape(-1, 3)]
                normal = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
                normal /= np.maximum(np.linalg.norm(normal, axis=1), 1e-12)[:, None]
                level = np.ptp(p[:, :, 2], axis=1) == 0
                mid = (data["v"][:, 2].min() + data["v"][:, 2].max()) / 2
                down = level & (normal[:, 2] < -0.999) & (p[:, 0, 2] < mid)
                up = level & (normal[:, 2] > 0.999) & (p[:, 0, 2] > mid)
                lo = max(lo, p[down, 0, 2].max(initial=-np.inf))
                hi = min(hi, p[up, 0, 2].min(initial=np.inf))
                room = self._id_room(data, parts, offsets)
                built.append((state, data, tris, p, normal, down | up, room))
            f = floors[k]
            (fx, fy), (sx, sy) = f["pos"][:2], f["size"][:2]
            e = min(BOX_INSET, sx / 4, sy / 4)  # (a tiny room keeps half its size)
            box = (fx - sx / 2 + e, fy - sy / 2 + e, fx + sx / 2 - e, fy + sy / 2 - e)
            if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
                box = None
            plans.append((k, recs, built, lo, hi, box))
        for k, recs, built, lo, hi, box in plans:
            # the eye in a room's box (this room's first, then the others'): every face that faces
            # away from all of it is left out as well
            views = [(box, lo, hi)] if box else []
            views += [
                (b, max(lo, blo), min(hi, bhi))
                for kk, _r, _b, blo, bhi, b in plans
                if kk != k and b and box and _gap(b, box) <= NEAR_ROOMS
            ]
            views = [v for v in views if v[1] <= v[2]]
            variants = tuple([] for _ in range(2 + len(views)))  # whole; level; views (see _Gate)
            ids = tuple([] for _ in variants)  # the id pass's room, state by state (see _id_room)
            for state, data, tris, p, normal, level_away, room in built:
                fmt = G.BAKED_FORMAT if "t" in data.dtype.names else G.FLAT_FORMAT
                masks = [None, level_away]
                masks += [level_away | _faces_away(p[:, 0], normal, b, vlo, vhi) for b, vlo, vhi in views]
                for variant, id_variant, drop in zip(variants, ids, masks):
                    if drop is None:
                        variant.append((G.make_geom(fmt, data, tris), state))
                        id_variant.append(room)
                        continue
                    keep = tris.reshape(-1, 3)[~drop].reshape(-1)
                    used, remap = np.unique(keep, return_inverse=True)
                    variant.append((G.make_geom(fmt, data[used], remap.astype(np.uint32)), state))
                    kept = room[1].reshape(-1, 3)[~drop].reshape(-1)  # (the same triangles)
                    used, remap = np.unique(kept, return_inverse=True)
                    id_variant.append((room[0][used], remap.astype(np.uint32)))
            merged = self.scene.attach_new_node(f"room{k}", -1)  # drawn first, as the pieces were
            id_merged = self.id_scene.attach_new_node(f"room{k}", -1)
            names = ("full", "inside", *(f"view{i}" for i in range(len(views))))
            gate = []
            for name, variant, id_variant in zip(names, variants, ids):
                rgb = merged.attach_new_node(G.geom_node(name, variant))
                idn = id_merged.attach_new_node(G.geom_node(name, [(G.id_mesh_geom(id_variant), None)]))
                gate.append((rgb, idn))
            sc.gates[k] = _Gate(tuple(gate), lo, hi, [(*v, 2 + i) for i, v in enumerate(views)])
            sc.merges[k] = ((merged, id_merged), [rec["id"] for rec in recs])
            for rec in recs:
                rec["np"].stash()
                rec["idn"].stash()
                sc.merged[rec["id"]] = k

    @staticmethod
    def _id_room(data: np.ndarray, parts: list, offsets) -> tuple:
        """The id pass's share of one render state of a merged room: its polygons in the RGB
        geom's order, each in the colour of its face id, at the very (float32) positions the RGB
        geom's vertices were moved to, so both passes rasterise the same triangles from the same
        numbers and their edges stay pixel for pixel aligned. Returns (ID_DTYPE vertices, triangles)."""
        verts, colors, tris, base = [], [], [], 0
        for (_d, mesh_tris, (face_ids, counts)), off in zip(parts, offsets):
            fan = G.fan_triangles(counts)
            corner = np.empty(int(counts.sum()), np.int64)  # polygon corner -> the mesh's (shared) vertex
            corner[fan] = mesh_tris
            verts.append(data["v"][corner + off])
            colors.append(np.repeat(G.id_colors(face_ids), counts, axis=0))
            tris.append(fan + base)
            base += len(corner)
        out = np.zeros(base, G.ID_DTYPE)
        out["v"] = np.concatenate(verts)
        out["c"] = np.concatenate(colors)
        return out, np.concatenate(tris).astype(np.uint32)

    def _unmerge(self, u: dict) -> None:
        """Undo the merge of the room holding node ``u['id']`` if the update ``u`` changes it."""
        sc = self.current
        key = getattr(sc, "merged", {}).get(u["id"])
        if key is None:
            return
        rec = self.nodes[u["id"]]
        same = {"pos": "pos", "hpr": "hpr", "color": "color", "visible": "visible"}
        if all(
            k == "id" or (k in same and _same(u[k], rec.get(same[k]))) or (k == "text" and not u[k])
            for k in u
        ):
            return  # nothing this node shows changes
        merged, ids = sc.merges.pop(key)
        del sc.gates[key]
        for nodepath in merged:
            nodepath.remove_node()
        for nid in ids:
            self.nodes[nid]["np"].unstash()
            self.nodes[nid]["idn"].unstash()
            del sc.merged[nid]

    def _pose_groups(self, rec: dict):
        """Apply the node's state to its dynamic groups (hinges, slides, recolours, show/hide)."""
        st, size = rec["state"], np.array([max(v, 1e-4) for v in rec["size"]])
        for g in rec["groups"]:
            move, _recolour, show_if = g.rule  # recolours: see _shade
            if move is not None:
                on = truthy(st, move.when)
                pos = g.pivot + (np.array(move.by) * size if on else 0.0)
                hpr = move.hpr if on else (0.0, 0.0, 0.0)
                for nodepath in (g.rgb, g.idn):
                    nodepath.set_pos_hpr(*pos, *hpr)
            if show_if is not None:
                vis = truthy(st, show_if)
                for nodepath in (g.rgb, g.idn):
                    nodepath.show() if vis else nodepath.hide()

    def _shade(self, rec: dict):
        """Bake the light reaching each vertex of the node's meshes into their colours (again only
        for a mesh whose pose, colour or lighting changed). Text cards and user assets are lit by
        Panda3D's lights of the room the node stands in."""
        rig = self._rig_at(rec["pos"])
        if rig is not rec.get("rig"):
            rec["rig"] = rig
            rec["np"].clear_light()
            if rig is not self.current.rig:
                rec["np"].set_light_off()
                for lnp in rig[3]:
                    rec["np"].set_light(lnp)
        for g in rec["groups"]:
            if not g.meshes:
                continue
            color = None
            if g.rule[1] is not None:
                when, then, other = g.rule[1]
                color = resolve_color(then if truthy(rec["state"], when) else other, tuple(rec["color"]))
            mat = np.array(g.rgb.get_mat(self.root), dtype=np.float64).reshape(4, 4)
            for mesh in g.meshes:
                mesh.shade(mat, self.current.lighting, color)

    def _text(self, rec: dict):
        """Draw ``rec['text']`` on the model's text face (default: the front face, local -y)."""
        if rec["textnp"] is not None:
            # free every texture under the card now (the state cache would keep them alive: one
            # leaked texture and two render states per text change grew the engine ~4 MB/5,000 steps)
            textures = list(rec["textnp"].find_all_textures())
            rec["textnp"].remove_node()
            rec["textnp"] = None
            for tex in textures:
                tex.release_all()
                tex.clear_ram_image()
                tex.clear_ram_mipmap_images()
            RenderState.clear_cache()  # composition caches would keep the old card states alive
            RenderState.garbage_collect()
        if not rec["text"]:
            return
        sx, sy, sz = rec["size"]
        model = self.models.get(rec["model"]) if rec["model"] else None
        bg = tuple(rec.get("color", (1, 1, 1)))
        glow = False
        if model is not None and model.text is not None:
            at, (fw, fh), hpr, bg_name, glow = model.text
            flat = abs(abs(hpr[1]) - 90) < 1e-6
            w, h = fw * sx, fh * (sy if flat else sz)
            pos = (at[0] * sx, at[1] * sy, at[2] * sz)
            if bg_name:
                bg = resolve_color(bg_name, bg)
        elif rec["shape"] in ("box", "card"):
            w, h, hpr = sx, sz, (0.0, 0.0, 0.0)
            pos = (0.0, -(sy / 2 if rec["shape"] == "box" else 0.0), 0.0)
        else:
            return
        if w <= 0 or h <= 0:
            return
        holder = rec["np"].attach_new_node("text")
        holder.set_pos_hpr(*pos, *hpr)
        card = text_card(rec["text"], w, h, bg, tuple(rec["text_color"]))
        card.reparent_to(holder)
        card.set_y(-0.003)
        card.set_depth_offset(1)
        if glow:
            card.set_light_off(1)
        rec["textnp"] = holder
