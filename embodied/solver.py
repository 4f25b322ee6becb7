"""The solver: proves a scene solvable, gives an optimal plan, explains failures, finds shortcuts.

Breadth-first search over abstract states (rooms, inventories, what is open/unlocked/read,
who heard what) using the very rules the env applies (:mod:`embodied.rules`) with the
world in ``abstract`` mode: an object is interactable when it is in the agent's room and not
shut inside a closed container, and moving is ``GoTo(room)`` through an open door. The plan
is optimal in abstract actions; the oracle agent turns it into walking and interacting.
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .actions import Action
from .layout import OUTSIDE
from .rules import CODE, apply, interactions
from .spec import Spec
from .world import World


@dataclass(frozen=True)
class PlanStep:
    agent: str
    verb: str  # a canonical verb, or "GoTo"
    args: tuple[str, ...]

    @property
    def action(self) -> Action | None:
        return None if self.verb == "GoTo" else Action(self.verb, self.args)

    def __str__(self) -> str:
        return f"{self.agent}: {self.verb}({', '.join(self.args)})"


@dataclass
class Verdict:
    solvable: bool
    plan: list[PlanStep] = field(default_factory=list)
    reason: str = ""
    states: int = 0
    too_large: bool = False  # the search hit its state or time budget: no verdict either way

    @property
    def length(self) -> int:
        return len(self.plan)


def _key(state: dict[str, Any]) -> tuple:
    ag = tuple(
        (
            a["room"],
            tuple(sorted(a["inventory"])),
            tuple(sorted(a["read"])),
            tuple(sorted(set(a["heard"]))),
            a["exited"],
        )
        for _, a in sorted(state["agents"].items())
    )
    ob = tuple(
        (tuple(s["loc"]), s["open"], s["locked"], s["on"], s["pressed"] > 0)
        for _, s in sorted(state["objects"].items())
    )
    dr = tuple((s["open"], s["locked"]) for _, s in sorted(state["doors"].items()))
    return ag, ob, dr


def _goal_objects(goal: Any, key: str) -> set[str]:
    out: set[str] = set()
    if isinstance(goal, dict):
        for k, v in goal.items():
            if k == key and isinstance(v, list):
                out.add(v[0])
            elif isinstance(v, (dict, list)):
                out |= _goal_objects(v, key)
    elif isinstance(goal, list):
        for g in goal:
            out |= _goal_objects(g, key)
    return out


def _strings(x: Any) -> set[str]:
    if isinstance(x, str):
        return {x}
    if isinstance(x, dict):
        return {k for k in x} | {s for v in x.values() for s in _strings(v)}
    if isinstance(x, list):
        return {s for v in x for s in _strings(v)}
    return set()


class Relevance:
    """What can ever matter in a scene, computed once per search, to skip actions that cannot.

    An action is skipped only when some shortest plan never needs it (an exchange argument:
    take a shortest plan that uses it; dropping the action, or replacing a ``Pickup`` of a note by
    reading it where it lies, gives a plan no longer that still works), so the search stays exact:

    - ``Read`` of a text that tells this agent no code it lacks for a lock still locked (decoy
      notes, clues already used), unless the goal speaks of reading;
    - ``Pickup`` of a thing that is no key, not in the goal, holds nothing, and cannot be handed
      to a teammate (no teammate can ever share a room with the agent): a note or book is read
      where it lies;
    - ``Open`` of an unlocked container that holds nothing (and is not in the goal, nor needed
      to put something in);
    - ``Say`` of a code that no teammate who lacks it can use: every teammate already knows it,
      or none can ever reach the lock or a keypad of it (unless the goal speaks of saying).

    "Can ever reach" is a relaxation from the start: rooms joined by doors that are open, or
    could be opened (a key lock, a code someone could learn, a button), not counting doors the
    search forbids to unlock (the shortcut test)."""

    def __init__(self, w: World, put_objects: set[str]):
        spec = w.spec
        self.offers: dict[tuple, list[Action]] = {}  # rules.interactions, remembered per search
        self.known: dict[tuple, dict] = {}  # (agent, read, heard) -> the codes it knows
        self.put_objects = put_objects
        words = _strings(spec.goal) | _strings(spec.checkpoints or [])
        self.goal_ids = words
        self.goal_reads = "read" in words
        self.goal_says = "said" in words
        self.locks = [(t, w.lock(t)) for t in list(w.objs) + list(w.door_specs) if w.lock(t) is not None]
        self.code_locks = [lk for _, lk in self.locks if lk.kind == "code"]
        self.keys: dict[str, list[str]] = {}  # key -> what it unlocks
        for t, lk in self.locks:
            if lk.kind == "key":
                self.keys.setdefault(lk.key, []).append(t)
        codes = [lk.code for _, lk in self.locks if lk.kind == "code" and lk.code]
        texts = [o.text or "" for o in spec.objects]
        # code locks whose code may be learned: given, clues listed, or written (or said) somewhere
        learnable = {
            t
            for t, lk in self.locks
            if lk.kind == "code"
            and (
                lk.given or lk.clues or any(lk.code in x for x in texts + [c for c in codes if c != lk.code])
            )
        }
        controlled = {o.controls for o in spec.objects if o.controls and o.type != "keypad"}
        self.region: dict[str, set[str]] = {}
        for aid in w.agent_ids:
            seen, todo = {w.agent(aid)["room"]}, [w.agent(aid)["room"]]
            while todo:
                cur = todo.pop()
                for did, d in w.layout.doors.items():
                    if cur not in d.rooms:
                        continue
                    st, lk = w.state["doors"][did], w.lock(did)
                    passable = st["open"] or (
                        (not st["locked"] or did in controlled or lk.kind == "key" or did in learnable)
                        and did not in w.forbid_unlock
                    )
                    other = d.rooms[1] if d.rooms[0] == cur else d.rooms[0]
                    if passable and other not in seen:
                        seen.add(other)
                        todo.append(other)
            self.region[aid] = seen
        ids = w.agent_ids
        self.portable = any(w.can(o, "pickupable") for o in w.objs)
        self.can_meet = {
            a: any(b != a and self.region[a] & self.region[b] - {OUTSIDE} for b in ids) for a in ids
        }
        # where each code lock can be operated: the rooms of its owner and of keypads controlling it
        self.inputs: dict[str, list[str]] = {}
        for t, lk in self.locks:
            if lk.kind == "code":
                self.inputs[t] = [t] + [o.id for o in spec.objects if o.controls == t]

    def private(self, w: World, step: PlanStep) -> bool:
        """Is ``step`` (just done) private to its agent: commuting with whatever a teammate does next?

        Then some shortest plan never has a teammate act right after it (move the teammate's
        action before it: it was possible before, since a private action enables nothing for
        others, and it does not disable the private one, nor change its effect; and if it made the
        private action useless, dropping that gives a shorter plan), so the search lets only
        the same agent act next. Reading a note (or a book in one's own hands) is private: it
        changes what the reader knows, which helps only the reader, and nobody can take the
        text away. So is walking into another room when no teammate could ever hand the walker
        anything (nothing can be picked up, or no teammate can reach the walker's rooms): where
        an agent stands matters to a teammate only for ``Give``."""
        if step.verb == "GoTo":
            return not self.portable or not self.can_meet[step.agent]
        if step.verb != "Read":
            return False
        t = step.args[0]
        return not w.can(t, "pickupable") or w.holder(t) == step.agent

    def reachable_by(self, w: World, aid: str, things: list[str]) -> bool:
        for t in things:
            if t in w.door_specs:
                rooms = w.layout.doors[t].rooms if t in w.layout.doors else ()
            else:
                if w.holder(t) is not None or w.can(t, "pickupable"):
                    return True  # it may travel: assume the worst
                rooms = (w.room_of(t),)
            if any(r in self.region[aid] for r in rooms):
                return True
        return False

    def informs(self, w: World, aid: str, t: str) -> bool:
        """Does reading ``t`` tell ``aid`` a code it lacks for a lock still locked?"""
        text = w.objs[t].text or ""
        for owner, lk in self.locks:
            if lk.kind != "code" or not w.thing(owner)["locked"]:
                continue
            if (t in lk.clues if lk.clues else lk.code in text) and not w.knows_code(aid, lk):
                return True
        return False

    def worth_saying(self, w: World, aid: str, text: str) -> bool:
        if self.goal_says:
            return True
        for owner, lk in self.locks:
            if lk.kind != "code" or lk.code not in text or not w.thing(owner)["locked"]:
                continue
            for other in w.agent_ids:
                if (
                    other != aid
                    and not w.knows_code(other, lk)
                    and self.reachable_by(w, other, self.inputs[owner])
                ):
                    return True
        return False


def candidates(w: World, aid: str, put_objects: set[str], rel: Relevance | None = None) -> list[PlanStep]:
    """Actions worth trying for ``aid`` in the abstract state (the rules still decide).

    With ``rel`` (the search passes one), actions no shortest plan needs are left out too."""
    a = w.agent(aid)
    room = a["room"]
    out: list[PlanStep] = []
    if room == OUTSIDE:
        return out
    for did, d in w.layout.doors.items():
        if room in d.rooms and w.state["doors"][did]["open"]:
            other = d.rooms[1] if d.rooms[0] == room else d.rooms[0]
            out.append(PlanStep(aid, "GoTo", (other,)))
    objects = w.state["objects"]
    things = []
    agents = w.state["agents"]
    for o, st in objects.items():  # held by aid, or in this room and not shut inside a container
        kind, where = st["loc"]
        if kind == "held":
            if where == aid:
                things.append(o)
            continue
        while kind == "in":
            c = objects[where]
            if not c["open"] and "openable" in w.affords[where]:
                break
            kind, where = c["loc"]
        if (kind == "room" and where == room) or (kind == "held" and agents[where]["room"] == room):
            things.append(o)
    things += [d for d, g in w.layout.doors.items() if room in g.rooms]
    codes = {}
    held = list(a["inventory"])
    memo = rel.offers if rel is not None else None
    for t in things:
        if memo is None:
            offered = interactions(w, aid, t, held)
        else:  # the same pure function of the thing's state and what is held, remembered
            st = w.thing(t)
            mk = (t, st["open"], st["locked"], st.get("on"), tuple(held))
            offered = memo.get(mk)
            if offered is None:  # less what no state makes worth trying (Close, a wrong key, Put)
                offered = memo[mk] = [
                    x for x in interactions(w, aid, t, held) if _may_help(w, x, put_objects)
                ]
        for act in offered:  # the env's own list, pruned to what can help
            if _worth_trying(w, aid, act, put_objects) and (rel is None or _relevant(w, aid, act, rel)):
                out.append(PlanStep(aid, act.name, _fill_code(w, act)))
    if len(w.state["agents"]) > 1:
        if rel is not None:  # what aid knows follows from what it read and heard: remembered
            ck = (aid, tuple(a["read"]), tuple(a["heard"]))
            codes = rel.known.get(ck)
            if codes is None:
                codes = rel.known[ck] = {lk.code: lk for lk in rel.code_locks if w.knows_code(aid, lk)}
        else:
            for lk in [w.lock(x) for x in list(w.objs) + list(w.door_specs)]:
                if lk is not None and lk.kind == "code" and w.knows_code(aid, lk):
                    codes[lk.code] = lk
        said = {s[1] for s in w.state["said"] if s[0] == aid}
        for code in sorted(codes):
            text = f"the code is {code}"
            if text not in said and (rel is None or rel.worth_saying(w, aid, text)):
                out.append(PlanStep(aid, "Say", (text,)))
        for other, b in w.state["agents"].items():
            if other != aid and b["room"] == room:
                for o in a["inventory"]:
                    out.append(PlanStep(aid, "Give", (o, other)))
    return out


def _may_help(w: World, act: Action, put_objects: set[str]) -> bool:
    """False for what :func:`_worth_trying` refuses in any state (Close, a key that does not fit, a Put
    of a thing no goal puts anywhere); True: it may be worth trying."""
    name = act.name
    if name == "Close":
        return False
    if name == "Unlock":
        return w.lock(act.args[0]).key == act.args[1]
    if name == "Put":
        return act.args[0] in put_objects
    return True


def _worth_trying(w: World, aid: str, act: Action, put_objects: set[str]) -> bool:
    """Prune actions that cannot move the search forward (the rules would refuse them or undo progress)."""
    name, t = act.name, act.args[0]
    st = w.thing(t) if name != "Put" else w.thing(act.args[1])
    if name == "Close":
        return False
    if name == "Open":
        return not st["locked"]
    if name == "Unlock":
        return w.lock(t).key == act.args[1]
    if name == "EnterCode":
        cl = w.code_lock(t)
        return w.thing(cl[0])["locked"] and w.knows_code(aid, cl[1])
    if name == "Read":
        return t not in w.agent(aid)["read"]
    if name == "Press":
        return st.get("pressed", 0) == 0
    if name == "Put":
        r = act.args[1]
        return t in put_objects and (st["open"] or not w.can(r, "openable"))
    return True


def _relevant(w: World, aid: str, act: Action, rel: Relevance) -> bool:
    name, t = act.name, act.args[0]
    if name == "Read":
        return rel.goal_reads or rel.informs(w, aid, t)
    if name == "Pickup":
        return (
            any(w.thing(o)["locked"] for o in rel.keys.get(t, ()))
            or t in rel.goal_ids
            or w.can(t, "receptacle")
            or rel.can_meet[aid]
        )
    if name == "Open" and t in w.objs:
        return bool(w.contents(t)) or t in rel.goal_ids or bool(rel.put_objects)
    return True


def _fill_code(w: World, act: Action) -> tuple[str, ...]:
    """The known code in place of the placeholder of an offered ``EnterCode``."""
    if act.name == "EnterCode" and act.args[1] == CODE:
        return (act.args[0], w.code_lock(act.args[0])[1].code)
    return act.args


def step_abstract(w: World, s: PlanStep) -> bool:
    """Apply one plan step to ``w`` (abstract mode); True if it succeeded."""
    if s.verb == "GoTo":
        a = w.agent(s.agent)
        door = next(
            (
                did
                for did, d in w.layout.doors.items()
                if a["room"] in d.rooms and s.args[0] in d.rooms and w.state["doors"][did]["open"]
            ),
            None,
        )
        if door is None:
            return False
        a["room"] = s.args[0]
        if s.args[0] == OUTSIDE:
            a["exited"] = door
        return True
    return apply(w, s.agent, s.action).success


def solve(
    spec: Spec,
    max_states: int = 200_000,
    forbid_unlock: frozenset[str] = frozenset(),
    world: World | None = None,
    time_limit: float | None = 10.0,
    reduce: bool = True,
    guided: Any = False,
) -> Verdict:
    """Shortest abstract plan reaching ``spec.goal`` from the initial state (or ``world``'s state).

    ``reduce`` leaves out actions no shortest plan needs (see :class:`Relevance`); the verdict and
    the plan's length are the same either way, only the number of states searched differs
    (``reduce=False`` is the plain exhaustive search, for tests and comparisons).

    The search stops after ``max_states`` states or ``time_limit`` seconds with a verdict whose
    ``too_large`` is True (neither solvable nor proven unsolvable).

    ``guided`` searches best-first (A*) with the landmark estimate of :mod:`embodied.landmarks`
    where it applies (a monotone scene): the plan is as short as the breadth-first one (the
    estimate never overshoots) but may order its steps differently, and far fewer states are
    searched when independent parts of a scene could be interleaved. An unsolvable scene is
    searched exhaustively either way, with the same reason. (``guided`` may be the
    :class:`~embodied.landmarks.Landmarks` of ``world``'s state, to reuse them.)"""
    deadline = None if time_limit is None else time.monotonic() + time_limit
    w = World(spec, layout=world.layout if world else None)
    if world is not None:
        w.restore(world.snapshot())
    w.abstract = True
    w.forbid_unlock = set(forbid_unlock)
    _slim(w.state)
    put_objects = _goal_objects(spec.goal, "inside") | _goal_objects(spec.checkpoints or [], "inside")
    rel = Relevance(w, put_objects) if reduce else None
    start = w.snapshot()
    if w.goal_reached():
        return Verdict(True, [], "", 1)
    if guided and not forbid_unlock:
        from .landmarks import Landmarks

        marks = guided if isinstance(guided, Landmarks) else Landmarks(w)
        if marks.ok:
            return _astar(w, marks, put_objects, rel, max_states, deadline, time_limit, start)
    # A search node is a state and, after a private action of agent X, the tag X: only X acts next
    # (see :meth:`Relevance.private`). A state is searched again untagged if first met tagged.
    tunnel = rel is not None and len(w.agent_ids) > 1
    node0 = (_key(w.state), None)
    parents: dict[tuple, tuple[tuple, PlanStep] | None] = {node0: None}
    tags: dict[tuple, set] = {node0[0]: {None}}
    queue = deque([(start, node0)])
    seen_union = _seen_union()
    while queue:
        if len(tags) > max_states or (deadline is not None and time.monotonic() > deadline):
            return _too_large(len(tags), max_states, time_limit)
        blob, node = queue.popleft()
        w.restore(blob)
        _note(w, seen_union)
        actors = w.agent_ids if node[1] is None else [node[1]]
        steps = [st for aid in actors for st in candidates(w, aid, put_objects, rel)]
        fresh = True
        for step in steps:
            if not fresh:
                w.restore(blob)
            fresh = not step_abstract(w, step)  # a failed action leaves the world unchanged
            if fresh:
                continue
            k = _key(w.state)
            tag = step.agent if tunnel and rel.private(w, step) else None
            have = tags.get(k)
            if have is not None and (None in have or tag in have):
                continue  # met already, with at least these successors
            tags.setdefault(k, set()).add(tag)
            child = (k, tag)
            parents[child] = (node, step)
            if w.goal_reached():
                plan = [step]
                cur = node
                while parents[cur] is not None:
                    cur, st = parents[cur]
                    plan.append(st)
                return Verdict(True, plan[::-1], "", len(tags))
            queue.append((w.snapshot(), child))
    w.restore(start)
    return Verdict(False, [], explain(w, seen_union), len(tags))


_SLIM = {
    "objects": ("x", "y", "z", "yaw", "display"),
    "agents": ("yaw", "horizon", "seen"),  # (x and y stay: Give measures the distance first)
    "doors": ("display",),
}


def _slim(state: dict[str, Any]) -> None:
    """Drop what the abstract rules never read (poses, displays, sightings): smaller snapshots."""
    for part, fields in _SLIM.items():
        for st in state[part].values():
            for f in fields:
                st.pop(f, None)


def _astar(w, marks, put_objects, rel, max_states, deadline, time_limit, start) -> Verdict:
    """:func:`solve`'s search, best first: lowest (steps so far + landmark estimate), deepest first
    among equals. The estimate is admissible and consistent, so the first goal taken off the
    heap ends an optimal plan; nodes and the interleaving tags are those of the breadth-first
    search, and a node met again by a shorter way is searched again."""
    tunnel = rel is not None and len(w.agent_ids) > 1
    node0 = (_key(w.state), None)
    parents: dict[tuple, tuple[tuple, PlanStep] | None] = {node0: None}
    best: dict[tuple, int] = {node0: 0}  # node -> fewest steps it was reached in
    tags: dict[tuple, set] = {node0[0]: {None}}
    heap = [(marks.estimate(w), 0, 0, start, node0)]
    count = 1
    seen_union = _seen_union()
    while heap:
        if len(tags) > max_states or (deadline is not None and time.monotonic() > deadline):
            return _too_large(len(tags), max_states, time_limit)
        _, neg_g, _, blob, node = heapq.heappop(heap)
        g = -neg_g
        if best[node] < g:
            continue  # reached again by a shorter way since it was pushed
        w.restore(blob)
        if w.goal_reached():
            plan = []
            cur = node
            while parents[cur] is not None:
                cur, st = parents[cur]
                plan.append(st)
            return Verdict(True, plan[::-1], "", len(tags))
        _note(w, seen_union)
        actors = w.agent_ids if node[1] is None else [node[1]]
        safe = marks.safe_step(w, actors)  # some optimal plan from here takes it now: it alone
        steps = (
            [safe] if safe is not None else [st for a in actors for st in candidates(w, a, put_objects, rel)]
        )
        fresh, i = True, 0
        while i < len(steps):
            step, i = steps[i], i + 1
            if not fresh:
                w.restore(blob)
            fresh = not step_abstract(w, step)
            if fresh:
                if step is safe:  # (its preconditions were checked; should it fail, try everything)
                    steps += [st for a in actors for st in candidates(w, a, put_objects, rel)]
                continue
            k = _key(w.state)
            tag = None if step is safe else step.agent if tunnel and rel.private(w, step) else None
            child = (k, tag)
            have = tags.get(k)
            if have is not None:
                done = [best[(k, t)] for t in (None, tag) if t in have]
                if done and min(done) <= g + 1:
                    continue  # met already, as soon, with at least these successors
            tags.setdefault(k, set()).add(tag)
            best[child] = g + 1
            parents[child] = (node, step)
            count += 1
            heapq.heappush(heap, (g + 1 + marks.estimate(w), -(g + 1), count, w.snapshot(), child))
    w.restore(start)
    return Verdict(False, [], explain(w, seen_union), len(tags))


def _note(w: World, u: dict[str, set]) -> None:
    for a in w.state["agents"].values():
        u["held"] |= set(a["inventory"])
        u["read"] |= set(a["read"])
        u["rooms"].add(a["room"])
    for tid, st in list(w.state["objects"].items()) + list(w.state["doors"].items()):
        if not st["locked"]:
            u["unlocked"].add(tid)
        if st["open"]:
            u["opened"].add(tid)


def explain(w: World, u: dict[str, set]) -> str:
    """Why the goal is never reached, traced back through locks, keys, codes and rooms."""
    goal = w.spec.goal
    if "exit_through" in goal:
        d = goal["exit_through"]
        return f"the goal (exit through {d!r}) is never reached: " + _why_closed(w, u, d, set())
    missing = []
    for key in ("holding", "inside"):
        for o in _goal_objects(goal, key) if key == "inside" else [(goal.get("holding") or [None])[-1]]:
            if o and o not in u["held"]:
                missing.append(_why_unobtainable(w, u, o, set()))
    for r in _rooms_in(goal):
        if r not in u["rooms"]:
            missing.append(_why_room(w, u, r, set()))
    return "the goal is never reached" + (
        ": " + "; ".join(missing) if missing else f" (explored every reachable state; goal {goal})"
    )


def _rooms_in(goal: Any) -> list[str]:
    if isinstance(goal, dict):
        out = []
        for k, v in goal.items():
            if k == "agent_in":
                out.append(v[-1] if isinstance(v, list) else v)
            elif isinstance(v, (dict, list)):
                out += _rooms_in(v)
        return out
    if isinstance(goal, list):
        return [r for g in goal for r in _rooms_in(g)]
    return []


def _why_closed(w: World, u, t: str, seen: set) -> str:
    if t in u["opened"]:
        return f"{t} can be opened but what lies beyond is still out of reach"
    lk = w.lock(t)
    controller = next((o for o, s in w.objs.items() if s.controls == t), None)
    if lk is None:
        if t in w.door_specs and t not in seen:
            rooms = [r for r in w.layout.doors[t].rooms if r != OUTSIDE] if t in w.layout.doors else []
            if rooms and not any(r in u["rooms"] for r in rooms):
                return _why_room(w, u, rooms[0], seen | {t})
        return f"{t} is never opened"
    if t in u["unlocked"]:
        return f"{t} is unlocked but never opened"
    if t in seen:
        return f"{t} is needed to open itself (a cycle)"
    seen = seen | {t}
    if lk.kind == "key":
        if lk.key in w.container_chain(lk.key) or t in w.container_chain(lk.key):
            return f"{t} needs {lk.key}, which is locked inside {t} itself"
        why = f"{t} needs key {lk.key}, which is never obtained: " + _why_unobtainable(w, u, lk.key, seen)
    else:
        clues = lk.clues or [o for o, s in w.objs.items() if s.text and lk.code in s.text]
        if not clues:
            why = f"{t} has code {lk.code} but no readable object gives it (no guessing)"
        else:
            unread = [c for c in clues if c not in u["read"]]
            why = (
                f"the code of {t} is in {', '.join(unread)}, never read: "
                + "; ".join(_why_unobtainable(w, u, c, seen) for c in unread)
                if unread
                else f"{t}'s code can be learned but no keypad for it can be reached"
            )
    if controller:
        why += f" (and {controller}, which controls it, is never reached)"
    return why


def _why_unobtainable(w: World, u, o: str, seen: set) -> str:
    chain = w.container_chain(o)
    for c in chain:
        if c not in u["opened"]:
            return f"{o} is inside {c}, which is never opened: " + _why_closed(w, u, c, seen)
    room = w.room_of(o)
    if room and room not in u["rooms"]:
        return f"{o} is in room {room}, never reached: " + _why_room(w, u, room, seen)
    return f"{o} is reachable but its use never leads to the goal"


def _why_room(w: World, u, room: str, seen: set) -> str:
    doors = [d for d, g in w.layout.doors.items() if room in g.rooms]
    if not doors:
        return f"room {room} has no door"
    return (
        "; ".join(_why_closed(w, u, d, seen) for d in doors if d not in u["opened"])
        or f"{room} is behind open doors yet unreachable"
    )


def _seen_union() -> dict[str, set]:
    """What any searched state has held, unlocked, opened, read or entered (for the reasons an
    unsolvable scene is given)."""
    return {"held": set(), "unlocked": set(), "opened": set(), "read": set(), "rooms": set()}


def _too_large(states: int, max_states: int, time_limit: float | None) -> Verdict:
    why = f"{max_states} states" if states > max_states else f"{time_limit:g} s"
    return Verdict(
        False,
        [],
        f"too large: the search stopped after {why} ({states} states) without "
        "an answer; make the scene smaller (fewer objects, notes or puzzles)",
        states,
        too_large=True,
    )
