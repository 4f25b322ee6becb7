"""Planning helpers on the world model: paths to where a plan step can be done, and checkpoints.

This is the world-model layer (no engine, no ZeroMQ, no Gymnasium): the env, the oracle, the
validator and the generators all plan with these, so what the validator calls walkable is what
the oracle walks. See docs/architecture.md.

- :func:`path_to_interact`, :func:`path_to_room`, :func:`free_fn`: navigation actions on the
  pose grid of :func:`embodied.nav.plan_path`, using the world's own "may stand here" and
  "interactable" rules.
- :func:`expand_step`: one abstract :class:`~embodied.solver.PlanStep` as the walking and the
  interaction that carry it out.
- :data:`CHECKPOINT`, :func:`checkpoints_from_plan`: the goal predicate that shows a plan step
  done (partial progress; a teammate waiting for another's step).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .layout import OUTSIDE, Rect
from .nav import Near, angle_diff, bearing_to, plan_path
from .solver import PlanStep
from .world import World

READ_DISTANCE = 0.8  # meters: stand this close to read a note, so the frame shows it legibly
CENTERED = 18.0  # degrees from the view's edges: the target is shown well inside the frame


def free_fn(w: World, aid: str) -> Callable[[float, float], bool]:
    """``free(x, y)`` for planning ``aid``'s path in the current state (obstacles gathered once)."""
    obstacles = w.blockers() + w.footprints()
    return lambda x, y: w.free_for(aid, x, y, obstacles)


def path_to_interact(
    w: World, aid: str, target: str, max_dist: float | None = None, square: bool = False, margin: float = 2.0
) -> list[str] | None:
    """Navigation actions that bring ``aid`` to a pose where ``target`` is interactable.

    ``square``: also face the target's front head-on (within 20 degrees), as a person does to read a note.
    ``margin``: degrees the target must lie inside the edges of the view (larger: more centered).
    """
    limit = max_dist or w.nav.reach
    tp = w.position(target)
    front = w.thing(target)["yaw"] if square and target in w.objs else None

    def goal(pose):
        if math.hypot(tp[0] - pose[0], tp[1] - pose[1]) > limit:
            return False
        if front is not None and (abs(angle_diff(pose[2], front)) > 1e-6 or abs(bearing_to(pose, tp)) > 20):
            return False
        return w.interactable(aid, target, pose, margin=margin)[0]

    return plan_path(w.pose(aid), goal, free_fn(w, aid), w.nav, near=Near.disc(tp[0], tp[1], limit))


def path_to_room(w: World, aid: str, room: str) -> list[str] | None:
    """Moves and turns that bring ``aid`` well inside ``room`` (or out of the building for ``outside``)."""
    margin = 0.5

    def goal(pose):
        if room == OUTSIDE:
            return w.layout.room_at(pose[0], pose[1]) == OUTSIDE and any(
                r.contains(pose[0], pose[1], 0.3) for r in w.layout.outside
            )
        return w.layout.rooms[room].contains(pose[0], pose[1], margin)

    if room == OUTSIDE:
        b = w.layout.bounds  # the outside areas lie around the building, within a meter of it
        near = Near(Rect(b.x0 - 1.0, b.y0 - 1.0, b.x1 + 1.0, b.y1 + 1.0), lambda x, y: goal((x, y)))
    else:
        near = Near(w.layout.rooms[room], lambda x, y: goal((x, y)))
    return plan_path(
        w.pose(aid), goal, free_fn(w, aid), w.nav, moves=("MoveAhead", "RotateLeft", "RotateRight"), near=near
    )


def expand_step(w: World, aid: str, step: PlanStep) -> list | None:
    """The navigation actions and the interaction that carry out one abstract plan step from the
    current pose, or None when no walkable path leads to where it can be done."""
    if step.verb == "GoTo":
        return path_to_room(w, aid, step.args[0])
    if step.verb == "Say":
        return [step.action]
    if step.verb == "Give":
        mate = w.agent(step.args[1])
        reach = w.nav.reach - 0.1
        moves = plan_path(
            w.pose(aid),
            lambda p: math.hypot(p[0] - mate["x"], p[1] - mate["y"]) <= reach,
            free_fn(w, aid),
            w.nav,
            near=Near.disc(mate["x"], mate["y"], reach),
        )
        return None if moves is None else [*moves, step.action]
    target = step.args[1] if step.verb == "Put" else step.args[0]
    moves = None
    if step.verb == "Read":
        moves = path_to_interact(w, aid, target, max_dist=READ_DISTANCE, square=True, margin=CENTERED)
    if moves is None:  # well inside the view, so the frame shows what is done; else the plain rule
        moves = path_to_interact(w, aid, target, margin=CENTERED)
    if moves is None:
        moves = path_to_interact(w, aid, target)
    return None if moves is None else [*moves, step.action]


def _code_owner(s: PlanStep, w: World) -> str:
    found = w.code_lock(s.args[0])
    return found[0] if found else s.args[0]


# plan verb -> the predicate that shows the step done (for partial progress and for waiting on teammates)
CHECKPOINT: dict[str, Callable[[PlanStep, World], dict[str, Any]]] = {
    "GoTo": lambda s, w: {"agent_in": [s.agent, s.args[0]]},
    "Pickup": lambda s, w: {"holding": [s.agent, s.args[0]]},
    "Open": lambda s, w: {"state": [s.args[0], "open"]},
    "Unlock": lambda s, w: {"state": [s.args[0], "unlocked"]},
    "EnterCode": lambda s, w: {"state": [_code_owner(s, w), "unlocked"]},
    "Read": lambda s, w: {"read": [s.agent, s.args[0]]},
    "Press": lambda s, w: {"state": [s.args[0], "pressed"]},
    "ToggleOn": lambda s, w: {"state": [s.args[0], "on"]},
    "ToggleOff": lambda s, w: {"state": [s.args[0], "off"]},
    "Put": lambda s, w: {"inside": [s.args[0], s.args[1]]},
    "Say": lambda s, w: {"said": [s.agent, s.args[0]]},
    "Give": lambda s, w: {"holding": [s.args[1], s.args[0]]},
}


def checkpoints_from_plan(plan: list[PlanStep], w: World) -> list[dict[str, Any]]:
    """One predicate per plan step, for partial progress (docs/scene-format.md, "Checkpoints")."""
    out: list[dict[str, Any]] = []
    for step in plan:
        make = CHECKPOINT.get(step.verb)
        cp = make(step, w) if make is not None else None
        if cp is not None and cp not in out:
            out.append(cp)
    return out
