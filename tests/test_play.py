"""``embodied play``: a real subprocess, the genuine openai SDK, the local server; keys never leak."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from embodied.testing import FakeOpenAI, Reply

KEY = "sk-PLANTED-d41d8cd98f00b204e9800998ecf8427e"


def run_play(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "embodied.cli", "play", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_play_records_everything_and_the_key_appears_nowhere(tmp_path):
    out = tmp_path / "run"
    answers = [
        '{"thought": "first, look to the left", "action_id": 4}',
        Reply.rate_limit(retry_after=0.01),
        "garbage without any action",
        '{"thought": "ok, properly now", "action": "turn right"}',
        Reply.server_error(503),
        "Thought: nothing to do here\nAction: Done",
    ]
    with FakeOpenAI(answers) as srv:
        p = run_play(
            "chest_split_code",
            "--agent",
            "openai:gpt-4o",
            "--base-url",
            srv.base_url,
            "--out",
            str(out),
            "--cache",
            str(tmp_path / "cache"),
            "--size",
            "64",
            "--backoff",
            "0.01",
            "--temperature",
            "0.3",
            "--history",
            "keyframes",
            env={"OPENAI_API_KEY": KEY, "OPENAI_LOG": "debug"},
        )
        assert p.returncode == 0, p.stderr
        assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in srv.completions)  # the key was used
    assert "did not finish" in p.stdout and "API errors 2" in " ".join(p.stdout.split())
    lines = [json.loads(x) for x in (out / "steps.jsonl").read_text().splitlines()]
    assert [x["action"] for x in lines] == ["RotateLeft", "RotateRight", "Done"]
    assert lines[1]["reprompted"] and lines[1]["format_errors"] == 1 and lines[1]["parse_path"] == "json"
    assert lines[0]["run"]["agent_options"]["temperature"] == 0.3
    assert lines[0]["run"]["agent_options"]["history"] == "keyframes"
    assert all(x["prompt_hash"] == lines[0]["prompt_hash"] for x in lines)
    metrics = json.loads((out / "metrics.json").read_text())
    s = metrics["agent_stats"]["a0"]
    assert (
        s["api_error_classes"] == {"RateLimitError": 1, "InternalServerError": 1} and s["format_errors"] == 1
    )
    assert s["cost_usd"] > 0
    assert len(list((out / "frames").glob("*.png"))) == 4 and (out / "episode.gif").exists()
    # the planted key: in no file the run wrote (frames, GIF, JSON, cache) and in no output or log
    written = [f for f in tmp_path.rglob("*") if f.is_file()]
    assert len(written) > 8
    for f in written:
        assert KEY.encode() not in f.read_bytes(), f
    assert KEY not in p.stdout and KEY not in p.stderr
    assert "DEBUG" in p.stderr  # the SDK's debug log was on, and still no key


def test_play_mistakes_are_one_line_and_exit_2(tmp_path, capsys):
    from embodied.cli import main

    # checked before any engine starts, so in-process and quick
    assert main(["play", "collab_split", "--agent", "carol=openai:gpt-4o", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no agent 'carol'" in err and "ana, bo" in err and len(err.strip().splitlines()) == 1
    assert main(["play", "chest_split_code", "--agent", "gpt5", "--out", str(tmp_path)]) == 2
    assert "unknown agent 'gpt5'" in capsys.readouterr().err
    assert main(["play", "chest_split_code", "--set", "bo.temperature", "--out", str(tmp_path)]) == 2
    assert "expected [ID.]KEY=VALUE" in capsys.readouterr().err


@pytest.mark.slow
def test_ctrl_c_says_which_files_are_kept(tmp_path):
    """Ctrl-C of 'embodied play' printed only 'interrupted': the frames so far are on disk, the
    records are written only at the end; one line says so (a real process, SIGINT to its group)."""
    import signal
    import time

    out = tmp_path / "out"
    with FakeOpenAI(lambda req: Reply.slow('{"thought": "go", "action": "RotateLeft"}', delay=0.3)) as srv:
        argv = ["play", "key_door", "--agent", "openai:m", "--base-url", srv.base_url, "--quiet"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "embodied.cli", *argv, "--size", "32", "--out", str(out)],
            env={**os.environ, "OPENAI_API_KEY": "sk-test"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        try:
            deadline = time.time() + 90
            while time.time() < deadline and len(list(out.glob("frames/*.png"))) < 3:
                time.sleep(0.1)
            os.killpg(proc.pid, signal.SIGINT)
            err = proc.communicate(timeout=20)[1]
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    lines = err.strip().splitlines()
    assert proc.returncode == 130 and len(lines) == 1 and "Traceback" not in err, err
    n = len(list(out.glob("frames/*.png")))
    assert n >= 3 and lines[0] == (
        f"embodied play: interrupted; {n} frames are in {out / 'frames'} (steps.jsonl, metrics.json and the "
        "GIF are written when the episode ends; the same command plays it again)"
    )
