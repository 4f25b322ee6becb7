"""A random agent: a uniformly random allowed action each step (seeded), arguments filled in."""

from __future__ import annotations

import random

from ..actions import Action


class RandomAgent:
    def __init__(self, seed: int = 0, agent_id: str | None = None):
        self.rng = random.Random(seed)
        self.agent_id = agent_id

    def reset(self, env) -> None:
        self.env = env
        self.agent_id = self.agent_id or env.agent_id

    def act(self, obs=None, info=None) -> Action:
        allowed = [a for a in self.env.allowed_actions(self.agent_id) if a.name != "Done"]
        act = self.rng.choice(allowed)
        if act.name == "EnterCode":
            return Action("EnterCode", (act.args[0], f"{self.rng.randrange(10000):04d}"))
        if act.name == "Say":
            return Action("Say", ("hello",))
        return act
