"""Seeded scene builders for the benchmark suites: ``builder(rng, **tier_params) -> spec dict``.

Each builder draws everything (colors, rooms, where things are, codes) from ``rng`` only, so
a (suite version, tier, seed) triple names one scene forever. The tier parameters come from
the suite's YAML in ``tasks/`` (see docs/benchmark.md). Every scene states its task in words in
``description``: that sentence is what an agent is told.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

COLORS = ["red", "green", "blue", "yellow", "orange", "purple", "pink", "white", "cyan"]
WALLS = ["north", "south", "east", "west"]
LOOSE = ["ball", "apple", "cup", "book"]
CONTAINERS = ["chest", "box", "drawer", "cabinet", "safe"]
ROOM_NAMES = ["hall", "study", "kitchen", "library", "cellar", "attic", "office", "parlour"]
DIGITS = "0123456789"


def _rooms(rng: random.Random, n: int) -> tuple[list[dict], list[str]]:
    """``n`` rooms in a row, 5 x 4.5 m each, west to east; returns (rooms, ids)."""
    names = rng.sample(ROOM_NAMES, n)
    return [{"id": r, "size": [5, 4.5], "at": [5 * i, 0]} for i, r in enumerate(names)], names


def _open_doors(ids: list[str]) -> list[dict]:
    return [{"id": f"door_{a}_{b}", "between": [a, b], "open": True} for a, b in itertools.pairwise(ids)]


def _code(rng: random.Random, n: int = 4) -> str:
    return "".join(rng.choice(DIGITS) for _ in range(n))


def _spread(rng: random.Random, rooms: list[str], k: int, avoid: dict[str, set[str]] | None = None):
    """``k`` (room, wall) slots, no two on the same wall, spread over ``rooms`` round-robin."""
    free = {r: [w for w in WALLS if w not in (avoid or {}).get(r, set())] for r in rooms}
    for r in rooms:
        rng.shuffle(free[r])
    out = []
    for i in range(k):
        room = rooms[i % len(rooms)]
        if not free[room]:
            room = next(r for r in rooms if free[r])
        out.append((room, free[room].pop()))
    return out


def _inner_walls(ids: list[str]) -> dict[str, set[str]]:
    """Walls that carry a door between neighbours (east/west in the row): keep furniture off them."""
    out: dict[str, set[str]] = {r: set() for r in ids}
    for i, r in enumerate(ids):
        if i > 0:
            out[r].add("west")
        if i < len(ids) - 1:
            out[r].add("east")
    return out


def nav(rng: random.Random, rooms: int = 1, distractors: int = 0, same_type: bool = False) -> dict[str, Any]:
    """Go to a described object (``color type``) and pick it up; the target may be rooms away.

    ``distractors``: other loose objects (of the same type in other colors when ``same_type``).
    """
    room_list, ids = _rooms(rng, rooms)
    kind = rng.choice(LOOSE[:3])
    colors = rng.sample(COLORS, 1 + distractors)
    avoid = _inner_walls(ids)
    target_room = ids[-1]
    holders = []
    objects: list[dict[str, Any]] = []
    others = [r for r in ids if r != target_room] or ids
    slots = [
        (target_room, rng.choice([w for w in WALLS if w not in avoid[target_room]])),
        *_spread(rng, others, distractors, avoid),
    ]
    for i, (room, wall) in enumerate(slots):
        table = f"table_{i}"
        holders.append(table)
        obj_kind = kind if (i == 0 or same_type) else rng.choice([k for k in LOOSE[:3] if k != kind])
        oid = f"{colors[i]}_{obj_kind}"
        objects.append({"id": table, "type": "table", "room": room, "wall": wall, "contains": [oid]})
        objects.append({"id": oid, "type": obj_kind, "color": colors[i], "name": f"{colors[i]} {obj_kind}"})
    target = objects[1]["id"]
    where = "" if rooms == 1 else f" in the {target_room}"
    return {
        "format": "embodied.scene/1",
        "name": f"nav_{rooms}r_{distractors}d",
        "description": f"Find the {objects[1]['name']}{where} and pick it up.",
        "rooms": room_list,
        "doors": _open_doors(ids),
        "objects": objects,
        "agents": [{"id": "a0", "room": ids[0], "yaw": rng.choice([0, 90, 180, -90])}],
        "goal": {"holding": ["a0", target]},
    }


def search(rng: random.Random, rooms: int = 1, containers: int = 2, nested: bool = False) -> dict[str, Any]:
    """Find an object hidden in one of several closed containers and pick it up.

    ``nested``: the hiding container stands inside the room behind a closed cabinet door too
    (a box inside a cabinet), so the search is two levels deep.
    """
    room_list, ids = _rooms(rng, rooms)
    kind = rng.choice(LOOSE)
    color = rng.choice(COLORS)
    target = f"{color}_{kind}"
    slots = _spread(rng, ids, containers, _inner_walls(ids))
    kinds = [rng.choice(CONTAINERS[:4]) for _ in slots]
    cols = rng.sample(COLORS, len(slots))
    hide = rng.randrange(len(slots))
    objects: list[dict[str, Any]] = []
    for i, ((room, wall), ck) in enumerate(zip(slots, kinds)):
        cid = f"{cols[i]}_{ck}"
        c = {"id": cid, "type": ck, "color": cols[i], "room": room, "wall": wall, "contains": []}
        objects.append(c)
        if i == hide:
            if nested:
                c["type"], c["id"] = "cabinet", f"{cols[i]}_cabinet"
                c["contains"] = ["small_box"]
                objects.append({"id": "small_box", "type": "box", "color": "tan", "contains": [target]})
            else:
                c["contains"] = [target]
    objects.append({"id": target, "type": kind, "color": color, "name": f"{color} {kind}"})
    for c in objects:
        if not c.get("contains") and c["type"] in CONTAINERS:
            c.pop("contains")
    return {
        "format": "embodied.scene/1",
        "name": f"search_{rooms}r_{containers}c{'_nested' if nested else ''}",
        "description": f"The {color} {kind} is hidden in one of the containers. Find it and pick it up.",
        "rooms": room_list,
        "doors": _open_doors(ids),
        "objects": objects,
        "agents": [{"id": "a0", "room": ids[0], "yaw": rng.choice([0, 90, 180, -90])}],
        "goal": {"holding": ["a0", target]},
    }


def manip(rng: random.Random, level: int = 1) -> dict[str, Any]:
    """Manipulation in one kitchen. level 1: pick up; 2: put onto a shelf; 3: open a closed
    receptacle and put one thing in, put a second thing on the shelf, and switch the lamp on."""
    kinds = rng.sample(["apple", "cup", "ball"], 2)
    cols = rng.sample(COLORS, 4)
    items = [f"{c}_{k}" for c, k in zip(cols, kinds)]
    walls = rng.sample(WALLS, 4)
    recv = rng.choice(["fridge", "cabinet", "box"])
    rid, shelf = f"{cols[2]}_{recv}", f"{cols[3]}_shelf"
    objects: list[dict[str, Any]] = [
        {
            "id": "table",
            "type": "table",
            "room": "kitchen",
            "wall": walls[0],
            "contains": items[: 1 + (level >= 3)],
        },
        {"id": items[0], "type": kinds[0], "color": cols[0], "name": f"{cols[0]} {kinds[0]}"},
        {"id": shelf, "type": "shelf", "color": cols[3], "room": "kitchen", "wall": walls[1]},
    ]
    if level >= 3:
        objects += [
            {"id": items[1], "type": kinds[1], "color": cols[1], "name": f"{cols[1]} {kinds[1]}"},
            {"id": rid, "type": recv, "color": cols[2], "room": "kitchen", "wall": walls[2]},
            {"id": "lamp", "type": "lamp", "room": "kitchen", "wall": walls[3]},
        ]
    what = [f"{c} {k}" for c, k in zip(cols, kinds)]
    if level == 1:
        goal: dict[str, Any] = {"holding": ["a0", items[0]]}
        text = f"Pick up the {what[0]}."
    elif level == 2:
        goal = {"inside": [items[0], shelf]}
        text = f"Put the {what[0]} on the {cols[3]} shelf."
    else:
        goal = {
            "all": [{"inside": [items[0], rid]}, {"inside": [items[1], shelf]}, {"state": ["lamp", "on"]}]
        }
        text = (
            f"Put the {what[0]} into the {cols[2]} {recv}, the {what[1]} on the {cols[3]} shelf, "
            "and switch the lamp on."
        )
    return {
        "format": "embodied.scene/1",
        "name": f"manip_{level}",
        "description": text,
        "rooms": [{"id": "kitchen", "size": [5, 4.5], "at": [0, 0]}],
        "objects": objects,
        "agents": [{"id": "a0", "room": "kitchen", "yaw": rng.choice([0, 90, 180, -90])}],
        "goal": goal,
    }


def rule_escape(rng: random.Random, **knobs: Any) -> dict[str, Any]:
    """An escape room from the rule-based generator (:func:`embodied.procedural.generate`):
    backward-chained locks to the requested ``depth``, clue ``indirection``, ``decoys``, ``rooms``."""
    from ..procedural import generate

    return generate(rng.randrange(2**31), **knobs).to_json()


def collab(rng: random.Random, agents: int = 2, depth: int = 1) -> dict[str, Any]:
    """Split knowledge: readers in sealed rooms see the codes, only the operator reaches the
    locks; they must ``Say`` what they read. depth 1: one code (the exit keypad). depth 2: a
    coded chest holds the key to a vestibule whose exit has a second code; with three agents
    each reader knows one of the two codes."""
    readers = agents - 1
    n_rooms = readers + 1 + (depth >= 2)
    room_list, ids = _rooms(rng, n_rooms)
    names = rng.sample(["Ana", "Bo", "Cy", "Di", "Ed"], agents)
    aids = [n.lower() for n in names]
    op_room, last = ids[readers], ids[-1]
    walls = {r: [w for w in WALLS if w not in _inner_walls(ids)[r]] for r in ids}
    for r in ids:
        rng.shuffle(walls[r])
    doors: list[dict[str, Any]] = [
        {"id": f"sealed_{i}", "between": [a, b], "lock": {"kind": "code", "code": "000000"}}
        for i, (a, b) in enumerate(itertools.pairwise(ids[: readers + 1]))
    ]
    objects: list[dict[str, Any]] = []
    codes = [_code(rng) for _ in range(depth)]
    labels = ["Exit code"] if depth == 1 else ["Chest code", "Exit code"]
    for n, (code, label) in enumerate(zip(codes, labels)):
        room = ids[n % readers]
        objects.append(
            {
                "id": f"note_{n + 1}",
                "type": "note",
                "room": room,
                "wall": walls[room].pop(),
                "text": f"{label}: {code}",
            }
        )
    exit_lock = {"kind": "code", "code": codes[-1]}
    required = ["exit"]
    if depth >= 2:
        col = rng.choice(COLORS)
        kcol = rng.choice(["gold", "silver", "gray"])
        objects.append(
            {
                "id": f"{col}_chest",
                "type": "chest",
                "color": col,
                "room": op_room,
                "wall": walls[op_room].pop(),
                "contains": [f"{kcol}_key"],
                "lock": {"kind": "code", "code": codes[0]},
            }
        )
        objects.append({"id": f"{kcol}_key", "type": "key", "color": kcol, "name": f"{kcol} key"})
        doors.append(
            {
                "id": "vestibule_door",
                "between": [op_room, last],
                "lock": {"kind": "key", "key": f"{kcol}_key"},
            }
        )
        required += [f"{col}_chest", "vestibule_door"]
    exit_wall = walls[last].pop()
    doors.append({"id": "exit", "between": [last, "outside"], "wall": exit_wall, "lock": exit_lock})
    objects.append(
        {"id": "keypad", "type": "keypad", "room": last, "wall": walls[last].pop(), "controls": "exit"}
    )
    who = " and ".join(names[:-1])
    return {
        "format": "embodied.scene/1",
        "name": f"collab_{agents}a_d{depth}",
        "description": (
            f"Work together: only {names[-1]} can reach the locks; {who} can read the codes. "
            "Tell each other what you see and get out."
        ),
        "rooms": room_list,
        "doors": doors,
        "objects": objects,
        "agents": [
            {
                "id": aid,
                "room": ids[i] if i < readers else op_room,
                "name": nm,
                "yaw": rng.choice([0, 90, 180, -90]),
            }
            for i, (aid, nm) in enumerate(zip(aids, names))
        ],
        "goal": {"exit_through": "exit"},
        "required": required,
    }
