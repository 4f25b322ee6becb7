"""Soak (slow): 1,000 resets and steps keep memory flat in the client and the engine process."""

import pytest

from embodied.env import Env


def rss_kb(pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


@pytest.mark.slow
def test_thousand_resets_flat_memory():
    with Env("two_rooms") as env:
        pid = env.engine.process.pid
        for _ in range(100):  # warm up caches and allocators
            env.reset()
            env.step("RotateLeft")
        client0, engine0 = rss_kb(), rss_kb(pid)
        for i in range(1000):
            env.reset()
            env.step("RotateLeft" if i % 2 else "MoveAhead")
        client1, engine1 = rss_kb(), rss_kb(pid)
    assert client1 - client0 < 20_000, (client0, client1)  # < 20 MB growth over 1,000 resets
    assert engine1 - engine0 < 20_000, (engine0, engine1)


PLAN = (
    ["RotateLeft"]
    + ["MoveAhead"] * 7
    + ["Read(note)", "RotateLeft"]
    + ["MoveAhead"] * 4
    + ["MoveLeft"]
    + ["EnterCode(keypad, 1111)", "EnterCode(keypad, 2222)", "EnterCode(keypad, 4172)"]
    + ["MoveLeft"] * 4
    + ["Open(exit)", "Close(exit)", "Open(exit)"]
)


@pytest.mark.slow
def test_twenty_thousand_steps_flat_memory():
    """Episodes with text changes (keypad displays), doors and moves: engine and client RSS stay flat.
    On the previous main the engine grew ~3 MB per 5,000 steps (text textures kept by Panda's
    state composition cache)."""
    with Env("note_code", width=64, height=64, max_steps=10**9) as env:
        pid = env.engine.process.pid

        def episode():
            env.reset()
            for act in PLAN:
                env.step(act)

        for _ in range(40):
            episode()
        client0, engine0 = rss_kb(), rss_kb(pid)
        steps = 0
        while steps < 20_000:
            episode()
            steps += len(PLAN) + 1
        client1, engine1 = rss_kb(), rss_kb(pid)
    print(f"soak RSS KB: client {client0} -> {client1}, engine {engine0} -> {engine1}")
    assert client1 - client0 < 3_000, (client0, client1)
    assert engine1 - engine0 < 3_000, (engine0, engine1)
