"""The EscapeCraft importer on their published levels (copied with their MIT license under tests/data)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from embodied.procedural.escapecraft import STEP_CAPS, import_level

from embodied.errors import SpecError
from embodied.solver import solve
from embodied.validate import validate

DATA = Path(__file__).parent / "data" / "escapecraft"
LEVELS = sorted(p.stem for p in DATA.glob("level*.json"))
TIERS = {"level1": 1, "level2": 2, "level3_key_first": 3, "level3_note_first": 3, "level3.5": 3.5}


def _cases():
    for lv in LEVELS:
        yield lv, None
        for sc in sorted((DATA / "scene_data" / lv).glob("*.json")):
            yield lv, sc.name


@pytest.mark.parametrize("level, scene", list(_cases()))
def test_every_shipped_level_imports_validates_and_solves(level, scene):
    sc = DATA / "scene_data" / level / scene if scene else None
    spec = import_level(DATA / f"{level}.json", sc, seed=3)
    report = validate(spec, walk=level == "level2" and scene is not None)  # one physical plan walk (slow)
    assert report.ok, report.lines()
    m = spec.metadata
    assert m["tier"] == TIERS[level] and m["step_cap"] == STEP_CAPS[TIERS[level]]
    # their cap counts compound steps (move + turn + one interaction); ours is one multiple of the
    # oracle's single steps for every level (their cap scaled by their slack gave 2,063 steps for
    # a level-2 room the oracle leaves in 55), never less than the oracle plus their cap
    assert m["compound_steps"] == {1: 1, 2: 2, 3: 4, 3.5: 4}[m["tier"]]
    assert spec.max_steps == 10 * m["oracle_steps"] <= 1000
    assert spec.max_steps >= m["oracle_steps"] + m["step_cap"]


def test_imported_budgets_are_one_multiple_of_the_oracle_for_every_level():
    from embodied.procedural.escapecraft import our_cap

    level2 = import_level(DATA / "level2.json", DATA / "scene_data" / "level2" / "1.json", seed=0)
    assert level2.metadata["oracle_steps"] == 55 and level2.max_steps == 550  # was 75 x 55 / 2 = 2,063
    level1 = import_level(DATA / "level1.json", DATA / "scene_data" / "level1" / "1.json", seed=0)
    level3 = import_level(DATA / "level3_key_first.json", seed=0)
    ratios = {s.max_steps / s.metadata["oracle_steps"] for s in (level1, level2, level3)}
    assert ratios == {10.0}, ratios  # was 50 for level 1, 37.5 for level 2, 25 for level 3
    # a long walk (a 15 m room, exit in the far corner): 10 x would be 1,090; at most 1,000
    far = {
        "room_polygon": [{"polygon": [[0, 0], [15, 0], [15, 15], [0, 15]]}],
        "player": {"position": [1, 0, 1], "rotation": [0, 0, 0]},
        "instances": [{"item_id": "exit", "item_type": "exit", "position": [14, 0, 14]}],
    }
    big = import_level(DATA / "level1.json", far, seed=0)
    assert big.metadata["oracle_steps"] > 100 and big.max_steps == 1000
    assert our_cap(big, 950) == big.metadata["oracle_steps"] + 950  # never less than the oracle + their cap


@pytest.mark.parametrize("side", [20, 60])
def test_large_rooms_import_and_the_oracle_walks_them(side):
    """A 20 m room failed to import (the path planner gave up at 60,000 poses, ~15 m a side)."""
    far = {
        "room_polygon": [{"polygon": [[0, 0], [side, 0], [side, side], [0, side]]}],
        "player": {"position": [1, 0, 1], "rotation": [0, 0, 0]},
        "instances": [{"item_id": "exit", "item_type": "exit", "position": [side - 1, 0, side - 1]}],
    }
    spec = import_level(DATA / "level1.json", far, seed=0)
    steps = spec.metadata["oracle_steps"]
    assert 2 * (side - 3) / 0.25 < steps < 2 * side / 0.25 + 20, steps  # across the room, no detours
    assert spec.max_steps >= steps + spec.metadata["step_cap"]
    assert validate(spec).ok


def test_password_comes_from_the_seed_and_is_on_the_paper():
    a = import_level(DATA / "level3_note_first.json", seed=1)
    b = import_level(DATA / "level3_note_first.json", seed=2)
    lock_a = a.obj("box_1").lock
    assert lock_a.kind == "code" and lock_a.clues == ["note_1"]
    assert lock_a.code in a.obj("note_1").text and lock_a.code != b.obj("box_1").lock.code
    assert a.obj("box_1").contains == ["key_1", "note_2"]
    assert "Journal of the Mansion" in a.obj("note_2").text


def test_chain_order_key_first():
    spec = import_level(DATA / "level3_key_first.json", seed=0)
    plan = [s.verb + "(" + ",".join(s.args) + ")" for s in solve(spec).plan]
    assert plan.index("Unlock(box_1,key_1)") < plan.index("Read(note_1)") < len(plan)
    assert any(p.startswith("EnterCode(keypad") for p in plan)


def test_scene_file_gives_room_exit_and_pose():
    raw = json.loads((DATA / "scene_data" / "level2" / "1.json").read_text())
    spec = import_level(DATA / "level2.json", DATA / "scene_data" / "level2" / "1.json")
    poly = raw["room_polygon"][0]["polygon"]
    w = max(p[0] for p in poly) - min(p[0] for p in poly)
    assert spec.rooms[0].size[0] == pytest.approx(w, abs=0.01)
    assert spec.doors[0].wall in ("north", "south", "east", "west") and spec.agents[0].at is not None
    key = spec.obj("key_1")
    assert key.at is not None


def test_bad_level_files_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"room": {"exit": {"type": "key", "unlock_item_id": "key_9"}, "items": []}}')
    with pytest.raises(SpecError, match="key_9"):
        import_level(bad)
    bad.write_text('{"room": {"exit": {"type": "interact"}, "items": [{"id": "x", "type": "lamp"}]}}')
    with pytest.raises(SpecError, match="lamp"):
        import_level(bad)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "embodied.cli",
            "import",
            "escapecraft",
            str(tmp_path / "nope.json"),
            "--out",
            "x.json",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and "no level file" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.slow
def test_cli_import_replays_in_the_engine(tmp_path):
    out = tmp_path / "l2.json"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "embodied.cli",
            "import",
            "escapecraft",
            str(DATA / "level2.json"),
            str(DATA / "scene_data" / "level2" / "1.json"),
            "--out",
            str(out),
            "--seed",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert r.returncode == 0, r.stderr
    assert "oracle escaped" in r.stdout
    assert json.loads(out.read_text())["metadata"]["tier"] == 2
    assert (tmp_path / "l2.map.png").stat().st_size > 1000 and (
        tmp_path / "l2.thumb.png"
    ).stat().st_size > 500


@pytest.mark.parametrize("where", ["under_a_file", "a_directory", "proc"])
def test_cli_import_unwritable_out_is_said_before_any_work(tmp_path, where):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir.json").mkdir()
    out, says = {
        "under_a_file": (tmp_path / "afile" / "x.json", "is a file, not a directory"),
        "a_directory": (tmp_path / "adir.json", "is a directory; name the file"),
        "proc": (Path("/proc/x.json"), "cannot create or write to /proc"),
    }[where]
    if where == "proc" and not Path("/proc").is_dir():
        pytest.skip("no /proc here")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "embodied.cli",
            "import",
            "escapecraft",
            str(DATA / "level1.json"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert says in r.stderr and "rejected" not in r.stderr and "File exists" not in r.stderr


def test_cli_import_says_which_step_cap_it_wrote(tmp_path):
    level, scene = (
        DATA / "level3_key_first.json",
        sorted((DATA / "scene_data" / "level3_key_first").glob("*.json"))[0],
    )
    for extra, says, cap in (
        ([], "max_steps 990: 10 x our oracle's 99 single steps (--their-cap keeps their 100", 990),
        (["--their-cap"], "max_steps 100: their cap of 100 steps unscaled", 100),
    ):
        out = tmp_path / f"l3{len(extra)}.json"
        argv = ["import", "escapecraft", str(level), str(scene), "--out", str(out), "--no-replay", *extra]
        r = subprocess.run(
            [sys.executable, "-m", "embodied.cli", *argv], capture_output=True, text=True, timeout=60
        )
        assert r.returncode == 0 and says in r.stdout, r.stdout + r.stderr
        written = json.loads(out.read_text())
        assert f"max_steps {written['max_steps']}:" in r.stdout
        assert written["max_steps"] == cap
