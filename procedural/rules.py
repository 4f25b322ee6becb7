"""The rule-based escape-room generator: backward chaining from the goal, seeded, offline.

``generate(rng, **knobs) -> Spec`` starts at the goal (leave through the exit door) and works
backwards: every lock gets an opener (a key, or a code whose clues are written at the requested
indirection), and every opener is hidden behind another lock (a locked container, or the locked
door into the room where it lies) until the chain has the requested depth; the last openers lie
in plain view. Because each opener is created for its lock and hidden only behind fresh locks,
the chain has no cycles, and every lock of it is listed in ``required`` (validation proves none
can be skipped). Knobs (see ``KNOBS`` for ranges):

- ``rooms``: rooms on the way to the exit (a line, the exit in the last one);
- ``depth``: locks on each chain, the exit's included;
- ``branching``: the exit code is split into this many parts, each behind its own chain
  (independent chains multiply the states the exact solver searches: branching 3 x depth 6
  takes seconds per scene, so the sweep samples branching x depth at most ``MAX_WORK``);
- ``decoys``: containers locked for good, notes and furniture that lead nowhere;
- ``indirection``: 0 code written out, 1 split over two notes in order, 2 arithmetic,
  3 colour/symbol mapping, 4 the clue is in a book that must be read;
- ``agents``: 2 or 3 means split knowledge: the first clues of the chains lie in sealed booths
  where only a teammate can read them (and must say them); 3 implies at least two branches;
- ``theme``: vocabularies from ``procedural/themes.yaml``.

Same rng seed and knobs → the same spec, byte for byte (``to_json``). The spec's ``metadata``
records the generator, its version, the knobs and the difficulty estimate.
"""

from __future__ import annotations

import itertools
import random
from functools import cache
from importlib import resources
from typing import Any

import yaml

from ..errors import ConfigError
from .clue_text import clue_texts, new_code, part_text

VERSION = 2
KNOBS: dict[str, tuple[int, int]] = {
    "rooms": (1, 4),
    "depth": (1, 6),
    "branching": (1, 3),
    "decoys": (0, 4),
    "indirection": (0, 4),
    "agents": (1, 3),
}
DEFAULTS: dict[str, Any] = {
    "rooms": 2,
    "depth": 3,
    "branching": 1,
    "decoys": 1,
    "indirection": 1,
    "agents": 1,
    "theme": "manor",
}
MAX_WORK = 8  # branching x depth in the sweep's samples (larger ones take seconds each to prove)


def sample_knobs(seed: int) -> dict[str, Any]:
    """Knobs drawn uniformly from their ranges (``MAX_WORK`` respected), from ``seed`` alone:
    the sweep in ``benchmarks/generation.py`` and the slow tests use it."""
    r = random.Random(seed * 7919 + 1)
    while True:
        k: dict[str, Any] = {name: r.randint(lo, hi) for name, (lo, hi) in KNOBS.items()}
        k["theme"] = r.choice(list(themes()))
        if k["branching"] * k["depth"] <= MAX_WORK and not (k["agents"] == 3 and 2 * k["depth"] > MAX_WORK):
            return k


@cache
def themes() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(resources.files("embodied.procedural").joinpath("themes.yaml").read_text())


def check_knobs(knobs: dict[str, Any]) -> dict[str, Any]:
    """Defaults filled in; an unknown knob or a value out of range raises ConfigError naming the range."""
    unknown = sorted(set(knobs) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"unknown generator knob(s) {unknown}; knobs: {', '.join(DEFAULTS)}")
    out = {**DEFAULTS, **{k: v for k, v in knobs.items() if v is not None}}
    for k, (lo, hi) in KNOBS.items():
        if not isinstance(out[k], int) or isinstance(out[k], bool) or not lo <= out[k] <= hi:
            raise ConfigError(f"knob {k}={out[k]!r} is out of range; use an integer from {lo} to {hi}")
    if out["theme"] not in themes():
        raise ConfigError(f"unknown theme {out['theme']!r}; themes: {', '.join(themes())}")
    return out


class _Builder:
    def __init__(self, rng: random.Random, k: dict[str, Any]):
        self.rng, self.k, self.t = rng, k, themes()[k["theme"]]
        names = list(self.t["rooms"])
        rng.shuffle(names)
        self.main = [n.replace(" ", "_") for n in names[: k["rooms"]]]
        self.rooms: list[dict[str, Any]] = [{"id": r} for r in self.main]
        self.doors: list[dict[str, Any]] = [
            {"id": f"door_{i}", "between": [self.main[i - 1], self.main[i]]} for i in range(1, len(self.main))
        ]
        self.doors.append({"id": "exit", "between": [self.main[-1], "outside"], "name": "exit door"})
        self.objects: list[dict[str, Any]] = []
        self.required: list[str] = []
        self.count: dict[str, int] = {}
        self.codes: set[str] = set()  # every code drawn so far: no two locks share one
        self.colors = list(self.t["colors"])
        rng.shuffle(self.colors)
        self.readers = [f"a{i}" for i in range(1, k["agents"])]
        self.agents = [{"id": "a0", "room": self.main[0]}]
        self.clue_objects = 0

    # ------------------------------------------------------------ ids and names
    def new_code(self) -> str:
        """A code no other lock of this scene has: two locks sharing a code would let one's clue
        open the other (a shortcut past every lock in between). Drawn again only on a clash, so
        scenes without one are what they always were."""
        code = new_code(self.rng)
        while code in self.codes:
            code = new_code(self.rng)
        self.codes.add(code)
        return code

    def new_id(self, kind: str) -> str:
        self.count[kind] = self.count.get(kind, 0) + 1
        return f"{kind}_{self.count[kind]}"

    def color(self) -> str:
        c = self.colors.pop(0)
        self.colors.append(c)
        return c

    def door(self, did: str) -> dict[str, Any]:
        return next(d for d in self.doors if d["id"] == did)

    def phrase(self, gate: str) -> str:
        """How clues name a lock: "the exit door", "the door to the study", "the red chest"."""
        if gate == "exit":
            return "the exit door"
        if gate.startswith("door_"):
            return f"the door to the {self.door(gate)['between'][1].replace('_', ' ')}"
        o = next(o for o in self.objects if o["id"] == gate)
        return f"the {o['color']} {o['type']}"

    # ------------------------------------------------------------ the chain
    def lock(self, gate: str, access: str, n: int, parts: int = 1) -> None:
        """Lock ``gate`` (operated from room ``access``) and hide its opener behind ``n - 1`` more locks."""
        is_door = gate == "exit" or gate.startswith("door_")
        thing = self.door(gate) if is_door else self.obj(gate)
        self.required.append(gate)
        forced = parts > 1 or (n == 1 and bool(self.readers)) or self.k["indirection"] >= 3
        code_p = 0.5 + 0.1 * self.k["indirection"]
        if not forced and self.rng.random() >= code_p:
            key = self.new_id("key")
            c = self.color()
            self.objects.append({"id": key, "type": "key", "color": c, "name": f"{c} {self.pick('keys')}"})
            thing["lock"] = {"kind": "key", "key": key}
            self.hide([key], access, n - 1)
            return
        code = self.new_code()
        target = self.phrase(gate)
        if is_door:  # doors are operated from a keypad beside them
            self.objects.append(
                {"id": self.new_id("keypad"), "type": "keypad", "room": access, "controls": gate}
            )
        if parts > 1:
            cuts = _cuts(len(code), parts)
            clues = []
            for k, (a, b) in enumerate(cuts):
                cid = self.clue("note", part_text(code[a:b], k, parts, target))
                clues.append(cid)
                self.hide([cid], access, n - 1, booth=False)  # a teammate must know a whole code
            thing["lock"] = {"kind": "code", "code": code, "clues": clues}
            return
        level = self.rng.randint(0, self.k["indirection"]) if n > 1 else self.k["indirection"]
        if n == 1 and self.readers and level in (1, 3):  # a teammate reads it: one clue object, fewer states
            level -= 1
        clues = [
            self.clue(kind, text)
            for kind, text in clue_texts(self.rng, code, target, level, self.t["symbols"])
        ]
        thing["lock"] = {"kind": "code", "code": code, "clues": clues}
        self.hide(clues, access, n - 1)

    def hide(self, items: list[str], access: str, n: int, booth: bool = True) -> None:
        """Put ``items`` where they can be had once ``n`` more locks are opened, all reachable from ``access``."""
        if n == 0:
            if booth and self.readers and all(self.obj(i)["type"] in ("note", "book") for i in items):
                self.booth(items, access)
                return
            for i in items:
                self.plain_view(i, access)
            return
        a = self.main.index(access) if access in self.main else -1
        door_in = f"door_{a}" if a > 0 else None
        if door_in and "lock" not in self.door(door_in) and self.rng.random() < 0.5:
            for i in items:
                self.plain_view(i, access, only_here=True)
            self.lock(door_in, self.main[a - 1], n)
            return
        room = self.region(access)
        ctype = self.pick("containers")
        cid = self.new_id(ctype)
        self.objects.append(
            {"id": cid, "type": ctype, "room": room, "color": self.color(), "contains": list(items)}
        )
        self.lock(cid, room, n)

    def region(self, access: str) -> str:
        """A room reachable whenever ``access`` is: ``access`` itself, or (sometimes) an earlier room."""
        if access not in self.main:
            return access
        a = self.main.index(access)
        return self.main[self.rng.randint(0, a)] if a and self.rng.random() < 0.3 else access

    def plain_view(self, oid: str, access: str, only_here: bool = False) -> None:
        room = access if only_here else self.region(access)
        if self.rng.random() < 0.25:  # in an unlocked container
            ctype = self.pick("containers")
            self.objects.append(
                {
                    "id": self.new_id(ctype),
                    "type": ctype,
                    "room": room,
                    "color": self.color(),
                    "contains": [oid],
                }
            )
            return
        self.obj(oid)["room"] = room

    def booth(self, items: list[str], access: str) -> None:
        """A sealed room beside ``access`` where a teammate reads ``items`` (only they can)."""
        aid = self.readers.pop(0)
        bid = f"booth_{aid}"
        self.rooms.append({"id": bid, "size": [3.0, 3.0]})
        self.doors.append(
            {
                "id": f"sealed_{aid}",
                "between": [access, bid],
                "lock": {"kind": "code", "code": "000000", "given": False},
            }
        )
        for i in items:
            self.obj(i)["room"] = bid
        self.agents.append({"id": aid, "room": bid})

    def clue(self, kind: str, text: str) -> str:
        cid = self.new_id(kind)
        o: dict[str, Any] = {"id": cid, "type": kind, "text": text}
        if kind == "book":
            o["color"] = self.color()
            o["name"] = self.pick("book").lower()
        self.objects.append(o)
        self.clue_objects += 1
        return cid

    def obj(self, oid: str) -> dict[str, Any]:
        return next(o for o in self.objects if o["id"] == oid)

    def pick(self, what: str) -> str:
        return self.rng.choice(self.t[what])

    # ------------------------------------------------------------ decoys
    def decoys(self, k: int) -> None:
        for _ in range(k):
            room = self.rng.choice(self.main)
            kind = self.rng.choice(("container", "note", "thing"))
            if kind == "container":  # locked for good: no clue anywhere gives its code
                ctype = self.pick("containers")
                self.objects.append(
                    {
                        "id": self.new_id(ctype),
                        "type": ctype,
                        "room": room,
                        "color": self.color(),
                        "lock": {"kind": "code", "code": self.new_code(), "given": False},
                    }
                )
            elif kind == "note":
                text = f"Inventory: {self.rng.randint(2, 40)} candles, {self.rng.randint(2, 9)} lamps."
                self.obj(self.clue("note", text))["room"] = room
            else:  # furniture that does nothing (pickups and toggles would only slow the proof down)
                t = self.rng.choice(
                    [t for t in self.t["distractors"] if t in ("table", "shelf")] or ["table"]
                )
                self.objects.append({"id": self.new_id(t), "type": t, "room": room, "color": self.color()})

    # ------------------------------------------------------------ sizes
    def size_rooms(self, grow: float) -> None:
        for r in self.rooms:
            if "size" in r and r["id"].startswith("booth_"):
                continue
            n = sum(1 for o in self.objects if o.get("room") == r["id"])
            w = min(9.0, 4.0 + 0.5 * (n // 2) + grow)
            h = min(8.0, 3.5 + 0.5 * ((n + 1) // 2) + grow)
            r["size"] = [w, h]


def _cuts(n: int, parts: int) -> list[tuple[int, int]]:
    step = n / parts
    bounds = [round(i * step) for i in range(parts + 1)]
    return list(itertools.pairwise(bounds))


def build(rng: random.Random, seed: int, k: dict[str, Any], grow: float = 0.0) -> dict[str, Any]:
    """The scene as a dict (no validation); see :func:`embodied.procedural.generate`."""
    b = _Builder(rng, k)
    parts = max(k["branching"], 2 if k["agents"] == 3 and k["depth"] > 1 else 1)
    b.lock("exit", b.main[-1], k["depth"], parts=parts)
    while b.readers:  # no chain bottom left for them (depth 1): an empty booth, they only watch
        b.booth([], b.main[0])
    b.decoys(k["decoys"])
    b.size_rooms(grow)
    agents = b.agents
    if len(agents) > 1:
        names = ["Ana", "Bo", "Cy"]
        for i, a in enumerate(agents):
            a["name"] = names[i]
    return {
        "format": "embodied.scene/1",
        "name": f"gen-{k['theme']}-{seed}",
        "seed": seed,
        "description": f"{b.t['story']} ({k['depth']} locks per chain, {len(b.required)} in all)",
        "rooms": b.rooms,
        "doors": b.doors,
        "objects": b.objects,
        "agents": agents,
        "goal": {"exit_through": "exit"},
        "required": b.required,
        "metadata": {"generator": "rules", "version": VERSION, "knobs": k, "locks": len(b.required)},
    }
