"""A generated suite (GEN's format): frozen once through the LLM generator against the local
OpenAI-compatible server, then run from the frozen file with no endpoint; unfrozen it is unavailable."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("openai", reason="the openai package is not installed")

from embodied.procedural import generate

from embodied.bench.rundir import RunDir
from embodied.bench.runner import RunSpec, run
from embodied.bench.suites import get_suite
from embodied.cli import main as cli
from embodied.testing import FakeOpenAI

SUITE = """suite: GENTEST
version: 1
source: embodied.bench.sources:generated
generator: {temperature: 0.7, max_repairs: 1}
tiers:
  - {tier: "1", params: {rooms: 1, depth: 1}, prompts: [a dusty attic, a ship's cabin]}
  - {tier: "2", params: {rooms: 1, depth: 2}, prompts: [a greenhouse]}
  - {tier: "3", params: {rooms: 2, depth: 3}, prompts: [a wine cellar]}
"""


def model(scenes: dict[str, list[str]]):
    """Stage answers, then per prompt the scripted scene answers (the last one repeats)."""

    def answer(req) -> str:
        texts = [
            m["content"]
            if isinstance(m["content"], str)
            else " ".join(p.get("text", "") for p in m["content"])
            for m in req.messages
            if m["role"] == "user"
        ]
        last = texts[-1]
        if "STAGE theme" in last:
            return '{"name": "room", "description": "a room", "theme": "plain"}'
        if "STAGE layout" in last:
            return '{"rooms": [{"id": "r", "size": [5, 4.5]}], "doors": [{"id": "exit", "between": ["r", "outside"]}]}'
        if "STAGE puzzle" in last:
            return '{"objects": [], "agents": [{"id": "a0", "room": "r"}], "goal": {"exit_through": "exit"}}'
        prompt = next(p for p in scenes if p in texts[0])
        queue = scenes[prompt]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return answer


def good(seed: int, **knobs) -> str:
    return json.dumps(generate(seed, decoys=0, indirection=0, **knobs).to_json())


@pytest.mark.slow
def test_generated_suite_freezes_through_the_llm_and_runs_offline(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    path = tmp_path / "gentest.yaml"
    path.write_text(SUITE)
    suite = get_suite(str(path))
    ok, why = suite.availability()
    assert not ok and "not generated yet" in why
    scenes = {
        "a dusty attic": [good(1, rooms=1, depth=1)],
        "a ship's cabin": ["{not json", good(2, rooms=1, depth=1)],  # repaired on the second answer
        "a greenhouse": [good(3, rooms=1, depth=2)],
        "a wine cellar": ["never a scene"],  # gives up: the suite stays unavailable
    }
    args = ["bench", "freeze", str(path), "--model", "gpt-4o-mini", "--cache-dir", str(tmp_path / "cache")]
    with FakeOpenAI(model(scenes)) as srv:
        assert cli([*args, "--base-url", srv.base_url]) == 1
        out = capsys.readouterr().out
        assert "3/4 episodes frozen" in out and "3/0: not generated" in out
        assert not get_suite(str(path)).availability()[0]
        scenes["a wine cellar"] = [good(4, rooms=2, depth=3)]
        before = len(srv.completions)
        # the same model would replay its cached failure; another model is asked, for that scene only
        again = [a if a != "gpt-4o-mini" else "gpt-4o" for a in args]
        assert cli([*again, "--base-url", srv.base_url]) == 0
        assert "4/4 episodes frozen" in capsys.readouterr().out
        asked = [r for r in srv.completions[before:]]
        assert asked and all(
            "wine cellar" in json.dumps(r.json["messages"]) for r in asked
        )  # frozen ones kept
    lock = json.loads((tmp_path / "gentest.lock.json").read_text())
    assert len(lock["episodes"]) == 4 and all("spec" in e and e["hash"] for e in lock["episodes"].values())
    assert get_suite(str(path)).availability() == (True, "")
    # the frozen file runs with no endpoint at all
    m = run(RunSpec([get_suite(str(path))], "oracle", tmp_path / "run", size=48, frames="none"))
    assert m["overall"]["success"]["mean"] == 1.0 and m["overall"]["episodes"] == 4
    assert {r["scene_hash"] for r in RunDir(tmp_path / "run").results()} == {
        e["hash"] for e in lock["episodes"].values()
    }


def test_shipped_gen_suite_is_listed_unavailable_with_the_reason(capsys):
    s = get_suite("GEN")
    assert len(s.tiers) >= 3 and all(len(t.seeds) >= 10 for t in s.tiers)
    if s.lock_status() == "frozen":
        pytest.skip("GEN is frozen in this checkout")
    assert cli(["bench", "list"]) == 0
    assert "not generated yet" in capsys.readouterr().out.replace("\n", " ")


def test_freeze_stops_at_once_when_the_endpoint_never_answers(tmp_path):
    # a wrong --base-url used to cost every episode its retries (30 episodes x ~30 s, silently)
    from embodied.agents.openai_client import ChatClient
    from embodied.bench.sources import llm_maker
    from embodied.bench.suites import SuiteError
    from embodied.testing import refused_base_url

    path = tmp_path / "gentest.yaml"
    path.write_text(SUITE)
    suite = get_suite(str(path))
    client = ChatClient("gpt-4o-mini", base_url=refused_base_url(), retries=0)
    tried = []
    make = llm_maker(suite, client)
    with pytest.raises(SuiteError, match=r"GENTEST: the model's endpoint failed: .*check --base-url"):
        suite.freeze(make_spec=lambda ep: tried.append(ep) or make(ep))
    assert len(tried) == 1 and not (tmp_path / "gentest.lock.json").exists()


def four_scenes() -> dict:
    """The model's scene for each of SUITE's four themes (a list: one answer per request)."""
    return {
        "a dusty attic": [good(1, rooms=1, depth=1)],
        "a ship's cabin": [good(2, rooms=1, depth=1)],
        "a greenhouse": [good(3, rooms=1, depth=2)],
        "a wine cellar": [good(4, rooms=2, depth=3)],
    }


def test_freeze_stops_when_the_endpoint_goes_down_and_keeps_what_it_froze(tmp_path, monkeypatch, capsys):
    """The endpoint drops every connection after the first scene: freezing stops after that
    episode's retries (not every remaining episode's), writes the scene it made, says how to
    resume; a second freeze with the server gone loses nothing, a third asks only for the rest."""
    from embodied.testing import Reply

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    path = tmp_path / "gentest.yaml"
    path.write_text(SUITE)
    scenes = four_scenes()
    answer = model(scenes)
    up = {"attic": True}

    def flaky(req):
        if not up["attic"] or "a dusty attic" not in json.dumps(req.messages):
            up["attic"] = False  # down from the second episode on
            return Reply(close=True)
        return answer(req)

    args = ["bench", "freeze", str(path), "--model", "gpt-4o-mini", "--retries", "1"]
    lock = tmp_path / "gentest.lock.json"
    with FakeOpenAI(flaky) as srv:
        assert cli([*args, "--base-url", srv.base_url]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        retry = f"embodied: gpt-4o-mini at {srv.base_url}: APIConnectionError; retry 1 of 1 in "
        assert len(err) == 2 and err[0].startswith(retry), err  # the wait is said as it starts
        err = err[1:]
        assert (
            "GENTEST: stopped at GENTEST/1/1: the endpoint failed 2 times in a row (APIConnectionError)"
            in err[0]
        )
        assert f"1/4 episodes are frozen in {lock} and kept: run the same command again" in err[0]
        failed = [r for r in srv.completions if "a dusty attic" not in json.dumps(r.json["messages"])]
        assert len(failed) == 2  # one episode's two attempts, not three episodes' worth
        base_url = srv.base_url
    assert list(json.loads(lock.read_text())["episodes"]) == ["1/0"]
    assert cli([*args, "--base-url", base_url]) in (1, 2)  # the server is gone: refused
    err = capsys.readouterr().err.strip().splitlines()
    assert len([line for line in err if not line.startswith("embodied: gpt-4o-mini at ")]) == 1, err
    assert list(json.loads(lock.read_text())["episodes"]) == ["1/0"]  # nothing lost
    with FakeOpenAI(model(scenes)) as srv:
        assert cli([*args, "--base-url", srv.base_url]) == 0
        assert "4/4 episodes frozen" in capsys.readouterr().out
        assert not any("a dusty attic" in json.dumps(r.json["messages"]) for r in srv.completions)
    assert get_suite(str(path)).availability() == (True, "")


@pytest.mark.slow
def test_ctrl_c_during_freeze_keeps_the_scenes_made_and_names_the_command_that_goes_on(tmp_path, monkeypatch):
    """Ctrl-C during 'bench freeze' of a generated suite printed only 'interrupted': now one line
    says how many scenes are kept in which lock file, and the exact command that generates only the
    rest (a real process, SIGINT to its process group while the second scene's request waits)."""
    import os
    import shlex
    import signal
    import subprocess
    import sys
    import threading
    import time

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    path = tmp_path / "gentest.yaml"
    path.write_text(SUITE)
    scenes = four_scenes()
    answer, release, waiting = model(scenes), threading.Event(), threading.Event()

    def hangs_after_the_attic(req):
        if "a dusty attic" not in json.dumps(req.messages):
            waiting.set()
            release.wait(30)  # the second scene's request hangs until the test is done
        return answer(req)

    lock = tmp_path / "gentest.lock.json"
    with FakeOpenAI(hangs_after_the_attic) as srv:
        argv = ["bench", "freeze", str(path), "--model", "gpt-4o-mini", "--base-url", srv.base_url]
        proc = subprocess.Popen(
            [sys.executable, "-m", "embodied.cli", *argv],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group, as a terminal's foreground job
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        try:
            assert waiting.wait(60), "the second scene was never asked for"
            time.sleep(0.2)
            os.killpg(proc.pid, signal.SIGINT)
            err = proc.communicate(timeout=15)[1]
        finally:
            release.set()
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        lines = err.strip().splitlines()
        assert proc.returncode == 130 and len(lines) == 1 and "Traceback" not in err, err
        again = "embodied " + shlex.join(argv)
        assert lines[0] == (
            f"embodied bench freeze: interrupted; 1/4 scenes of GENTEST are generated and kept in {lock}; "
            f"'{again}' generates only the rest"
        )
        assert list(json.loads(lock.read_text())["episodes"]) == ["1/0"]
        # the command it names, run as it says: only the three missing scenes are asked for
        before = len(srv.completions)
        srv.set_script(answer)
        assert cli(shlex.split(again)[1:]) == 0
        asked = [json.dumps(r.json["messages"]) for r in srv.completions[before:]]
        assert asked and not any("a dusty attic" in a for a in asked)
    assert get_suite(str(path)).availability() == (True, "")
