"""The tolerant answer parser of the ``openai:MODEL`` agent: model text -> what ``Env.step`` takes.

:func:`parse_answer` tries, in order, and records which path it took (``Parsed.path``):

``json``           a JSON object: the whole answer, a fenced block, or one embedded in prose
``json_repaired``  the same after light repair (single quotes, trailing commas, bare keys,
                   Python literals, smart quotes, missing closing braces)
``action_line``    an ``Action: ...`` / ``ACTION_ID: 3`` / ``Final action: ...`` line
``action_id``      the whole answer is an action number (``3``, ``#3``, ``action 3``)
``action_name``    a canonical action in the text (``... so: Open(chest)``, ``MoveAhead``)
``free_text``      the whole answer, left to the env's free-text grounder

The result's ``action`` is handed to ``Env.to_action`` (ids, JSON with ``action_id``/``args``,
canonical strings and free text are all grounded there, by :mod:`embodied.language`); this
module never guesses an action the answer does not name. The rationale (``thought``) is kept on
every path. ``interface`` narrows what is accepted: ``ids`` (numbers from the list, or a listed
action verbatim), ``free-text`` (actions in words or canonical form), ``both``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ..actions import CATALOG
from ..errors import ConfigError

INTERFACES = ("ids", "free-text", "both")
PATHS = ("json", "json_repaired", "action_line", "action_id", "action_name", "free_text")
THOUGHT_KEYS = ("thought", "thoughts", "rationale", "reasoning", "reason", "explanation")
ID_KEYS = ("action_id", "actionId", "action_index", "id")
ACTION_KEYS = ("action", "command", "act")

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)
_LINE = re.compile(
    r"^[\s>*_#-]*(?:final\s+|next\s+|chosen\s+)?(action(?:[ _]?id)?|answer)[\s*_]*[:=]\s*(.+?)\s*$",
    re.I | re.M,
)
_THOUGHT_LINE = re.compile(r"^[\s>*_#-]*(?:thought|reasoning|rationale)[\s*_]*[:=]\s*(.+?)\s*$", re.I | re.M)
_ID = re.compile(r"^\s*(?:action\s*(?:id)?\s*)?[#\[(]?\s*(\d{1,4})\s*[\])]?\s*[.!]?\s*$", re.I)
_NAME = re.compile(r"\b(" + "|".join(sorted(CATALOG, key=len, reverse=True)) + r")\b(\s*\([^()\n]*\))?")
_BARE_KEY = re.compile(r"([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)(\s*:)")
_TRAILING = re.compile(r",(\s*[}\]])")


@dataclass
class Parsed:
    """What the parser made of one answer.

    ``action``: a string for ``Env.to_action`` (JSON with ``action_id``, a canonical string or
    free text), or None when nothing usable was found (``error`` says why; a format error).
    ``path``: one of :data:`PATHS` (or ``"none"``). ``thought``: the rationale, possibly "".
    ``misfit``: the answer named an action in a form this interface does not take (an invalid
    action rather than a format error).
    """

    action: str | None
    path: str
    thought: str = ""
    error: str = ""
    misfit: bool = False


def parse_answer(text: str | None, interface: str = "both", allowed: tuple[str, ...] = ()) -> Parsed:
    """Parse a model answer. ``allowed`` (this step's listed actions) lets ``ids`` accept a listed
    action written out verbatim. Never raises."""
    if interface not in INTERFACES:
        raise ConfigError(f"unknown action interface {interface!r}; choose from {INTERFACES}")
    text = (text or "").strip()
    if not text:
        return Parsed(None, "none", error="the answer was empty")
    for path, obj in _json_objects(text):
        if any(k in obj for k in ID_KEYS + ACTION_KEYS):
            return _from_dict(obj, path, interface, allowed)
    found_json = next(iter(_json_objects(text)), None)
    thought = _thought(text)
    m = _LINE.search(text)
    if m:
        return _from_value(m.group(2).strip().strip("`\"'*"), "action_line", thought, interface, allowed)
    m = _ID.match(text)
    if m:
        return _from_value(m.group(1), "action_id", "", interface, allowed)
    m = _NAME.search(text)
    if m:
        return _from_value(m.group(0).strip(), "action_name", thought, interface, allowed)
    if found_json is not None:
        keys = sorted(found_json[1])
        return Parsed(
            None, found_json[0], thought, f'the JSON answer has no "action_id" or "action" key (keys: {keys})'
        )
    if interface == "ids":
        return Parsed(None, "none", thought, "no action number found; answer with an action_id from the list")
    return Parsed(text, "free_text", thought)


def _from_dict(d: dict, path: str, interface: str, allowed: tuple[str, ...]) -> Parsed:
    thought = next((str(d[k]) for k in THOUGHT_KEYS if isinstance(d.get(k), (str, int, float))), "")
    args = d.get("args", d.get("arguments", d.get("parameters")))
    aid = next((d[k] for k in ID_KEYS if k in d and d[k] is not None and not isinstance(d[k], bool)), None)
    if aid is not None and str(aid).strip().lstrip("#").isdigit():
        if interface == "free-text":
            return Parsed(
                None, path, thought, "this interface takes actions in words, not numbers", misfit=True
            )
        return Parsed(
            json.dumps({"action_id": int(str(aid).strip().lstrip("#")), "args": args}), path, thought
        )
    act = next((d[k] for k in ACTION_KEYS if isinstance(d.get(k), str) and d[k].strip()), None)
    if act is None and aid is not None:
        return Parsed(
            None, path, thought, f"action_id must be a number from the list, got {aid!r}", misfit=True
        )
    if act is None:
        return Parsed(None, path, thought, 'the JSON answer has an empty "action"')
    if act.strip().lstrip("#").isdigit():
        return _from_value(act.strip().lstrip("#"), path, thought, interface, allowed)
    if args and isinstance(args, (dict, list)) and "(" not in act:
        return _from_value(
            json.dumps({"action": act.strip(), "args": args}), path, thought, interface, allowed
        )
    return _from_value(act.strip(), path, thought, interface, allowed)


def _from_value(value: str, path: str, thought: str, interface: str, allowed: tuple[str, ...]) -> Parsed:
    is_id = bool(_ID.match(value))
    if is_id:
        if interface == "free-text":
            return Parsed(
                None, path, thought, "this interface takes actions in words, not numbers", misfit=True
            )
        return Parsed(json.dumps({"action_id": int(_ID.match(value).group(1))}), path, thought)
    if interface == "ids":
        if value in allowed:
            return Parsed(json.dumps({"action_id": allowed.index(value)}), path, thought)
        return Parsed(
            None,
            path,
            thought,
            f"this interface takes an action_id from the list, got {value[:80]!r}",
            misfit=True,
        )
    return Parsed(value, path, thought)


def _thought(text: str) -> str:
    m = _THOUGHT_LINE.search(text)
    if m:
        return m.group(1)[:1000]
    rest = _LINE.sub("", text).strip()
    return rest[:1000]


def _json_objects(text: str):
    """Yield ``(path, dict)`` for each JSON object in the text: exact first, then repaired."""
    spans = []
    whole = text.strip()
    spans.append(whole)
    spans += [m.group(1).strip() for m in _FENCE.finditer(text)]
    spans += _braced(text)
    seen = set()
    repaired = []
    for s in spans:
        if s in seen:
            continue
        seen.add(s)
        try:
            obj = json.loads(s)
        except ValueError:
            if "{" in s:
                repaired.append(s)
            continue
        if isinstance(obj, dict):
            yield "json", obj
    for s in repaired:
        obj = _repair(s)
        if isinstance(obj, dict):
            yield "json_repaired", obj


def _braced(text: str) -> list[str]:
    """Balanced ``{...}`` substrings (outermost), respecting strings; an unclosed one to the end."""
    out, depth, start, quote, esc = [], 0, None, None, False
    for i, ch in enumerate(text):
        if quote:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == quote:
                quote = None
            continue
        if ch == '"':
            quote = ch
        elif ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                out.append(text[start : i + 1])
    if depth and start is not None:
        out.append(text[start:])
    return out


def _repair(s: str):
    """Light repair of almost-JSON; None when it still does not parse."""
    s = s[s.find("{") :]
    s = s.replace("\u201c", '"').replace("\u201d", '"').replace("\u2018", "'").replace("\u2019", "'")
    if "'" in s and '"' not in s:
        s = s.replace("'", '"')
    s = re.sub(r"\bTrue\b", "true", re.sub(r"\bFalse\b", "false", re.sub(r"\bNone\b", "null", s)))
    s = _BARE_KEY.sub(r'\1"\2"\3', s)
    s = _TRAILING.sub(r"\1", s)
    if s.count('"') % 2:
        s += '"'
    s += "}" * max(0, s.count("{") - s.count("}"))
    s = _TRAILING.sub(r"\1", s)
    try:
        return json.loads(s)
    except ValueError:
        return None
