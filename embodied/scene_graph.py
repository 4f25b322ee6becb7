"""World → engine scene nodes: the small scene-graph interface every bridge renders (docs/architecture.md).

A node is a dict ``{"id", "seg", "kind", "shape", "size", "pos", "hpr", "color", "visible", "text"?,
"text_color"?}`` (see :mod:`embodied.protocol`), plus the look fields renderers may use
(docs/rendering.md): ``model`` (a name in ``models.yaml``), ``state`` (what poses its parts:
open, locked, lockable, on, pressed) and ``material``; renderers that do not know them draw
the primitive ``shape``. :func:`build_nodes` makes the whole scene once;
:func:`updates_for` gives the changed fields of the nodes that show a thing whose state changed
(a door swinging open, a lid lifting, a key taken, a keypad's display), so each step sends
only what changed.
"""

from __future__ import annotations

import colorsys
import itertools
import math
import random
from functools import lru_cache
from importlib import resources
from typing import Any

from . import yamlio
from .layout import DOOR_H, WALL_H, WALL_T
from .objtypes import COLORS, TYPES
from .spec import OUTSIDE
from .world import World

Node = dict[str, Any]
WALL_COLOR = (0.78, 0.74, 0.66)
FLOOR_COLOR = (0.45, 0.36, 0.28)
CEILING_COLOR = (0.9, 0.9, 0.88)
DOOR_COLOR = (0.55, 0.33, 0.18)
GROUND_COLOR = (0.3, 0.55, 0.25)
AGENT_COLORS = ((0.2, 0.4, 0.9), (0.9, 0.3, 0.6), (0.3, 0.8, 0.8))
LIDDED = {"chest", "box", "safe"}


@lru_cache(maxsize=1)
def model_names() -> frozenset[str]:
    """Names of the built-in models (``embodied/models.yaml``)."""
    raw = yamlio.safe_load(resources.files("embodied").joinpath("models.yaml").read_text())
    return frozenset(raw)


def color(name: str | None, default: str) -> tuple[float, float, float]:
    return COLORS.get(name or default, COLORS.get(default, (0.6, 0.6, 0.6)))


class SceneGraph:
    """Assigns segmentation ids and turns world state into nodes and node updates."""

    def __init__(self, world: World, show_agents: bool | None = None, appearance_seed: int | None = None):
        """``appearance_seed``: None (default) draws every object as specified; an int randomises
        looks reproducibly (colours within their named family, texture variants, small yaw
        jitter of furniture), leaving the world model untouched."""
        self.world = world
        self.appearance_seed = appearance_seed
        self._look: dict[str, tuple] = {}
        ids = list(world.objs) + list(world.door_specs)
        self.seg: dict[str, int] = {t: i + 1 for i, t in enumerate(ids)}
        self.show_agents = len(world.agent_ids) > 1 if show_agents is None else show_agents
        for aid in world.agent_ids:
            self.seg[f"agent:{aid}"] = len(self.seg) + 1
        self.seg["structure"] = len(self.seg) + 1

    @property
    def seg_names(self) -> dict[int, str]:
        """Segmentation id → object/door/agent id ("structure" for walls, floors, ceilings)."""
        return {v: k for k, v in self.seg.items()}

    # ------------------------------------------------------------ static + initial nodes
    def build_nodes(self) -> list[Node]:
        w, L = self.world, self.world.layout
        s = self.seg["structure"]
        nodes: list[Node] = []
        for rid, r in L.rooms.items():
            rs = next(x for x in w.spec.rooms if x.id == rid)
            (cx, cy), sx, sy = r.center, r.x1 - r.x0, r.y1 - r.y0
            nodes.append(
                _node(
                    f"floor:{rid}",
                    s,
                    "floor",
                    "box",
                    (sx, sy, 0.1),
                    (cx, cy, -0.05),
                    color(rs.floor, "") if rs.floor else FLOOR_COLOR,
                    material="planks",
                )
            )
            nodes.append(
                _node(
                    f"ceiling:{rid}",
                    s,
                    "ceiling",
                    "box",
                    (sx, sy, 0.1),
                    (cx, cy, WALL_H + 0.05),
                    CEILING_COLOR,
                    material="plaster",
                )
            )
        for i, g in enumerate(L.outside):
            (cx, cy) = g.center
            nodes.append(
                _node(
                    f"ground:{i}",
                    s,
                    "ground",
                    "box",
                    (g.x1 - g.x0, g.y1 - g.y0, 0.1),
                    (cx, cy, -0.06),
                    GROUND_COLOR,
                    material="grass",
                )
            )
        lit = any(rs.light is not None for rs in w.spec.rooms)
        for i, r in enumerate(L.walls):
            # with room lights, a wall along several rooms is cut at their corners (each piece's
            # faces take the light of the room they face)
            for k, (x0, y0, x1, y1) in enumerate(_cut_at_rooms(r, L.rooms.values(), lit)):
                nodes.append(
                    _node(
                        f"wall:{i}" + (f".{k}" if k else ""),
                        s,
                        "wall",
                        "box",
                        (x1 - x0, y1 - y0, WALL_H),
                        ((x0 + x1) / 2, (y0 + y1) / 2, WALL_H / 2),
                        WALL_COLOR,
                        material="plaster",
                    )
                )
        for i, (_door, r) in enumerate(L.lintels):
            (cx, cy) = r.center
            h = WALL_H - DOOR_H
            nodes.append(
                _node(
                    f"lintel:{i}",
                    s,
                    "wall",
                    "box",
                    (r.x1 - r.x0, r.y1 - r.y0, h),
                    (cx, cy, DOOR_H + h / 2),
                    WALL_COLOR,
                    material="plaster",
                )
            )
        for did, d in L.doors.items():
            ds = w.door_specs[did]
            door = _node(
                did,
                self.seg[did],
                "door",
                "box",
                (d.width - 0.04, 0.06, DOOR_H - 0.02),
                (0, 0, 0),
                color(ds.color, "") if ds.color else DOOR_COLOR,
            )
            door["model"] = "door"
            nodes.append(door)
            frame = _node(
                f"{did}#frame",
                s,
                "doorframe",
                "box",
                (d.width + 0.16, WALL_T + 0.06, DOOR_H + 0.08),
                (d.center[0], d.center[1], (DOOR_H + 0.08) / 2),
                _shade(DOOR_COLOR, 0.8),
            )
            frame["model"] = "doorframe"
            frame["hpr"] = [0.0 if d.along_x else 90.0, 0.0, 0.0]
            nodes.append(frame)
            if OUTSIDE in d.rooms:
                nodes.append(self._sign(d, "EXIT", (0.1, 0.55, 0.15), f"{did}#sign"))
            if self._has_panel(did):
                nodes.append(self._sign(d, "", (0.15, 0.15, 0.17), f"{did}#panel", below=True))
        for oid, o in w.objs.items():
            t = TYPES[o.type]
            size = tuple(o.size or t.size)
            node = _node(oid, self.seg[oid], o.type, t.shape, size, (0, 0, 0), self._color(oid))
            if o.type in model_names():
                node["model"] = o.type
                node["look_seed"] = self._looks(oid)[1]
            if o.type in ("note", "screen") and o.text:  # a closed book shows nothing: Read it
                node["text"] = o.text
                node["text_color"] = color(None, t.text_color)
            if o.type == "keypad":
                node["text_color"] = color(None, t.text_color)
                node["text"] = ""
            nodes.append(node)
            if "openable" in w.affords[oid] and "model" not in node:
                lid = (size[0], size[1], 0.06) if o.type in LIDDED else (size[0] * 0.96, 0.04, size[2] * 0.96)
                nodes.append(
                    _node(
                        f"{oid}#lid", self.seg[oid], o.type, "box", lid, (0, 0, 0), _shade(node["color"], 0.8)
                    )
                )
        if self.show_agents:
            for k, aid in enumerate(w.agent_ids):
                c = AGENT_COLORS[k % len(AGENT_COLORS)]
                nodes.append(
                    _node(
                        f"agent:{aid}",
                        self.seg[f"agent:{aid}"],
                        "agent",
                        "cylinder",
                        (0.3, 0.3, 1.0),
                        (0, 0, 0),
                        c,
                    )
                )
                nodes.append(
                    _node(
                        f"agent:{aid}#head",
                        self.seg[f"agent:{aid}"],
                        "agent",
                        "sphere",
                        (0.24, 0.24, 0.24),
                        (0, 0, 0),
                        c,
                    )
                )
        nodes += self._light_nodes() + self._room_light_nodes()
        by_id = {n["id"]: n for n in nodes}
        for u in self.updates_for(list(w.objs) + list(w.door_specs)) + self.agent_updates():
            by_id[u["id"]].update({k: v for k, v in u.items() if k != "id"})
        return nodes

    def _looks(self, oid: str) -> tuple:
        """(colour, texture variant, yaw jitter) of an object; as specified unless randomised."""
        if oid not in self._look:
            o = self.world.objs[oid]
            base = color(o.color, TYPES[o.type].color)
            if self.appearance_seed is None:
                self._look[oid] = (base, 0, 0.0)
            else:
                rng = random.Random(f"{self.appearance_seed}:{oid}")
                h, li, sa = colorsys.rgb_to_hls(*base)
                h = (h + rng.uniform(-0.025, 0.025)) % 1.0
                li = min(0.92, max(0.06, li * rng.uniform(0.85, 1.15)))
                sa = min(1.0, max(0.0, sa * rng.uniform(0.85, 1.1)))
                jitter = rng.uniform(-4.0, 4.0) if TYPES[o.type].mount == "floor" else 0.0
                self._look[oid] = (colorsys.hls_to_rgb(h, li, sa), rng.randrange(4), jitter)
        return self._look[oid]

    def _light_nodes(self) -> list[Node]:
        """With appearance randomisation: an ambient level and a key and fill light of random
        intensity and direction (renderers that know ``light:*`` kinds use them instead of
        their default rig; others draw nothing for these zero-size nodes)."""
        if self.appearance_seed is None:
            return []
        rng = random.Random(f"{self.appearance_seed}:lights")
        s = self.seg["structure"]
        out = []
        for kind, level, pitch in (("ambient", (0.38, 0.6), (0, 0)), ("directional", (0.45, 0.75), (-70, -30)),
                                   ("directional", (0.1, 0.3), (-30, -10))):  # fmt: skip
            k = rng.uniform(*level)
            warm = rng.uniform(-0.04, 0.04)
            node = _node(f"light:{len(out)}", s, f"light:{kind}", "box", (0, 0, 0), (0, 0, 0),
                         (k * (1 + warm), k, k * (1 - warm)))  # fmt: skip
            node["hpr"] = [rng.uniform(0, 360), rng.uniform(*pitch), 0.0]
            out.append(node)
        return out

    def _room_light_nodes(self) -> list[Node]:
        """A room's ``light`` (spec): the default rig's ambient, key and fill scaled and tinted,
        as light nodes whose ``region`` (the room's floor plan) limits them to the surfaces
        facing into the room. Rooms without ``light`` keep the scene's lights."""
        out = []
        s = self.seg["structure"]
        L = self.world.layout
        for rs in self.world.spec.rooms:
            rig = rs.light_rig()
            if rig is None or rs.id not in L.rooms:
                continue
            k, tint, (heading, pitch) = rig
            r = L.rooms[rs.id]
            region = [r.x0, r.y0, r.x1, r.y1]
            for j, (kind, level, hpr) in enumerate(
                (("ambient", 0.5, (0, 0)), ("directional", 0.6, (heading, pitch)),
                 ("directional", 0.25, (heading - 180, -20)))
            ):  # fmt: skip
                node = _node(f"light:{rs.id}:{j}", s, f"light:{kind}", "box", (0, 0, 0), (*r.center, 0.0),
                             tuple(k * level * c for c in tint))  # fmt: skip
                node["hpr"] = [float(hpr[0]), float(hpr[1]), 0.0]
                node["region"] = region
                out.append(node)
        return out

    def _color(self, oid: str) -> tuple[float, float, float]:
        return self._looks(oid)[0]

    def _sign(self, d, text: str, col, nid: str, below: bool = False) -> Node:
        """A plate on the wall above (or a panel beside) a door, on the inner room's side."""
        cx, cy = d.center
        n = {"north": (0, -1), "south": (0, 1), "east": (-1, 0), "west": (1, 0)}[d.side_of_first]
        off = WALL_T / 2 + 0.02
        h = {"north": 0.0, "south": 180.0, "east": -90.0, "west": 90.0}[d.side_of_first]
        if below:
            along = (1, 0) if d.along_x else (0, 1)
            px, py = cx + along[0] * (d.width / 2 + 0.3), cy + along[1] * (d.width / 2 + 0.3)
            node = _node(
                nid,
                self.seg[d.id],
                "keypad",
                "box",
                (0.36, 0.06, 0.3),
                (px + n[0] * off, py + n[1] * off, 1.3),
                col,
            )
            node["text_color"] = COLORS["lime"]
            node["text"] = "ENTER CODE"
            node["model"] = "keypad"
        else:
            node = _node(
                nid,
                self.seg["structure"],
                "sign",
                "card",
                (0.6, 0.0, 0.25),
                (cx + n[0] * off, cy + n[1] * off, DOOR_H + 0.2),
                col,
            )
            node["text"] = text
            node["text_color"] = (1.0, 1.0, 1.0)
        node["hpr"] = [h, 0.0, 0.0]
        return node

    # ------------------------------------------------------------ dynamic state
    def updates_for(self, things) -> list[Node]:
        out: list[Node] = []
        w = self.world
        for t in things:
            if t in w.door_specs:
                out += self._door(t)
            elif t in w.objs:
                out += self._object(t)
        return out

    def agent_updates(self) -> list[Node]:
        if not self.show_agents:
            return []
        out = []
        for aid in self.world.agent_ids:
            a = self.world.agent(aid)
            out.append({"id": f"agent:{aid}", "pos": [a["x"], a["y"], 0.5], "hpr": [a["yaw"], 0.0, 0.0]})
            out.append(
                {"id": f"agent:{aid}#head", "pos": [a["x"], a["y"], 1.15], "hpr": [a["yaw"], 0.0, 0.0]}
            )
        return out

    def _door(self, did: str) -> list[Node]:
        w = self.world
        d = w.layout.doors.get(did)
        if d is None:
            return []
        st = w.state["doors"][did]
        cx, cy = d.center
        z = (DOOR_H - 0.02) / 2
        if not st["open"]:
            pos, h = [cx, cy, z], 0.0 if d.along_x else 90.0
        else:  # swung 90 degrees into the first room about the hinge at the low jamb
            into = -1 if d.side_of_first in ("north", "east") else 1
            half = (d.width - 0.04) / 2
            if d.along_x:
                pos, h = [cx - d.width / 2 + 0.04, cy + into * (half + 0.05), z], 90.0
            else:
                pos, h = [cx + into * (half + 0.05), cy - d.width / 2 + 0.04, z], 0.0
        lockable = w.door_specs[did].lock is not None
        state = {"open": st["open"], "locked": st["locked"], "lockable": lockable}
        out = [{"id": did, "pos": pos, "hpr": [h, 0.0, 0.0], "state": state}]
        if self._has_panel(did):
            out.append(
                {
                    "id": f"{did}#panel",
                    "text": _keypad_text(st["display"], st["locked"]),
                    "state": {"locked": st["locked"], "lockable": True},
                }
            )
        return out

    def _has_panel(self, did: str) -> bool:
        """A code-locked door that no keypad controls gets a code panel of its own beside it."""
        lock = self.world.door_specs[did].lock
        return (
            lock is not None
            and lock.kind == "code"
            and not any(o.controls == did for o in self.world.spec.objects)
        )

    def _object(self, oid: str) -> list[Node]:
        w = self.world
        o, st = w.objs[oid], w.state["objects"][oid]
        t = TYPES[o.type]
        size = tuple(o.size or t.size)
        x, y, z = w.position(oid)
        visible = w.holder(oid) is None and w.accessible(oid)
        chain = w.container_chain(oid)
        yaw = w.state["objects"][chain[-1]]["yaw"] if chain else st["yaw"]
        modelled = o.type in model_names()
        p = 90.0 if o.type == "button" and not modelled else 0.0
        u: Node = {
            "id": oid,
            "pos": [x, y, z],
            "hpr": [yaw + self._looks(oid)[2], p, 0.0],
            "visible": visible,
        }
        base = self._color(oid)
        if modelled:
            locked = w.thing(o.controls)["locked"] if o.type == "keypad" and o.controls else st["locked"]
            u["state"] = {
                "open": st["open"],
                "locked": locked,
                "lockable": o.lock is not None or o.type == "keypad",
                "on": st["on"],
                "pressed": st["pressed"] % 2 == 1,  # every press moves the button (in, out)
            }
        elif "toggleable" in w.affords[oid]:
            u["color"] = (
                list(base if st["on"] else _shade(base, 0.35))
                if o.type == "lamp"
                else list(COLORS["green"] if st["on"] else base)
            )
        if o.type == "keypad":
            locked = w.thing(o.controls)["locked"] if o.controls else st["locked"]
            u["text"] = _keypad_text(st["display"], locked)
        out = [u]
        if "openable" in w.affords[oid] and not modelled:
            out.append(self._lid(oid, (x, y, z), size, yaw, st["open"], visible))
        return out

    def _lid(self, oid: str, c, size, yaw: float, is_open: bool, visible: bool) -> Node:
        o = self.world.objs[oid]
        r = math.radians(yaw)
        fwd = (math.sin(r), -math.cos(r))  # the front (local -y) direction in world
        if o.type in LIDDED:
            if not is_open:
                return {
                    "id": f"{oid}#lid",
                    "pos": [c[0], c[1], c[2] + size[2] / 2 + 0.03],
                    "hpr": [yaw, 0.0, 0.0],
                    "visible": visible,
                }
            back = size[1] / 2 + 0.03  # lid stands up at the back edge
            return {
                "id": f"{oid}#lid",
                "pos": [c[0] - fwd[0] * back, c[1] - fwd[1] * back, c[2] + size[2] / 2 + size[1] / 2],
                "hpr": [yaw, 90.0, 0.0],
                "visible": visible,
            }
        front = size[1] / 2 + 0.025
        if not is_open:
            return {
                "id": f"{oid}#lid",
                "pos": [c[0] + fwd[0] * front, c[1] + fwd[1] * front, c[2]],
                "hpr": [yaw, 0.0, 0.0],
                "visible": visible,
            }
        side = (math.cos(r), math.sin(r))  # swing the front panel out to the object's right side
        half = size[0] / 2
        px = c[0] + side[0] * half + fwd[0] * (front + half)
        py = c[1] + side[1] * half + fwd[1] * (front + half)
        return {"id": f"{oid}#lid", "pos": [px, py, c[2]], "hpr": [yaw + 90.0, 0.0, 0.0], "visible": visible}


def _keypad_text(display: str, locked: bool) -> str:
    if display == "OPEN" or not locked:
        return "OPEN"
    return display or "CODE ____"


def _shade(c, k: float) -> tuple[float, float, float]:
    return (c[0] * k, c[1] * k, c[2] * k)


def _cut_at_rooms(r, rooms, cut: bool = True) -> list[tuple[float, float, float, float]]:
    """Wall rectangle ``r`` cut along its length where a room's side ends inside it (if ``cut``)."""
    if not cut:
        return [(r.x0, r.y0, r.x1, r.y1)]
    along_x = r.x1 - r.x0 >= r.y1 - r.y0
    lo, hi = (r.x0, r.x1) if along_x else (r.y0, r.y1)
    cuts = sorted(
        {
            c
            for room in rooms
            for c in ((room.x0, room.x1) if along_x else (room.y0, room.y1))
            if lo + 0.2 < c < hi - 0.2
        }
    )
    edges = [lo, *cuts, hi]
    if along_x:
        return [(a, r.y0, b, r.y1) for a, b in itertools.pairwise(edges)]
    return [(r.x0, a, r.x1, b) for a, b in itertools.pairwise(edges)]


def _node(nid: str, seg: int, kind: str, shape: str, size, pos, col, material: str = "") -> Node:
    node = {
        "id": nid,
        "seg": seg,
        "kind": kind,
        "shape": shape,
        "size": [float(v) for v in size],
        "pos": [float(v) for v in pos],
        "hpr": [0.0, 0.0, 0.0],
        "color": [float(v) for v in col],
        "visible": True,
    }
    if material:
        node["material"] = material
    return node
