"""Phrasings a person uses that the main table did not cover (found by trying the env as a new user)."""

import pytest

from embodied.language import Candidate as C
from embodied.language import Context, ground

ROOM = Context(
    objects=(
        C("drawer_1", "drawer", distance=1.5, bearing=-30),
        C("book_1", "book", "red book", "red", distance=1.0, bearing=10),
        C("lever", "lever", "lever", distance=1.0, bearing=0),
        C("chest", "chest", "chest", distance=1.2, bearing=20),
        C("iron_key", "key", "iron key", held=True),
        C("exit", "door", "exit", distance=2.0, bearing=-5),
    ),
)


@pytest.mark.parametrize(
    "text, action",
    [
        ("pull out the drawer", "Open(drawer_1)"),  # was Press(drawer_1)
        ("pull open the drawer", "Open(drawer_1)"),
        ("slide out the drawer", "Open(drawer_1)"),
        ("flip through the book", "Read(book_1)"),  # was Press(book_1)
        ("leaf through the red book", "Read(book_1)"),
        ("browse the book", "Read(book_1)"),
        ("pull the lever", "Press(lever)"),  # 'pull' alone still presses
        ("flip the lever", "Press(lever)"),
        ("grab the key", "Pickup(iron_key)"),
        ("walk forward", "MoveAhead"),
        ("punch in 3958 on the chest", "EnterCode(chest, 3958)"),
        ("unlock the door with the key", "Unlock(exit, iron_key)"),
    ],
)
def test_phrasing(text, action):
    assert str(ground(text, ROOM)) == action
