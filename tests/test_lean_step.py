"""The lean step: info entries computed on first read, yet always true to their own step."""

import copy
import json
import pickle

import msgpack

import embodied
from embodied.lazyinfo import LazyInfo


def _lazy(calls):
    def make(key):
        def f():
            calls.append(key)
            return [key]

        return f

    return LazyInfo(
        {"a": 1, "b": 2}, {"objects": make("objects"), "allowed_actions": make("allowed_actions")}
    )


def test_lazy_info_is_a_whole_dict_to_every_reader():
    calls = []
    info = _lazy(calls)
    assert info["a"] == 1 and "objects" in info and len(info) == 4 and calls == []
    assert info["objects"] == ["objects"] and calls == ["objects"]
    assert info.get("objects") == ["objects"] and calls == ["objects"]  # computed once
    full = {"a": 1, "b": 2, "objects": ["objects"], "allowed_actions": ["allowed_actions"]}
    for view in (
        lambda i: dict(i),
        lambda i: {**i},
        lambda i: json.loads(json.dumps(i)),
        lambda i: pickle.loads(pickle.dumps(i)),
        lambda i: copy.deepcopy(i),
        lambda i: i.copy(),
        lambda i: msgpack.unpackb(msgpack.packb(i)),
        lambda i: dict(i.items()),
        lambda i: {k: i[k] for k in i},
    ):
        got = view(_lazy([]))
        assert got == full and type(got) is dict, view
    assert _lazy([]) == full and full == _lazy([])
    assert not (_lazy([]) != full)  # noqa: SIM202
    assert sorted(_lazy([])) == sorted(full) and "objects" in repr(_lazy([]))
    info = _lazy(calls := [])
    info["objects"] = "mine"
    del info["allowed_actions"]
    assert dict(info) == {"a": 1, "b": 2, "objects": "mine"} and calls == []


def test_info_read_late_describes_its_own_step():
    with embodied.make("escape/key-door", width=32, height=32) as env:
        _, info0 = env.reset()
        _, _, _, _, late = env.step("RotateLeft")  # kept unread while the world moves on
        assert set(late.pending) == {"objects", "allowed_actions"}
        state = env.get_state()
        for a in ("MoveAhead", "RotateLeft", "MoveAhead", "RotateRight"):
            env.step(a)
        later = env.get_state()
        _, eager = env.set_state(state)  # the same state again, its info read at once
        eager = dict(eager)
        assert late["objects"] == eager["objects"]
        assert late["allowed_actions"] == eager["allowed_actions"]
        assert late["agent"] == eager["agent"]
        # reading the late info restored nothing into the live world
        env.set_state(later)
        assert env.get_state() == later
        assert info0["step"] == 0 and info0["objects"]  # the reset's info too


def test_seeded_reset_materializes_infos_of_the_old_scene():
    from embodied.tasks import Task

    class Seeded(Task):
        def build(self, rng):
            return {
                "rooms": [{"id": "r", "size": [4, 4]}],
                "doors": [{"id": "exit", "between": ["r", "outside"]}],
                "objects": [{"id": f"ball{rng.randrange(100)}", "type": "ball", "room": "r"}],
                "agents": [{"id": "a0", "room": "r"}],
                "goal": {"exit_through": "exit"},
            }

    with embodied.make(Seeded(), width=32, height=32) as env:
        _, old = env.reset(seed=1)
        ids = set(env.world.objs) | {"exit"}
        env.reset(seed=2)
        assert set(env.world.objs) | {"exit"} != ids  # another scene now
        assert {o["objectId"] for o in old["objects"]} == ids


def test_what_the_lean_step_remembers_equals_what_it_would_compute(make_env):
    """Visibility remembered per pose, line of sight per standing point, and goal/progress checks
    skipped on steps that only move: at every step of a random walk that also opens, picks up
    and unlocks things, they equal a fresh computation from the world as it is."""
    import random

    from embodied.actions import NAVIGATION

    env = make_env("key_door", width=32, height=32, max_steps=10_000)
    env.reset()
    rng = random.Random(7)
    w = env.world
    interactions = 0
    for _ in range(400):
        allowed = env.allowed_actions()
        other = [a for a in allowed if a.name not in NAVIGATION and a.name not in ("Done", "Pass", "Say")]
        if other and rng.random() < 0.3:
            act = rng.choice(other)
            interactions += 1
        else:
            act = rng.choice(NAVIGATION)
        _, _, term, trunc, info = env.step(act)
        aid = env.agent_id
        fresh = {t: w.visible(aid, t) for t in (*w.objs, *w.door_specs)}
        assert env.visible(aid) == fresh, act
        assert list(env.visible(aid)) == list(fresh)  # (the order allowed_actions lists things in)
        a = w.agent(aid)
        for dx, dy in ((0.25, 0.0), (-0.25, 0.0), (0.0, 0.25), (0.0, -0.25)):  # free(), remembered
            assert w.free(a["x"] + dx, a["y"] + dy) == w._free(a["x"] + dx, a["y"] + dy, None), act
        assert info["success"] == w.goal_reached()
        holding = {i for i, cp in enumerate(env.checkpoints) if w.holds(cp)}
        assert holding <= env._reached, act
        if term or trunc:
            env.reset()
    assert interactions > 20  # the walk did change the world, not only the poses


def test_a_step_closed_midway_leaves_the_world_as_it_was(make_env):
    """The undo point is cheap (poses field by field; the world snapshotted only when an action
    gets to its effect), yet a step abandoned after its actions were applied and its frame
    requested leaves exactly the state before it: along a random walk that moves, turns, bumps
    into walls and picks up, unlocks and opens things, every step is first tried and rolled back."""
    import random

    from embodied.actions import NAVIGATION

    env = make_env("key_door", width=32, height=32, max_steps=10_000)
    env.reset()
    aid = env.agent_id
    rng = random.Random(3)
    info = None
    done = {"moved": 0, "blocked": 0, "changed": 0}
    for _ in range(300):
        allowed = [a for a in env.allowed_actions() if a.name not in ("Done", "Pass", "Say")]
        other = [a for a in allowed if a.name not in NAVIGATION]
        act = rng.choice(other) if other and rng.random() < 0.4 else rng.choice(NAVIGATION)
        before, reached = env.get_state(), set(env._reached)
        st = env.stepper({aid: act})
        next(st)
        next(st)
        st.close()  # rolled back
        assert env.get_state() == before, act
        assert env._reached == reached, act
        changes = env.world.changes
        _, _, term, trunc, info = env.step(act)
        ok = info["lastActionSuccess"]
        if rng.random() < 0.8:  # (an info kept alive with entries unread is sealed at the next
            del info  # step, which takes the world's snapshot at a change: mostly test without one)
        if act in NAVIGATION:
            done["moved" if ok else "blocked"] += 1
        elif env.world.changes != changes and ok:
            done["changed"] += 1
        if term or trunc:
            env.reset()
    assert min(done.values()) > 3, done


def test_infos_kept_unread_over_many_steps_describe_their_own_step(make_env):
    """Infos kept with entries unread while the env walks on (moving only, or opening, picking up
    and unlocking things, and across a reset) give, read at the end, what the same step's info
    read at once gave: the env keeps their state as poses plus a snapshot the world takes only
    when something but poses changes (World.base), not as a snapshot per step."""
    import random

    from embodied.actions import NAVIGATION

    eager_env = make_env("key_door", width=16, height=16, max_steps=10_000)
    lazy_env = make_env("key_door", width=16, height=16, max_steps=10_000)
    rng = random.Random(11)
    eager, kept = [], []
    changed = 0
    for env in (eager_env, lazy_env):
        _, info = env.reset()
        (eager if env is eager_env else kept).append(dict(info) if env is eager_env else info)
    for i in range(200):
        allowed = [a for a in eager_env.allowed_actions() if a.name not in ("Done", "Pass", "Say")]
        other = [a for a in allowed if a.name not in NAVIGATION]
        act = rng.choice(other) if other and rng.random() < 0.7 else rng.choice(NAVIGATION)
        changes = lazy_env.world.changes
        _, _, term, trunc, info = eager_env.step(act)
        eager.append(dict(info))
        _, _, _, _, info = lazy_env.step(act)
        kept.append(info)
        changed += lazy_env.world.changes != changes
        if term or trunc or i == 100:
            for env in (eager_env, lazy_env):
                _, info = env.reset()
                (eager if env is eager_env else kept).append(dict(info) if env is eager_env else info)
    assert changed > 5, changed  # the walk changed the world, not only the poses
    assert all(set(k.pending) == {"objects", "allowed_actions"} for k in kept)
    for want, got in zip(eager, kept):
        assert dict(got) == want
