"""Layout: where rooms, doors, walls and objects are, in meters (x east, y north).

``build_layout(spec)`` places what the spec leaves unplaced (rooms next to the rooms they
connect to, doors in the middle of shared walls, exits on a free wall, objects against the
walls) and reports geometry errors (overlapping rooms, a door between rooms with no shared
wall, objects outside their room or on top of each other) as ``(path, message)`` pairs.
Deterministic: the same spec always gives the same layout.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .objtypes import TYPES
from .spec import OUTSIDE, Spec

WALL_T = 0.1  # wall thickness
WALL_H = 2.5  # wall height
DOOR_H = 2.1
SIDES = ("north", "east", "south", "west")
# facing (heading, Panda3D convention) of something mounted on a wall, so its front (local -y) faces into the room
FACING = {"north": 0.0, "south": 180.0, "east": -90.0, "west": 90.0}


@dataclass(frozen=True)
class Rect:
    x0: float
    y0: float
    x1: float
    y1: float

    def contains(self, x: float, y: float, margin: float = 0.0) -> bool:
        return self.x0 + margin <= x <= self.x1 - margin and self.y0 + margin <= y <= self.y1 - margin

    def overlaps(self, o: Rect, eps: float = 1e-6) -> bool:
        return self.x0 < o.x1 - eps and o.x0 < self.x1 - eps and self.y0 < o.y1 - eps and o.y0 < self.y1 - eps

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2)


@dataclass
class DoorGeom:
    id: str
    center: tuple[float, float]
    along_x: bool  # the wall runs along x (door normal along y)
    width: float
    rooms: tuple[str, str]
    side_of_first: str  # which wall of rooms[0] the door is on

    @property
    def gap(self) -> Rect:
        cx, cy = self.center
        h = self.width / 2
        t = WALL_T / 2
        return Rect(cx - h, cy - t, cx + h, cy + t) if self.along_x else Rect(cx - t, cy - h, cx + t, cy + h)


@dataclass
class Placement:
    x: float
    y: float
    z: float  # center height
    yaw: float  # heading; the object's front (local -y) faces into the room
    wall: str | None = None

    @property
    def pos(self) -> tuple[float, float, float]:
        return (self.x, self.y, self.z)


@dataclass
class Layout:
    rooms: dict[str, Rect]
    doors: dict[str, DoorGeom]
    walls: list[Rect]  # static wall pieces (door gaps cut out), as thick rectangles
    lintels: list[tuple[DoorGeom, Rect]]  # wall pieces above doors
    objects: dict[str, Placement]
    agents: dict[str, tuple[float, float, float]]  # x, y, yaw
    outside: list[Rect] = field(default_factory=list)  # patches of ground beyond exit doors
    bounds: Rect = Rect(0, 0, 0, 0)
    errors: list[tuple[str, str]] = field(default_factory=list)

    def room_at(self, x: float, y: float) -> str:
        for rid, r in self.rooms.items():
            if r.contains(x, y):
                return rid
        return OUTSIDE


def _size(spec_obj) -> tuple[float, float, float]:
    return tuple(spec_obj.size) if spec_obj.size else TYPES[spec_obj.type].size


def build_layout(spec: Spec) -> Layout:
    errors: list[tuple[str, str]] = []
    rooms = _place_rooms(spec, errors)
    doors = _place_doors(spec, rooms, errors)
    walls, lintels = _walls(rooms, doors)
    objects = _place_objects(spec, rooms, doors, errors)
    agents = {}
    for i, a in enumerate(spec.agents):
        r = rooms.get(a.room)
        if r is None:
            continue
        if a.at is not None:
            x, y = r.x0 + a.at[0], r.y0 + a.at[1]
            if not r.contains(x, y, 0.2):
                errors.append(
                    (
                        f"agents[{i}].at",
                        f"{list(a.at)} is outside room {a.room!r} (size {r.x1 - r.x0:g} x {r.y1 - r.y0:g})",
                    )
                )
        else:
            same = [b for b in spec.agents if b.room == a.room and b.at is None]
            k = same.index(a)
            cx, cy = r.center
            x, y = cx + 0.75 * (k - (len(same) - 1) / 2), cy
        agents[a.id] = (x, y, float(a.yaw or 0.0))
    outside = []
    for d in doors.values():
        if OUTSIDE in d.rooms:
            cx, cy = d.center
            s = d.side_of_first
            sgn = 1 if s in ("north", "east") else -1
            if d.along_x:
                outside.append(Rect(cx - 1.5, min(cy, cy + sgn * 2.5), cx + 1.5, max(cy, cy + sgn * 2.5)))
            else:
                outside.append(Rect(min(cx, cx + sgn * 2.5), cy - 1.5, max(cx, cx + sgn * 2.5), cy + 1.5))
    allr = list(rooms.values()) + outside
    bounds = (
        Rect(
            min(r.x0 for r in allr), min(r.y0 for r in allr), max(r.x1 for r in allr), max(r.y1 for r in allr)
        )
        if allr
        else Rect(0, 0, 0, 0)
    )
    return Layout(rooms, doors, walls, lintels, objects, agents, outside, bounds, errors)


def _place_rooms(spec: Spec, errors) -> dict[str, Rect]:
    placed: dict[str, Rect] = {}
    specs = {r.id: r for r in spec.rooms}
    for r in spec.rooms:
        if r.at is not None:
            placed[r.id] = Rect(r.at[0], r.at[1], r.at[0] + r.size[0], r.at[1] + r.size[1])
    if not placed:
        r0 = spec.rooms[0]
        placed[r0.id] = Rect(0, 0, r0.size[0], r0.size[1])
    exit_sides = {
        d.between[0] if d.between[1] == OUTSIDE else d.between[1]: d.wall
        for d in spec.doors
        if OUTSIDE in d.between and d.wall
    }
    # breadth-first over doors: a new room goes beside the room it connects to, on the first free side
    frontier = list(placed)
    while frontier:
        cur = frontier.pop(0)
        for d in spec.doors:
            if cur not in d.between or OUTSIDE in d.between:
                continue
            other = d.between[1] if d.between[0] == cur else d.between[0]
            if other in placed or other not in specs:
                continue
            a, (w, h) = placed[cur], specs[other].size
            options = {
                "east": Rect(a.x1, a.y0, a.x1 + w, a.y0 + h),
                "north": Rect(a.x0, a.y1, a.x0 + w, a.y1 + h),
                "west": Rect(a.x0 - w, a.y0, a.x0, a.y0 + h),
                "south": Rect(a.x0, a.y0 - h, a.x0 + w, a.y0),
            }
            for side in ([d.wall] if d.wall and d.between[0] == cur else []) + list(options):
                cand = options[side]
                if exit_sides.get(cur) == side or any(cand.overlaps(p) for p in placed.values()):
                    continue
                placed[other] = cand
                frontier.append(other)
                break
    x = max(p.x1 for p in placed.values())
    for r in spec.rooms:  # rooms no door reaches: put them aside (validation reports them unreachable)
        if r.id not in placed:
            placed[r.id] = Rect(x + 1, 0, x + 1 + r.size[0], r.size[1])
            x += 1 + r.size[0]
    ids = list(placed)
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            if placed[a].overlaps(placed[b]):
                errors.append(("rooms", f"rooms {a!r} and {b!r} overlap; move one with 'at'"))
    return {r.id: placed[r.id] for r in spec.rooms}


def _shared_wall(a: Rect, b: Rect) -> tuple[bool, float, float, float, str] | None:
    """(along_x, fixed coordinate, lo, hi, side of a) of the wall a and b share, if any."""
    eps = 1e-6
    for along_x, fixed_a, fixed_b, side in (
        (True, a.y1, b.y0, "north"),
        (True, a.y0, b.y1, "south"),
        (False, a.x1, b.x0, "east"),
        (False, a.x0, b.x1, "west"),
    ):
        if abs(fixed_a - fixed_b) < eps:
            lo, hi = (max(a.x0, b.x0), min(a.x1, b.x1)) if along_x else (max(a.y0, b.y0), min(a.y1, b.y1))
            if hi - lo > eps:
                return along_x, fixed_a, lo, hi, side
    return None


def _place_doors(spec: Spec, rooms: dict[str, Rect], errors) -> dict[str, DoorGeom]:
    doors: dict[str, DoorGeom] = {}
    for i, d in enumerate(spec.doors):
        a_id, b_id = d.between
        if a_id == OUTSIDE:
            a_id, b_id = b_id, a_id
        if a_id not in rooms:
            continue
        a = rooms[a_id]
        if b_id == OUTSIDE:
            wall = None
            for side in ([d.wall] if d.wall else []) + list(SIDES):
                along_x = side in ("north", "south")
                fixed = {"north": a.y1, "south": a.y0, "east": a.x1, "west": a.x0}[side]
                lo, hi = (a.x0, a.x1) if along_x else (a.y0, a.y1)
                if not any(
                    _shared_wall(a, o) and _shared_wall(a, o)[4] == side
                    for rid, o in rooms.items()
                    if rid != a_id
                ):
                    wall = (along_x, fixed, lo, hi, side)
                    break
            if wall is None:
                errors.append((f"doors[{i}]", f"room {a_id!r} has no free wall for an exit door"))
                continue
        else:
            if b_id not in rooms:
                continue
            wall = _shared_wall(a, rooms[b_id])
            if wall is None:
                errors.append(
                    (
                        f"doors[{i}].between",
                        f"rooms {a_id!r} and {b_id!r} share no wall; place them side by side",
                    )
                )
                continue
        along_x, fixed, lo, hi, side = wall
        if hi - lo < d.width + 0.2:
            errors.append(
                (
                    f"doors[{i}].width",
                    f"the shared wall is {hi - lo:.2f} m long; a {d.width} m door needs {d.width + 0.2:.2f} m",
                )
            )
            continue
        c = lo + d.offset if d.offset is not None else (lo + hi) / 2
        if not lo + d.width / 2 <= c <= hi - d.width / 2:
            errors.append(
                (f"doors[{i}].offset", f"door center {c - lo:.2f} m leaves the wall ({hi - lo:.2f} m long)")
            )
            c = (lo + hi) / 2
        center = (c, fixed) if along_x else (fixed, c)
        doors[d.id] = DoorGeom(d.id, center, along_x, d.width, (a_id, b_id), side)
    return doors


def _walls(
    rooms: dict[str, Rect], doors: dict[str, DoorGeom]
) -> tuple[list[Rect], list[tuple[DoorGeom, Rect]]]:
    """Union of room edges per wall line, minus door gaps, as thick rectangles."""
    lines: dict[tuple[bool, float], list[tuple[float, float]]] = {}
    for r in rooms.values():
        for along_x, fixed, lo, hi in (
            (True, r.y0, r.x0, r.x1),
            (True, r.y1, r.x0, r.x1),
            (False, r.x0, r.y0, r.y1),
            (False, r.x1, r.y0, r.y1),
        ):
            lines.setdefault((along_x, round(fixed, 6)), []).append((lo, hi))
    walls, lintels = [], []
    t = WALL_T / 2
    for (along_x, fixed), spans in sorted(lines.items()):
        spans.sort()
        merged = [list(spans[0])]
        for lo, hi in spans[1:]:
            if lo <= merged[-1][1] + 1e-6:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        gaps = sorted(
            (d.center[0] if along_x else d.center[1], d)
            for d in doors.values()
            if d.along_x == along_x and abs((d.center[1] if along_x else d.center[0]) - fixed) < 1e-6
        )
        for lo, hi in merged:
            pieces = [(lo - t, hi + t)]
            for c, d in gaps:
                g0, g1 = c - d.width / 2, c + d.width / 2
                pieces = [
                    p
                    for a0, a1 in pieces
                    for p in ((a0, min(a1, g0)), (max(a0, g1), a1))
                    if p[1] - p[0] > 1e-6
                ]
                if lo <= c <= hi:
                    lintels.append(
                        (
                            d,
                            Rect(g0, fixed - t, g1, fixed + t)
                            if along_x
                            else Rect(fixed - t, g0, fixed + t, g1),
                        )
                    )
            for a0, a1 in pieces:
                walls.append(
                    Rect(a0, fixed - t, a1, fixed + t) if along_x else Rect(fixed - t, a0, fixed + t, a1)
                )
    return walls, lintels


def _place_objects(
    spec: Spec, rooms: dict[str, Rect], doors: dict[str, DoorGeom], errors
) -> dict[str, Placement]:
    rng = random.Random(spec.seed)
    out: dict[str, Placement] = {}
    contained = {c for o in spec.objects for c in o.contains}
    # occupied intervals per (room, side, layer): layer "wall" for wall-mounted, "floor" for floor pieces
    used: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
    for d in doors.values():
        for rid in d.rooms:
            if rid in rooms:
                side = _side_of(rooms[rid], d)
                c = d.center[0] if d.along_x else d.center[1]
                used.setdefault((rid, side, "floor"), []).append(
                    (c - d.width / 2 - 0.9, c + d.width / 2 + 0.9)
                )
                used.setdefault((rid, side, "wall"), []).append(
                    (c - d.width / 2 - 0.1, c + d.width / 2 + 0.1)
                )
    footprints: list[tuple[str, Rect]] = []
    ordered = sorted(
        spec.objects, key=lambda o: (o.controls is None, o.at is None)
    )  # keypads by their doors first
    for o in ordered:
        idx = spec.objects.index(o)
        if o.id in contained or o.room not in rooms:
            continue
        t = TYPES[o.type]
        sx, sy, sz = _size(o)
        r = rooms[o.room]
        if o.at is not None:
            x, y = r.x0 + o.at[0], r.y0 + o.at[1]
            if not r.contains(x, y, 0.05):
                errors.append((f"objects[{idx}].at", f"{list(o.at)} is outside room {o.room!r}"))
            z = t.height if t.mount == "wall" else sz / 2
            out[o.id] = Placement(x, y, z, float(o.yaw or 0.0))
        else:
            layer = "wall" if t.mount == "wall" else "floor"
            want = sx + (0.25 if layer == "wall" else 0.35)
            sides = list(SIDES)
            rng.shuffle(sides)
            if o.wall:
                sides = [o.wall] + [s for s in sides if s != o.wall]
            target = doors.get(o.controls) if o.controls else None
            if target is not None and o.room in target.rooms:
                sides = [_side_of(r, target)]
            spot = None
            for side in sides:
                lo, hi = _span(r, side)
                if target is not None and side == _side_of(r, target):
                    c = target.center[0] if target.along_x else target.center[1]
                    cands = [c + target.width / 2 + 0.12 + want / 2, c - target.width / 2 - 0.12 - want / 2]
                else:
                    cands = _candidates(lo + 0.3 + want / 2, hi - 0.3 - want / 2, rng)
                for c in cands:
                    iv = (c - want / 2, c + want / 2)
                    if iv[0] < lo + 0.1 or iv[1] > hi - 0.1:
                        continue
                    if any(iv[0] < b and a < iv[1] for a, b in used.get((o.room, side, layer), [])):
                        continue
                    if layer == "floor":
                        fx, fy = _on_wall(r, side, c, WALL_T / 2 + sy / 2 + 0.08)
                        fp = _footprint(Placement(fx, fy, 0, FACING[side]), sx + 0.3, sy + 0.3)
                        if any(fp.overlaps(ofp) for _, ofp in footprints):
                            continue
                    spot = (side, c, iv)
                    break
                if spot:
                    break
            if spot is None:
                errors.append(
                    (
                        f"objects[{idx}]",
                        f"no free place for {o.id!r} along the walls of {o.room!r}; make the room larger or give 'at'",
                    )
                )
                spot = ("north", (r.x0 + r.x1) / 2, (0, 0))
            side, c, iv = spot
            used.setdefault((o.room, side, layer), []).append(iv)
            depth = 0.012 if t.shape == "card" else sy
            inset = WALL_T / 2 + depth / 2 + (0.005 if layer == "wall" else 0.08)
            x, y = _on_wall(r, side, c, inset)
            z = t.height if layer == "wall" else sz / 2
            out[o.id] = Placement(x, y, z, FACING[side], side)
        p = out[o.id]
        if t.mount == "floor":
            fp = _footprint(p, sx, sy)
            for other, ofp in footprints:
                if fp.overlaps(ofp):
                    errors.append((f"objects[{idx}]", f"{o.id!r} overlaps {other!r}"))
            footprints.append((o.id, fp))
    return out


def _candidates(lo: float, hi: float, rng: random.Random) -> list[float]:
    if hi < lo:
        return []
    n = max(1, int((hi - lo) / 0.25) + 1)
    cands = [lo + i * (hi - lo) / max(1, n - 1) for i in range(n)]
    mid = (lo + hi) / 2
    cands.sort(key=lambda c: abs(c - mid) + rng.random() * 0.5)
    return cands


def _span(r: Rect, side: str) -> tuple[float, float]:
    return (r.x0, r.x1) if side in ("north", "south") else (r.y0, r.y1)


def _on_wall(r: Rect, side: str, c: float, inset: float) -> tuple[float, float]:
    return {
        "north": (c, r.y1 - inset),
        "south": (c, r.y0 + inset),
        "east": (r.x1 - inset, c),
        "west": (r.x0 + inset, c),
    }[side]


def _side_of(r: Rect, d: DoorGeom) -> str:
    cx, cy = d.center
    if d.along_x:
        return "north" if abs(cy - r.y1) < abs(cy - r.y0) else "south"
    return "east" if abs(cx - r.x1) < abs(cx - r.x0) else "west"


def _footprint(p: Placement, sx: float, sy: float) -> Rect:
    if round(p.yaw) % 180 == 0:
        w, d = sx, sy
    else:
        w, d = sy, sx
    return Rect(p.x - w / 2, p.y - d / 2, p.x + w / 2, p.y + d / 2)
