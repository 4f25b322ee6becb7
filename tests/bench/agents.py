"""Agents used by the bench tests (importable by worker processes as tests.bench.agents:Class)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from embodied.agents.oracle import OracleAgent


class CrashOnce(OracleAgent):
    """The oracle, but on step 3 of the first attempt it kills the engine process (SIGKILL)."""

    def __init__(self, marker: str, agent_id=None, seed: int = 0):
        super().__init__(agent_id=agent_id, seed=seed)
        self.marker = Path(marker)
        self.steps = 0

    def act(self, obs=None, info=None):
        self.steps += 1
        if self.steps == 3 and not self.marker.exists():
            self.marker.write_text("crashed")
            os.kill(self.env.engine.process.pid, signal.SIGKILL)
        return super().act(obs, info)


class Talker(OracleAgent):
    """The oracle, reporting VLM-style telemetry (thought, tokens, cost) through ``last``."""

    def act(self, obs=None, info=None):
        a = super().act(obs, info)
        self.last = {
            "thought": f"I will {a}",
            "tokens_in": 100,
            "tokens_out": 10,
            "images": 1,
            "cost": 0.001,
            "prompt": "Task: escape. What next?",
        }
        return a


class Broken(OracleAgent):
    """An agent whose constructor fails (a set-up error: a model that cannot load)."""

    def __init__(self, agent_id=None, seed: int = 0):
        raise RuntimeError("no model weights here")
