"""The engine-agnostic world: state, queries and goal predicates (docs/architecture.md, docs/scene-format.md).

``World.state`` is a plain JSON-able dict, so ``get_state()`` / ``set_state()`` round-trip
exactly and a state can be saved, restored and replayed in any engine:

```
{"step": int,
 "agents":  {id: {"x", "y", "yaw", "horizon", "room", "inventory": [ids], "read": [ids],
                  "heard": [texts], "seen": [ids], "exited": door id | None}},
 "objects": {id: {"loc": ["room", room] | ["in", receptacle] | ["held", agent], "x", "y", "z", "yaw",
                  "open": bool, "locked": bool, "on": bool, "pressed": int, "display": str}},
 "doors":   {id: {"open": bool, "locked": bool, "display": str}},
 "said":    [[agent, text, step], ...]}
```
In ``abstract`` mode (used by the solver) interactability means "in the same room and not
shut inside a closed container"; otherwise it is AI2-THOR's rule: in view, unoccluded, within reach.
"""

from __future__ import annotations

import copy
import math
import operator
import pickle
from typing import Any

from .errors import SpecError, StateError
from .layout import WALL_T, Layout, Rect, build_layout
from .nav import NavConfig, in_view, line_of_sight
from .objtypes import TYPES
from .spec import OUTSIDE, Lock, Spec, affordances

POSE = operator.itemgetter("x", "y", "yaw", "horizon")  # an agent's state -> its pose (World.pose)

Thing = dict[str, Any]


class World:
    def __init__(
        self, spec: Spec, nav: NavConfig | None = None, aspect: float = 1.0, layout: Layout | None = None
    ):
        self.spec = spec
        self.nav = nav or NavConfig()
        self.aspect = aspect
        self.layout = layout or build_layout(spec)
        self.objs = {o.id: o for o in spec.objects}
        self.door_specs = {d.id: d for d in spec.doors}
        self.agent_ids = [a.id for a in spec.agents]
        self.affords = {o.id: affordances(o) for o in spec.objects}
        self.abstract = False
        self.forbid_unlock: set[str] = set()  # solver: locks that must stay locked (shortcut test)
        self.dirty: set[str] = set()  # things whose look changed since the engine was told
        self._blockers_key: tuple | None = None
        self._blockers: dict[str | None, list[Rect]] = {}
        # (x, y) -> free(x, y), for an owner that turns it on (the env: ``{}``); it holds while
        # only agents' poses change, and :meth:`touch`, :meth:`restore`, :meth:`set_state` and
        # :meth:`reset_state` empty it; under the key None, the obstacles free() tests against
        self.free_cache: dict[tuple[float, float] | None, Any] | None = None
        self.changes = 0  # calls of touch(): something other than agents' poses changed
        self._undo: bytes | None = None  # the snapshot touch() took for the armed step
        self._armed = False
        self._base: list | None = None  # the holder base() handed out for the state as it is (see there)
        self.state = self.initial_state()

    # ---------------------------------------------------------------- state
    def initial_state(self) -> dict[str, Any]:
        inside = {c: o.id for o in self.spec.objects for c in o.contains}
        objects = {}
        for o in self.spec.objects:
            p = self.layout.objects.get(o.id)
            st = {
                "loc": ["in", inside[o.id]] if o.id in inside else ["room", o.room],
                "x": p.x if p else 0.0,
                "y": p.y if p else 0.0,
                "z": p.z if p else 0.0,
                "yaw": p.yaw if p else 0.0,
                "open": bool(o.open) if o.open is not None else False,
                "locked": o.lock is not None,
                "on": bool(o.on),
                "pressed": 0,
                "display": "",
            }
            if o.lock is not None:
                st["open"] = False
            objects[o.id] = st
        doors = {
            d.id: {"open": d.open and d.lock is None, "locked": d.lock is not None, "display": ""}
            for d in self.spec.doors
        }
        agents = {}
        for a in self.spec.agents:
            x, y, yaw = self.layout.agents.get(a.id, (0.0, 0.0, 0.0))
            agents[a.id] = {
                "x": x,
                "y": y,
                "yaw": yaw,
                "horizon": 0.0,
                "room": a.room,
                "inventory": [],
                "read": [],
                "heard": [],
                "seen": [],
                "exited": None,
            }
        return {"step": 0, "agents": agents, "objects": objects, "doors": doors, "said": []}

    def reset_state(self) -> None:
        """Back to the spec's initial state; nothing is pending for the engine (it reloads the scene)."""
        self._settle()
        self.state = self.initial_state()
        self.dirty = set()
        self._forget_free()

    def get_state(self) -> dict[str, Any]:
        """A deep copy of the state: plain JSON-able data."""
        return copy.deepcopy(self.state)

    def snapshot(self) -> bytes:
        """The state as an opaque blob, cheaper than :meth:`get_state` (the solver keeps millions)."""
        return pickle.dumps(self.state)

    def restore(self, blob: bytes) -> None:
        """Return to a :meth:`snapshot` of this world (or of a world of the same spec)."""
        self.state = pickle.loads(blob)
        if self.free_cache:  # (inlined _forget_free: the solver restores millions of times)
            self.free_cache.clear()

    def touch(self) -> None:
        """Something other than agents' poses is about to change (the rules call this before an
        action's effect): drops what holds only while poses alone change, and takes the armed
        undo snapshot (:meth:`arm_undo`) if this is the first change since it was armed."""
        self.changes += 1
        if self.free_cache:
            self.free_cache.clear()
        if self._armed or self._base is not None:
            blob = pickle.dumps(self.state)  # (one snapshot serves both)
            if self._armed:
                self._armed = False
                self._undo = blob
            if self._base is not None:
                self._base[0], self._base = blob, None

    def base(self) -> list:
        """A holder for the state as it is now, but for what a step that only moves changes
        (agents' pose fields, sightings, the step counter): ``[None]`` while the world is still in
        that state but for those, ``[snapshot]`` once it left it (:meth:`touch`, :meth:`reset_state`
        and :meth:`set_state` fill it just before). With the poses put back, the state is the one
        this was called in; the env keeps infos of earlier steps true to their step this way
        without a snapshot per step. Calls in the same state share one holder."""
        if self._base is None:
            self._base = [None]
        return self._base

    def _settle(self) -> None:
        """The state is about to be replaced: a :meth:`base` holder still waiting gets its snapshot."""
        if self._base is not None:
            self._base[0], self._base = pickle.dumps(self.state), None

    def arm_undo(self, blob: bytes | None = None) -> None:
        """Start an undo point: the first :meth:`touch` from now snapshots the state (``blob``: a
        snapshot of the current state taken already). Pose changes are the caller's to undo."""
        self._undo, self._armed = blob, blob is None

    def take_undo(self) -> bytes | None:
        """The snapshot of the armed undo point, None if nothing but poses changed since; disarms."""
        blob, self._undo, self._armed = self._undo, None, False
        return blob

    def _forget_free(self) -> None:
        if self.free_cache:
            self.free_cache.clear()

    def tick(self) -> int:
        """Advance the step counter; returns the new step."""
        self.state["step"] += 1
        return self.state["step"]

    def note_seen(self, aid: str, tids) -> None:
        """Record that ``aid`` has seen ``tids`` (first sightings are kept in order)."""
        seen = self.agent(aid)["seen"]
        seen += [t for t in tids if t not in seen]

    def mark_changed(self, *tids: str) -> None:
        """Things whose look changed and must be sent to the engine; none given: everything."""
        self.dirty.update(tids or (*self.objs, *self.door_specs))

    def take_changed(self) -> set[str]:
        """The things marked changed since the last call (and forget them)."""
        out, self.dirty = self.dirty, set()
        return out

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`get_state` (a JSON round trip is fine). A state of another scene or a
        malformed one raises :class:`~embodied.errors.StateError` and changes nothing: the whole
        state is checked first (shape, finite numbers, known ids, where agents stand)."""
        from .state_check import check_state

        problem = _shape_problem(self.initial_state(), state, "state") or self._reference_problem(state)
        if problem:
            raise StateError(f"state does not fit scene {self.spec.name!r}: {problem}")
        check_state(self, state)
        self._settle()
        self.state = copy.deepcopy(state)
        self.dirty = set(self.objs) | set(self.door_specs)
        self._forget_free()

    def _reference_problem(self, state: dict[str, Any]) -> str:
        agents, objects = state["agents"], state["objects"]
        for oid, st in objects.items():
            loc = st["loc"]
            ok = len(loc) == 2 and (
                (loc[0] == "room" and (loc[1] in self.layout.rooms or loc[1] == OUTSIDE))
                or (loc[0] == "in" and loc[1] in objects and loc[1] != oid)
                or (loc[0] == "held" and loc[1] in agents and oid in agents[loc[1]]["inventory"])
            )
            if not ok:
                return f"objects.{oid}.loc {loc!r} names no room, container or holder of it"
        for aid, a in agents.items():
            for o in a["inventory"]:
                if o not in objects or objects[o]["loc"] != ["held", aid]:
                    return f"agents.{aid}.inventory lists {o!r}, which it does not hold"
        return ""

    # ---------------------------------------------------------------- lookups
    def agent(self, aid: str) -> dict[str, Any]:
        return self.state["agents"][aid]

    def thing(self, tid: str) -> Thing:
        return self.state["objects"].get(tid) or self.state["doors"][tid]

    def exists(self, tid: str) -> bool:
        return tid in self.objs or tid in self.door_specs

    def is_door(self, tid: str) -> bool:
        return tid in self.door_specs

    def kind(self, tid: str) -> str:
        return "door" if tid in self.door_specs else self.objs[tid].type

    def lock(self, tid: str) -> Lock | None:
        return self.door_specs[tid].lock if tid in self.door_specs else self.objs[tid].lock

    def can(self, tid: str, affordance: str) -> bool:
        if affordance == "takes_code" and self.code_lock(tid) is not None:
            return True
        if tid in self.door_specs:
            return affordance == "openable"
        return affordance in self.affords[tid]

    def holder(self, oid: str) -> str | None:
        loc = self.state["objects"][oid]["loc"]
        return loc[1] if loc[0] == "held" else None

    def container_chain(self, oid: str) -> list[str]:
        chain, loc = [], self.state["objects"][oid]["loc"]
        while loc[0] == "in":
            chain.append(loc[1])
            loc = self.state["objects"][loc[1]]["loc"]
        return chain

    def contents(self, rid: str) -> list[str]:
        """Objects directly inside receptacle ``rid``, in spec order."""
        return [o for o, st in self.state["objects"].items() if st["loc"] == ["in", rid]]

    def accessible(self, oid: str) -> bool:
        """Not shut inside a closed container (held and loose things are accessible)."""
        objects = self.state["objects"]
        return all(objects[c]["open"] or "openable" not in self.affords[c] for c in self.container_chain(oid))

    def room_of(self, tid: str) -> str | None:
        if tid in self.door_specs:
            return None
        loc = self.state["objects"][tid]["loc"]
        while loc[0] == "in":
            loc = self.state["objects"][loc[1]]["loc"]
        return loc[1] if loc[0] == "room" else self.agent(loc[1])["room"]

    def position(self, tid: str) -> tuple[float, float, float]:
        """World position of a thing's center (held things: in front of their holder's eye)."""
        if tid in self.door_specs:
            cx, cy = self.layout.doors[tid].center
            return (cx, cy, 1.0)
        st = self.state["objects"][tid]
        kind, where = st["loc"]
        if kind == "room":
            return (st["x"], st["y"], st["z"])
        if kind == "held":
            a = self.agent(where)
            return (a["x"], a["y"], self.nav.eye_height - 0.3)
        c = self.position(where)
        ct = self.objs[where]
        cs = ct.size or TYPES[ct.type].size
        s = self.objs[tid].size or TYPES[self.objs[tid].type].size
        inside = self.contents(where)
        k = inside.index(tid)
        yaw = math.radians(self.state["objects"][where]["yaw"])
        off = (k - 0.5 * (len(inside) - 1)) * 0.28
        ox, oy = off * math.cos(yaw), off * math.sin(yaw)
        if cs[2] <= 0.9:  # on/in the top of a low container
            return (c[0] + ox, c[1] + oy, c[2] + cs[2] / 2 + s[2] / 2)
        front = cs[1] / 2 + 0.1  # tall container: shown just in front of it, at mid height
        return (c[0] + ox + math.sin(yaw) * front, c[1] + oy - math.cos(yaw) * front, 0.9)

    # ---------------------------------------------------------------- geometry
    def blockers(self, exclude: str | None = None) -> list[Rect]:
        """Walls and closed doors (minus ``exclude``), as rectangles that block sight and movement."""
        doors = self.state["doors"]
        key = tuple(doors[d]["open"] for d in self.layout.doors)
        if self._blockers_key != key:  # one list per excluded door, for as long as no door moves
            self._blockers_key, self._blockers = key, {}
        if exclude not in self._blockers:
            self._blockers[exclude] = self.layout.walls + [
                g.gap for d, g in self.layout.doors.items() if d != exclude and not doors[d]["open"]
            ]
        return self._blockers[exclude]

    def footprints(self) -> list[Rect]:
        out = []
        for oid, o in self.objs.items():
            st = self.state["objects"][oid]
            if st["loc"][0] != "room" or TYPES[o.type].mount != "floor":
                continue
            sx, sy, _ = o.size or TYPES[o.type].size
            if round(st["yaw"]) % 180 != 0:
                sx, sy = sy, sx
            out.append(Rect(st["x"] - sx / 2, st["y"] - sy / 2, st["x"] + sx / 2, st["y"] + sy / 2))
        return out

    def free(self, x: float, y: float, obstacles: list[Rect] | None = None) -> bool:
        """May an agent stand at (x, y)? Walls, closed doors and furniture block; the world has edges."""
        cache = self.free_cache
        if obstacles is None and cache is not None:
            hit = cache.get((x, y))
            if hit is None:
                if len(cache) >= 65536:
                    cache.clear()
                # the obstacles too are true while the cache is (key None: no point is None)
                obstacles = cache.get(None)
                if obstacles is None:
                    obstacles = cache[None] = (*self.blockers(), *self.footprints())
                hit = cache[(x, y)] = self._free(x, y, obstacles)
            return hit
        return self._free(x, y, obstacles)

    def _free(self, x: float, y: float, obstacles: list[Rect] | None) -> bool:
        b = self.layout.bounds
        if not (b.x0 - 1.0 <= x <= b.x1 + 1.0 and b.y0 - 1.0 <= y <= b.y1 + 1.0):
            return False
        if self.layout.room_at(x, y) == OUTSIDE and not any(r.contains(x, y) for r in self.layout.outside):
            return False
        r = self.nav.radius
        limit = r * r - 1e-9  # circle_hits_rect, inlined (every move and every planner node asks)
        for o in obstacles if obstacles is not None else (*self.blockers(), *self.footprints()):
            cx = min(max(x, o.x0), o.x1)
            cy = min(max(y, o.y0), o.y1)
            if (x - cx) ** 2 + (y - cy) ** 2 < limit:
                return False
        return True

    def free_for(self, aid: str, x: float, y: float, obstacles: list[Rect] | None = None) -> bool:
        """May agent ``aid`` stand at (x, y)? :meth:`free`, and clear of every other agent."""
        if not self.free(x, y, obstacles):
            return False
        r2 = (2 * self.nav.radius) ** 2
        for o, b in self.state["agents"].items():
            if o != aid and (x - b["x"]) ** 2 + (y - b["y"]) ** 2 < r2:
                return False
        return True

    def pose(self, aid: str) -> tuple[float, float, float, float]:
        return POSE(self.state["agents"][aid])

    def distance(self, aid: str, tid: str) -> float:
        a = self.agent(aid)
        p = self.position(tid)
        return math.hypot(p[0] - a["x"], p[1] - a["y"])

    def visible(
        self, aid: str, tid: str, pose: tuple | None = None, margin: float = 2.0, sight: dict | None = None
    ) -> bool:
        """In the agent's view: inside the frustum, not occluded by walls or closed doors, not shut away.

        ``sight``: a cache of line-of-sight results by standing point and thing, which the caller
        keeps only while nothing but agents' poses changes (the env's lean step)."""
        if tid in self.objs:
            if self.holder(tid) == aid:
                return True
            if not self.accessible(tid) or self.holder(tid) is not None:
                return False
        a = self.agent(aid)
        if self.abstract:
            return self._same_room(a["room"], tid)
        pose = pose or self.pose(aid)
        p = self.position(tid)
        if not in_view(pose, p, self.nav, self.aspect, margin):
            return False
        key = (pose[0], pose[1], tid)
        if sight is not None and key in sight:
            return sight[key]
        ex, ey = _pull_back(pose[0], pose[1], p[0], p[1], 0.06)
        seen = line_of_sight(
            pose[0], pose[1], ex, ey, self.blockers(exclude=tid if tid in self.door_specs else None)
        )
        if sight is not None:
            sight[key] = seen
        return seen

    def visibility_basis(self, aid: str) -> dict[str, Any]:
        """Per object and door, what :meth:`visible` decides for ``aid`` without looking at its
        pose: True (held by it), False (held by another, or shut away), else the thing's position.
        It stays true while nothing but agents' poses changes (not in ``abstract`` mode)."""
        out: dict[str, Any] = {}
        for t in self.objs:
            if self.holder(t) == aid:
                out[t] = True
            elif not self.accessible(t) or self.holder(t) is not None:
                out[t] = False
            else:
                out[t] = self.position(t)
        for t in self.door_specs:
            out[t] = self.position(t)
        return out

    def visible_all(
        self, pose: tuple, basis: dict[str, Any], sight: dict, views: dict | None = None, margin: float = 2.0
    ) -> dict[str, bool]:
        """:meth:`visible` of every thing in ``basis`` (from :meth:`visibility_basis`) at ``pose``, in
        one pass: the same frustum test (:func:`~embodied.nav.in_view`, inlined) and line of sight.

        ``sight`` caches line of sight per standing point and thing; ``views`` (optional) caches
        per ``(x, y, yaw)`` what does not depend on the horizon: which things lie within the
        horizontal field of view and at what angle below the horizontal (the caller keeps both
        only while ``basis`` and the doors hold). The dict is in ``basis`` order."""
        x, y, yaw, horizon = pose
        key = (x, y, yaw)
        view = views.get(key) if views is not None else None
        if view is None:
            view = self._view(x, y, yaw, basis, margin)
            if views is not None:
                if len(views) >= 4096:
                    views.clear()
                views[key] = view
        base, cands, lim = view
        out = dict(base)
        for t, down, p in cands:
            if abs(down - horizon) <= lim:
                k = (x, y, t)
                seen = sight.get(k)
                if seen is None:
                    ex, ey = _pull_back(x, y, p[0], p[1], 0.06)
                    seen = sight[k] = line_of_sight(
                        x, y, ex, ey, self.blockers(exclude=t if t in self.door_specs else None)
                    )
                out[t] = seen
        return out

    def _view(self, x: float, y: float, yaw: float, basis: dict[str, Any], margin: float) -> tuple:
        """For :meth:`visible_all`: (every thing False but for the fixed True/False of ``basis``;
        ``(thing, angle below the horizontal, position)`` of the things within view distance and
        the horizontal field of view; the largest ``|angle - horizon|`` still in view)."""
        cfg = self.nav
        eye, far = cfg.eye_height, cfg.view_distance
        half_h = cfg.fov / 2
        half_v = math.degrees(math.atan(math.tan(math.radians(half_h)) / self.aspect))
        base: dict[str, bool] = {}
        cands = []
        for t, p in basis.items():
            if p is True or p is False:
                base[t] = p
                continue
            base[t] = False
            dx, dy, dz = p[0] - x, p[1] - y, p[2] - eye
            dist = math.hypot(dx, dy)
            if dist < 1e-6 or dist > far:
                continue
            rel = (math.degrees(math.atan2(-dx, dy)) - yaw + 180.0) % 360.0 - 180.0
            if abs(rel) > half_h - margin:
                continue
            cands.append((t, math.degrees(math.atan2(-dz, dist * math.cos(math.radians(rel)))), p))
        return base, cands, half_v - margin

    def interactable(
        self, aid: str, tid: str, pose: tuple | None = None, visible: bool | None = None, margin: float = 2.0
    ) -> tuple[bool, str]:
        """AI2-THOR's rule: visible and within reach. Returns (ok, reason when not).

        ``visible``: pass it when already known for this pose, to skip recomputing it."""
        name = tid
        if tid in self.objs and self.holder(tid) == aid:
            return True, ""
        if tid in self.objs and self.holder(tid) is not None:
            return False, f"{name} is held by {self.holder(tid)}"
        if tid in self.objs and not self.accessible(tid):
            return False, f"{name} is inside the closed {self.container_chain(tid)[0]}"
        if self.abstract:
            ok = self._same_room(self.agent(aid)["room"], tid)
            return ok, "" if ok else f"{name} is not in this room"
        if not (self.visible(aid, tid, pose, margin) if visible is None else visible):
            return False, f"{name} is not in view"
        pose = pose or self.pose(aid)
        p = self.position(tid)
        d = math.hypot(p[0] - pose[0], p[1] - pose[1])
        if d > self.nav.reach:
            return False, f"{name} is {d:.1f} m away; get within {self.nav.reach:g} m"
        return True, ""

    def _same_room(self, room: str, tid: str) -> bool:
        if tid in self.door_specs:
            return room in self.layout.doors[tid].rooms if tid in self.layout.doors else False
        return self.room_of(tid) == room

    # ---------------------------------------------------------------- knowledge
    def code_lock(self, tid: str) -> tuple[str, Lock] | None:
        """The (owner, code lock) that entering a code at ``tid`` works on."""
        lk = self.lock(tid)
        if lk is not None and lk.kind == "code":
            return tid, lk
        if tid in self.objs and self.objs[tid].controls:
            target = self.objs[tid].controls
            tl = self.lock(target)
            if tl is not None and tl.kind == "code":
                return target, tl
        return None

    def knows_code(self, aid: str, lock: Lock) -> bool:
        """A code is known only from the clues that give it (read, or told by a teammate), or if ``given``."""
        a = self.agent(aid)
        if lock.given:
            return True
        if lock.clues:
            if all(c in a["read"] for c in lock.clues):
                return True
        else:
            if any(lock.code in (self.objs[r].text or "") for r in a["read"]):
                return True
        return any(lock.code in h for h in a["heard"])

    # ---------------------------------------------------------------- goals
    def holds(self, pred: dict[str, Any]) -> bool:
        """Evaluate a goal predicate (docs/scene-format.md, "Goal predicates") on the current state."""
        key = next(k for k in pred if k != "agents")
        val = pred[key]
        if key == "all":
            return all(self.holds(p) for p in val)
        if key == "any":
            return any(self.holds(p) for p in val)
        if key == "not":
            return not self.holds(val)
        args = val if isinstance(val, list) else [val]
        agents = self.state["agents"]
        if key == "exit_through":
            out = [a["exited"] == args[0] for a in agents.values()]
            return all(out) if pred.get("agents") == "all" else any(out)
        if key in ("agent_in", "holding", "said", "read") and len(args) == 1:
            return any(self.holds({key: [aid, args[0]]}) for aid in agents)
        if key == "agent_in":
            return agents[args[0]]["room"] == args[1]
        if key == "holding":
            return self.holder(args[1]) == args[0]
        if key == "read":
            return args[1] in agents[args[0]]["read"]
        if key == "said":
            return any(s[0] == args[0] and args[1].lower() in s[1].lower() for s in self.state["said"])
        if key == "inside":
            return args[1] in self.container_chain(args[0])
        if key == "state":
            st = self.thing(args[0])
            return {
                "open": st["open"],
                "closed": not st["open"],
                "locked": st["locked"],
                "unlocked": not st["locked"],
                "on": st.get("on", False),
                "off": not st.get("on", False),
                "pressed": st.get("pressed", 0) > 0,
            }[args[1]]
        raise SpecError(f"unknown goal predicate {key!r}; see docs/scene-format.md, 'Goal predicates'")

    def goal_reached(self) -> bool:
        return self.holds(self.spec.goal)


def _shape_problem(template: Any, value: Any, path: str) -> str:
    """Where ``value`` differs in shape from ``template`` (keys, and the kind of each leaf), or ""."""
    if isinstance(template, dict):
        if not isinstance(value, dict):
            return f"{path} must be an object, got {type(value).__name__}"
        if set(value) != set(template):
            missing, extra = sorted(set(template) - set(value)), sorted(set(value) - set(template))
            return f"{path}: missing {missing}, unexpected {extra}"
        for k, t in template.items():
            p = _shape_problem(t, value[k], f"{path}.{k}")
            if p:
                return p
        return ""
    if isinstance(template, bool):
        ok = isinstance(value, bool)
    elif isinstance(template, (int, float)):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    elif isinstance(template, str):
        ok = isinstance(value, str)
    elif isinstance(template, list):
        ok = isinstance(value, list)
    else:  # None: an optional id
        ok = value is None or isinstance(value, str)
    return "" if ok else f"{path} has the wrong kind of value: {value!r:.60}"


def _pull_back(x0: float, y0: float, x1: float, y1: float, by: float) -> tuple[float, float]:
    """The point ``by`` meters short of (x1, y1) on the way from (x0, y0): wall-mounted things sit against walls."""
    d = math.hypot(x1 - x0, y1 - y0)
    if d <= by + WALL_T:
        return x1, y1
    return x1 - (x1 - x0) * by / d, y1 - (y1 - y0) * by / d
