"""Landmarks: facts every plan of a monotone scene must make true, read off the scene's structure.

A *landmark* is a fact that holds at some point of every plan reaching the goal: the exit door
open, the lock before it unlocked, the key of that lock held, the chest holding the key open, the
notes giving a code read, a code said to a teammate who cannot read it. They are derived
backwards from the goal ("leave through door d") by rules that hold in every monotone scene
(:func:`embodied.reach.monotone`: the goal is to leave, and nothing but a key or a code unlocks):

- leaving through ``d`` needs ``d`` open and someone in the room on its inner side;
- opening a thing needs it unlocked (no button or lever opens anything in such a scene);
- unlocking with key ``k`` needs ``k`` held (nothing else fits); with a code, the code known,
  which needs its clues read (each clue, by someone; a teammate who is told the code was told
  by someone who read them), and, when no agent can ever reach both the clues and the lock,
  the code said;
- holding, reading, opening or unlocking an object needs every closed container around it
  opened and someone in its room (when nothing around it can be carried away);
- being in a room no agent starts in needs every door open that no other path avoids.

Each of these facts, once true, stays true in the solver's search of a monotone scene, and no
action makes two of them true at once, so the number still false is a lower bound on the
actions left; the rooms that must still be entered add a lower bound on the moves left.
:meth:`Landmarks.estimate` is that sum: an admissible and consistent heuristic, which lets
:func:`embodied.solver.solve` run A* (``guided=True``) and still return an optimal plan, and
validation prove "no shortcut past lock r" outright when ``r``'s unlocking is a landmark.
"""

from __future__ import annotations

from collections import deque

from .reach import monotone
from .spec import OUTSIDE
from .world import World

FAR = 10**6  # a room no agent can ever walk to: finite, so a search still expands every state


class Landmarks:
    """The landmark facts of ``w``'s scene from ``w``'s current state (see the module docstring).

    ``facts`` maps each fact ``(kind, id)`` — kind ``open``, ``unlocked``, ``held``, ``read``
    (``id`` a thing) or ``heard`` (``id`` a code) — to the room it must be made true in (None:
    anywhere, or not known)."""

    def __init__(self, w: World):
        spec = w.spec
        self.w = w
        self.facts: dict[tuple[str, str], str | None] = {}
        self.ok = monotone(spec)
        if not self.ok:
            return
        self.door = spec.goal["exit_through"]
        d = w.layout.doors.get(self.door)
        inner = [r for r in d.rooms if r != OUTSIDE] if d is not None else []
        if d is None or OUTSIDE not in d.rooms or len(inner) != 1:
            self.ok = False
            return
        self.exit_room = inner[0]
        self.sealed = {t for t in w.layout.doors if self._sealed(t)}
        self.rooms = sorted({r for g in w.layout.doors.values() for r in g.rooms if r != OUTSIDE})
        self.dist = {r: self._distances(r) for r in self.rooms}
        self.start_rooms = {a["room"] for a in w.state["agents"].values()}
        self._region = None
        self._tellers: dict[str, tuple] = {}  # code -> (the one agent who can learn it, or None; its lock)
        self._rooms_done: set[str] = set()
        self._room(self.exit_room)
        self._open(self.door)

    def _sealed(self, t: str) -> bool:
        """A door that stays shut whatever anyone does: locked, and its key or code is nowhere."""
        w = self.w
        st, lk = w.thing(t), w.lock(t)
        if st["open"] or not st["locked"] or lk is None:
            return False
        if lk.kind == "key":
            return lk.key not in w.objs
        return lk.code not in self._learnable()

    def _learnable(self) -> set[str]:
        """Codes someone could come to know: given, with clues, written somewhere, or part of such a code."""
        if getattr(self, "_codes", None) is None:
            w = self.w
            texts = [o.text or "" for o in w.spec.objects]
            locks = [lk for _, lk in self._locks() if lk.kind == "code" and lk.code]
            known = {
                lk.code
                for lk in locks
                if lk.given
                or lk.clues
                or any(w.knows_code(a, lk) for a in w.agent_ids)
                or any(lk.code in x for x in texts)
            }
            grown = True
            while grown:
                more = {lk.code for lk in locks if any(lk.code in c for c in known)}
                grown = not more <= known
                known |= more
            self._codes = known
        return self._codes

    # ------------------------------------------------------------ derivation
    def _add(self, kind: str, t: str, room: str | None) -> bool:
        if (kind, t) in self.facts:
            return False
        self.facts[(kind, t)] = room
        return True

    def _open(self, t: str) -> None:
        w = self.w
        if w.thing(t)["open"] or not w.can(t, "openable"):
            return
        if self._add("open", t, None if w.can(t, "pickupable") else self._where(t)):
            if w.thing(t)["locked"]:
                self._unlocked(t)
            self._access(t)

    def _unlocked(self, t: str) -> None:
        w = self.w
        lk = w.lock(t)
        if lk is None or not w.thing(t)["locked"]:
            return
        keypads = [o.id for o in w.spec.objects if o.controls == t] if lk.kind == "code" else []
        fixed = not keypads and not w.can(t, "pickupable")
        if not self._add("unlocked", t, self._where(t) if fixed else None):
            return
        if lk.kind == "key":
            if lk.key in w.objs:
                self._held(lk.key)
        else:
            self._code(t, lk, keypads)
        if not keypads:
            self._access(t)

    def _held(self, k: str) -> None:
        w = self.w
        if w.holder(k) is None and self._add("held", k, self._where(k)):
            self._access(k)

    def _read(self, c: str) -> None:
        w = self.w
        if any(c in a["read"] for a in w.state["agents"].values()):
            return
        if self._add("read", c, self._where(c)) and w.holder(c) is None:
            self._access(c)

    def _code(self, t: str, lk, keypads: list[str]) -> None:
        w = self.w
        if lk.given or any(w.knows_code(a, lk) for a in w.agent_ids):
            return
        codes = [
            x.code
            for _, x in self._locks()
            if x.kind == "code" and x is not lk and x.code and lk.code in x.code
        ]
        if codes:  # saying another code would tell this one too
            return
        if lk.clues:
            clues = [c for c in lk.clues if c in w.objs]
        else:
            clues = [o.id for o in w.spec.objects if lk.code in (o.text or "")]
            if len(clues) != 1:
                return  # any of several texts would do: none of them is needed
        for c in clues:
            self._read(c)
        if len(w.agent_ids) > 1 and not any(
            self._can_learn_and_use(a, clues, [t, *keypads]) for a in w.agent_ids
        ):
            self._add("heard", lk.code, None)
            region = self._regions()
            learners = [a for a in w.agent_ids if all(self._in_region(c, region[a]) for c in clues)]
            alone = len(learners) == 1 and not self._meet()
            self._tellers[lk.code] = (learners[0] if alone else None, lk)

    def _can_learn_and_use(self, aid: str, clues: list[str], inputs: list[str]) -> bool:
        """Could ``aid`` ever (relaxed: every lock that could open, opened) reach all ``clues`` and an input?"""
        region = self._regions()[aid]
        return all(self._in_region(c, region) for c in clues) and any(
            self._in_region(i, region) for i in inputs
        )

    def _in_region(self, t: str, region: set[str]) -> bool:
        w = self.w
        if t in w.door_specs:
            return any(r in region for r in (w.layout.doors[t].rooms if t in w.layout.doors else ()))
        if self._meet() and w.can(t, "pickupable"):
            return True  # it may be handed over by a teammate
        room = self._where(t)
        return room is None or room in region  # None: it may be carried anywhere

    def _regions(self) -> dict[str, set[str]]:
        if self._region is None:
            from .solver import Relevance

            self._region = Relevance(self.w, set()).region
        return self._region

    def _meet(self) -> bool:
        """Could two agents ever stand in one room (and so hand things over)?"""
        if getattr(self, "_meets", None) is None:
            region, ids = self._regions(), self.w.agent_ids
            self._meets = any(
                region[a] & region[b] - {OUTSIDE} for i, a in enumerate(ids) for b in ids[i + 1 :]
            )
        return self._meets

    def _locks(self):
        w = self.w
        return [(t, w.lock(t)) for t in list(w.objs) + list(w.door_specs) if w.lock(t) is not None]

    def _where(self, t: str) -> str | None:
        """The room where anyone acting on ``t`` must stand, if fixed (nothing around it can be carried)."""
        w = self.w
        if t in w.door_specs:
            rooms = [r for r in w.layout.doors[t].rooms if r != OUTSIDE] if t in w.layout.doors else []
            return rooms[0] if len(rooms) == 1 else None
        if w.holder(t) is not None:
            return None
        chain = w.container_chain(t)
        if any(w.can(c, "pickupable") for c in chain) or any(w.holder(c) is not None for c in chain):
            return None
        return w.room_of(t)

    def _access(self, t: str) -> None:
        """What acting on ``t`` needs: closed containers around it open, and someone in its room."""
        w = self.w
        if t in w.objs:
            if w.holder(t) is not None:
                return
            for c in w.container_chain(t):
                if "openable" in w.affords[c] and not w.thing(c)["open"]:
                    self._open(c)
        room = self._where(t)
        if room is not None:
            self._room(room)

    def _room(self, room: str) -> None:
        """Doors that every way into ``room`` from where the agents stand goes through must open."""
        if room in self._rooms_done or room in self.start_rooms:
            return
        self._rooms_done.add(room)
        for did in self.w.layout.doors:
            if not self._reachable(room, without=did):
                self._open(did)

    def _reachable(self, room: str, without: str) -> bool:
        doors = self.w.layout.doors
        seen, todo = set(self.start_rooms), deque(self.start_rooms - {OUTSIDE})
        while todo:
            cur = todo.popleft()
            for did, d in doors.items():
                if did != without and did not in self.sealed and cur in d.rooms:
                    other = d.rooms[1] if d.rooms[0] == cur else d.rooms[0]
                    if other not in seen:
                        seen.add(other)
                        if other != OUTSIDE:
                            todo.append(other)
        return room in seen

    def _distances(self, src: str) -> dict[str, int]:
        doors = self.w.layout.doors
        dist, todo = {src: 0}, deque([src])
        while todo:
            cur = todo.popleft()
            for did, d in doors.items():
                if did not in self.sealed and cur in d.rooms:
                    other = d.rooms[1] if d.rooms[0] == cur else d.rooms[0]
                    if other not in dist and other != OUTSIDE:
                        dist[other] = dist[cur] + 1
                        todo.append(other)
        return dist

    # ------------------------------------------------------------ the estimate
    def has_unlock(self, t: str) -> bool:
        """Is unlocking ``t`` a landmark (so the goal cannot be reached with ``t`` kept locked)?"""
        return self.ok and ("unlocked", t) in self.facts

    def _index(self) -> None:
        if getattr(self, "_by", None) is not None:
            return
        by: dict[str, list] = {"open": [], "unlocked": [], "held": [], "read": [], "heard": []}
        for (kind, t), room in self.facts.items():
            by[kind].append((t, room))
        self._by = by
        regions = self._regions() if len(self.w.agent_ids) > 1 else None
        self._sole: dict[tuple[str, str], str | None] = {}
        for (kind, t), room in self.facts.items():
            if regions is None:
                self._sole[(kind, t)] = self.w.agent_ids[0]
            elif kind in ("read", "held") and room is not None and not self._meet():
                who = [a for a in self.w.agent_ids if room in regions[a]]  # (nobody can hand it over)
                self._sole[(kind, t)] = who[0] if len(who) == 1 else None

    def safe_step(self, w: World, actors: list[str]):
        """A step some optimal plan from ``w``'s state takes right now, if one is found (else None).

        It makes a landmark true that is still false, where one of ``actors`` stands, and who
        makes it true does not matter (a thing opened or unlocked is so for everyone) or only
        that agent ever could: take an optimal plan; it makes the fact true later by some action;
        doing this step now instead and leaving that action out gives a plan as long (the step
        only adds a fact that nothing before needed false, in a scene where nothing is ever
        undone). Its preconditions are checked here (the search applies it)."""
        from .solver import PlanStep

        self._index()
        st = w.state
        objects, doors, agents = st["objects"], st["doors"], st["agents"]
        where = {}
        for aid in actors:
            where.setdefault(agents[aid]["room"], aid)
        for t, room in self._by["open"]:
            if room in where:
                thing = objects.get(t) or doors[t]
                if not thing["open"] and not thing["locked"] and self._reachable_now(w, t):
                    return PlanStep(where[room], "Open", (t,))
        for t, room in self._by["unlocked"]:
            if room in where and (objects.get(t) or doors[t])["locked"] and self._reachable_now(w, t):
                lk = w.lock(t)
                for aid in actors:
                    if agents[aid]["room"] != room:
                        continue
                    if lk.kind == "key" and lk.key in agents[aid]["inventory"]:
                        return PlanStep(aid, "Unlock", (t, lk.key))
                    if lk.kind == "code" and w.knows_code(aid, lk):
                        return PlanStep(aid, "EnterCode", (t, lk.code))
        for kind, verb in (("held", "Pickup"), ("read", "Read")):
            for t, room in self._by[kind]:
                aid = self._sole.get((kind, t))
                if aid in actors and agents[aid]["room"] == room and objects[t]["loc"][0] != "held":
                    done = kind == "read" and any(t in a["read"] for a in agents.values())
                    if not done and self._reachable_now(w, t):
                        return PlanStep(aid, verb, (t,))
        for code, _ in self._by["heard"]:  # only one agent can ever learn it: it says it as soon as it knows
            aid, lk = self._tellers.get(code, (None, None))
            if aid in actors and agents[aid]["room"] != OUTSIDE and w.knows_code(aid, lk):
                text = f"the code is {code}"
                if not any(code in h for a in agents.values() for h in a["heard"]) and not any(
                    s[0] == aid and s[1] == text for s in st["said"]
                ):
                    return PlanStep(aid, "Say", (text,))
        return None

    @staticmethod
    def _reachable_now(w: World, t: str) -> bool:
        return t in w.door_specs or w.accessible(t)

    def estimate(self, w: World) -> int:
        """A lower bound on the actions from ``w``'s state to the goal (0 at the goal)."""
        self._index()
        by = self._by
        st = w.state
        agents = list(st["agents"].values())
        for a in agents:
            if a["exited"] == self.door:
                return 0
        objects, doors = st["objects"], st["doors"]
        left, need = 1, {self.exit_room}  # the final step out, taken from the exit's room
        for t, room in by["open"]:
            if not (objects.get(t) or doors[t])["open"]:
                left += 1
                if room is not None:
                    need.add(room)
        for t, room in by["unlocked"]:
            if (objects.get(t) or doors[t])["locked"]:
                left += 1
                if room is not None:
                    need.add(room)
        for t, room in by["held"]:
            if objects[t]["loc"][0] != "held":
                left += 1
                if room is not None:
                    need.add(room)
        if by["read"]:
            read = set().union(*(a["read"] for a in agents))
            for t, room in by["read"]:
                if t not in read:
                    left += 1
                    if room is not None and objects[t]["loc"][0] != "held":  # its holder reads it anywhere
                        need.add(room)
        if by["heard"]:
            heard = "\n".join(h for a in agents for h in a["heard"])
            left += sum(1 for t, _ in by["heard"] if t not in heard)
        at = [a["room"] for a in agents if a["room"] != OUTSIDE]
        need.difference_update(at)
        if not need:
            return left
        far = max(min((self.dist[r].get(n, FAR) for r in at if r in self.dist), default=FAR) for n in need)
        return left + max(len(need), far)
