"""Bounds on a raw scene spec, checked before anything else reads it (docs/scene-format.md, Limits).

A spec may come from a user, a generator or a model, so nothing in it may crash, hang or bloat
the tools: every number is finite and in a sane range (sizes non-negative), counts, nesting and
text lengths are bounded, and ids are typeable back as canonical action text (``Open(chest_2)``).
Each problem names its field path. The walk is iterative, so no nesting depth can overflow it.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .quoting import brief

MAX_DEPTH = 24  # nesting of JSON containers anywhere in a spec
MAX_GOAL_DEPTH = 12  # all/any nesting in a goal or checkpoint
MAX_TEXT = 2000  # characters of a note, description or any other string
MAX_NAME = 120  # characters of a name
MAX_COORD = 1000.0  # meters: positions and sizes
MAX_ROOM = 100.0  # meters: one side of a room
COUNTS = {"rooms": 40, "doors": 80, "objects": 400, "agents": 8, "checkpoints": 200, "required": 200}
MAX_LIST = 64  # contains, clues and any other list inside an item
MAX_NODES = 20_000  # JSON values in the whole spec
ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
ID_FIELDS = {"id", "key", "room", "controls"}
ID_LISTS = {"contains", "clues", "between", "required"}


def check_limits(data: Any) -> list[tuple[str, str]]:
    """Every bound ``data`` (a decoded spec) breaks, as ``(path, message)``; empty when within them."""
    problems: list[tuple[str, str]] = []

    def bad(path: str, msg: str) -> None:
        if len(problems) < 30:
            problems.append((path or "(top)", msg))

    if not isinstance(data, dict):
        return problems
    for key, limit in COUNTS.items():
        v = data.get(key)
        if isinstance(v, list) and len(v) > limit:
            bad(
                key, f"{len(v)} items; at most {limit} (a scene this large is too large to solve and lay out)"
            )
    nodes = 0
    stack: list[tuple[str, Any, int, str]] = [("", data, 0, "")]
    while stack:
        path, v, depth, key = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            bad("", f"more than {MAX_NODES} values; the spec is too large")
            break
        if depth > MAX_DEPTH:
            bad(path, f"nested deeper than {MAX_DEPTH} levels")
            continue
        if isinstance(v, dict):
            if len(v) > 200:
                bad(path, f"{len(v)} keys; at most 200")
                continue
            for k, x in v.items():
                if not isinstance(k, str) or len(k) > MAX_NAME:
                    bad(path, f"key {brief(k)} is not a short string")
                    continue
                stack.append((f"{path}.{k}" if path else k, x, depth + 1, k))
        elif isinstance(v, list):
            top = path in COUNTS
            if not top and len(v) > MAX_LIST:
                bad(path, f"{len(v)} items; at most {MAX_LIST}")
                continue
            for i, x in enumerate(v):
                stack.append((f"{path}[{i}]", x, depth + 1, key if key in ID_LISTS else ""))
        elif isinstance(v, str):
            limit = MAX_NAME if key in ("name", "color", "floor", "type") else MAX_TEXT
            if len(v) > limit:
                bad(path, f"text of {len(v)} characters; at most {limit}")
            elif key in ID_FIELDS | ID_LISTS and not ID.match(v) and _is_id_path(path, v):
                bad(
                    path,
                    f"id {brief(v)} must be 1-64 letters, digits, '_', '-' or '.', starting with a "
                    "letter or digit, so it can be typed in an action like Open(chest_2)",
                )
        elif isinstance(v, bool) or v is None:
            pass
        elif isinstance(v, int):
            if abs(v) > 2**53:
                bad(path, f"number {brief(v)} is out of range (|n| <= 2**53)")
        elif isinstance(v, float):
            if not math.isfinite(v):
                bad(path, f"expected a finite number, got {v!r}")
            elif abs(v) > 1e6:
                bad(path, f"number {v!r} is out of range")
        else:
            bad(path, f"unexpected value {brief(v)}")
    _check_geometry(data, bad)
    for key in ("goal",):
        if key in data:
            _check_goal_depth(data[key], key, bad)
    for i, cp in enumerate(
        data.get("checkpoints") or [] if isinstance(data.get("checkpoints"), list) else []
    ):
        _check_goal_depth(cp, f"checkpoints[{i}]", bad)
    return problems


def _is_id_path(path: str, v: str) -> bool:
    """Room ids may be the reserved ``outside``; goal/metadata strings are not ids."""
    return not path.startswith(("goal", "metadata", "checkpoints", "description"))


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_geometry(data: dict, bad) -> None:
    for part in ("rooms", "doors", "objects", "agents"):
        items = data.get(part)
        if not isinstance(items, list):
            continue
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            p = f"{part}[{i}]"
            for field in ("size", "at"):
                v = item.get(field)
                if not isinstance(v, list):
                    continue
                for j, x in enumerate(v):
                    if not _num(x):
                        continue
                    if field == "size" and x < 0:
                        bad(f"{p}.size[{j}]", f"sizes must be >= 0 m, got {x!r}")
                    limit = MAX_ROOM if (part == "rooms" and field == "size") else MAX_COORD
                    if abs(x) > limit:
                        bad(f"{p}.{field}[{j}]", f"{x!r} m is out of range (at most {limit:g} m)")
            for field, limit in (("yaw", 3600.0), ("offset", MAX_ROOM), ("width", MAX_ROOM)):
                x = item.get(field)
                if _num(x) and abs(x) > limit:
                    bad(f"{p}.{field}", f"{x!r} is out of range (at most {limit:g})")
    steps = data.get("max_steps")
    if _num(steps) and steps > 1_000_000:
        bad("max_steps", f"{steps} steps; at most 1000000")


def _check_goal_depth(goal: Any, path: str, bad) -> None:
    stack = [(goal, 0)]
    while stack:
        g, depth = stack.pop()
        if depth > MAX_GOAL_DEPTH:
            bad(path, f"goal nested deeper than {MAX_GOAL_DEPTH} levels of all/any")
            return
        if isinstance(g, dict):
            for k in ("all", "any"):
                if isinstance(g.get(k), list):
                    stack.extend((x, depth + 1) for x in g[k])
