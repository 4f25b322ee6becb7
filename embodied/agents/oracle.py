"""The oracle: executes the solver's plan through the ordinary step API.

It walks, turns and interacts like any agent (no teleporting): each abstract plan step becomes
a breadth-first path over poses to where the target is interactable (for reading, close
enough for the text to be legible), then the interaction. If an action fails, it re-plans
from the current state. It reads the world state directly: it is the upper bound and the
engine check, not a fair player.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import TYPE_CHECKING

from ..actions import Action
from ..nav import gave_up_reason
from ..planning import checkpoints_from_plan, expand_step
from ..solver import PlanStep, solve

if TYPE_CHECKING:
    from ..env import Env

__all__ = ["OracleAgent", "expand_step"]

log = logging.getLogger(__name__)


class OracleAgent:
    def __init__(self, agent_id: str | None = None, seed: int = 0):
        self.agent_id = agent_id
        self.env: Env | None = None
        self.queue: deque = deque()
        self.plan: deque[PlanStep] = deque()
        self.current: PlanStep | None = None
        self.replans = 0

    def reset(self, env: Env) -> None:
        self.env = env
        self.agent_id = self.agent_id or env.agent_id
        self._replan()
        self.replans = 0

    def _replan(self) -> None:
        verdict = solve(self.env.spec, world=self.env.world, time_limit=None)  # the same plan at any load
        self.plan = deque(verdict.plan)
        self.queue.clear()
        self.current = None
        self.replans += 1

    def act(self, obs=None, info=None):
        if info is not None and info.get("action") and not info["lastActionSuccess"] and self.replans < 20:
            self._replan()
        while not self.queue:
            if not self.plan:
                return Action("Done") if len(self.env.world.agent_ids) == 1 else Action("Pass")
            step = self.plan[0]
            if step.agent != self.agent_id:
                # a teammate's step: wait until the world shows it done (joint plans stay ordered)
                done = checkpoints_from_plan([step], self.env.world)
                if done and self.env.world.holds(done[0]):
                    self.plan.popleft()
                    continue
                return Action("Pass")
            self.plan.popleft()
            self.current = step
            moves = expand_step(self.env.world, self.agent_id, step)
            if moves is None and gave_up_reason():  # (not proven impossible: say why it stops)
                log.warning("oracle %s cannot plan %s: %s", self.agent_id, step, gave_up_reason())
            self.queue.extend(moves if moves is not None else [Action("Pass")])
        return self.queue.popleft()
