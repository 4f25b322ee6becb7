"""Canonical actions: the one vocabulary every agent, engine and adapter shares.

An :class:`Action` is a verb and its arguments, written canonically as
``Open(chest)``, ``EnterCode(keypad, 4172)``, ``Put(apple, fridge)``, ``Say("the code is 4172")``.
The verbs and their parameters are data (:data:`CATALOG`), so adding a verb is one line
here plus its rule in :mod:`embodied.rules`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ActionError
from .quoting import brief

MAX_ARG_CHARS = 200  # an object, agent or code argument
MAX_TEXT_CHARS = 500  # Say text
MAX_INPUT_CHARS = 2000  # a whole action string (canonical or free text)

# verb -> parameter names, in order. "object"/"receptacle"/"key" take object ids,
# "agent" an agent id, "code" a string of digits/letters, "text" free text.
CATALOG: dict[str, tuple[str, ...]] = {
    "MoveAhead": (),
    "MoveBack": (),
    "MoveLeft": (),
    "MoveRight": (),
    "RotateLeft": (),
    "RotateRight": (),
    "LookUp": (),
    "LookDown": (),
    "TurnAround": (),
    "NavigateTo": ("object",),
    "Pickup": ("object",),
    "Put": ("object", "receptacle"),
    "Drop": ("object",),
    "Open": ("object",),
    "Close": ("object",),
    "Unlock": ("object", "key"),
    "EnterCode": ("object", "code"),
    "Read": ("object",),
    "Press": ("object",),
    "ToggleOn": ("object",),
    "ToggleOff": ("object",),
    "Say": ("text",),
    "Give": ("object", "agent"),
    "Done": (),
    "Pass": (),
}

MOVES = ("MoveAhead", "MoveBack", "MoveLeft", "MoveRight")
TURNS = ("RotateLeft", "RotateRight", "TurnAround", "LookUp", "LookDown")
NAVIGATION = MOVES + TURNS
# AI2-THOR spellings users type from habit
ALIASES = {
    "pickupobject": "Pickup",
    "putobject": "Put",
    "dropobject": "Drop",
    "dropheldobject": "Drop",
    "openobject": "Open",
    "closeobject": "Close",
    "toggleobjecton": "ToggleOn",
    "toggleobjectoff": "ToggleOff",
    "readobject": "Read",
    "pressobject": "Press",
    "unlockobject": "Unlock",
    "navigate": "NavigateTo",
    "goto": "NavigateTo",
    "stop": "Done",
    "noop": "Pass",
    "wait": "Pass",
}
_BY_LOWER = {name.lower(): name for name in CATALOG} | ALIASES


@dataclass(frozen=True)
class Action:
    """One canonical action: ``name`` from :data:`CATALOG` and positional ``args`` (strings)."""

    name: str
    args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.name not in CATALOG:
            raise ActionError(f"unknown action {brief(self.name)}; known: {', '.join(CATALOG)}")
        params = CATALOG[self.name]
        for p, a in zip(params, self.args):
            limit = MAX_TEXT_CHARS if p == "text" else MAX_ARG_CHARS
            if not isinstance(a, str):
                raise ActionError(
                    f"{self.name}: argument '{p}' must be text, got {type(a).__name__} {brief(a)}"
                )
            if len(a) > limit:
                raise ActionError(f"{self.name}: argument '{p}' has {len(a)} characters; at most {limit}")
        if len(self.args) != len(params):
            want = f"{self.name}({', '.join(params)})" if params else f"{self.name}()"
            raise ActionError(
                f"{self.name} takes {len(params)} argument(s), got {len(self.args)}: use {want}"
            )

    @property
    def params(self) -> dict[str, str]:
        return dict(zip(CATALOG[self.name], self.args))

    @property
    def target(self) -> str | None:
        """The first object argument, if the verb has one."""
        return self.params.get("object")

    def __str__(self) -> str:
        if not self.args:
            return self.name
        parts = [json.dumps(a) if p == "text" else a for p, a in zip(CATALOG[self.name], self.args)]
        return f"{self.name}({', '.join(parts)})"


_CALL = re.compile(r"^\s*([A-Za-z_]+)\s*(?:\((.*)\))?\s*$", re.S)


def canonical_name(word: str) -> str | None:
    """The catalog spelling of ``word`` (case-insensitive, THOR aliases accepted), or None."""
    return _BY_LOWER.get(word.strip().lower().replace("_", ""))


def parse_canonical(text: str) -> Action | None:
    """Parse ``"Open(chest)"`` / ``"MoveAhead"`` / ``'Say("hi, there")'``; None if it is not that form.

    Raises :class:`ActionError` when the verb is known but the arguments are wrong,
    so the caller can pass the precise message on to the agent.
    """
    m = _CALL.match(text)
    if not m:
        return None
    name = canonical_name(m.group(1))
    if name is None:
        return None
    raw = m.group(2)
    params = CATALOG[name]
    if raw is None or not raw.strip():
        args: list[str] = []
    elif params and params[-1] == "text":
        head = params[:-1]
        pieces = raw.split(",", len(head)) if head else [raw]
        args = [p.strip() for p in pieces]
        args[-1] = _unquote(args[-1])
    else:
        args = [_unquote(p.strip()) for p in raw.split(",")]
    return Action(name, tuple(args))


def _unquote(s: str) -> str:
    s = s.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'":
        if s[0] == '"':
            try:
                return json.loads(s)
            except ValueError:
                pass
        return s[1:-1]
    return s


def from_mapping(d: Mapping[str, Any]) -> Action:
    """Build an action from a dict, THOR-style or ours.

    ``{"action": "OpenObject", "objectId": "chest"}``, ``{"action": "Put", "args": ["apple", "fridge"]}``,
    ``{"action": "EnterCode", "object": "keypad", "code": "4172"}``.
    """
    raw = d.get("action", d.get("name"))
    if not isinstance(raw, str):
        raise ActionError(f"action dict needs an 'action' name, got {brief(d)}")
    name = canonical_name(raw)
    if name is None:
        raise ActionError(f"unknown action {brief(raw)}; known: {', '.join(CATALOG)}")
    if "args" in d:
        args = d["args"]
        if isinstance(args, Mapping):
            args = [args.get(p) for p in CATALOG[name]]
        elif isinstance(args, (str, int)) and not isinstance(args, bool):
            args = [args]
        elif args is None:
            args = []
        elif not isinstance(args, (list, tuple)):
            raise ActionError(f"{name}: 'args' must be a list, got {type(args).__name__} {brief(args)}")
        return Action(name, tuple(_arg(name, a) for a in args if a is not None))
    keys = {
        "object": ("objectId", "object", "target"),
        "receptacle": ("receptacleObjectId", "receptacle"),
        "key": ("keyId", "key"),
        "code": ("code",),
        "text": ("text", "message"),
        "agent": ("agentId", "agent", "to"),
    }
    args = []
    for p in CATALOG[name]:
        val = next((d[k] for k in keys[p] if k in d), None)
        if val is None:
            raise ActionError(f"{name} needs '{p}' (e.g. {{'action': '{name}', '{keys[p][0]}': ...}})")
        args.append(_arg(name, val))
    return Action(name, tuple(args))


def _arg(name: str, value: Any) -> str:
    """One argument from a dict: text or a whole number, nothing nested."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ActionError(
        f"{name}: arguments must be text or whole numbers, got {type(value).__name__} {brief(value)}"
    )
