"""The landmark-guided validation (embodied/landmarks.py) gives exactly the breadth-first answers.

Generated scenes across every knob range (the slow ones too: branching 3, three agents, depth 6,
four rooms), as generated and broken on purpose (contents spilled out of their containers: locks
become skippable; a key locked in its own chest: unsolvable; a second agent beside the first:
teammates who can meet and hand things over): the fast path's problems (kinds, paths, messages,
shortcut plans) and its plan length equal those of ``validate(fast=False)``, the breadth-first
searches. The slow test repeats that over more seeds and checks the length against the plain
exhaustive search (``reduce=False``) too.
"""

import copy
import random

import pytest
from embodied.procedural.rules import KNOBS, build, check_knobs, sample_knobs

from embodied.landmarks import Landmarks
from embodied.solver import solve
from embodied.spec import load_spec
from embodied.validate import validate
from embodied.world import World


def _scene(seed: int, **knobs) -> dict:
    """The generated scene (rooms grown as the generator grows them), before validation."""
    k = check_knobs(knobs)
    for grow in (0.0, 1.0, 2.0, 3.0):
        data = build(random.Random(seed), seed, k, grow)
        if not any(kind == "geometry" for kind, _, _ in validate(data, walk=False, time_limit=None).problems):
            return data
    raise AssertionError(f"no room size fits seed {seed}")


def _spilled(data: dict) -> dict:
    """Every container's contents out on the floor of its room (its locks guard nothing now)."""
    d = copy.deepcopy(data)
    objs = {o["id"]: o for o in d["objects"]}
    for o in d["objects"]:
        if o.get("contains") and o.get("room"):
            for c in o["contains"]:
                objs[c]["room"] = o["room"]
            o["contains"] = []
    return d


def _key_locked_in(data: dict) -> dict | None:
    """The key of the first key-locked container moved inside that container (unsolvable if needed)."""
    d = copy.deepcopy(data)
    objs = {o["id"]: o for o in d["objects"]}
    box = next((o for o in d["objects"] if (o.get("lock") or {}).get("kind") == "key" and "room" in o), None)
    if box is None:
        return None
    key = objs[box["lock"]["key"]]
    for o in d["objects"]:
        if key["id"] in o.get("contains", []):
            o["contains"].remove(key["id"])
    key.pop("room", None)
    box["contains"] = [*box.get("contains", []), key["id"]]
    return d


def _shared(data: dict) -> dict:
    """A second agent beside the first: they can meet, hand things over and both read."""
    d = copy.deepcopy(data)
    first = d["agents"][0]
    d["agents"].append({"id": "a9", "room": first["room"]})
    return d


def _same_verdicts(data: dict) -> tuple:
    fast = validate(copy.deepcopy(data), walk=False, time_limit=None)
    plain = validate(copy.deepcopy(data), walk=False, time_limit=None, fast=False)
    if plain.verdict is not None and plain.verdict.too_large:  # the breadth-first search gave up
        assert not fast.verdict.too_large
        return fast, plain
    assert fast.problems == plain.problems, data["name"]
    if plain.verdict is not None:
        assert (fast.verdict.solvable, fast.verdict.length) == (plain.verdict.solvable, plain.verdict.length)
        assert fast.verdict.reason == plain.verdict.reason
    return fast, plain


# every value of every knob (the others at their defaults), two seeds each, plus random mixes
CASES = [(seed, {name: v}) for name, (lo, hi) in KNOBS.items() for v in range(lo, hi + 1) for seed in (1, 2)]
CASES += [(seed, sample_knobs(seed)) for seed in (13, 19, 43, 512, 600)]


@pytest.mark.parametrize("seed, knobs", CASES, ids=[f"{s}-{k}" for s, k in CASES])
def test_fast_validation_equals_the_breadth_first_one(seed, knobs):
    data = _scene(seed, **knobs)
    fast, _ = _same_verdicts(data)
    assert fast.ok
    locked = _key_locked_in(data)
    if locked is not None:
        _same_verdicts(locked)


# broken on purpose: small scenes, since the breadth-first search of a spilled or shared scene grows fast
BROKEN = [
    (seed, dict(depth=d, rooms=r))
    for seed, d, r in ((9, 3, 1), (9, 3, 2), (10, 2, 3), (11, 2, 2), (13, 3, 2))
]


@pytest.mark.parametrize("seed, knobs", BROKEN)
def test_fast_validation_equals_the_breadth_first_one_on_broken_scenes(seed, knobs):
    data = _scene(seed, **knobs)
    for variant in (_spilled(data), _shared(data), _shared(_spilled(data))):
        _same_verdicts(variant)


def test_broken_scenes_are_caught_by_both_paths():
    fast, _ = _same_verdicts(_spilled(_scene(9, depth=3, rooms=1)))
    assert [kind for kind, _, _ in fast.problems] == ["shortcut", "shortcut"], fast.problems
    locked = _key_locked_in(_scene(10, depth=2, rooms=2))
    assert locked is not None
    fast, _ = _same_verdicts(locked)
    assert [kind for kind, _, _ in fast.problems] == ["unsolvable"], fast.problems


def test_every_generated_lock_is_a_landmark():
    """The rule generator's required locks are all proven needed from the structure alone (no
    search), in single- and multi-agent scenes."""
    for seed in range(40):
        spec = load_spec(_scene(seed, **sample_knobs(seed)))
        marks = Landmarks(World(spec))
        assert marks.ok
        assert [r for r in spec.required if not marks.has_unlock(r)] == [], seed


def test_guided_search_is_optimal_on_the_shipped_scenes():
    for name in ("key_door", "note_code", "chest_split_code", "two_rooms", "kitchen_put", "collab_split"):
        spec = load_spec(name)
        plain, guided = solve(spec, time_limit=None), solve(spec, time_limit=None, guided=True)
        assert (guided.solvable, guided.length) == (plain.solvable, plain.length), name


def test_guided_search_searches_few_states_where_chains_interleave():
    # three independent chains: the breadth-first search meets every interleaving of them
    spec = load_spec(_scene(1, branching=3))
    plain, guided = solve(spec, time_limit=None), solve(spec, time_limit=None, guided=True)
    assert guided.length == plain.length
    assert guided.states * 2 < plain.states, (guided.states, plain.states)


@pytest.mark.slow
@pytest.mark.timeout(900)  # (about a minute of CPU; more wall time on a loaded machine)
def test_fast_validation_equals_the_plain_search_over_many_seeds():
    """50 more sweep seeds (knobs across the ranges) and their broken variants: the same problems
    as the breadth-first validation, and the same length as the plain exhaustive search
    (``reduce=False``) wherever that finishes within 5,000 states."""
    compared = 0
    for seed in range(1000, 1050):
        data = _scene(seed, **sample_knobs(seed))
        variants = [data, _key_locked_in(data)]
        if len(data["objects"]) <= 8:
            variants += [_spilled(data), _shared(data)]
        for variant in filter(None, variants):
            fast, reduced = _same_verdicts(variant)
            if fast.verdict is None or reduced.verdict.states > 1_000:  # (the plain search would not finish)
                continue
            plain = solve(load_spec(copy.deepcopy(variant)), time_limit=None, reduce=False, max_states=5_000)
            if not plain.too_large:
                assert (plain.solvable, plain.length) == (fast.verdict.solvable, fast.verdict.length), seed
                compared += 1
    assert compared > 40, compared


def test_guided_search_with_a_handover():
    # a1 holds the keypad's side; the code is in a book in a0's den, behind a hatch both can pass:
    # reading it where it lies, or handing it over, or saying the code - the guided search must
    # count none of these as forced (they can meet) and still find the optimal length
    spec = load_spec(
        {
            "rooms": [
                {"id": "hall", "size": [4, 4], "at": [0, 0]},
                {"id": "den", "size": [4, 4], "at": [4, 0]},
            ],
            "doors": [
                {"id": "hatch", "between": ["den", "hall"]},
                {"id": "exit", "between": ["hall", "outside"], "lock": {"kind": "code", "code": "4172"}},
            ],
            "objects": [
                {"id": "book", "type": "book", "room": "den", "text": "4172"},
                {"id": "box", "type": "box", "room": "den", "contains": ["key"]},
                {"id": "key", "type": "key"},
            ],
            "agents": [{"id": "a0", "room": "den"}, {"id": "a1", "room": "hall"}],
            "goal": {"exit_through": "exit"},
        }
    )
    marks = Landmarks(World(spec))
    assert marks.ok and ("heard", "4172") not in marks.facts
    plain, guided = solve(spec, time_limit=None, reduce=False), solve(spec, time_limit=None, guided=True)
    assert guided.solvable and guided.length == plain.length
