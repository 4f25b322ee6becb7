"""Shared fixtures: one engine process for every test that only needs a working engine."""

import pytest

import embodied


@pytest.fixture(scope="session")
def engine():
    """One engine for the whole session (an env loads its scene on reset, so envs may share it).
    Tests that kill, time out or reconfigure an engine launch their own."""
    with embodied.launch() as client:
        yield client
