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
