"""Shared fixtures: one engine process for every test that only needs a working engine."""

import pytest

import embodied


@pytest.fixture(scope="session")
def engine():
    """One engine for the whole session (an env loads its scene on reset, so envs may share it).
    Tests that kill, time out or reconfigure an engine launch their own."""
    with embodied.launch() as client:
        yield client


@pytest.fixture
def make_env(engine):
    """``make_env(scene, **kwargs)``: an Env on the shared engine, closed (its scene freed) after the test."""
    from embodied.env import Env

    envs = []

    def make(scene, **kwargs):
        env = Env(scene, engine=engine, **kwargs)
        envs.append(env)
        return env

    yield make
    for env in envs:
        env.close()
