"""Each action's preconditions and effects, on the world model with real navigation."""

import pytest

from embodied.actions import Action
from embodied.rules import apply

from .helpers import approach, do, room, world

OBJS = [
    {
        "id": "chest",
        "type": "chest",
        "room": "hall",
        "wall": "south",
        "contains": ["key"],
        "lock": {"kind": "code", "code": "1234"},
    },
    {"id": "key", "type": "key"},
    {"id": "box", "type": "box", "room": "hall", "wall": "west"},
    {"id": "note", "type": "note", "room": "hall", "wall": "east", "text": "code 1234"},
    {"id": "lamp", "type": "lamp", "room": "hall", "wall": "north"},
    {"id": "apple", "type": "apple", "room": "hall", "at": [2.5, 1.0]},
]


@pytest.fixture
def w():
    return world(
        room(
            objects=OBJS,
            doors=[
                {
                    "id": "exit",
                    "between": ["hall", "outside"],
                    "wall": "north",
                    "lock": {"kind": "key", "key": "key"},
                }
            ],
        )
    )


def test_pickup_needs_reach_then_holds(w):
    r = do(w, "Pickup(apple)")
    assert not r.success and ("away" in r.message or "not in view" in r.message)
    approach(w, "apple")
    r = do(w, "Pickup(apple)")
    assert r.success and w.holder("apple") == "a0" and w.agent("a0")["inventory"] == ["apple"]
    assert not do(w, "Pickup(apple)").success  # already held


def test_pickup_rejects_non_pickupable(w):
    approach(w, "box")
    r = do(w, "Pickup(box)")
    assert not r.success and "cannot be picked up" in r.message


def test_locked_chest_hides_key_until_code(w):
    approach(w, "chest")
    assert not w.visible("a0", "key")
    r = do(w, "Open(chest)")
    assert not r.success and "locked" in r.message and "EnterCode" in r.message
    r = do(w, "Pickup(key)")
    assert not r.success and "inside the closed chest" in r.message
    r = do(w, "EnterCode(chest, 9999)")
    assert not r.success and "wrong code" in r.message and w.thing("chest")["locked"]
    assert do(w, "EnterCode(chest, 1234)").success and not w.thing("chest")["locked"]
    assert do(w, "Open(chest)").success and w.thing("chest")["open"]
    assert not do(w, "Open(chest)").success  # already open
    assert do(w, "Pickup(key)").success
    assert do(w, "Close(chest)").success and not w.thing("chest")["open"]


def test_read_reveals_text_and_records(w):
    approach(w, "note")
    r = do(w, "Read(note)")
    assert r.success and "code 1234" in r.text and "note" in w.agent("a0")["read"]
    approach(w, "box")
    assert not do(w, "Read(box)").success


def test_unlock_door_with_key_and_walk_out(w):
    approach(w, "chest")
    for a in ("EnterCode(chest, 1234)", "Open(chest)", "Pickup(key)"):
        assert do(w, a).success, a
    approach(w, "exit")
    assert not do(w, "Open(exit)").success
    assert not do(w, "Unlock(exit, apple)").success  # not holding it
    assert do(w, "Unlock(exit, key)").success
    assert do(w, "Open(exit)").success
    assert not w.goal_reached()


def test_put_and_drop(w):
    approach(w, "apple")
    assert do(w, "Pickup(apple)").success
    approach(w, "box")
    r = do(w, "Put(apple, box)")
    assert not r.success and "closed" in r.message
    assert do(w, "Open(box)").success
    assert not do(w, "Put(apple, note)").success
    assert do(w, "Put(apple, box)").success and w.container_chain("apple") == ["box"]
    assert do(w, "Pickup(apple)").success
    assert do(w, "Drop(apple)").success and w.state["objects"]["apple"]["loc"] == ["room", "hall"]
    assert not do(w, "Drop(apple)").success


def test_toggle(w):
    approach(w, "lamp")
    assert do(w, "ToggleOn(lamp)").success and w.thing("lamp")["on"]
    assert not do(w, "ToggleOn(lamp)").success
    assert do(w, "ToggleOff(lamp)").success and not w.thing("lamp")["on"]
    assert not do(w, "Press(lamp)").success


def test_button_controls_door():
    w = world(
        room(
            objects=[{"id": "btn", "type": "button", "room": "hall", "controls": "exit"}],
            doors=[
                {
                    "id": "exit",
                    "between": ["hall", "outside"],
                    "wall": "north",
                    "lock": {"kind": "code", "code": "1"},
                }
            ],
        )
    )
    approach(w, "btn")
    assert do(w, "Press(btn)").success
    assert w.thing("exit")["open"] and not w.thing("exit")["locked"]


def test_movement_collides_with_walls_and_rotation():
    w = world(room())
    a = w.agent("a0")
    assert a["yaw"] == 0
    moved = 0
    while apply(w, "a0", Action("MoveAhead")).success:
        moved += 1
        assert moved < 40
    assert a["y"] < 4.0 - 0.2 + 1e-9 or a["room"] == "outside"
    assert apply(w, "a0", Action("RotateLeft")).success and a["yaw"] == 90
    assert apply(w, "a0", Action("TurnAround")).success and a["yaw"] == 270
    for _ in range(2):
        assert apply(w, "a0", Action("LookDown")).success
    assert not apply(w, "a0", Action("LookDown")).success  # horizon limit 60
    assert a["horizon"] == 60


def test_closed_door_blocks_and_open_door_lets_through():
    w = world(room())
    approach(w, "exit")
    assert not w.thing("exit")["open"]
    assert do(w, "Open(exit)").success
    from embodied.planning import path_to_room

    for m in path_to_room(w, "a0", "outside"):
        assert apply(w, "a0", Action(m)).success
    assert w.agent("a0")["room"] == "outside" and w.agent("a0")["exited"] == "exit"
    assert w.goal_reached()


def test_say_and_give_between_agents():
    w = world(
        room(
            agents=[{"id": "a0", "room": "hall"}, {"id": "a1", "room": "hall"}],
            objects=[{"id": "apple", "type": "apple", "room": "hall", "at": [2.5, 1.0]}],
        )
    )
    assert do(w, 'Say("the code is 4172")').success
    assert w.agent("a1")["heard"] == ["the code is 4172"] and w.agent("a0")["heard"] == []
    assert not do(w, 'Say("  ")').success
    approach(w, "apple")
    assert do(w, "Pickup(apple)").success
    r = do(w, "Give(apple, nobody)")
    assert not r.success and "teammates: a1" in r.message
    w.agent("a0").update(x=w.agent("a1")["x"] + 0.5, y=w.agent("a1")["y"])
    assert do(w, "Give(apple, a1)").success and w.holder("apple") == "a1"


def test_unknown_object_message():
    w = world(room())
    r = do(w, "Open(chest_9)")
    assert not r.success and "unknown object 'chest_9'" in r.message


def test_failed_action_changes_nothing(w):
    before = w.get_state()
    for a in (
        "Open(chest)",
        "Pickup(key)",
        "Unlock(exit, key)",
        "EnterCode(chest, 0000)",
        "Put(key, box)",
        "Drop(apple)",
    ):
        assert not do(w, a).success
    after = w.get_state()
    after["objects"]["chest"]["display"] = before["objects"]["chest"][
        "display"
    ]  # the keypad shows the wrong code
    assert after == before


def test_cannot_close_a_door_on_someone():
    w = world(room())
    approach(w, "exit")
    assert do(w, "Open(exit)").success
    d = w.layout.doors["exit"]
    w.agent("a0").update(x=d.center[0], y=d.center[1] - 0.2, yaw=0.0, horizon=30.0)  # overlapping the gap
    r = do(w, "Close(exit)")
    assert not r.success and "a0 in the doorway" in r.message
