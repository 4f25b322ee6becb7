"""User mistakes on every command: one line saying what is wrong and what would work, exit 2.

In-process (``embodied.cli.main``) so they are fast; none of these starts an engine or a request.
"""

import os
from pathlib import Path

import pytest

from embodied.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent

KEY = ["--agent", "openai:m", "--quiet"]


def run(argv, capsys):
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse's own errors exit through Parser.error
        rc = e.code
    return rc, capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, says",
    [
        (["play", "key_door", "--backoff", "-1", *KEY], "backoff must be 0 or more"),
        (["engine", "serve", "--protocol", "grpc"], "unknown --protocol 'grpc'; choose one of embodied"),
        (
            ["engine", "serve", "--protocol", "unrealcv", "--port", "0", "--scene", "nosuch"],
            "cannot load scene 'nosuch': invalid scene spec: no scene file 'nosuch'",
        ),
        (["gallery", "--out", "bad.yaml"], "--out bad.yaml is a file; give a directory"),  # was 'File exists'
        (["doctor", "--frobnicate"], "unrecognized arguments: --frobnicate (see 'embodied doctor --help')"),
        (["demo", "extra.json"], "unrecognized arguments: extra.json (see 'embodied demo --help')"),
        (["play", "key_door", "--retries", "-1", *KEY], "retries and backoff must be 0 or more"),
        (["play", "key_door", "--timeout", "0", *KEY], "timeout must be more than 0"),
        (["play", "key_door", "--request-timeout", "0", *KEY], "timeout must be more than 0"),
        (["play", "key_door", "--timeout", "-1", "--agent", "oracle"], "timeout must be more than 0 seconds"),
        (
            ["play", "key_door", "--timeout", "inf", *KEY],
            "timeout must be a finite number of seconds, got inf",
        ),
        # refused by the parser even when no model request would be made (a plain suite, the oracle)
        (
            ["bench", "freeze", "ESC", "--request-timeout", "-1"],
            "argument --request-timeout: timeout must be more than 0 seconds, got -1",
        ),
        (
            ["bench", "run", "--suite", "ESC", "--agent", "oracle", "--out", "OUT", "--request-timeout", "0"],
            "argument --request-timeout: timeout must be more than 0 seconds, got 0",
        ),
        (
            ["bench", "run", "--suite", "ESC", "--agent", "oracle", "--out", "OUT", "--request-timeout", "x"],
            "argument --request-timeout: 'x' is not a number",
        ),
        (["play", "key_door", "--temperature", "-1", *KEY], "temperature must be 0..2"),
        (["play", "key_door", "--top-p", "5", *KEY], "top_p must be in (0, 1]"),
        (["play", "key_door", "--history-k", "-1", *KEY], "history_k must be 0 or more"),
        (["play", "key_door", "--base-url", "localhost:8000", *KEY], "must start with http:// or https://"),
        (["play", "key_door", "--set", "colour=red", *KEY], "no option 'colour'; options: base_url"),
        (
            [
                "play",
                "collab_split",
                "--agent",
                "ana=oracle",
                "--agent",
                "bo=openai:m",
                "--api-key-env",
                "NO",
            ],
            "agent bo (openai:",
        ),
        (  # bo was played by openai:gpt-4o at OpenAI's endpoint, unasked
            ["play", "collab_split", "--agent", "ana=oracle"],
            "--agent: bo has no agent; give bo=AGENT too, or one for the rest (e.g. --agent oracle)",
        ),
        (  # the second silently replaced the first
            ["play", "collab_split", "--agent", "ana=oracle", "--agent", "ana=random"],
            "--agent ana=random: agent ana is already given (ana=oracle); give it once",
        ),
        (
            ["play", "key_door", "--agent", "oracle", "--agent", "random"],
            "--agent oracle and --agent random: give one agent for all, or one per agent (ID=AGENT; agents: a0)",
        ),
        (["gen", "--out", "OUT", "--size", "0"], "argument --size: must be at least 1"),
        (["gen", "--out", "OUT", "--tries", "-1"], "argument --tries: must be 0 or more"),
        (["gen", "--out", "OUT", "--max-cost", "-1"], "argument --max-cost: must be 0 or more"),
        (
            ["gen", "--out", "/proc/no/such/dir", "--n", "1", "--no-replay"],
            "--out /proc/no/such/dir: cannot create or write to /proc/no/such/dir",
        ),
        (
            ["bench", "run", "--suite", "NAV", "--agent", "oracle", "--out", "OUT", "--episodes", "0"],
            "--episodes: must be at least 1",
        ),
        (
            ["bench", "run", "--suite", "NAV", "--agent", "oracle", "--out", "OUT", "--episodes", "-2"],
            "--episodes: must be at least 1",
        ),
        (
            ["bench", "run", "--suite", "NAV", "--agent", "oracle", "--out", "OUT", "--size", "0"],
            "--size: must be at least 1",
        ),
        (["engine", "serve", "--port", "-1"], "argument --port: must be 0..65535, got -1"),
        (["engine", "serve", "--port", "99999"], "argument --port: must be 0..65535, got 99999"),
        (["engine", "serve", "--max-scenes", "0"], "argument --max-scenes: must be at least 1"),
        (["engine", "serve", "--bogus"], "unrecognized arguments: --bogus"),
        (
            ["bench", "run", "--suite", "ESC", "--agent", "oracle", "--out", "OUT", "--seeds", "a"],
            "embodied bench run: error: --seeds: 'a' is not a seed",  # named by its subcommand
        ),
        (
            ["bench", "run", "--suite", "ESC-MM", "--agent", "oracle", "--out", "OUT", "--seeds", "15"],
            "--seeds 15: not episodes of ESC-MM v2 tier 1 (its seeds are 0-10, frozen in its lock file); "
            "add --tiers 3, or pick among those",
        ),
        (
            ["bench", "run", "--suite", "ESC", "--agent", "oracle", "--out", "OUT", "--seeds", "5-2"],
            "--seeds 5-2: an empty range; write it low to high: 2-5",  # was 'no episodes selected'
        ),
        (  # was accepted, and sent to the endpoint with every request
            ["bench", "run", "--suite", "ESC", "--agent", "openai:m", "--out", "OUT", "--max-tokens", "-5"],
            "argument --max-tokens: must be at least 1, got -5",
        ),
        (["play", "key_door", "--set", "max_tokens=0", *KEY], "max_tokens must be at least 1"),
        (  # a class that is not an agent: was an AttributeError traceback from the first episode
            ["bench", "run", "--suite", "NAV", "--agent", "json.decoder:JSONDecoder", "--out", "OUT"],
            "json.decoder:JSONDecoder is not an agent: an agent has reset(env) and act(obs, info) -> action",
        ),
        (
            ["bench", "run", "--suite", "NAV", "--agent", "os.path:sep", "--out", "OUT"],
            "os.path:sep is not an agent",
        ),
        (  # a factory that cannot be called so: was a TypeError traceback from the first episode
            ["bench", "run", "--suite", "NAV", "--agent", "os.path:join", "--out", "OUT"],
            "--agent os.path:join cannot be called with no arguments (missing a required argument: 'a')",
        ),
        (  # an httpx InvalidURL traceback at the first request
            ["play", "key_door", *KEY, "--base-url", "http://[::1"],
            "base URL 'http://[::1' is not a valid URL (Invalid IPv6 URL); e.g. http://127.0.0.1:8000/v1",
        ),
        (["play", "key_door", *KEY, "--base-url", "http://"], "base URL 'http://' names no host"),
        (["play", "key_door", *KEY, "--api-key-env", ""], "api_key_env is empty: name the environment"),
        (["play", "key_door", "--agent", "oracle", "--set", "=3"], "--set =3: expected [ID.]KEY=VALUE"),
        (  # was 'no episodes selected'
            ["bench", "run", "--suite", "", "--agent", "oracle", "--out", "OUT"],
            "--suite '': name a suite, e.g. --suite NAV",
        ),
        (  # was every tier: a whole run
            ["bench", "run", "--suite", "NAV", "--tiers", "", "--agent", "oracle", "--out", "OUT"],
            "--tiers '': name tiers, e.g. --tiers 1,2, or leave it out for all",
        ),
        (  # was a bare '[Errno 2] No such file or directory'
            ["bench", "run", "--suite", "NAV", "--agent", "oracle", "--out", "/proc/embodied-x/run"],
            "cannot use '/proc/embodied-x/run': No such file or directory",
        ),
        (  # an agent module that does not import: was a SyntaxError traceback
            ["bench", "run", "--suite", "NAV", "--agent", "mine.broken:Agent", "--out", "OUT"],
            "cannot load agent 'mine.broken:Agent': importing mine.broken raised SyntaxError: invalid syntax",
        ),
        (  # an unwritable cache: was reported at the first answer, with the engine up
            ["play", "key_door", "--cache", "bad.yaml/x", *KEY],
            "cache directory bad.yaml/x: cannot write there (Not a directory)",
        ),
        (
            [
                "bench",
                "run",
                "--suite",
                "NAV",
                "--agent",
                "openai:m",
                "--out",
                "OUT",
                "--cache-dir",
                "bad.yaml/x",
            ],
            "cache directory bad.yaml/x: cannot write there (Not a directory)",
        ),
        (  # ray.init retried an address where nothing listens for minutes
            ["bench", "run", "--suite", "ESC", "--agent", "oracle", "--out", "OUT", "--ray", "127.0.0.1:9"],
            "--ray 127.0.0.1:9: nothing answers at 127.0.0.1:9 (Connection refused); start a head there",
        ),
        (
            ["bench", "run", "--suite", "ESC", "--agent", "oracle", "--out", "OUT", "--ray", "headnode"],
            "--ray headnode: give HOST:PORT (a Ray head), ray://HOST:PORT, or local",
        ),
        (
            ["bench", "run", "--suite", "ESC", "--agent", "oracle", "--out", "OUT", "--bogus"],
            "embodied bench run: error: unrecognized arguments: --bogus (see 'embodied bench run --help')",
        ),
        (["bench", "report", "nosuch"], "embodied bench report: error: nosuch: no such run directory"),
        # refused before the replays are encoded (was a bare '[Errno 2]' once the report was built)
        (["bench", "report", "nosuch", "--out", "/proc/nope"], "--out /proc/nope: cannot write there"),
        (
            ["bench", "report", "nosuch", "--out", "."],
            "--out . is a directory; give a file, e.g. report.html",
        ),
        (
            ["validate", str(ROOT / "tasks" / "escapecraft")],
            "with no scene spec (*.json with a 'format' field) in it; level1.json: this looks like an "
            "EscapeCraft level, not a scene spec; convert it with: embodied import escapecraft",
        ),
        (["play", "key_door", "--set", "temperature=[1", *KEY], "--set temperature=[1: '[1' is not a value"),
        (
            ["play", "key_door", "--set", "seed=abc", *KEY],
            "--set seed=abc: seed takes a whole number or null (e.g. seed=7), not 'abc'",
        ),
        (["play", "key_door", "--set", "temperature=warm", *KEY], "temperature takes a number or null"),
        (["play", "key_door", "--set", "text_only=maybe", *KEY], "text_only takes true or false"),
        (["play", "key_door", "--agent", "oracle", "--set", "seed=1.5"], "seed takes a whole number (e"),
        (
            ["bench", "run", "--suite", "ESC", "--agent", "oracle", "--out", "OUT", "--agent-opt", "seed=x"],
            "--agent-opt seed=x: seed takes a whole number (e.g. seed=7), not 'x'",
        ),
        (
            ["play", "key_door", "--prompt", "bad.yaml", *KEY],
            "prompt bad.yaml: not valid YAML at line 2 col 1 (expected ',' or ']', but got '<stream end>')",
        ),
        (  # a scene spec written in YAML: 'not valid JSON' alone left a new user guessing
            ["demo", "--scene", "bad.yaml"],
            "bad.yaml: line 1 col 1: not valid JSON: Expecting value; scene specs are JSON, not YAML",
        ),
        (  # a suite file that is not YAML: was a yaml.scanner traceback
            ["bench", "run", "--suite", "bad.yaml", "--agent", "oracle", "--out", "OUT"],
            "bad.yaml: not valid YAML at line 2 col 1 (expected ',' or ']', but got '<stream end>')",
        ),
        (["bench", "freeze", "bad.yaml"], "bad.yaml: not valid YAML at line 2 col 1"),
        (  # was: NAV frozen again, --model ignored without a word
            ["bench", "freeze", "NAV", "--model", "m"],
            "--model is for generated suites (such as GEN, made by an LLM); NAV is not generated: drop it",
        ),
        (  # was: "unknown agent ''"
            ["play", "key_door", "--agent", "a0="],
            "--agent a0=: no agent after '='; give ID=AGENT, e.g. --agent a0=oracle (AGENT: openai:MODEL,",
        ),
        (
            ["play", "collab_split", "--agent", "a0="],
            "--agent a0=: no agent 'a0' in this scene; agents: ana, bo",
        ),
        (  # was the parser's whole multi-line message squeezed into one line
            ["play", "key_door", "--prices", "bad.yaml", *KEY],
            "cannot read price table bad.yaml: at line 2 col 1 (expected ',' or ']', but got '<stream end>'); "
            "give a YAML/JSON file of model: [in, out]",
        ),
        (
            ["play", "key_door", "--prices", "nosuch.yaml", *KEY],
            "cannot read price table nosuch.yaml: No such file or directory; give a YAML/JSON file",
        ),
        (
            ["demo", "--scene", str(ROOT / "tasks" / "escapecraft" / "level1.json")],
            "looks like an EscapeCraft level, not a scene spec; convert it with: embodied import escapecraft",
        ),
        (
            ["play", "key_door", "--agent", "oracle", "--base-url", "notaurl"],
            "--base-url: --agent oracle takes no such option (the model options are for openai:MODEL",
        ),
        (
            ["play", "collab_split", "--agent", "ana=oracle", "--agent", "bo=random", "--detail", "low"],
            "--detail: --agent oracle, random takes no such option",
        ),
        (
            ["bench", "run", "--suite", "ESC", "--agent", "oracle", "--out", "OUT", "--base-url", "x"],
            "--base-url: --agent oracle takes no such option (the VLM options are for openai:MODEL",
        ),
        (
            ["bench", "run", "--suite", "ESC", "--agent", "random", "--out", "OUT", "--agent-opt", "k=1"],
            "--agent-opt k: --agent random takes no such option",
        ),
        (["engine", "serve", "--token", "abc"], "serve: error: --token is not accepted: a command line"),
        (
            ["engine", "serve", "--max-message-bytes", "5"],
            "serve: error: --max-message-bytes must be at least",
        ),
        (["engine", "serve", "--protocol", "unrealcv", "--port", "70000"], "must be 0..65535, got 70000"),
        (["engine", "serve", "--protocol", "unrealcv", "--width", "0"], "--width/--ResX: must be 16..4096"),
    ],
)
def test_mistake_is_one_line_and_exit_2(argv, says, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text("system: [1\n")  # for --prompt: not valid YAML
    (tmp_path / "mine").mkdir()  # an agent package in the current directory, with a syntax error
    (tmp_path / "mine" / "__init__.py").write_text("")
    (tmp_path / "mine" / "broken.py").write_text("def (\n")
    rc, err = run(argv, capsys)
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and says in lines[0], err
    assert lines[0].startswith(f"embodied {argv[0]}") and ": error: " in lines[0] and "Traceback" not in err
    assert not (tmp_path / "OUT").exists()  # refused before a run directory is made


def test_unwritable_output_dir_is_one_line(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")  # --out under a regular file cannot be created
    rc = main(["demo", "--scene", "key_door", "--size", "32", "--out", str(blocker / "o")])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1, err
    assert not out  # refused before an engine started (it used to run the whole episode first)
    assert (
        lines[0].startswith(f"embodied demo: error: cannot use '{blocker / 'o'}")
        and "Not a directory" in lines[0]
    )


def test_out_dir_that_cannot_be_made_is_refused_even_for_root(tmp_path):
    from embodied.commands.episode_out import out_dir

    with pytest.raises(OSError) as e:  # os.access() says root may write anywhere, /proc included
        out_dir("/proc/embodied-no-such/out")
    assert e.value.filename == "/proc/embodied-no-such/out"
    assert out_dir(str(tmp_path / "a" / "b")) == tmp_path / "a" / "b"  # a writable one passes,
    assert not list(tmp_path.iterdir())  # and nothing is left behind


def test_help_has_no_rst_markup():
    import argparse

    def texts(parser):
        yield parser.format_help()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for p in action.choices.values():
                    yield from texts(p)

    for text in texts(build_parser()):
        assert "``" not in text and ":mod:" not in text and ":class:" not in text, text[:200]


def test_readme_names_resolve_after_plain_import():
    """README: ``import embodied`` then ``embodied.agents.make_agent(...)``, ``embodied.tasks.Task``."""
    import subprocess
    import sys

    code = (
        "import embodied; embodied.agents.make_agent('oracle'); embodied.tasks.Task; "
        "embodied.adapters.pettingzoo; embodied.testing.FakeOpenAI; print('ok')"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_doctor_reports_a_renderer_that_fails_to_draw_as_a_row(monkeypatch):
    """A renderer that starts but then fails (seen: gl with depth+seg) was a crash of the whole report."""
    from embodied import doctor
    from embodied.errors import EngineError

    def fails(env, renderer, name, t0, out):
        raise EngineError("engine rejected 'render': ValueError: cannot reshape")

    monkeypatch.setattr(doctor, "_check_env", fails)
    rows = doctor.run_checks(renderers=("software", "gl"))
    assert ("software: frames", "FAIL") in [(c, s) for c, s, _ in rows]
    gl = [(s, d) for c, s, d in rows if c in ("gl: frames", "engine (gl)")]
    assert gl and gl[-1][0] == "WARN" and ("cannot reshape" in gl[-1][1] or "did not start" in gl[-1][1])


def test_doctor_names_the_depth_decoder_and_loads_it():
    """A row says which depth/seg decoder this machine has (numpy is 4-6x slower: a user asking
    why depth is slow had no row to read), and loading it fills numba's cache for the engines."""
    pytest.importorskip("numba")
    from embodied.bridges.panda3d import decode

    from embodied import doctor

    rows = {c: (s, d) for c, s, d in doctor.run_checks(renderers=())}
    status, detail = rows["depth/seg decoder"]
    assert status == "OK" and detail.startswith("compiled (numba ") and "ready in" in detail
    assert decode.kernel() is not None


def test_gl_depth_and_segmentation_match_software():
    """doctor found gl + depth/seg failing ('cannot reshape array of size 37632'): GL buffers are 3-byte RGB."""
    import numpy as np

    import embodied
    from embodied.errors import EngineError

    obs = {}
    for renderer in ("software", "gl"):
        try:
            env = embodied.make(
                "chest_split_code", renderer=renderer, modalities=("rgb", "depth", "segmentation")
            )
        except EngineError as e:
            pytest.skip(f"no OpenGL/EGL here: {str(e).splitlines()[0]}")
        with env:
            env.reset(seed=0)
            obs[renderer], *_ = env.step("RotateRight")
    sw, gl = obs["software"], obs["gl"]
    assert (sw["segmentation"] == gl["segmentation"]).mean() > 0.99  # edges may rasterize differently
    finite = np.isfinite(sw["depth"]) & np.isfinite(gl["depth"])
    assert finite.mean() > 0.99 and np.abs(sw["depth"][finite] - gl["depth"][finite]).max() < 0.1


def test_unity_player_help_and_mistakes(capsys):
    """embodied-unity-player: help on every option, no reST markup; --width 0 was accepted (then a 60 s wait)."""
    from embodied.bridges.mlagents.player import parse_args

    with pytest.raises(SystemExit) as e:
        parse_args(["--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and "``" not in out and out.startswith("usage: embodied-unity-player")
    with pytest.raises(SystemExit) as e:
        parse_args(["--width", "0"])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and "--width: must be 16..4096, got 0" in err[0]
    with pytest.raises(SystemExit) as e:
        parse_args(["--connect-timeout", "-5"])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and "timeout must be more than 0 seconds, got -5" in err[0]
    assert parse_args(["-batchmode", "-unityOption", "x"]).width == 84  # Unity's own options are ignored


def test_set_values_are_typed_as_the_agent_takes_them():
    from embodied.commands.play import agent_specs

    sets = ["top_p=null", "temperature=1", "api_key_env=123", "hints=true", "history_k=2"]
    sets = [f"ana.{s}" for s in sets] + ["bo.seed=9"]
    argv = ["play", "collab_split", "--agent", "ana=openai:m", "--agent", "bo=random"]
    args = build_parser().parse_args(argv + [x for s in sets for x in ("--set", s)])
    opts = agent_specs(args, ["ana", "bo"])
    ana = opts["ana"][1]
    assert ana["top_p"] is None and ana["temperature"] == 1.0 and isinstance(ana["temperature"], float)
    assert ana["api_key_env"] == "123" and ana["hints"] is True and ana["history_k"] == 2
    assert opts["bo"] == ("random", {"seed": 9})
    # one agent for the rest, whatever the order: bo random, ana oracle
    for order in (["oracle", "bo=random"], ["bo=random", "oracle"]):
        args = build_parser().parse_args(
            ["play", "collab_split", *[x for a in order for x in ("--agent", a)]]
        )
        assert agent_specs(args, ["ana", "bo"]) == {"ana": ("oracle", {}), "bo": ("random", {"seed": 0})}


def test_suite_with_a_builder_that_does_not_import_is_one_line(tmp_path, capsys):
    # the docs' example suite as written (my_package does not exist): was a ModuleNotFoundError traceback
    suite = tmp_path / "mysuite.yaml"
    suite.write_text(
        "suite: MYSUITE\nversion: 1\nbuilder: my_package.builders:rooms\nseeds: 2\n"
        'tiers:\n  - {tier: "1", params: {rooms: 1}}\n'
    )
    for argv in (
        ["run", "--suite", str(suite), "--agent", "oracle", "--out", str(tmp_path / "r")],
        ["freeze", str(suite)],
    ):
        rc, err = run(["bench", *argv], capsys)
        assert rc == 2 and len(err.strip().splitlines()) == 1, err
        assert "its builder my_package.builders:rooms cannot be loaded (No module named 'my_package')" in err
    assert not (tmp_path / "r").exists()


def test_bench_run_checks_the_model_agent_before_the_run_directory(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    out = tmp_path / "run"
    argv = ["bench", "run", "--suite", "NAV", "--agent", "openai:m", "--out", str(out)]
    rc, err = run([*argv, "--api-key-env", "NO_SUCH_KEY_VAR"], capsys)
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "no API key" in err, err
    rc, err = run([*argv, "--jpeg-quality", "200"], capsys)
    assert rc == 2 and "jpeg_quality must be 1..95" in err, err
    assert not out.exists()  # was: a run directory with config.json, then the error from the first episode


@pytest.mark.parametrize(
    "var, value, argv, says",
    [
        # doctor renders depth and segmentation: the bad setting was a FAIL row, found only then
        (
            "EMBODIED_DECODE",
            "bogus",
            ["doctor"],
            "EMBODIED_DECODE='bogus' is not a depth/segmentation decoder",
        ),
        ("EMBODIED_DECODE", "fast", ["demo", "--out", "OUT"], "set auto|numba|numpy or unset it"),
        # read at the first depth frame only, in the engine: there the frame failed
        (
            "EMBODIED_DECODE_WAIT",
            "soon",
            ["demo", "--out", "OUT"],
            "EMBODIED_DECODE_WAIT='soon': expected seconds",
        ),
        # was: a run directory made, then the error from the first episode's engine
        (
            "EMBODIED_ENGINE",
            "unrael",
            ["bench", "run", "--suite", "NAV", "--agent", "oracle", "--out", "OUT"],
            "EMBODIED_ENGINE='unrael' is not an engine; set panda3d|unreal|unity|inprocess or unset it",
        ),
    ],
)
def test_bad_environment_setting_is_one_line_before_anything_runs(
    var, value, argv, says, capsys, monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(var, value)
    rc, err = run(argv, capsys)
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and says in lines[0], err
    assert lines[0].startswith(f"embodied {argv[0]}") and "Traceback" not in err
    assert not (tmp_path / "OUT").exists()


@pytest.mark.parametrize(
    "text, says",
    [
        ("- a\n", "a suite file is a mapping with suite, version and tiers"),
        ("suite: X\nversion: one\ntiers: []\n", "'version' must be a whole number like 1, got 'one'"),
        ("suite: X\nversion: 1\ntiers: [a, b]\n", "'tiers' must be a list of mappings"),
    ],
)
def test_suite_file_of_the_wrong_shape_is_one_line(text, says, tmp_path, capsys):
    suite = tmp_path / "mine.yaml"
    suite.write_text(text)  # each was a TypeError/ValueError/AttributeError traceback
    rc, err = run(["bench", "freeze", str(suite)], capsys)
    assert rc == 2 and len(err.strip().splitlines()) == 1 and f"{suite}: {says}" in err, err


def test_bench_help_names_agent_values_as_their_flags(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "run", "--help"])
    out = capsys.readouterr().out
    assert "--base-url BASE_URL" in out and "--request-timeout REQUEST_TIMEOUT" in out
    assert "AGENT_BASE_URL" not in out and "--agent-seed AGENT_SEED" in out  # was --base-url AGENT_BASE_URL


def test_a_suite_named_twice_runs_once_and_compare_knows_its_metrics(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["bench", "run", "--suite", "NAV,nav", "--agent", "oracle", "--tiers", "1", "--episodes", "1"]
    rc, err = run([*argv, "--size", "32", "--frames", "none", "--out", str(out)], capsys)
    assert rc == 0, err
    assert len((out / "results.jsonl").read_text().splitlines()) == 1  # was the same episode twice
    rc, err = run(["bench", "compare", str(out), str(out), "--metric", "sucess"], capsys)
    assert rc == 2 and len(err.strip().splitlines()) == 1, err  # was a paired difference of +0.0
    assert (
        "--metric 'sucess' is not in these runs' results; choose from " in err
        and " spl, steps, success" in err
    )


def test_freeze_and_report_output_starts_with_what_they_say(tmp_path, capsys):
    """Off a terminal a transient progress bar left a blank first line (freeze's stdout; report's
    stderr, before its one error line)."""
    suite = tmp_path / "mine.yaml"
    suite.write_text(
        "suite: MINE\nversion: 1\nbuilder: embodied.bench.builders:nav\nseeds: 1\n"
        'tiers:\n  - {tier: "1", params: {rooms: 1, distractors: 1}}\n'
    )
    rc = main(["bench", "freeze", str(suite)])
    out, err = capsys.readouterr()
    assert rc == 0 and out.startswith("MINE v1: 1/1 episodes frozen into"), repr(out)
    rc, err = run(["bench", "report", str(tmp_path / "nosuch")], capsys)
    assert rc == 2 and err.startswith("embodied bench report: error: "), repr(err)


@pytest.mark.parametrize(
    "command",
    [["bench", "run", "--suite", "NAV", "--out", "OUT"], ["play", "key_door"], ["demo", "--size", "32"]],
)
def test_human_agent_without_input_is_refused_before_an_engine(command, tmp_path):
    import subprocess
    import sys

    argv = [sys.executable, "-m", "embodied.cli", *command, "--agent", "human"]
    for closed in (False, True):  # end of input at once (/dev/null); a closed stdin
        r = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            preexec_fn=(lambda: os.close(0)) if closed else None,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
        )
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1, r.stderr  # was: every episode an instant failure
        assert "--agent human reads actions from stdin, which is empty (end of input)" in lines[0]
        assert not r.stdout and not {"OUT", "play_out", "demo_out"} & {p.name for p in tmp_path.iterdir()}


def test_an_agent_in_the_current_directory_is_found_as_python_finds_it(tmp_path, monkeypatch):
    """'embodied' (a console script) does not search the current directory, 'python -m' does:
    an agent in ./my_agents/ was 'No module named my_agents'."""
    import sys

    from embodied.bench.agents import resolve

    (tmp_path / "my_agents").mkdir()
    (tmp_path / "my_agents" / "__init__.py").write_text("")
    (tmp_path / "my_agents" / "walker.py").write_text(
        "from embodied.agents.random import RandomAgent\n\nclass Walker(RandomAgent):\n    pass\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "my_agents", raising=False)
    assert resolve("my_agents.walker:Walker").__name__ == "Walker"
    assert sys.path[-1] == str(tmp_path)  # searched last: the current directory shadows nothing
