"""Import EscapeCraft levels (the MM-Escape benchmark, github.com/THUNLP-MT/EscapeCraft, MIT) as our specs.

A *level file* holds the puzzle logic::

    {"room": {"exit": {"type": "interact" | "key" | "password", "unlock_item_id": "key_1"},
              "items": [{"id": "box_1", "type": "box", "unlock_method": {"type": "key", "id": "key_1"},
                         "contents": ["note_1"], "show": true},
                        {"id": "key_1", "type": "key", "use": "box_1", "show": true},
                        {"id": "note_1", "type": "paper", "contents": ["password_1"], "show": false},
                        {"id": "password_1", "type": "password", "show": false}]},
     "story": "..."}

Items become objects (box → ``box``, key → ``key``, paper → ``note``); a ``password`` item is
not a thing but a value: it is drawn from the seed and written on every paper that lists it,
which become the ``clues`` of the code lock it opens (the exit gets a keypad beside it). A
paper's ``story`` contents become its text. ``contents`` become ``contains``.

An optional *scene file* (their generated layout: ``room_polygon``, ``instances`` with
``item_id``/``item_type``, ``player``) gives the room size, the exit's wall and place, the
player's pose, and where keys and boxes stand (Unity x/z → our x/y; papers go on the nearest
wall). Furniture is not imported. Without a scene file our layout places everything.

Tiers follow the paper: 1 = just open the door, 2 = a key or a password, 3 = both in a chain
(note first or key first), 3.5 = two keys; their step caps (50 / 75 / 100 / 100) count their
compound steps; ``max_steps`` is 10x our oracle's steps, at most 1,000 (see :func:`our_cap`);
``metadata`` records the source, tier, their cap, the oracle's steps here and its compound steps there.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..spec import Spec, load_spec

STEP_CAPS = {1: 50, 2: 75, 3: 100, 3.5: 100}
OUR_FACTOR = 10  # the scaled cap: this many times our oracle's steps (see our_cap)
OUR_MAX = 1000  # ... but at most this many (unless the oracle needs more than OUR_MAX - their cap)
TYPES = {"box": "box", "key": "key", "paper": "note"}
MARGIN = 0.5  # keep imported positions this far inside the walls


def _read(path: str | Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise SpecError(f"no {what} file {str(path)!r}") from None
    except json.JSONDecodeError as e:
        raise SpecError(f"{path}: not valid JSON (line {e.lineno} col {e.colno}: {e.msg})") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}: an EscapeCraft {what} file is a JSON object")
    return data


def tier_of(level: dict[str, Any]) -> float:
    """1, 2, 3 or 3.5 from the level's structure (the paper's difficulty levels)."""
    exit_ = level["room"]["exit"]
    items = level["room"].get("items", [])
    keys = [i for i in items if i.get("type") == "key"]
    locked_boxes = [i for i in items if i.get("type") == "box" and i.get("unlock_method")]
    if exit_.get("type", "interact") == "interact" and not items:
        return 1
    if len(keys) >= 2:
        return 3.5
    if locked_boxes:
        return 3
    return 2


def import_level(
    level_src: Any, scene_src: Any = None, seed: int = 0, name: str | None = None, scale_cap: bool = True
) -> Spec:
    """Our spec for an EscapeCraft level (a path or the parsed dict), optionally with its scene file.

    ``scale_cap=False`` keeps their step cap as ``max_steps`` unscaled (see :func:`our_cap`), as
    the frozen ESC-MM suite's scenes have it."""
    level = level_src if isinstance(level_src, dict) else _read(level_src, "level")
    scene = scene_src if isinstance(scene_src, dict) or scene_src is None else _read(scene_src, "scene")
    if name is None:
        name = "escapecraft-" + (Path(level_src).stem if not isinstance(level_src, dict) else "level")
        if scene_src is not None and not isinstance(scene_src, dict):
            name += "-" + Path(scene_src).stem
    try:
        room = level["room"]
        exit_ = room["exit"]
        items = room.get("items", [])
    except (KeyError, TypeError):
        raise SpecError(
            "an EscapeCraft level needs room.exit and room.items (see docs/generation.md)"
        ) from None
    rng = random.Random(seed)
    by_id = {i["id"]: i for i in items if isinstance(i, dict) and "id" in i}
    passwords = {i for i, it in by_id.items() if it.get("type") == "password"}
    codes = {p: f"{rng.randrange(10000):04d}" for p in sorted(passwords)}
    unknown = sorted({it.get("type") for it in by_id.values()} - set(TYPES) - {"password"})
    if unknown:
        raise SpecError(f"unknown EscapeCraft item type(s) {unknown}; known: box, key, paper, password")

    def clues_for(pw: str) -> list[str]:
        return [
            i for i, it in by_id.items() if it.get("type") == "paper" and pw in _plain(it.get("contents", []))
        ]

    def lock_for(kind: str, ref: str, where: str) -> dict[str, Any]:
        if kind == "key":
            if ref not in by_id or by_id[ref].get("type") != "key":
                raise SpecError(f"{where}: unlock item {ref!r} is not a key of this level")
            return {"kind": "key", "key": ref}
        if kind == "password":
            if ref not in codes:
                raise SpecError(f"{where}: unlock item {ref!r} is not a password of this level")
            return {"kind": "code", "code": codes[ref], "clues": clues_for(ref)}
        raise SpecError(
            f"{where}: unknown unlock type {kind!r}; known: key, password (or interact for the exit)"
        )

    rid = "room"
    objects: list[dict[str, Any]] = []
    inside = {c for it in by_id.values() if it.get("type") == "box" for c in _plain(it.get("contents", []))}
    for iid, it in by_id.items():
        t = it.get("type")
        if t == "password":
            continue
        o: dict[str, Any] = {"id": iid, "type": TYPES[t]}
        if iid not in inside:
            o["room"] = rid
        if t == "box":
            o["contains"] = [c for c in _plain(it.get("contents", [])) if c in by_id and c not in passwords]
            um = it.get("unlock_method")
            if um:
                o["lock"] = lock_for(um.get("type"), um.get("id"), f"item {iid}")
        elif t == "paper":
            parts = []
            for c in it.get("contents", []):
                if isinstance(c, str) and c in codes:
                    parts.append(f"The password is {codes[c]}.")
                elif isinstance(c, dict) and c.get("content"):
                    parts.append(str(c["content"]).strip())
            o["text"] = "\n\n".join(parts) or "(blank)"
        elif t == "key":
            o["name"] = iid.replace("_", " ")
        objects.append(o)
    door: dict[str, Any] = {"id": "exit", "between": [rid, "outside"], "name": "exit door"}
    kind = exit_.get("type", "interact")
    if kind != "interact":
        door["lock"] = lock_for(kind, exit_.get("unlock_item_id"), "exit")
        if kind == "password":
            objects.append({"id": "keypad", "type": "keypad", "room": rid, "controls": "exit"})
    tier = tier_of(level)
    spec: dict[str, Any] = {
        "format": "embodied.scene/1",
        "name": name,
        "seed": seed,
        "description": str(level.get("story", "")).strip() or "An EscapeCraft room: find the way out.",
        "rooms": [{"id": rid, "size": [6.0, 6.0], "at": [0.0, 0.0]}],
        "doors": [door],
        "objects": objects,
        "agents": [{"id": "a0", "room": rid}],
        "goal": {"exit_through": "exit"},
        "required": ["exit", *[o["id"] for o in objects if "lock" in o]] if "lock" in door else [],
        "max_steps": STEP_CAPS[tier],
        "metadata": {
            "source": "EscapeCraft (github.com/THUNLP-MT/EscapeCraft, MIT)",
            "tier": tier,
            "step_cap": STEP_CAPS[tier],
        },
    }
    if scene is not None:
        _apply_scene(spec, scene)
    out = load_spec(spec)
    if scale_cap:
        out.max_steps = our_cap(out, STEP_CAPS[tier])
    return out


def cap_note(spec: Spec) -> str:
    """Which step cap ``spec.max_steps`` is, in words (``embodied import`` prints it)."""
    md = spec.metadata or {}
    theirs = md.get("step_cap")
    if theirs is None:
        return f"max_steps {spec.max_steps}"
    if "oracle_steps" not in md:
        return (
            f"max_steps {spec.max_steps}: their cap of {theirs} steps unscaled (as the frozen ESC-MM "
            "bench suite keeps it; each of our steps is one move, turn or interaction)"
        )
    ours, n = md["oracle_steps"], spec.max_steps
    if n == OUR_FACTOR * ours:
        rule = f"{OUR_FACTOR} x our oracle's {ours} single steps"
    elif n == OUR_MAX:
        rule = f"{OUR_FACTOR} x our oracle's {ours} single steps, at most {OUR_MAX}"
    else:
        rule = f"our oracle's {ours} single steps and their cap of {theirs} to spare"
    return f"max_steps {n}: {rule} (--their-cap keeps their {theirs} compound steps)"


def our_cap(spec: Spec, cap: int) -> int:
    """Their step cap in our steps: ``OUR_FACTOR`` x our oracle's steps, at most ``OUR_MAX``, and
    never fewer than the oracle's steps plus their whole cap as spare.

    One EscapeCraft step is a compound action (move forward any distance, turn any angle, look,
    and one grab or read); ours is one move of 0.25 m, one turn or one interaction, so their cap
    as is leaves too little (the level-3 oracle needs 99 of our steps for 4 of theirs: 1 to spare
    of 100). Scaling their cap by that ratio kept their slack over the shortest solution, but
    their slack is 25-50x (a cap of 50 for a one-step level): 2,063 steps for a level-2 room our
    oracle leaves in 55, and more for level 1 than for level 3. One multiple for every level
    keeps the levels comparable. ``metadata`` records ``oracle_steps`` and ``compound_steps``
    (the oracle's plan in their steps: one per interaction; opening what was just unlocked, and
    walking out of the open exit, are part of that interaction there)."""
    from ..bench.budget import oracle_steps
    from ..solver import solve

    plan = solve(spec, time_limit=None).plan
    theirs = sum(
        1
        for i, s in enumerate(plan)
        if s.verb != "GoTo" and not (s.verb == "Open" and i and plan[i - 1].verb in ("Unlock", "EnterCode"))
    )
    ours = oracle_steps(spec)
    spec.metadata.update(oracle_steps=ours, compound_steps=max(1, theirs))
    return max(ours + cap, min(OUR_FACTOR * ours, OUR_MAX))


def _plain(contents: list[Any]) -> list[str]:
    return [c for c in contents if isinstance(c, str)]


def _apply_scene(spec: dict[str, Any], scene: dict[str, Any]) -> None:
    """Room size, exit wall, player pose and item places from their scene file."""
    try:
        poly = scene["room_polygon"][0]["polygon"]
        xs, zs = [p[0] for p in poly], [p[1] for p in poly]
    except (KeyError, IndexError, TypeError):
        raise SpecError("an EscapeCraft scene file needs room_polygon[0].polygon") from None
    x0, z0 = min(xs), min(zs)
    w, h = round(max(xs) - x0, 2), round(max(zs) - z0, 2)
    spec["rooms"][0]["size"] = [w, h]
    spec["metadata"]["scene"] = {"room_type": scene["room_polygon"][0].get("room_type")}

    def local(pos: list[float]) -> tuple[float, float]:
        return (
            min(max(pos[0] - x0, MARGIN), w - MARGIN),
            min(max(pos[2] - z0, MARGIN), h - MARGIN),
        )

    def nearest_wall(x: float, y: float) -> str:
        return min(
            (("west", x), ("east", w - x), ("south", y), ("north", h - y)),
            key=lambda t: t[1],
        )[0]

    objs = {o["id"]: o for o in spec["objects"]}
    for inst in scene.get("instances", []):
        iid, itype = inst.get("item_id"), inst.get("item_type")
        if not iid or "position" not in inst:
            continue
        x, y = local(inst["position"])
        if itype == "exit":
            door = spec["doors"][0]
            side = nearest_wall(x, y)
            door["wall"] = side
            along = x if side in ("north", "south") else y
            span = w if side in ("north", "south") else h
            door["offset"] = round(min(max(along, 1.2), span - 1.2), 2)
        elif iid in objs and "room" in objs[iid]:
            o = objs[iid]
            if o["type"] == "note":
                o["wall"] = nearest_wall(x, y)
            else:
                o["at"] = [round(x, 2), round(y, 2)]
    player = scene.get("player") or {}
    if "position" in player:
        x, y = local(player["position"])
        yaw = -float((player.get("rotation") or [0, 0, 0])[1])
        spec["agents"][0]["at"] = [round(x, 2), round(y, 2)]
        spec["agents"][0]["yaw"] = round(math.fmod(yaw + 360.0, 360.0), 1)
