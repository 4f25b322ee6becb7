"""Scripted "models" for the openai:MODEL agent tests: answers derived from the solver's plan.

The script reads the numbered allowed actions from the prompt the agent really sent (so an
answer by id only works if the prompt listed the action) and answers with the oracle's next
action, by id, as the real model would.
"""

from __future__ import annotations

import json
import re

from embodied.actions import Action, parse_canonical
from embodied.agents.oracle import OracleAgent

ACTIONS = re.compile(r"^(\d+)\. (.+)$", re.M)


def prompt_text(req) -> str:
    """The text of the last user message of a recorded request."""
    content = req.messages[-1]["content"]
    return content if isinstance(content, str) else "\n".join(p.get("text", "") for p in content)


def listed(req) -> dict[str, int]:
    return {m.group(2): int(m.group(1)) for m in ACTIONS.finditer(prompt_text(req))}


def answer_by_id(act, ids: dict[str, int], thought: str) -> str:
    """JSON naming ``act`` by its number in the prompt's list (placeholders filled through args)."""
    act = as_action(act)
    if str(act) in ids:
        return json.dumps({"thought": thought, "action_id": ids[str(act)]})
    if act.name == "EnterCode":
        return json.dumps(
            {
                "thought": thought,
                "action_id": ids[f"EnterCode({act.args[0]}, <code>)"],
                "args": {"code": act.args[1]},
            }
        )
    if act.name == "Say":
        say = next(a for a in ids if a.startswith("Say("))
        return json.dumps({"thought": thought, "action_id": ids[say], "args": {"text": act.args[0]}})
    if act.name == "Pass":  # waiting is not listed; say it in words
        return json.dumps({"thought": thought, "action": "Pass"})
    raise AssertionError(f"{act} is not among the listed actions {sorted(ids)}")


def as_action(act) -> Action:
    return act if isinstance(act, Action) else parse_canonical(str(act))


class OracleScript:
    """A callable script for :class:`~embodied.testing.FakeOpenAI`: the oracle's plan, by id."""

    def __init__(self, env, agent_id: str | None = None):
        self.env = env
        self.oracle = OracleAgent(agent_id)
        self.oracle.reset(env)
        self.steps = 0

    def __call__(self, req) -> str:
        act = self.oracle.act(None, None)
        self.steps += 1
        return answer_by_id(act, listed(req), f"step {self.steps}: the plan says {act}")
