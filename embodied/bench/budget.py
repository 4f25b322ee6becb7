"""Step budgets from the oracle's plan, computed without an engine.

The oracle walks and interacts through the world rules only (it never looks at pixels), so
replaying it against a :class:`~embodied.world.World` with no renderer gives exactly the
number of env steps it takes in the engine. That count is an episode's shortest known path
(the ``L*`` of SPL) and, scaled by the suite's ``budget`` setting, its step budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..actions import Action
from ..errors import EmbodiedError
from ..nav import NavConfig
from ..rules import apply
from ..solver import solve
from ..spec import Spec
from ..world import World


class BudgetError(EmbodiedError):
    """The oracle could not finish a scene in the rules-only replay."""


@dataclass
class _DryEnv:
    """Just what :class:`~embodied.agents.oracle.OracleAgent` reads from an env."""

    spec: Spec
    world: World
    agent_id: str


def oracle_steps(spec: Spec, fov: float = 90.0, aspect: float = 1.0, limit: int = 5000) -> int:
    """Env steps the oracle takes to reach the goal of ``spec`` (all agents acting each step)."""
    return len(oracle_actions(spec, fov, aspect, limit))


def oracle_actions(
    spec: Spec, fov: float = 90.0, aspect: float = 1.0, limit: int = 5000
) -> list[dict[str, Action]]:
    """The oracle's actions, one ``{agent: action}`` per env step, until the goal is reached."""
    from ..agents.oracle import OracleAgent

    world = World(spec, NavConfig(fov=fov), aspect=aspect)
    if not solve(spec).solvable:
        raise BudgetError(f"scene {spec.name!r} is not solvable: {solve(spec).reason}")
    env = _DryEnv(spec, world, world.agent_ids[0])
    agents = {aid: OracleAgent(agent_id=aid) for aid in world.agent_ids}
    for a in agents.values():
        a.reset(env)
    infos: dict[str, dict | None] = {aid: None for aid in agents}
    taken: list[dict[str, Action]] = []
    for _ in range(limit):
        acts = {aid: agents[aid].act(None, infos[aid]) for aid in world.agent_ids}
        done = False
        for aid, act in acts.items():
            act = act if isinstance(act, Action) else Action(str(act))
            r = apply(world, aid, act)
            infos[aid] = {"action": str(act), "lastActionSuccess": r.success}
            acts[aid] = act
            done = done or (act.name == "Done")
        world.tick()
        taken.append(acts)
        if world.goal_reached():
            return taken
        if done:
            break
    raise BudgetError(f"the oracle did not finish scene {spec.name!r} in the rules-only replay")


def budget(optimal: int, factor: float = 3.0, slack: int = 20) -> int:
    """The step budget for an episode whose oracle needs ``optimal`` steps."""
    return math.ceil(optimal * factor) + slack
