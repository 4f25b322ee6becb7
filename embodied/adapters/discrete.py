"""A fixed ``Discrete(n)`` action table per task, and image observations, for RL libraries.

The table is built once from the scene (not from the current state), so ``n`` and the meaning of
each index stay the same for the whole run. Its order:

1. the navigation verbs, in this order: ``MoveAhead, MoveBack, MoveLeft, MoveRight, RotateLeft,
   RotateRight, TurnAround, LookUp, LookDown``;
2. for each object in spec order, then each door in spec order, every verb its type affords, in
   this order: ``Pickup``, ``Open``, ``Close``, ``Unlock(thing, key)`` for each pickupable object
   (only things with a key lock), ``EnterCode`` (things that take a code), ``Read``, ``Press``,
   ``ToggleOn``, ``ToggleOff``, ``Put(object, thing)`` for each pickupable object (receptacles);
3. per pickupable object: ``Drop(object)``, then ``Give(object, teammate)`` per teammate;
4. ``Done`` last.

An action that does not apply now (a closed door to ``Close``, a key not held, a thing out of
reach or out of view) fails like any other action: ``info["lastActionSuccess"]`` is False.
``EnterCode(thing)`` types the code this agent has learned from the clues (read, or heard from a
teammate); an agent that knows none types ``?``, which the lock rejects as a wrong code. ``Say``
(free text) has no index. ``action_table(env)`` lists the table as canonical strings.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..actions import NAVIGATION, Action

UNKNOWN_CODE = "?"  # what an agent that knows no code types; never a valid code
DEPTH_RANGE = 10.0  # meters mapped to 0..255 in the image's depth channel (farther, and void: 255)
_SINGLE = (
    ("Pickup", "pickupable"),
    ("Open", "openable"),
    ("Close", "openable"),
    ("Unlock", None),
    ("EnterCode", "takes_code"),
    ("Read", "readable"),
    ("Press", "pressable"),
    ("ToggleOn", "toggleable"),
    ("ToggleOff", "toggleable"),
    ("Put", "receptacle"),
)


def build_table(world: Any, agent: str) -> list[Action]:
    """The fixed action table for ``agent`` in ``world``'s scene (see the module docstring)."""
    things = list(world.objs) + list(world.door_specs)
    portable = [o for o in world.objs if world.can(o, "pickupable")]
    out = [Action(n) for n in NAVIGATION]
    for t in things:
        for verb, aff in _SINGLE:
            if verb == "Unlock":
                lk = world.lock(t)
                if lk is not None and lk.kind == "key":
                    out += [Action("Unlock", (t, k)) for k in portable if k != t]
            elif verb == "Put":
                if world.can(t, aff):
                    out += [Action("Put", (o, t)) for o in portable if o != t]
            elif verb == "EnterCode":
                if world.can(t, aff):
                    out.append(Action("EnterCode", (t, UNKNOWN_CODE)))
            elif world.can(t, aff):
                out.append(Action(verb, (t,)))
    mates = [a for a in world.agent_ids if a != agent]
    for o in portable:
        out.append(Action("Drop", (o,)))
        out += [Action("Give", (o, m)) for m in mates]
    out.append(Action("Done"))
    return out


def resolve(world: Any, agent: str, action: Action) -> Action:
    """The action to step: ``EnterCode`` gets the code ``agent`` knows (or stays ``?``)."""
    if action.name != "EnterCode":
        return action
    target = world.code_lock(action.args[0])
    if target is not None and world.knows_code(agent, target[1]):
        return Action("EnterCode", (action.args[0], target[1].code))
    return action


def depth_channel(depth: np.ndarray, depth_range: float = DEPTH_RANGE) -> np.ndarray:
    """Depth in meters (H, W) float32 -> uint8 (H, W): 0 at the eye, 255 at ``depth_range`` and beyond."""
    d = np.nan_to_num(depth, nan=depth_range, posinf=depth_range)
    return (np.clip(d, 0.0, depth_range) * (255.0 / depth_range) + 0.5).astype(np.uint8)
