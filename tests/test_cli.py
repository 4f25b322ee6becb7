"""The `embodied` command: demo output, engine serve + connect, doctor's frame checks, scenes."""

import json
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

import embodied
from embodied.doctor import frame_problem
from embodied.spec import resolve_scene_path


def cli(*args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "embodied.cli", *args], capture_output=True, text=True, timeout=timeout
    )


def test_demo_writes_frames_gif_and_metrics(tmp_path):
    out = tmp_path / "demo"
    r = cli("demo", "--out", str(out), "--scene", "note_code")
    assert r.returncode == 0, r.stderr
    assert "ESCAPED" in r.stdout and str(out) in r.stdout
    m = json.loads((out / "metrics.json").read_text())
    assert m["success"] and m["steps"] > m["optimal_actions"] and m["failed_actions"] == 0
    frames = sorted((out / "frames").glob("*.png"))
    assert len(frames) == m["steps"] + 1
    assert Image.open(frames[0]).size == (224, 224)
    gif = Image.open(out / "episode.gif")
    assert gif.is_animated and gif.size[0] == 448
    steps = [json.loads(line) for line in (out / "steps.jsonl").read_text().splitlines()]
    assert any(s["action"].startswith("Read(") and "4172" in s["text"] for s in steps)


def test_demo_random_agent_says_why_it_failed(tmp_path):
    out = tmp_path / "rnd"
    r = cli(
        "demo",
        "--agent",
        "random",
        "--out",
        str(out),
        "--scene",
        "key_door",
        "--max-steps",
        "12",
        "--seed",
        "5",
        "--size",
        "64",
    )
    assert r.returncode == 0, r.stderr
    assert "task: escape through exit" in r.stdout
    assert "did not finish (step budget of 12 steps reached): 12 steps" in r.stdout, r.stdout
    assert "((" not in r.stdout and "))" not in r.stdout, r.stdout
    m = json.loads((out / "metrics.json").read_text())
    assert m["steps"] == 12 and not m["success"] and m["end_reason"] == "step budget of 12 steps reached"
    run = m["run"]
    assert run["seed"] == 5 and run["max_steps"] == 12 and run["agent"] == "random"
    assert run["agent_options"] == {"seed": 5} and run["scene"] == "key_door"
    assert (run["width"], run["height"], run["renderer"], run["modalities"]) == (
        64,
        64,
        "software",
        ["rgb"],
    )
    assert run["embodied_version"] == embodied.__version__ and run["started_at"].endswith("Z")
    assert m["task"] == "escape through exit" and isinstance(m["episode_return"], float)
    first = json.loads((out / "steps.jsonl").read_text().splitlines()[0])
    assert first["run"] == run  # steps.jsonl alone says how to reproduce the run


@pytest.mark.parametrize(
    "args, says",
    [
        (["demo", "--scene", "nosuch"], "no scene file 'nosuch' and no shipped scene"),
        (["demo", "--agent", "gpt4"], "unknown agent 'gpt4'; known: "),
        (["demo", "--size", "0"], "argument --size: must be at least 1"),
        (["demo", "--size", "big"], "'big' is not a whole number"),
        (["demo", "--scene", "{missing}.json"], "no scene file"),
        (["demo", "--scene", "BADJSON"], "not valid JSON"),
        (["demo", "--scene", "{dir}"], "a directory, not a scene spec file; give a spec file or a shipped"),
        (["play", "{dir}"], "a directory, not a scene spec file"),
        (["demo", "--scene", "BINARY"], "cannot read it: not UTF-8 text"),
        (["validate", "nosuch.json"], "no scene file 'nosuch.json'"),
        (["validate", "key_door", "--turn", "200"], "the turn must be at most 180 degrees, got 200"),
        (["validate", "key_door", "--step", "0"], "the step must be more than 0 m, got 0"),
        (["demo", "--renderer", "vulkan"], "invalid choice: 'vulkan'"),
        (["bogus"], "invalid choice: 'bogus'"),
    ],
)
def test_user_mistakes_print_one_line_and_exit_2(tmp_path, args, says):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "embodied.scene/1", "rooms": [')
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "adir").mkdir()
    named = {"BADJSON": str(bad), "BINARY": str(tmp_path / "bin.json"), "{dir}": str(tmp_path / "adir")}
    args = [named.get(a, a.replace("{missing}", str(tmp_path / "none"))) for a in args]
    r = cli(*args, "--out", str(tmp_path / "o")) if args[0] == "demo" else cli(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "o").exists()


def test_version_and_every_option_has_help():
    import argparse

    from embodied.cli import build_parser

    r = cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"embodied {embodied.__version__}"
    missing = []

    def walk(parser, name):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {a.dest: a.help for a in action._choices_actions}
                for sub, p in action.choices.items():
                    if not helps.get(sub):
                        missing.append(f"{name} {sub}")
                    walk(p, f"{name} {sub}")
            elif not action.help and not isinstance(action, argparse._HelpAction):
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")

    walk(build_parser(), "embodied")
    assert missing == []


def test_subcommand_help_lines_share_one_style():
    """Every subcommand's help line in 'embodied --help' (and nested ones) starts lower case, no full stop."""
    import argparse

    from embodied.cli import build_parser

    odd = []

    def walk(parser, name):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    text = choice.help or ""
                    if not text[:1].islower() or text.endswith("."):
                        odd.append(f"{name} {choice.dest}: {text!r}")
                for sub, p in action.choices.items():
                    walk(p, f"{name} {sub}")

    walk(build_parser(), "embodied")
    assert odd == []


def test_engine_serve_help_names_itself_without_markup():
    r = cli("engine", "serve", "--help")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: embodied engine serve")
    assert "``" not in r.stdout and ":mod:" not in r.stdout and "DESIGN" not in r.stdout
    assert "--port" in r.stdout and "--max-message-bytes" in r.stdout
    assert r.stdout.startswith(
        "usage: embodied engine serve [--protocol embodied|unrealcv]"
    )  # (was not named)


def test_engine_serve_and_connect(tmp_path):
    ready = tmp_path / "ready.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "embodied.cli", "engine", "serve", "--port", "0", "--ready-file", str(ready)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(200):
            if ready.exists():
                break
            time.sleep(0.05)
        endpoint = json.loads(ready.read_text())["endpoint"]
        assert endpoint.startswith("tcp://127.0.0.1:")
        client = embodied.connect(endpoint)
        env = embodied.make("escape/key-door", engine=client)
        obs, _info = env.reset()
        assert frame_problem(obs["rgb"]) is None
        env.close()  # a shared engine is not stopped by the env
        assert client.ping() > 0
        client.request("close")
        assert proc.wait(10) == 0
    finally:
        proc.kill()


def test_frame_problem_detects_black_and_uniform():
    assert "black" in frame_problem(np.zeros((8, 8, 3), np.uint8))
    assert "uniform" in frame_problem(np.full((8, 8, 3), 120, np.uint8))
    rng = np.random.default_rng(0)
    assert frame_problem(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)) is None


def test_scenes_lists_shipped():
    r = cli("scenes")
    assert r.returncode == 0 and "chest_split_code" in r.stdout and "collab_split" in r.stdout


def test_gl_renderer_when_available():
    import pytest

    from embodied.errors import EngineError

    try:
        env = embodied.make("escape/key-door", renderer="gl")
    except EngineError as e:
        pytest.skip(f"no OpenGL/EGL here: {str(e).splitlines()[0]}")
    with env:
        assert env.engine.hello()["renderer"] == "gl"
        a, _ = env.reset()
        b, *_ = env.step("RotateLeft")
        assert frame_problem(a["rgb"]) is None and not np.array_equal(a["rgb"], b["rgb"])


@pytest.mark.slow  # the collab oracles run in the fast suite (test_tasks_adapters); this adds recording
def test_demo_multi_agent_scene_side_by_side(tmp_path):
    out = tmp_path / "collab"
    r = cli("demo", "--scene", "collab_split", "--out", str(out))
    assert r.returncode == 0 and "ESCAPED" in r.stdout, r.stdout + r.stderr
    assert Image.open(out / "frames" / "0000.png").size == (448, 224)  # both agents' views
    steps = [json.loads(line) for line in (out / "steps.jsonl").read_text().splitlines()]
    said = next(s for s in steps if s["action"].startswith("Say("))
    typed = next(s for s in steps if s["action"].startswith("EnterCode("))
    assert said["agent"] == "ana" and typed["agent"] == "bo" and said["step"] < typed["step"]


def test_output_into_a_closed_pipe_is_quiet():
    """'embodied scenes | head -1': the reader is gone before the command writes; no traceback."""
    p = subprocess.Popen(
        [sys.executable, "-m", "embodied.cli", "scenes"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    p.stdout.close()  # before the child has started: its first write meets a closed pipe
    err = p.stderr.read()
    assert p.wait(timeout=60) == 0 and "Traceback" not in err and not err.strip(), err


def test_validate_a_directory_of_generated_scenes(tmp_path):
    gen = tmp_path / "gen"
    gen.mkdir()
    for name in ("key_door", "note_code"):
        (gen / f"{name}.json").write_text(resolve_scene_path(name).read_text())
    (gen / "index.json").write_text('{"not": "a scene"}')  # skipped: no 'format'
    r = cli("validate", str(gen))
    assert r.returncode == 0, r.stderr
    assert (
        f"{gen}/key_door.json:" in r.stdout
        and f"{gen}/note_code.json:" in r.stdout
        and "index" not in r.stdout
    )
    r = cli("validate", str(tmp_path / "gen" / ".."))
    assert r.returncode == 2 and "no scene spec" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_validate_walks_the_plan_with_the_moves_and_turns_given():
    from embodied.nav import NavConfig
    from embodied.validate import validate

    assert validate("key_door").ok
    r = validate("key_door", nav=NavConfig(step=3.0))  # 3 m moves: no walkable path to the key
    assert [p[0] for p in r.problems] == ["geometry"] and "cannot physically do Pickup" in r.problems[0][2]
    r = cli("validate", "key_door", "--turn", "45")
    assert r.returncode == 0 and "walked with 45° turns and 0.25 m moves" in r.stdout, r.stdout + r.stderr
    r = cli("validate", "key_door", "--step", "3", "--json")
    report = json.loads(r.stdout)[0]
    assert r.returncode == 1 and report["walked_with"] == {"turn": 90.0, "step": 3.0}
    assert report["problems"][0]["kind"] == "geometry"
