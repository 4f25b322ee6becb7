"""Table-driven tests of free-text grounding (embodied.language.ground)."""

from __future__ import annotations

import pytest

from embodied.actions import Action
from embodied.errors import ActionError
from embodied.language import Candidate, Context, ground

C = Candidate
ROOM = Context(
    objects=(
        C("chest_red", "chest", "red chest", "red", distance=1.2, bearing=-20),
        C("chest_blue", "chest", "blue chest", "blue", distance=2.5, bearing=25),
        C("brass_key", "key", "brass key", held=True),
        C("note_1", "note", "note", distance=1.0, bearing=5),
        C("keypad", "keypad", "keypad", distance=2.0, bearing=40),
        C("exit_door", "door", "exit door", distance=4.0, bearing=0),
        C("drawer_1", "drawer", distance=1.5, bearing=-30),
        C("drawer_2", "drawer", distance=1.5, bearing=0),
        C("drawer_3", "drawer", distance=1.6, bearing=30),
        C("iron_key", "key", "iron key", distance=6.0, bearing=90, visible=False),
    ),
    agents=("bob", "a1"),
    allowed=(
        Action("MoveAhead"),
        Action("Open", ("chest_red",)),
        Action("Read", ("note_1",)),
        Action("EnterCode", ("keypad", "4172")),
        Action("Pass"),
    ),
)
KITCHEN = Context(
    objects=(
        C("apple_1", "apple", "apple", "red", distance=0.8, bearing=-10),
        C("fridge", "fridge", "fridge", "white", distance=2.0, bearing=15),
        C("lamp", "lamp", "desk lamp", distance=3.0, bearing=-45),
        C("box_a", "box", "cardboard box", distance=1.0, bearing=-40),
        C("box_b", "box", "cardboard box", distance=3.0, bearing=40),
        C("button", "button", "red button", "red", distance=1.1, bearing=0),
    ),
    agents=("bob",),
)
# a room where nothing is held and there are two keys in view
TWO_KEYS = Context(
    objects=(
        C("gold_key", "key", "gold key", "gold", distance=1.0, bearing=-10),
        C("silver_key", "key", "silver key", "silver", distance=2.0, bearing=10),
        C("chest", "chest", "chest", distance=1.5),
    ),
)
CTX = {"room": ROOM, "kitchen": KITCHEN, "keys": TWO_KEYS}

# (context, text, expected str(Action) or "!substring of the ActionError message")
CASES = [
    # --- open / close
    ("room", "open the red chest", "Open(chest_red)"),
    ("room", "Open the RED chest!!", "Open(chest_red)"),
    ("room", "open red chest", "Open(chest_red)"),
    ("room", "please open the blue chest", "Open(chest_blue)"),
    ("room", "Could you open the blue chest, please?", "Open(chest_blue)"),
    ("room", "I think I should open the red chest.", "Open(chest_red)"),
    ("room", "Action: open the red chest", "Open(chest_red)"),
    ("room", "go ahead and open the blue chest", "Open(chest_blue)"),
    ("room", "open the red one", "Open(chest_red)"),
    ("room", "open chest_blue", "Open(chest_blue)"),
    ("room", "open the chests", "!ambiguous 'chests'"),
    ("room", "open the chest", "!ambiguous 'chest': chest_red (red, 1.2 m"),
    ("room", "open the closest chest", "Open(chest_red)"),
    ("room", "open the nearest chest", "Open(chest_red)"),
    ("room", "open the farthest chest", "Open(chest_blue)"),
    ("room", "open the chest on the right", "Open(chest_blue)"),
    ("room", "open the left chest", "Open(chest_red)"),
    ("room", "close the red chest", "Close(chest_red)"),
    ("room", "shut the blue chest", "Close(chest_blue)"),
    ("room", "open the exit", "Open(exit_door)"),
    ("room", "open the exit door", "Open(exit_door)"),
    ("room", "open the gate", "Open(exit_door)"),
    ("room", "open the banana", "!no object matches 'banana'"),
    ("room", "open the green chest", "!no object matches 'green chest'"),
    ("room", "open", "!which object? name it"),
    ("room", "don't open the blue chest; open the red one", "Open(chest_red)"),
    ("room", "The chest looks locked. Open the red chest.", "Open(chest_red)"),
    ("room", "my next action is to open the red chest", "Open(chest_red)"),
    ("room", '"open the red chest"', "Open(chest_red)"),
    ("room", "open the red chest to get the key", "Open(chest_red)"),
    ("room", "open the red chest with the brass key", "Unlock(chest_red, brass_key)"),
    # --- drawers: ordinals and bearings
    ("room", "open the second drawer", "Open(drawer_2)"),
    ("room", "open the 3rd drawer", "Open(drawer_3)"),
    ("room", "open drawer 1", "Open(drawer_1)"),
    ("room", "open the last drawer", "Open(drawer_3)"),
    ("room", "open the drawer on the left", "Open(drawer_1)"),
    ("room", "open the rightmost drawer", "Open(drawer_3)"),
    ("room", "open the middle drawer", "Open(drawer_2)"),
    ("room", "open the drawer", "!ambiguous 'drawer'"),
    ("room", "open the fifth drawer", "!no 'fifth drawer'"),
    ("room", "open the drawers", "!ambiguous"),
    # --- pickup / drop / put
    ("room", "pick up the key", "Pickup(brass_key)"),
    ("room", "Next, I will pick up the key because it opens the chest", "Pickup(brass_key)"),
    ("room", "grab the brass key", "Pickup(brass_key)"),
    ("room", "take the note", "Pickup(note_1)"),
    ("room", "get the paper", "Pickup(note_1)"),
    ("room", "collect the clue", "Pickup(note_1)"),
    ("room", "pick the note up", "Pickup(note_1)"),
    ("room", "pick up the iron key", "Pickup(iron_key)"),
    ("keys", "pick up the key", "!ambiguous 'key': gold_key (gold, 1.0 m"),
    ("keys", "pick up the gold key", "Pickup(gold_key)"),
    ("keys", "pick up the silver one", "Pickup(silver_key)"),
    ("keys", "take the first key", "Pickup(gold_key)"),
    ("keys", "take the second key", "Pickup(silver_key)"),
    ("keys", "grab the farthest key", "Pickup(silver_key)"),
    ("room", "drop the key", "Drop(brass_key)"),
    ("room", "drop it", "Drop(brass_key)"),
    ("room", "let go of the key", "Drop(brass_key)"),
    ("room", "put down the key", "Drop(brass_key)"),
    ("room", "put the key in the blue chest", "Put(brass_key, chest_blue)"),
    ("room", "place the key into the red chest", "Put(brass_key, chest_red)"),
    ("room", "insert the key in drawer 2", "Put(brass_key, drawer_2)"),
    ("room", "drop the key in the second drawer", "Put(brass_key, drawer_2)"),
    ("room", "put it on the red chest", "Put(brass_key, chest_red)"),
    ("room", "put the key", "!where"),
    ("kitchen", "put the apple in the fridge", "Put(apple_1, fridge)"),
    ("kitchen", "place the apple inside the refrigerator", "Put(apple_1, fridge)"),
    ("kitchen", "put the apple in the box", "!ambiguous 'box': box_a"),
    ("kitchen", "put the apple in the nearest crate", "Put(apple_1, box_a)"),
    # --- unlock / codes
    ("room", "unlock the red chest", "Unlock(chest_red, brass_key)"),
    ("room", "unlock the exit door with the brass key", "Unlock(exit_door, brass_key)"),
    ("room", "use the key on the door", "Unlock(exit_door, brass_key)"),
    ("keys", "unlock the chest", "!with which key"),
    ("keys", "unlock the chest with the gold key", "Unlock(chest, gold_key)"),
    ("room", "type 4172 into the keypad", "EnterCode(keypad, 4172)"),
    ("room", "enter 4172 on the keypad", "EnterCode(keypad, 4172)"),
    ("room", "input the code 4172", "EnterCode(keypad, 4172)"),
    ("room", "input the code: 4172", "EnterCode(keypad, 4172)"),
    ("room", "punch in 4172", "EnterCode(keypad, 4172)"),
    ("room", "key in 0042 on the pad", "EnterCode(keypad, 0042)"),
    ("room", "type 4 1 7 2 on the keypad", "EnterCode(keypad, 4172)"),
    ("room", "use code 4172 on the door", "EnterCode(exit_door, 4172)"),
    ("room", "I'll enter the code 4172 into the keypad to open the door", "EnterCode(keypad, 4172)"),
    ("room", "type the code on the keypad", "!no code"),
    ("kitchen", "type 1234", "!no keypad is visible"),
    # --- read / press / toggle
    ("room", "read the note", "Read(note_1)"),
    ("room", "look at the letter", "Read(note_1)"),
    ("room", "examine the clue", "Read(note_1)"),
    ("room", "inspect the message", "Read(note_1)"),
    ("kitchen", "press the button", "Press(button)"),
    ("kitchen", "push the red button", "Press(button)"),
    ("kitchen", "hit the button", "Press(button)"),
    ("kitchen", "turn on the lamp", "ToggleOn(lamp)"),
    ("kitchen", "switch on the light", "ToggleOn(lamp)"),
    ("kitchen", "turn the lamp on", "ToggleOn(lamp)"),
    ("kitchen", "activate the desk lamp", "ToggleOn(lamp)"),
    ("kitchen", "light the lamp", "ToggleOn(lamp)"),
    ("kitchen", "turn off the lamp", "ToggleOff(lamp)"),
    ("kitchen", "switch the lamp off", "ToggleOff(lamp)"),
    ("kitchen", "deactivate the lamp", "ToggleOff(lamp)"),
    ("kitchen", "open the fridge", "Open(fridge)"),
    ("kitchen", "open the white one", "Open(fridge)"),
    ("kitchen", "open the red one", "!ambiguous"),
    ("kitchen", "eat the apple", "!could not find an action"),
    # --- teammates
    ("room", "tell Bob the code is 4172", 'Say("the code is 4172")'),
    ("room", "tell bob that the code is 4172.", 'Say("the code is 4172")'),
    ("room", "say 'hello'", 'Say("hello")'),
    ("room", 'say "Hi, Bob. The code is 4172!"', 'Say("Hi, Bob. The code is 4172!")'),
    ("room", "say hello to bob", 'Say("hello")'),
    ("room", "ask a1 to open the door", 'Say("open the door")'),
    ("room", "tell the team: the key is in drawer 2", 'Say("the key is in drawer 2")'),
    ("room", "say", "!say what"),
    ("room", "give the key to Bob", "Give(brass_key, bob)"),
    ("room", "hand bob the key", "Give(brass_key, bob)"),
    ("room", "give a1 the brass key", "Give(brass_key, a1)"),
    ("room", "pass the key to a1", "Give(brass_key, a1)"),
    ("room", "give the key to carol", "!unknown teammate 'carol'"),
    ("room", "give the key", "!to whom"),
    ("kitchen", "give the apple", "Give(apple_1, bob)"),
    # --- movement
    ("room", "walk forward", "MoveAhead"),
    ("room", "move ahead", "MoveAhead"),
    ("room", "go straight", "MoveAhead"),
    ("room", "take a step forward", "MoveAhead"),
    ("room", "go back", "MoveBack"),
    ("room", "move backwards", "MoveBack"),
    ("room", "step back", "MoveBack"),
    ("room", "strafe left", "MoveLeft"),
    ("room", "step right", "MoveRight"),
    ("room", "move to the left", "MoveLeft"),
    ("room", "turn left", "RotateLeft"),
    ("room", "rotate right", "RotateRight"),
    ("room", "turn 90 degrees to the right", "RotateRight"),
    ("room", "turn around", "TurnAround"),
    ("room", "about-face", "TurnAround"),
    ("room", "look up", "LookUp"),
    ("room", "look down", "LookDown"),
    ("room", "go to the red chest", "NavigateTo(chest_red)"),
    ("room", "walk to the exit", "NavigateTo(exit_door)"),
    ("room", "approach the keypad", "NavigateTo(keypad)"),
    ("room", "navigate to the note", "NavigateTo(note_1)"),
    ("room", "head towards the blue chest", "NavigateTo(chest_blue)"),
    ("room", "go back to the red chest", "NavigateTo(chest_red)"),
    ("room", "go to the chest", "!ambiguous 'chest'"),
    ("room", "turn", "!which way"),
    # --- done / pass
    ("room", "done", "Done"),
    ("room", "I'm done.", "Done"),
    ("room", "finished", "Done"),
    ("room", "stop", "Done"),
    ("room", "wait", "Pass"),
    ("room", "do nothing", "Pass"),
    # --- action ids and canonical strings
    ("room", "1", "Open(chest_red)"),
    ("room", "#2", "Read(note_1)"),
    ("room", "action 3", "EnterCode(keypad, 4172)"),
    ("room", "[0]", "MoveAhead"),
    ("room", "4.", "Pass"),
    ("room", "Action: 1", "Open(chest_red)"),
    ("room", "7", "!valid ids are 0-4"),
    ("kitchen", "1", "!no numbered actions"),
    ("room", "Open(chest_red)", "Open(chest_red)"),
    ("room", "PickupObject(key)", "Pickup(brass_key)"),
    ("room", "open(Chest_Blue)", "Open(chest_blue)"),
    ("room", "MoveAhead", "MoveAhead"),
    ("room", 'Say("the code is 4172")', 'Say("the code is 4172")'),
    ("room", "EnterCode(keypad, 4172)", "EnterCode(keypad, 4172)"),
    ("room", "Give(brass_key, bob)", "Give(brass_key, bob)"),
    ("room", "I will do Open(chest_blue) now", "Open(chest_blue)"),
    ("room", "Open(chest_3)", "!unknown object 'chest_3' in Open(); visible: chest_red"),
    ("room", "Open(chest)", "!ambiguous"),
    ("room", "Give(brass_key, carol)", "!unknown teammate 'carol'"),
    ("room", "Open(chest_red, chest_blue)", "!Open takes 1 argument"),
    # --- junk
    ("room", "", "!empty action"),
    ("room", "   \n\t ", "!empty action"),
    ("room", "xyzzy", "!could not find an action"),
    ("room", "?!?!...", "!could not find an action"),
    ("room", "🙂🙂", "!could not find an action"),
    ("room", "'; DROP TABLE actions; --", "!no object matches 'table actions'"),
    ("room", '{"action": "Open", "objectId": "chest_red"}', "Open(chest_red)"),
    ("room", '{"action": "OpenObject", "objectId": "ghost"}', "!unknown object 'ghost'"),
    # --- what models write around an action
    ("room", "Next action: MoveAhead", "MoveAhead"),
    ("room", '{"action_id": 1}', "Open(chest_red)"),
    ("room", '{"action_id": "2", "thought": "read it first"}', "Read(note_1)"),
    ("room", '{"action_id": 99}', "!out of range"),
    ("room", "I choose action 2 (Read the note)", "Read(note_1)"),
    ("room", '{"action": "open the blue chest"}', "Open(chest_blue)"),
    (
        "room",
        '{"action": "EnterCode", "args": {"object": "keypad", "code": "4172"}}',
        "EnterCode(keypad, 4172)",
    ),
    ("room", '{"thought": "hmm"}', '!needs "action_id"'),
    ("keys", "Could you please grab that golden key on the table?", "Pickup(gold_key)"),
    ("keys", "take the key on the left", "Pickup(gold_key)"),
    ("kitchen", "open the box on the left", "Open(box_a)"),
    ("kitchen", "open the box on the right", "Open(box_b)"),
    ("kitchen", "pick up the apple in front of the fridge", "Pickup(apple_1)"),
    ("room", "look around", "!look which way"),
]


def test_action_id_fills_templates():
    ctx = Context(
        objects=(C("keypad", "keypad"),),
        allowed=(Action("EnterCode", ("keypad", "<code>")), Action("Say", ("<text>",))),
    )
    assert str(ground('{"action_id": 0, "args": {"code": "4172"}}', ctx)) == "EnterCode(keypad, 4172)"
    assert str(ground('{"action_id": 1, "args": {"text": "hi bob"}}', ctx)) == 'Say("hi bob")'
    with pytest.raises(ActionError, match="give its code"):
        ground("0", ctx)


@pytest.mark.parametrize("ctx,text,expected", CASES, ids=[f"{c}:{t[:40]}" for c, t, _ in CASES])
def test_ground(ctx, text, expected):
    if expected.startswith("!"):
        with pytest.raises(ActionError) as exc:
            ground(text, CTX[ctx])
        msg = str(exc.value)
        assert msg and expected[1:] in msg, msg
    else:
        assert str(ground(text, CTX[ctx])) == expected


def test_error_cases_name_what_they_expect():
    """Every error case checks some text of the message (an empty expectation matches anything)."""
    assert all(len(e) > 3 for _, _, e in CASES if e.startswith("!"))
    assert len({(c, t) for c, t, _ in CASES}) == len(CASES)  # no case is listed twice


def test_no_match_lists_visible_and_held():
    with pytest.raises(ActionError) as exc:
        ground("open the banana", ROOM)
    msg = str(exc.value)
    assert "visible: chest_red (chest)" in msg and "held: brass_key" in msg
    assert "iron_key" not in msg  # not in view


def test_unknown_verb_suggests_phrasings():
    with pytest.raises(ActionError, match="open the red chest"):
        ground("frobnicate the widget", ROOM)


def test_say_keeps_case_and_quotes():
    assert ground("Tell Bob: 'Meet me at the EXIT'", ROOM) == Action("Say", ("Meet me at the EXIT",))


def test_non_string_raises_action_error():
    with pytest.raises(ActionError):
        ground(None, ROOM)  # type: ignore[arg-type]
