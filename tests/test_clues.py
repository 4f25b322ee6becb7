"""Clue consistency: what the notes say must open the lock they are for."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from embodied.clues import check_clues, derive
from embodied.spec import load_spec, resolve_scene_path, shipped_scenes
from embodied.validate import validate


def _scene(name: str) -> dict:
    return json.loads(resolve_scene_path(name).read_text())


@pytest.mark.parametrize("name", shipped_scenes())
def test_shipped_scenes_are_consistent(name):
    assert check_clues(load_spec(name)) == []


def test_split_code_contradiction_names_both_sides():
    data = _scene("chest_split_code")
    data["objects"][0]["lock"]["code"] = "1234"
    r = validate(data)
    assert not r.ok
    clue = [p for p in r.problems if p[0] == "clue"]
    assert len(clue) == 1
    _kind, path, msg = clue[0]
    assert path == "objects[0].lock.code"
    assert "1234" in msg and "3958" in msg and "note_left" in msg and "'Chest code, first half: 39'" in msg
    assert "note_right" in msg and "58" in msg


def test_cli_reports_the_contradiction(tmp_path):
    data = _scene("chest_split_code")
    data["objects"][0]["lock"]["code"] = "1234"
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(data))
    out = subprocess.run(
        [sys.executable, "-m", "embodied.cli", "validate", str(p)], capture_output=True, text=True
    )
    assert out.returncode == 1
    assert "clue: objects[0].lock.code" in out.stdout and "1234" in out.stdout and "3958" in out.stdout


def test_halves_swapped_in_the_list_follow_their_ordinals():
    data = _scene("chest_split_code")
    data["objects"][0]["lock"]["clues"] = ["note_right", "note_left"]
    assert check_clues(load_spec(data)) == []


def test_whole_code_without_clue_list():
    data = _scene("note_code")
    assert check_clues(load_spec(data)) == []
    data["objects"][1]["text"] = "The exit code is 9999"
    problems = check_clues(load_spec(data))
    assert len(problems) == 1
    path, msg = problems[0]
    assert path == "doors[0].lock.code" and "4172" in msg and "note: 9999" in msg


def test_code_in_no_clue_is_an_error_unless_given():
    data = _scene("note_code")
    data["objects"][1]["text"] = "Nothing to see here"
    assert check_clues(load_spec(data))
    data["doors"][0]["lock"]["given"] = True
    assert check_clues(load_spec(data)) == []
    r = validate(data)  # a given code is known to the agent, so the scene is still solvable
    assert r.ok, r.lines()


def test_clue_list_without_digits():
    data = _scene("chest_split_code")
    for o in data["objects"][2:]:
        o["text"] = "Look elsewhere"
    problems = check_clues(load_spec(data))
    assert len(problems) == 1 and "give no code" in problems[0][1]


@pytest.mark.parametrize(
    "texts, code",
    [
        (["The code is 12 + 27"], "39"),
        (["Multiply: 6 x 7"], "42"),
        (["40 minus 1, then 2 times 3"], "396"),
        (["the sum of 1200 and 34"], "1234"),
        (["Colour key: red=4, blue=7, green=1", "The lights read: blue, red, green, blue"], "7417"),
        (["star means 3, moon means 8", "moon star star moon"], "8338"),
        (["first digits: 0 4"], "04"),
        (["four one seven two"], "4172"),
        (["Part one: 3", "Part two: 9", "Part three: 5"], "395"),
        (["The third digit is 5", "The first digit is 3", "The second digit is 9"], "395"),
    ],
)
def test_indirection_forms(texts, code):
    assert code in derive(texts)


@pytest.mark.parametrize(
    "texts, code",
    [
        (["The code is 12 + 27"], "1227"),  # arithmetic is worked out, its operands are not the code
        (["first half: 39", "second half: 58"], "5839"),  # halves in order
        (["red=4, blue=7", "blue red"], "47"),
    ],
)
def test_wrong_readings_are_not_derived(texts, code):
    assert code not in derive(texts)


def test_book_clue_inside_a_chest():
    spec = {
        "rooms": [{"id": "study", "size": [5, 4]}],
        "doors": [
            {
                "id": "exit",
                "between": ["study", "outside"],
                "lock": {"kind": "code", "code": "0815", "clues": ["diary"]},
            }
        ],
        "objects": [
            {"id": "keypad", "type": "keypad", "room": "study", "controls": "exit"},
            {"id": "chest", "type": "chest", "room": "study", "contains": ["diary"]},
            {"id": "diary", "type": "book", "text": "Day 3: the door answers to 815 with a zero in front"},
        ],
        "agents": [{"id": "a0", "room": "study"}],
        "goal": {"exit_through": "exit"},
    }
    assert check_clues(load_spec(spec)) == []
    spec["objects"][2]["text"] = "Day 3: the door answers to 816"
    (problem,) = check_clues(load_spec(spec))
    assert "0815" in problem[1] and "816" in problem[1] and "diary" in problem[1]
