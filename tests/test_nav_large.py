"""Rooms up to the spec's 100 m a side: the validator walks the plan and the oracle escapes."""

from __future__ import annotations

import math

import pytest

from embodied import Action
from embodied.bench.budget import oracle_actions
from embodied.nav import NavConfig, Near, gave_up_reason, plan_path, search_gave_up
from embodied.rules import apply
from embodied.spec import load_spec
from embodied.validate import validate
from embodied.world import World
from tests.helpers import room


def big_hall(n: float):
    """An n x n hall; the key in a closet off its far east end, the locked exit at the far north-west."""
    return room(
        rooms=[{"id": "hall", "size": [n, n], "at": [0, 0]}, {"id": "closet", "size": [4, 4], "at": [n, 0]}],
        doors=[
            {"id": "d1", "between": ["hall", "closet"], "wall": "east", "offset": 2},
            {
                "id": "exit",
                "between": ["hall", "outside"],
                "wall": "north",
                "offset": 1.5,
                "lock": {"kind": "key", "key": "k"},
            },
        ],
        objects=[
            {"id": "table", "type": "table", "room": "closet", "wall": "east", "contains": ["k"]},
            {"id": "k", "type": "key"},
        ],
        agents=[{"id": "a0", "room": "hall", "at": [1, 1], "yaw": 0}],
        required=["exit"],
    )


@pytest.mark.parametrize("n", [30, 100])
def test_the_oracle_escapes_rooms_up_to_the_spec_limit(n):
    spec = load_spec(big_hall(n))
    report = validate(spec)  # walks the plan with the real rules
    assert report.ok, report.lines()  # was: 'the path planner gave up after 60,000 poses'
    steps = oracle_actions(spec)  # the oracle, stepped by the rules, reaches the goal
    moves = sum(str(s["a0"]).startswith("Move") for s in steps)
    w = World(spec)
    (x0, y0), (x1, y1), (x2, y2) = (1, 1), w.position("d1")[:2], w.position("exit")[:2]
    walk = (abs(x1 - x0) + abs(y1 - y0) + abs(x2 - x1) + abs(y2 - y1)) / 0.25  # grid steps via the door
    assert walk * 0.9 <= moves <= walk * 1.1 + 20, (moves, walk)  # no detours


def aims(w: World, t: str, reach: float):
    """path_to_interact's goal for ``t`` in ``w``, and ``free`` for agent a0."""
    tp = w.position(t)

    def goal(p):
        return math.hypot(p[0] - tp[0], p[1] - tp[1]) <= reach and w.interactable("a0", t, p)[0]

    def free(x, y):
        return w.free_for("a0", x, y)

    return goal, free, Near.disc(tp[0], tp[1], reach)


@pytest.mark.parametrize("scene", ["key_door", "two_rooms", "kitchen_put", "note_code"])
def test_where_the_breadth_first_search_finds_a_path_that_path_is_kept(scene):
    """``near`` changes nothing where the breadth-first search alone finds the way: the same
    shortest path (frozen suites' step counts stay exact)."""
    w = World(load_spec(scene))
    for t in [*w.objs, *w.layout.doors]:
        goal, free, near = aims(w, t, w.nav.reach)
        plain = plan_path(w.pose("a0"), goal, free, w.nav)
        assert not search_gave_up()
        assert plan_path(w.pose("a0"), goal, free, w.nav, near=near) == plain


def hall20():
    return room(
        rooms=[{"id": "hall", "size": [20, 20], "at": [0, 0]}],
        doors=[{"id": "exit", "between": ["hall", "outside"], "wall": "east", "offset": 18.8}],
        agents=[{"id": "a0", "room": "hall", "at": [1, 1], "yaw": 0}],
    )


def test_a_room_too_large_for_the_breadth_first_search_alone():
    """A 20 m room: the breadth-first search alone stops at its budget (60,000 poses); with ``near``
    the path is found, and replays under the env's rules."""
    w = World(load_spec(hall20()))
    goal, free, near = aims(w, "exit", 1.5)
    start = w.pose("a0")
    path = plan_path(start, goal, free, w.nav, near=near)
    assert path and not search_gave_up()
    for a in path:  # the env's own rules, step by step
        assert apply(w, "a0", Action(a)).success, a
    assert goal(w.pose("a0"))


@pytest.mark.parametrize(
    "rotate, moves", [(45, "all"), (45, "ahead"), (30, "ahead"), (60, "ahead"), (120, "ahead")]
)
def test_the_long_room_route_takes_other_turn_sizes(rotate, moves):
    """Turns of 45° and 30° reach right angles (the square lattice); 60° and 120° walk triangles:
    the 20 m room's path is found with every move and with MoveAhead and turns alone (as
    path_to_room plans), and replays under the env's rules with those turns."""
    w = World(load_spec(hall20()), NavConfig(rotate=rotate))
    goal, free, near = aims(w, "exit", 1.5)
    kw = {} if moves == "all" else {"moves": ("MoveAhead", "RotateLeft", "RotateRight")}
    path = plan_path(w.pose("a0"), goal, free, w.nav, near=near, **kw)
    assert path and not search_gave_up()
    for a in path:
        assert apply(w, "a0", Action(a)).success, a
    assert goal(w.pose("a0"))


def test_turns_that_keep_no_lattice_are_refused_clearly():
    """MoveAhead and turns of 72°: the positions fill the floor densely, no route is walked; the
    breadth-first search gives up as before, and the planner says why."""
    w = World(load_spec(hall20()), NavConfig(rotate=72))
    goal, free, near = aims(w, "exit", 1.5)
    moves = ("MoveAhead", "RotateLeft", "RotateRight")
    assert plan_path(w.pose("a0"), goal, free, w.nav, moves=moves, near=near) is None and search_gave_up()
    assert "turns of 72°" in gave_up_reason()
