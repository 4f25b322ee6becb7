"""Fast "can the goal be reached at all?" for monotone scenes (used by validation's shortcut check).

In a scene whose goal is to leave through a door and which has no toggles or buttons, nothing
an agent needs ever becomes unavailable again: doors and containers stay open,
keys stay held, codes stay known. Reachability then is a fixpoint: keep doing every useful
action (Open, Unlock, EnterCode, Read, Pickup) in every room reachable through open doors until
nothing changes (teammates share codes, as saying them would; teammates who could meet are
left to the exact search, since handing things over is not monotone). That answers exactly what an exhaustive search would, in time linear in the
scene instead of exponential in its independent parts. ``goal_reachable`` returns None when the
scene is outside that class; callers then fall back to :func:`embodied.solver.solve`.
"""

from __future__ import annotations

from .solver import Relevance, candidates, step_abstract
from .spec import OUTSIDE, Spec
from .world import World

PROGRESS = {"Open", "Unlock", "EnterCode", "Read", "Pickup"}


def monotone(spec: Spec) -> bool:
    """Is ``spec`` a scene where the fixpoint applies (see the module docstring)?"""
    if set(spec.goal) != {"exit_through"}:  # (with "agents": "all" every agent must leave)
        return False
    return not any(o.controls and o.type != "keypad" for o in spec.objects)


def goal_reachable(
    spec: Spec, forbid_unlock: frozenset[str] = frozenset(), world: World | None = None
) -> bool | None:
    """Whether the goal can be reached without unlocking ``forbid_unlock``; None if the fixpoint is
    not exact for this scene (not monotone, or teammates who could meet and hand things over).
    ``world``: start from its state (and reuse its layout) instead of the spec's initial state."""
    if not monotone(spec):
        return None
    w = World(spec, layout=world.layout if world else None)
    if world is not None:
        w.restore(world.snapshot())
    w.abstract = True
    w.forbid_unlock = set(forbid_unlock)
    codes = [lk for lk in [d.lock for d in spec.doors] + [o.lock for o in spec.objects] if lk and lk.code]
    rel = Relevance(w, set())
    changes, listed = 0, {}  # (agent, room) -> the change count when its actions were last listed
    changed = True
    while changed:  # each pass does every useful action in every room each agent can reach
        changed = False
        for aid in w.agent_ids:
            a = w.agent(aid)
            for room in _rooms_reachable(w, a["room"]):
                a["room"] = room
                while listed.get((aid, room)) != changes:  # skip a room where nothing is new
                    listed[(aid, room)] = changes
                    for st in candidates(w, aid, set(), rel):
                        if st.verb in PROGRESS and step_abstract(w, st):
                            changes += 1
                            changed = True
            for lk in codes:  # teammates tell each other every code they know (Say reaches everyone)
                if w.knows_code(aid, lk):
                    for other in w.agent_ids:
                        told = f"the code is {lk.code}"
                        if other != aid and told not in w.agent(other)["heard"]:
                            w.agent(other)["heard"].append(told)
                            changes += 1
                            changed = True
    regions = [set(_rooms_reachable(w, w.agent(aid)["room"])) - {OUTSIDE} for aid in w.agent_ids]
    if any(regions[i] & regions[j] for i in range(len(regions)) for j in range(i + 1, len(regions))):
        return None  # they could meet and Give: the fixpoint would not be exact
    for aid in w.agent_ids:
        a = w.agent(aid)
        for room in _rooms_reachable(w, a["room"]):
            if room == OUTSIDE:
                continue
            a["room"] = room
            for st in candidates(w, aid, set()):
                if st.verb == "GoTo" and st.args[0] == OUTSIDE and step_abstract(w, st) and w.goal_reached():
                    return True
                a["room"] = room
    return False


def _rooms_reachable(w: World, start: str) -> list[str]:
    seen, todo = [start], [start]
    while todo:
        cur = todo.pop()
        for did, d in w.layout.doors.items():
            if cur in d.rooms and w.state["doors"][did]["open"]:
                other = d.rooms[1] if d.rooms[0] == cur else d.rooms[0]
                if other not in seen:
                    seen.append(other)
                    if other != OUTSIDE:
                        todo.append(other)
    return seen
