"""Fuzzing Env.step and spec JSON (hypothesis): no crash, a clear failure, nothing changes in
the world on a failed step, validation ends in a report or a SpecError. Fast profile here; the
``slow`` tests run the same properties with many more cases."""

from __future__ import annotations

import contextlib
import copy
import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from embodied.env import Env
from embodied.errors import SpecError
from embodied.spec import load_spec
from embodied.validate import validate

from .fuzz_strategies import FAST, SLOW, actions, json_values

COUNT = {"env": 0, "spec": 0}


@pytest.fixture(scope="module")
def env(engine):
    e = Env("chest_split_code", engine=engine, width=32, height=32, max_steps=10**6)
    e.reset()
    yield e
    e.close()


def _step_property(env, action):
    COUNT["env"] += 1
    before = env.world.get_state()
    obs, _r, term, trunc, info = env.step(action)
    assert obs["rgb"].shape == (32, 32, 3)
    assert isinstance(info["errorMessage"], str) and len(info["errorMessage"]) <= 600
    if not info["lastActionSuccess"]:
        after = env.world.get_state()
        before["step"] = after["step"]
        assert after == before, f"failed step {action!r:.80} changed the world"
    if term or trunc:
        env.reset()


@FAST
@given(action=actions)
def test_env_step_fuzz(env, action):
    _step_property(env, action)


@pytest.mark.slow
@SLOW
@given(action=actions)
def test_env_step_fuzz_long(env, action):
    _step_property(env, action)


BASE = json.loads(json.dumps(load_spec("chest_split_code").to_json()))


def _paths(v, path=()):
    yield path
    if isinstance(v, dict):
        for k, x in v.items():
            yield from _paths(x, (*path, k))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from _paths(x, (*path, i))


PATHS = list(_paths(BASE))[1:]


def _mutate(paths_values):
    d = copy.deepcopy(BASE)
    for path, value in paths_values:
        cur = d
        try:
            for p in path[:-1]:
                cur = cur[p]
            cur[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    return d


mutations = st.lists(st.tuples(st.sampled_from(PATHS), json_values), min_size=1, max_size=3)


def _spec_property(muts):
    COUNT["spec"] += 1
    data = _mutate(muts)
    t0 = time.monotonic()
    try:
        report = validate(data, max_states=5000)
        assert isinstance(report.ok, bool)
    except SpecError as e:
        assert len(str(e)) < 5000
    assert time.monotonic() - t0 < 20


@FAST
@given(muts=mutations)
def test_spec_fuzz(muts):
    _spec_property(muts)


@pytest.mark.slow
@SLOW
@given(muts=mutations)
def test_spec_fuzz_long(muts):
    _spec_property(muts)


@FAST
@given(text=st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_spec_text_fuzz(text):
    with contextlib.suppress(SpecError):  # anything else fails the test
        load_spec("{" + text)
