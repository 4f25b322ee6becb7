"""An escape room served over UnrealCV: ``embodied engine serve --protocol unrealcv --scene NAME``.

The scene's nodes are actors of the level (named after our ids: ``chest``, ``chest_lid``,
``floor_hall``...), agent ``k`` looks through camera ``k``, and these commands act in it:

- ``vset /action/do TEXT`` -- one step of the first agent: a canonical action (``Open(chest)``),
  an action id from ``vget /action/allowed``, or free text (``open the red chest``); the reply is
  JSON ``{"success", "message", "action", "reward", "terminated", "truncated", "progress", "step"}``;
- ``vset /action/do_as AGENT TEXT`` -- the same for another agent;
- ``vget /action/allowed [AGENT]`` -- the numbered allowed actions, one per line;
- ``vget /action/info [AGENT]`` -- the env's info as of that agent's last step or reset (JSON);
- ``vset /action/reset`` -- start the episode again.

TEXT is taken verbatim (percent-encoding is decoded); it is parsed by the action grammar, never
evaluated. A bad action is a normal step with ``"success": false`` and the reason.
"""

from __future__ import annotations

import json
from urllib.parse import unquote

from embodied.bridges.unrealcv.backend import UnrealCVEngine
from embodied.bridges.unrealcv.level import CommandError, Level
from embodied.bridges.unrealcv.transport import LocalTransport

TEMPLATES = [
    "vset /action/do [str]",
    "vset /action/do_as [str] [str]",
    "vget /action/allowed",
    "vget /action/allowed [str]",
    "vget /action/info",
    "vget /action/info [str]",
    "vset /action/reset",
]


class SceneActions:
    """Loads ``scene`` into ``level`` through the backend and answers the ``/action/`` commands."""

    def __init__(self, level: Level, scene: str, width: int, height: int, fov: float):
        from embodied.env import Env

        self.engine = UnrealCVEngine(LocalTransport(level), level.table)
        self.engine.hello()
        self.env = Env(scene, engine=self.engine, width=width, height=height, fov=fov)
        self._last = self.env.reset_all()[1]  # agent -> info as of its last step or reset
        level.add_commands(
            TEMPLATES,
            [
                (r"vset /action/do (.+)", lambda text: self._do(self.env.agent_id, text)),
                (r"vset /action/do_as (\S+) (.+)", self._do),
                (r"vget /action/allowed(?: (\S+))?", self._allowed),
                (r"vget /action/info(?: (\S+))?", self._info),
                (r"vset /action/reset", self._reset),
                (r"v(?:get|set) /action/(?!game/|keyboard).*", self._unknown),
            ],
        )

    def _agent(self, aid: str | None) -> str:
        aid = aid or self.env.agent_id
        if aid not in self.env.world.agent_ids:
            raise CommandError(f"unknown agent {aid!r}; agents: {', '.join(self.env.world.agent_ids)}")
        return aid

    def _do(self, aid: str, text: str) -> str:
        aid = self._agent(aid)
        text = unquote(text.strip())
        if not text or len(text) > 2000:
            raise CommandError("give an action of 1..2000 characters, e.g. 'vset /action/do MoveAhead'")
        act = int(text) if text.isdigit() else text
        _obs, reward, term, trunc, info = self.env.step_all({aid: act})
        i = self._last[aid] = info[aid]
        return json.dumps(
            {
                "success": i["lastActionSuccess"],
                "message": i["feedback"] if i["lastActionSuccess"] else i["errorMessage"],
                "action": i["action"],
                "reward": reward[aid],
                "terminated": term,
                "truncated": trunc,
                "progress": i["progress"],
                "step": i["step"],
            }
        )

    def _allowed(self, aid: str | None) -> str:
        acts = self.env.allowed_actions(self._agent(aid))
        return "\n".join(f"{k}: {a}" for k, a in enumerate(acts))

    def _info(self, aid: str | None) -> str:
        return json.dumps(self._last[self._agent(aid)], default=str)

    def _reset(self) -> str:
        self._last = self.env.reset_all()[1]
        return "ok"

    def _unknown(self) -> str:
        raise CommandError("unknown /action/ command; this scene answers: " + "; ".join(TEMPLATES))

    def close(self) -> None:
        self.env.close()
