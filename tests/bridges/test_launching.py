"""The launch steps the Unreal and Unity bridges share (embodied/bridges/launching.py), through both
real ``launch()`` functions: refusals come before any process starts."""

from __future__ import annotations

import os
import sys

import pytest
from embodied.bridges.launching import build_from, log_dir_for

import embodied
from embodied.errors import EngineError

ENGINES = [("unreal", "UnrealCV", "connect()"), ("unity", "ML-Agents", "trainer side")]


@pytest.mark.parametrize("engine, protocol, remote", ENGINES)
def test_token_and_remote_host_are_refused_by_every_bridge(engine, protocol, remote):
    if engine == "unity":
        pytest.importorskip("mlagents_envs")
    with pytest.raises(EngineError, match=f"^{protocol} has no authentication: launch without token="):
        embodied.launch(engine=engine, token="s3cret")
    with pytest.raises(
        EngineError, match=f"host '10.1.2.3': a launched {protocol} engine listens on 127.0.0.1 only;"
    ):
        embodied.launch(engine=engine, host="10.1.2.3")
    with pytest.raises(EngineError, match=remote.replace("(", r"\(").replace(")", r"\)")):
        embodied.launch(engine=engine, host="example.org")


def test_build_and_log_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBODIED_X_BUILD", "/opt/game")
    assert (
        build_from("/mine", "EMBODIED_X_BUILD") == "/mine"
        and build_from(None, "EMBODIED_X_BUILD") == "/opt/game"
    )
    monkeypatch.setenv("EMBODIED_X_BUILD", "")
    assert build_from(None, "EMBODIED_X_BUILD") is None
    mine = tmp_path / "logs" / "a"
    assert log_dir_for(str(mine), "p-") == (str(mine), None) and mine.is_dir()
    made, tmp = log_dir_for(None, "embodied-test-")
    try:
        assert made == tmp and os.path.isdir(tmp) and os.path.basename(tmp).startswith("embodied-test-")
    finally:
        os.rmdir(tmp)


def test_a_missing_client_library_names_the_extra(monkeypatch):
    from embodied.bridges.unrealcv.launcher import connect

    monkeypatch.setitem(sys.modules, "unrealcv", None)  # as if 'pip install embodied[unreal]' was not run
    for start in (lambda: embodied.launch(engine="unreal"), lambda: connect("127.0.0.1", 9)):
        with pytest.raises(
            EngineError, match=r"^the Unreal bridge needs unrealcv: pip install 'embodied\[unreal\]'"
        ):
            start()
