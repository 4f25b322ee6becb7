"""Mistakes through the Python API (make_vec with $EMBODIED_ENGINE naming another engine, an unknown
renderer, a bad step budget, an endpoint that is not an address): one clear ConfigError before
anything starts."""

from __future__ import annotations

import time

import pytest

import embodied
from embodied.errors import ConfigError


@pytest.mark.parametrize("name", ["unity", "unreal"])
def test_make_vec_on_a_one_scene_engine_says_engine_per_1(name, monkeypatch):
    # was: engines launched, then 'EngineError: ... already shows a scene' from inside reset
    monkeypatch.setenv("EMBODIED_ENGINE", name)
    t0 = time.monotonic()
    with pytest.raises(ConfigError) as e:
        embodied.make_vec("escape/key-door", 2)
    assert time.monotonic() - t0 < 2  # refused before any engine started
    assert str(e.value) == (
        f"make_vec with $EMBODIED_ENGINE={name}: a {name} engine holds one scene, so give engine_per=1 "
        "(one engine per env), or unset EMBODIED_ENGINE to batch 4 envs per embedded engine"
    )


def test_make_vec_with_an_unknown_engine_in_the_environment(monkeypatch):
    monkeypatch.setenv("EMBODIED_ENGINE", "unrael")
    with pytest.raises(ConfigError, match=r"unknown engine 'unrael' \(from \$EMBODIED_ENGINE\); known: \["):
        embodied.make_vec("escape/key-door", 2)


@pytest.mark.slow
def test_make_vec_with_engine_per_1_runs_on_the_unreal_bridge(monkeypatch):
    pytest.importorskip("unrealcv")
    monkeypatch.setenv("EMBODIED_ENGINE", "unreal")
    vec = embodied.make_vec("escape/key-door", 2, engine_per=1)
    try:
        vec.reset(seed=0)
        obs, *_ = vec.step(vec.action_space.sample())
        assert obs["rgb"].shape[0] == 2 and obs["rgb"].any()
        assert len(vec.engines) == 2 and all(type(e).__name__ == "UnrealCVEngine" for e in vec.engines)
    finally:
        vec.close()


def test_unknown_renderer_is_a_config_error_before_an_engine_starts():
    # was: an engine process started, refused the option, and make raised EngineError with its log
    t0 = time.monotonic()
    with pytest.raises(
        ConfigError, match=r"unknown renderer 'vulkan'; choose software \(works everywhere\), gl"
    ):
        embodied.make("escape/key-door", renderer="vulkan")
    with pytest.raises(ConfigError, match="unknown renderer 'GL'"):
        embodied.launch(renderer="GL")
    assert time.monotonic() - t0 < 2


@pytest.mark.parametrize("bad", [-1, 0, 2.5])
def test_bad_step_budget_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="max_steps must be"):  # -1 and 0 were accepted
        embodied.make("escape/key-door", max_steps=bad)


def test_connect_to_something_that_is_not_an_address():
    with pytest.raises(ConfigError, match=r"endpoint 'localhost:5555' is not a ZeroMQ address; give tcp://"):
        embodied.connect("localhost:5555")  # was zmq.ZMQError: Invalid argument
