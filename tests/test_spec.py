"""Spec validation: errors name the bad field; `embodied validate` exit codes."""

import json
import subprocess
import sys

import pytest

from embodied.errors import SpecError
from embodied.spec import load_spec, shipped_scenes
from embodied.validate import validate

from .helpers import room


def problems(spec):
    with pytest.raises(SpecError) as e:
        load_spec(spec)
    return dict(e.value.problems)


def test_shipped_scenes_load_and_validate():
    assert len(shipped_scenes()) >= 5
    for name in shipped_scenes():
        r = validate(name)
        assert r.ok, (name, r.problems)


@pytest.mark.parametrize(
    "patch, path, words",
    [
        ({"rooms": [{"id": "hall", "size": [1, 4]}]}, "rooms[0].size", "at least 1.5"),
        (
            {"objects": [{"id": "c", "type": "chset", "room": "hall"}]},
            "objects[0].type",
            "unknown type 'chset'",
        ),
        (
            {"objects": [{"id": "c", "type": "chest", "room": "hall", "lock": {"kind": "code"}}]},
            "objects[0].lock",
            "needs 'code'",
        ),
        (
            {"objects": [{"id": "c", "type": "chest", "room": "hall", "colour": "red"}]},
            "objects[0].colour",
            "unknown field",
        ),
        (
            {"objects": [{"id": "c", "type": "chest", "room": "attic"}]},
            "objects[0].room",
            "unknown room 'attic'",
        ),
        (
            {"objects": [{"id": "c", "type": "chest", "room": "hall", "contains": ["ghost"]}]},
            "objects[0].contains",
            "unknown object 'ghost'",
        ),
        (
            {
                "objects": [
                    {"id": "n", "type": "note", "room": "hall"},
                    {"id": "n", "type": "key", "room": "hall"},
                ]
            },
            "objects[1].id",
            "duplicate id",
        ),
        (
            {"doors": [{"id": "exit", "between": ["hall", "attic"]}]},
            "doors[0].between",
            "unknown room 'attic'",
        ),
        (
            {
                "doors": [
                    {"id": "exit", "between": ["hall", "outside"], "lock": {"kind": "key", "key": "nope"}}
                ]
            },
            "doors[0].lock.key",
            "unknown key object",
        ),
        ({"goal": {"exit_through": "front"}}, "goal.exit_through", "unknown door"),
        ({"goal": {"escape": "exit"}}, "goal", "unknown predicate"),
        ({"goal": {"all": [{"holding": "ghost"}]}}, "goal.all[0].holding", "unknown object 'ghost'"),
        ({"agents": [{"id": "a0", "room": "attic"}]}, "agents[0].room", "unknown room"),
        (
            {"objects": [{"id": "k", "type": "key", "room": "hall", "text": "hi"}]},
            "objects[0].text",
            "not readable",
        ),
        ({"agents": []}, "agents", "at least 1"),
    ],
)
def test_schema_errors_name_the_field(patch, path, words):
    found = problems(room(**patch))
    assert path in found, found
    assert words in found[path], found[path]


def test_all_problems_reported_at_once():
    found = problems(
        room(objects=[{"id": "c", "type": "chest", "room": "attic"}], agents=[{"id": "a0", "room": "attic"}])
    )
    assert {"objects[0].room", "agents[0].room"} <= set(found)


def test_bad_json_file(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"rooms": [}')
    with pytest.raises(SpecError) as e:
        load_spec(str(p))
    assert "not valid JSON" in str(e.value) and "line 1" in str(e.value)


def test_unknown_scene_name_lists_shipped():
    with pytest.raises(SpecError) as e:
        load_spec("no_such_scene")
    assert "key_door" in str(e.value)


def test_geometry_errors():
    spec = room(
        rooms=[{"id": "hall", "size": [5, 4], "at": [0, 0]}, {"id": "far", "size": [3, 3], "at": [10, 0]}],
        doors=[{"id": "d", "between": ["hall", "far"]}, {"id": "exit", "between": ["hall", "outside"]}],
    )
    kinds = {(k, p) for k, p, _ in validate(spec).problems}
    assert ("geometry", "doors[0].between") in kinds
    spec = room(
        rooms=[{"id": "hall", "size": [5, 4], "at": [0, 0]}, {"id": "b", "size": [3, 3], "at": [2, 1]}]
    )
    assert any("overlap" in m for _, _, m in validate(spec).problems)


def test_cli_validate_exit_codes(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(room()))
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            room(
                doors=[{"id": "exit", "between": ["hall", "outside"], "lock": {"kind": "key", "key": "k"}}],
                objects=[
                    {
                        "id": "c",
                        "type": "chest",
                        "room": "hall",
                        "contains": ["k"],
                        "lock": {"kind": "key", "key": "k"},
                    },
                    {"id": "k", "type": "key"},
                ],
            )
        )
    )

    def run(*a):
        return subprocess.run(
            [sys.executable, "-m", "embodied.cli", "validate", *a], capture_output=True, text=True
        )

    ok = run(str(good))
    assert ok.returncode == 0 and "valid" in ok.stdout
    r = run(str(bad))
    assert r.returncode == 1 and "unsolvable" in r.stdout and "locked inside c itself" in r.stdout
    r = run(str(good), str(bad), "--json")
    assert r.returncode == 1 and [x["ok"] for x in json.loads(r.stdout)] == [True, False]


def test_physically_impossible_plan_is_reported():
    spec = room(
        doors=[
            {
                "id": "exit",
                "between": ["hall", "outside"],
                "wall": "north",
                "lock": {"kind": "code", "code": "42"},
            }
        ],
        objects=[
            {"id": "cab_a", "type": "cabinet", "room": "hall", "at": [1.2, 0.3]},
            {"id": "cab_b", "type": "cabinet", "room": "hall", "at": [0.3, 1.2], "yaw": 90},
            {"id": "note", "type": "note", "room": "hall", "wall": "east", "text": "code 42"},
        ],
        agents=[{"id": "a0", "room": "hall", "at": [0.3, 0.3]}],
    )
    r = validate(spec)
    assert r.verdict.solvable  # logically fine ...
    geo = [m for k, p, m in r.problems if k == "geometry" and p.startswith("plan[")]
    assert geo and "cannot physically do Read(note)" in geo[0]  # ... but the agent is boxed in
    assert "no walkable path" in geo[0]  # proven: the search ran out of poses, not of budget


def test_a_room_too_large_for_the_planner_is_not_called_unwalkable(monkeypatch):
    """A 20 m room: the planner's breadth-first search stops at its pose budget before the far exit,
    and its route over the floor grid takes over (a 20 m room failed to validate). When that route
    runs out of cells too, the report says the planner gave up, not 'no walkable path' (which is not
    true and sends the user hunting for an obstacle)."""
    from embodied import nav

    spec = room(
        rooms=[{"id": "hall", "size": [20, 20], "at": [0, 0]}],
        doors=[{"id": "exit", "between": ["hall", "outside"], "wall": "east", "offset": 18.8}],
        agents=[{"id": "a0", "room": "hall", "at": [1, 1], "yaw": 0}],
    )
    assert validate(spec).ok
    monkeypatch.setattr(nav, "MAX_CELLS", 50)  # a layout too large for the route
    r = validate(spec)
    geo = [m for k, p, m in r.problems if k == "geometry" and p.startswith("plan[")]
    assert r.verdict.solvable and geo, r.problems
    assert "cannot physically do Open(exit) from (1.00, 1.00) in hall: the path planner gave up" in geo[0]
    assert "no walkable path" not in geo[0]


def test_escapecraft_files_get_the_import_command_not_missing_fields(tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "tasks" / "escapecraft"
    level = str(root / "level1.json")
    with pytest.raises(SpecError) as e:
        load_spec(level)
    assert len(e.value.problems) == 1, e.value.problems  # not 'rooms: required field is missing (and 4 more)'
    assert "looks like an EscapeCraft level" in str(e.value)
    assert f"embodied import escapecraft {level} --out SPEC.json" in str(e.value)
    scene = next((root / "scene_data").rglob("*.json"))
    with pytest.raises(SpecError, match=r"EscapeCraft scene file .* escapecraft LEVEL\.json "):
        load_spec(str(scene))
    with pytest.raises(SpecError, match="escapecraft FILE --out"):  # a dict: no file name to give
        load_spec({"room": {"exit": {}, "items": []}, "story": ""})
    with pytest.raises(SpecError, match="rooms"):  # our own spec missing rooms: the usual problems
        load_spec({"format": "embodied.scene/1", "name": "x", "agents": []})
