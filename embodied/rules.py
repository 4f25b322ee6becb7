"""The rules of every action: preconditions and effects (docs/architecture.md, "The step path").

``RULES`` is the table: for each interaction verb, the affordance its target needs and the
effect to run once the common checks pass (the target exists, affords the verb, and is
interactable: in view and within reach). ``apply(world, agent, action)`` never raises for a
failed action: it returns a :class:`Result` whose message says what was wrong and what
would work, and leaves the world unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from .actions import NAVIGATION, Action
from .layout import OUTSIDE
from .nav import LOOKS, ROTATIONS, circle_hits_rect, next_pose
from .objtypes import TYPES
from .world import POSE, World


@dataclass
class Result:
    success: bool
    message: str = ""
    text: str = ""  # what the agent read or heard, for obs["text"]
    changed: list[str] = field(default_factory=list)


def ok(message: str, *changed: str, text: str = "") -> Result:
    return Result(True, message, text, list(changed))


def fail(message: str) -> Result:
    return Result(False, message)


# ---------------------------------------------------------------- effects (checks already passed)
def _pickup(w: World, aid: str, o: str, _args) -> Result:
    if w.holder(o) == aid:
        return fail(f"you already hold {o}")
    st = w.state["objects"][o]
    st["loc"] = ["held", aid]
    w.agent(aid)["inventory"].append(o)
    return ok(f"picked up {o}", o)


def _put(w: World, aid: str, o: str, args) -> Result:
    r = args[1]
    if w.holder(o) != aid:
        return fail(f"you are not holding {o}; pick it up first")
    if not w.exists(r) or w.is_door(r):
        return fail(f"unknown receptacle {r!r}")
    if not w.can(r, "receptacle"):
        return fail(
            f"{r} is a {w.kind(r)}, which holds nothing; put {o} into a box, chest, drawer, fridge or onto a table"
        )
    if r == o:
        return fail(f"cannot put {o} into itself")
    good, why = w.interactable(aid, r)
    if not good:
        return fail(f"cannot reach {r}: {why}")
    if w.can(r, "openable") and not w.state["objects"][r]["open"]:
        return fail(f"{r} is closed; open it first")
    w.state["objects"][o]["loc"] = ["in", r]
    w.agent(aid)["inventory"].remove(o)
    return ok(f"put {o} in {r}", o, r)


def _drop(w: World, aid: str, o: str, _args) -> Result:
    if w.holder(o) != aid:
        return fail(f"you are not holding {o}")
    a = w.agent(aid)
    fx, fy = -math.sin(math.radians(a["yaw"])), math.cos(math.radians(a["yaw"]))
    st = w.state["objects"][o]
    size = w.objs[o].size or TYPES[w.objs[o].type].size
    x, y = a["x"] + fx * 0.4, a["y"] + fy * 0.4
    if not w.layout.rooms.get(a["room"]) or not w.layout.rooms[a["room"]].contains(x, y, 0.1):
        x, y = a["x"], a["y"]
    st.update(loc=["room", a["room"]], x=x, y=y, z=size[2] / 2, yaw=a["yaw"])
    a["inventory"].remove(o)
    return ok(f"dropped {o}", o)


def _open(w: World, aid: str, t: str, _args) -> Result:
    st = w.thing(t)
    if st["open"]:
        return fail(f"{t} is already open")
    if st["locked"]:
        lk = w.lock(t)
        how = f"Unlock({t}, {lk.key})" if lk.kind == "key" else f"EnterCode({t}, CODE)"
        return fail(f"{t} is locked ({lk.kind} lock); first {how}")
    st["open"] = True
    return ok(f"opened {t}", t, *(w.contents(t) if t in w.objs else ()))


def _close(w: World, aid: str, t: str, _args) -> Result:
    st = w.thing(t)
    if not st["open"]:
        return fail(f"{t} is already closed")
    if w.is_door(t) and t in w.layout.doors:
        gap = w.layout.doors[t].gap
        inside = [
            b for b, s in w.state["agents"].items() if circle_hits_rect(s["x"], s["y"], w.nav.radius, gap)
        ]
        if inside:
            return fail(f"cannot close {t}: {', '.join(inside)} in the doorway")
    st["open"] = False
    return ok(f"closed {t}", t, *(w.contents(t) if t in w.objs else ()))


def _unlock(w: World, aid: str, t: str, args) -> Result:
    key = args[1]
    lk = w.lock(t)
    st = w.thing(t)
    if lk is None or not st["locked"]:
        return fail(f"{t} is not locked")
    if lk.kind != "key":
        return fail(f"{t} has a code lock; use EnterCode({t}, CODE)")
    if not w.exists(key) or w.holder(key) != aid:
        held = ", ".join(w.agent(aid)["inventory"]) or "nothing"
        return fail(f"you are not holding {key!r} (holding: {held})")
    if key != lk.key:
        return fail(f"{key} does not fit {t}")
    if t in w.forbid_unlock:
        return fail(f"{t} stays locked (solver constraint)")
    st["locked"] = False
    return ok(f"unlocked {t} with {key}", t)


def _enter_code(w: World, aid: str, t: str, args) -> Result:
    code = "".join(str(args[1]).split())
    target = w.code_lock(t)
    if target is None:
        return fail(f"{t} takes no code")
    owner, lk = target
    st = w.thing(t)
    if not w.thing(owner)["locked"]:
        st["display"] = "OPEN"
        return fail(f"{owner} is already unlocked")
    if code != lk.code:
        st["display"] = f"{code[:8]} WRONG"
        return Result(False, f"wrong code {code!r} for {owner}", changed=[t])
    if owner in w.forbid_unlock:
        return fail(f"{owner} stays locked (solver constraint)")
    w.thing(owner)["locked"] = False
    st["display"] = "OPEN"
    w.thing(owner)["display"] = "OPEN"
    return ok(f"code accepted: {owner} unlocked", t, owner)


def _read(w: World, aid: str, t: str, _args) -> Result:
    text = w.objs[t].text or ""
    a = w.agent(aid)
    if t not in a["read"]:
        a["read"].append(t)
    return ok(f"read {t}", text=f'{t} says: "{text}"' if text else f"{t} is blank")


def _press(w: World, aid: str, t: str, _args) -> Result:
    st = w.thing(t)
    st["pressed"] += 1
    changed = [t, *_trigger(w, t, True)]
    return ok(f"pressed {t}" + (f"; {w.objs[t].controls} is now open" if len(changed) > 1 else ""), *changed)


def _toggle(on: bool) -> Callable:
    def effect(w: World, aid: str, t: str, _args) -> Result:
        st = w.thing(t)
        if st["on"] == on:
            return fail(f"{t} is already {'on' if on else 'off'}")
        st["on"] = on
        changed = [t, *_trigger(w, t, on)]
        return ok(f"turned {t} {'on' if on else 'off'}", *changed)

    return effect


def _trigger(w: World, t: str, on: bool) -> list[str]:
    """A button, lever or switch that ``controls`` a door or object unlocks and opens it (off: closes it)."""
    target = w.objs[t].controls
    if not target or target in w.forbid_unlock:
        return []
    st = w.thing(target)
    if on:
        st["locked"], st["open"] = False, True
    else:
        st["open"] = False
    return [target] + (w.contents(target) if target in w.objs else [])


def _give(w: World, aid: str, o: str, args) -> Result:
    other = args[1]
    if other not in w.state["agents"] or other == aid:
        mates = ", ".join(a for a in w.state["agents"] if a != aid) or "none"
        return fail(f"unknown teammate {other!r}; teammates: {mates}")
    if w.holder(o) != aid:
        return fail(f"you are not holding {o}")
    a, b = w.agent(aid), w.agent(other)
    d = math.hypot(a["x"] - b["x"], a["y"] - b["y"])
    if not w.abstract and d > w.nav.reach:
        return fail(f"{other} is {d:.1f} m away; get within {w.nav.reach:g} m to hand over {o}")
    if w.abstract and a["room"] != b["room"]:
        return fail(f"{other} is in another room")
    a["inventory"].remove(o)
    b["inventory"].append(o)
    w.state["objects"][o]["loc"] = ["held", other]
    return ok(f"gave {o} to {other}", o)


# verb -> (affordance the target needs, effect)
RULES: dict[str, tuple[str, Callable]] = {
    "Pickup": ("pickupable", _pickup),
    "Put": ("pickupable", _put),
    "Drop": ("pickupable", _drop),
    "Open": ("openable", _open),
    "Close": ("openable", _close),
    "Unlock": ("", _unlock),
    "EnterCode": ("takes_code", _enter_code),
    "Read": ("readable", _read),
    "Press": ("pressable", _press),
    "ToggleOn": ("toggleable", _toggle(True)),
    "ToggleOff": ("toggleable", _toggle(False)),
    "Give": ("pickupable", _give),
}
VERB_HINT = {
    "pickupable": "be picked up",
    "openable": "be opened",
    "takes_code": "take a code",
    "readable": "be read",
    "pressable": "be pressed",
    "toggleable": "be switched on or off",
}


CODE, TEXT = "<code>", "<text>"  # placeholders in offered actions: the agent fills them in


def interactions(w: World, aid: str, t: str, held: list[str]) -> list[Action]:
    """The interactions thing ``t`` affords agent ``aid`` in the current state (holding ``held``).

    One table for everyone who lists actions: the env's ``allowed_actions`` offers exactly these
    (for the things in view) and the solver searches a subset of them, so a plan never uses an
    action the env would not list. Whether it then succeeds (in reach? right key? right code?)
    is for :func:`apply` to say. ``EnterCode`` carries the placeholder :data:`CODE`."""
    out: list[Action] = []
    st = w.thing(t)
    if w.can(t, "pickupable") and t not in held:
        out.append(Action("Pickup", (t,)))
    if w.can(t, "openable"):
        out.append(Action("Close" if st["open"] else "Open", (t,)))
    lk = w.lock(t)
    if lk is not None and lk.kind == "key" and st["locked"]:
        out += [Action("Unlock", (t, k)) for k in held]
    if w.can(t, "takes_code"):
        out.append(Action("EnterCode", (t, CODE)))
    if w.can(t, "readable"):
        out.append(Action("Read", (t,)))
    if w.can(t, "pressable"):
        out.append(Action("Press", (t,)))
    if w.can(t, "toggleable"):
        out.append(Action("ToggleOff" if st["on"] else "ToggleOn", (t,)))
    if w.can(t, "receptacle"):
        out += [Action("Put", (o, t)) for o in held if o != t]
    return out


def offered_actions(w: World, aid: str, in_view: list[str], seen: list[str] | None = None) -> list[Action]:
    """Every action offered to ``aid``: navigation; ``NavigateTo`` for ``seen`` things (high level);
    the :func:`interactions` of what it holds and of ``in_view``; Drop, Say and Give; Done."""
    out = [Action(n) for n in NAVIGATION]
    if seen is not None:
        out += [Action("NavigateTo", (t,)) for t in seen]
    held = list(w.agent(aid)["inventory"])
    for t in held + [t for t in in_view if t not in held]:
        out += interactions(w, aid, t, held)
    out += [Action("Drop", (o,)) for o in held]
    mates = [a for a in w.agent_ids if a != aid]
    if mates:
        out.append(Action("Say", (TEXT,)))
        out += [Action("Give", (o, m)) for o in held for m in mates]
    out.append(Action("Done"))
    return out


MAX_SAY_CHARS = 500
MAX_SAID = 100  # utterances kept in the state (said, and heard per agent)


def apply(w: World, aid: str, action: Action) -> Result:
    """Apply one action for agent ``aid``; on failure the world is unchanged (but for the
    display of a keypad a wrong code was entered at). Anything but a navigation action calls
    :meth:`World.touch` before it changes the world: a step that never does changed nothing but
    poses (rooms, ``exited``), which the env's lean step relies on."""
    name = action.name
    if name in NAVIGATION:
        return _navigate(w, aid, name)
    if name == "Say":
        text = action.args[0].strip()
        if not text:
            return fail('Say needs something to say, e.g. Say("the code is 4172")')
        if len(w.agent_ids) < 2:
            return fail("nobody hears you: Say is for teammates, and this scene has a single agent")
        if len(text) > MAX_SAY_CHARS:
            return fail(f"Say is limited to {MAX_SAY_CHARS} characters, got {len(text)}; say less")
        w.touch()
        said = w.state["said"]
        said.append([aid, text, w.state["step"]])
        del said[:-MAX_SAID]  # the state keeps the latest utterances only
        for other, st in w.state["agents"].items():
            if other != aid:
                st["heard"].append(text)
                del st["heard"][:-MAX_SAID]
        return ok(f"said: {text}")
    if name in ("Done", "Pass"):
        return ok("done" if name == "Done" else "waited")
    if name == "NavigateTo":
        return fail("NavigateTo is handled by the env (high-level mode)")
    affordance, effect = RULES[name]
    t = action.args[0]
    if not w.exists(t):
        return fail(f"unknown object {t!r}")
    if affordance and not w.can(t, affordance):
        return fail(f"{t} is a {w.kind(t)}, which cannot {VERB_HINT[affordance]}")
    if name not in ("Drop", "Put", "Give"):
        good, why = w.interactable(aid, t)
        if not good:
            return fail(f"cannot {name} {t}: {why}")
    w.touch()  # (the effect may change the world: the undo point and the pose-only caches know)
    return effect(w, aid, t, action.args)


def _navigate(w: World, aid: str, name: str) -> Result:
    a = w.state["agents"][aid]
    pose = next_pose(name, POSE(a), w.nav)
    if name in ROTATIONS:
        a["yaw"] = pose[2]
        return ok(f"turned to {a['yaw']:.0f}°")
    if name in LOOKS:
        if pose is None:
            return fail(
                f"cannot look further {'down' if name == 'LookDown' else 'up'} (horizon {a['horizon']:.0f}°)"
            )
        a["horizon"] = pose[3]
        return ok(f"horizon {pose[3]:.0f}°")
    x, y = pose[0], pose[1]
    if not w.free_for(aid, x, y):
        return fail("blocked: something is in the way")
    before = a["room"]
    a["x"], a["y"] = x, y
    a["room"] = w.layout.room_at(x, y)
    if a["room"] == OUTSIDE and before != OUTSIDE:
        door = min(
            (d for d in w.layout.doors.values() if OUTSIDE in d.rooms),
            key=lambda d: math.hypot(d.center[0] - x, d.center[1] - y),
        )
        a["exited"] = door.id
        return ok(f"moved; you went out through {door.id}")
    return ok("moved" if a["room"] == before else f"moved into {a['room']}")
