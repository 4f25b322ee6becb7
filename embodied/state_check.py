"""Validate a whole world state before anything is replaced (``World.set_state``, ``Env.set_state``).

A state comes from a file, a checkpoint or another process, so it is checked like any input:
the shape of :attr:`World.state` (see :mod:`embodied.world`), finite numbers, known ids, and
places an agent may stand (not inside a wall, closed door or furniture; no NaN). Every problem
is reported with its path, e.g. ``agents.a0.x: expected a finite number, got nan``.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import StateError
from .quoting import brief

MAX_TEXT = 2000  # characters of one said/heard/display text
MAX_LIST = 10_000  # items in any list of the state
LOCS = ("room", "in", "held")


class _Checker:
    def __init__(self, world):
        self.w = world
        self.problems: list[tuple[str, str]] = []

    def bad(self, path: str, msg: str) -> None:
        if len(self.problems) < 20:
            self.problems.append((path, msg))

    def mapping(self, v: Any, path: str, keys) -> bool:
        if not isinstance(v, dict):
            self.bad(path, f"expected a map, got {type(v).__name__} {brief(v)}")
            return False
        missing = [k for k in keys if k not in v]
        if missing:
            self.bad(path, f"missing {missing}")
            return False
        return True

    def number(self, v: Any, path: str, lo: float = -1e6, hi: float = 1e6) -> bool:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            self.bad(path, f"expected a finite number, got {brief(v)}")
            return False
        if not lo <= v <= hi:
            self.bad(path, f"expected {lo:g}..{hi:g}, got {v!r}")
            return False
        return True

    def flag(self, v: Any, path: str) -> None:
        if not isinstance(v, bool):
            self.bad(path, f"expected true or false, got {brief(v)}")

    def text(self, v: Any, path: str) -> None:
        if not isinstance(v, str):
            self.bad(path, f"expected a string, got {brief(v)}")
        elif len(v) > MAX_TEXT:
            self.bad(path, f"text of {len(v)} characters; at most {MAX_TEXT}")

    def ids(self, v: Any, path: str, known, what: str) -> list:
        if not isinstance(v, list) or len(v) > MAX_LIST:
            self.bad(path, f"expected a list of {what} ids, got {brief(v)}")
            return []
        for i, x in enumerate(v):
            if not isinstance(x, str) or x not in known:
                self.bad(f"{path}[{i}]", f"unknown {what} {brief(x)}")
        return v

    def one_of(self, v: Any, path: str, known, what: str) -> bool:
        if not isinstance(v, str) or v not in known:
            self.bad(path, f"unknown {what} {brief(v)}; expected one of {sorted(known)[:10]}")
            return False
        return True


def check_state(world, state: Any) -> None:
    """Raise :class:`StateError` listing every problem of ``state`` for ``world``'s scene."""
    c = _Checker(world)
    w = world
    if not c.mapping(state, "state", ("step", "agents", "objects", "doors", "said")):
        _fail(c, w)
    if isinstance(state["step"], bool) or not isinstance(state["step"], int) or state["step"] < 0:
        c.bad("step", f"expected an int >= 0, got {brief(state['step'])}")
    for part, known in (("agents", w.agent_ids), ("objects", w.objs), ("doors", w.door_specs)):
        got = state[part]
        if not isinstance(got, dict) or set(got) != set(known):
            extra = sorted(set(got) - set(known))[:5] if isinstance(got, dict) else []
            missing = sorted(set(known) - set(got))[:5] if isinstance(got, dict) else []
            c.bad(
                part,
                f"must have exactly this scene's ids; missing {missing}, unknown {[brief(x) for x in extra]}",
            )
    if c.problems:
        _fail(c, w)
    rooms = {*w.layout.rooms, "outside"}
    things = {*w.objs, *w.door_specs}
    for did, d in state["doors"].items():
        p = f"doors.{did}"
        if c.mapping(d, p, ("open", "locked", "display")):
            (
                c.flag(d["open"], p + ".open"),
                c.flag(d["locked"], p + ".locked"),
                c.text(d["display"], p + ".display"),
            )
    for oid, o in state["objects"].items():
        p = f"objects.{oid}"
        if not c.mapping(o, p, ("loc", "x", "y", "z", "yaw", "open", "locked", "on", "pressed", "display")):
            continue
        for k in ("x", "y", "z", "yaw"):
            c.number(o[k], f"{p}.{k}")
        for k in ("open", "locked", "on"):
            c.flag(o[k], f"{p}.{k}")
        if isinstance(o["pressed"], bool) or not isinstance(o["pressed"], int) or o["pressed"] < 0:
            c.bad(p + ".pressed", f"expected an int >= 0, got {brief(o['pressed'])}")
        c.text(o["display"], p + ".display")
        loc = o["loc"]
        if not isinstance(loc, list) or len(loc) != 2 or loc[0] not in LOCS:
            c.bad(p + ".loc", f"expected ['room', room] | ['in', object] | ['held', agent], got {brief(loc)}")
        elif loc[0] == "room":
            c.one_of(loc[1], p + ".loc[1]", rooms, "room")
        elif loc[0] == "in":
            if c.one_of(loc[1], p + ".loc[1]", w.objs, "object") and loc[1] == oid:
                c.bad(p + ".loc", "an object cannot be inside itself")
        else:
            c.one_of(loc[1], p + ".loc[1]", w.agent_ids, "agent")
    for aid, a in state["agents"].items():
        p = f"agents.{aid}"
        keys = ("x", "y", "yaw", "horizon", "room", "inventory", "read", "heard", "seen", "exited")
        if not c.mapping(a, p, keys):
            continue
        placed = c.number(a["x"], p + ".x") & c.number(a["y"], p + ".y")
        c.number(a["yaw"], p + ".yaw", -1e4, 1e4), c.number(a["horizon"], p + ".horizon", -90, 90)
        c.one_of(a["room"], p + ".room", rooms, "room")
        inv = c.ids(a["inventory"], p + ".inventory", w.objs, "object")
        for i, oid in enumerate(inv):
            o = state["objects"].get(oid)
            if isinstance(o, dict) and o.get("loc") != ["held", aid]:
                c.bad(
                    f"{p}.inventory[{i}]", f"{oid} is in the inventory but its loc is {brief(o.get('loc'))}"
                )
        c.ids(a["read"], p + ".read", things, "object")
        c.ids(a["seen"], p + ".seen", things, "object")
        if not isinstance(a["heard"], list) or len(a["heard"]) > MAX_LIST:
            c.bad(p + ".heard", f"expected a list of texts, got {brief(a['heard'])}")
        else:
            for i, t in enumerate(a["heard"]):
                c.text(t, f"{p}.heard[{i}]")
        if a["exited"] is not None:
            c.one_of(a["exited"], p + ".exited", w.door_specs, "door")
        if placed and not c.problems and not _free(w, state, a["x"], a["y"]):
            c.bad(p, f"agent at ({a['x']:.2f}, {a['y']:.2f}) stands inside a wall, closed door or furniture")
    said = state["said"]
    if not isinstance(said, list) or len(said) > MAX_LIST:
        c.bad("said", f"expected a list of [agent, text, step], got {brief(said)}")
    else:
        for i, s in enumerate(said):
            if not (isinstance(s, list) and len(s) == 3 and s[0] in w.agent_ids and isinstance(s[2], int)):
                c.bad(f"said[{i}]", f"expected [agent, text, step], got {brief(s)}")
            else:
                c.text(s[1], f"said[{i}][1]")
    if c.problems:
        _fail(c, w)


def _fail(c: _Checker, w) -> None:
    lines = "\n  ".join(f"{path}: {msg}" for path, msg in c.problems)
    err = StateError(f"invalid state for scene {w.spec.name!r} (nothing was replaced):\n  {lines}")
    err.problems = c.problems
    raise err


def _free(w, state: dict, x: float, y: float) -> bool:
    """May an agent stand at (x, y) in ``state`` (walls, closed doors, furniture of that state)?"""
    from .layout import Rect
    from .objtypes import TYPES

    obstacles = list(w.layout.walls)
    obstacles += [g.gap for d, g in w.layout.doors.items() if not state["doors"][d]["open"]]
    for oid, o in w.objs.items():
        st = state["objects"][oid]
        if st["loc"][0] != "room" or TYPES[o.type].mount != "floor":
            continue
        sx, sy, _ = o.size or TYPES[o.type].size
        if round(st["yaw"]) % 180 != 0:
            sx, sy = sy, sx
        obstacles.append(Rect(st["x"] - sx / 2, st["y"] - sy / 2, st["x"] + sx / 2, st["y"] + sy / 2))
    return w.free(x, y, obstacles)
