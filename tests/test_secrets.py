"""API keys never reach run directories, logs or engine processes (a planted key is searched for
in every output of a demo and of a play run)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import embodied

KEY = "sk-PLANTED-9f86d081884c7d659a2feaa0c55ad015"


def test_engine_processes_do_not_inherit_api_keys(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("MY_SERVICE_TOKEN", KEY)
    with embodied.launch() as eng:
        with open(f"/proc/{eng.process.pid}/environ", "rb") as f:
            environ = f.read()
        assert KEY.encode() not in environ
        assert b"EMBODIED_ENGINE_TOKEN=" in environ  # its own token arrives this way, not via argv


def _run(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "embodied.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={**os.environ, "OPENAI_API_KEY": KEY, "EMBODIED_API_KEY": KEY},
    )


@pytest.mark.slow
def test_planted_key_appears_in_no_output_of_demo_and_play(tmp_path):
    runs = [
        ("demo", "--agent", "oracle", "--scene", "key_door", "--out", str(tmp_path / "demo"), "--size", "64"),
        ("play", "key_door", "--agent", "oracle", "--out", str(tmp_path / "play"), "--size", "64"),
    ]
    for args in runs:
        p = _run(*args, cwd=tmp_path)
        assert p.returncode == 0, (args[0], p.stderr[-2000:])
        assert KEY not in p.stdout and KEY not in p.stderr
    written = [f for f in tmp_path.rglob("*") if f.is_file()]
    assert len(written) > 6
    for f in written:
        assert KEY.encode() not in f.read_bytes(), f
