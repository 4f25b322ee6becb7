"""What text is grounded against: the objects an agent may refer to, its teammates, and the
step's numbered allowed actions."""

from __future__ import annotations

from dataclasses import dataclass

from ..actions import Action
from ..errors import ActionError


@dataclass(frozen=True)
class Candidate:
    """Something the agent may refer to. ``distance`` in meters; ``bearing`` in degrees, negative = left."""

    id: str
    type: str
    name: str = ""
    color: str | None = None
    distance: float = 0.0
    bearing: float = 0.0
    visible: bool = True
    held: bool = False


@dataclass(frozen=True)
class Context:
    """What text is grounded against: objects, teammate ids, and this step's numbered allowed actions."""

    objects: tuple[Candidate, ...]
    agents: tuple[str, ...] = ()
    allowed: tuple[Action, ...] = ()


class _Soft(ActionError):
    """A verb was found but its phrase did not parse; later clauses may still hold the intent."""
