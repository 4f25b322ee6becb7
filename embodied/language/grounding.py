"""The entry point, :func:`ground`, and the forms an answer takes before free text: an action id
from the step's list (``"3"``, ``"#3"``, ``"action 3"``), JSON (``{"action_id": 7, "args": ...}``,
``{"action": "open the chest"}``, AI2-THOR style) and canonical strings (``Open(chest_red)``),
whose object arguments may be phrases. Anything else is free text (:mod:`.clauses`)."""

from __future__ import annotations

import json
import re

from ..actions import CATALOG, Action, canonical_name, from_mapping, parse_canonical
from ..errors import ActionError
from .clauses import _free
from .context import Context
from .lexicon import EXAMPLES, _words
from .references import _agent, _id_hint, _resolve, _seen

_ID = re.compile(
    r"^(?:(?:action|option|choice)(?:\s*id)?\s*[:#]?\s*)?[#\[(]?\s*([0-9]{1,9})\s*[\])]?\s*[.!]?$", re.I
)
_EMBEDDED = re.compile(r"(?<![A-Za-z_])([A-Za-z_]+)\s*\(([^()]*)\)")
_THOR_KEYS = {
    "objectId",
    "object",
    "receptacleObjectId",
    "receptacle",
    "keyId",
    "key",
    "code",
    "text",
    "agentId",
    "agent",
}
_ID_IN_PROSE = re.compile(
    r"\b(?:action|option|choice)(?:\s*id)?\s*(?:number\s*)?[:#]?\s*([0-9]{1,9})\b", re.I
)
_BARE = re.compile(r"\b((?:Move|Rotate|Look|Turn)[A-Z][a-z]+)\b")  # zero-argument names written inside prose


def ground(text: str, ctx: Context) -> Action:
    """Free text (or an action id, or a canonical string) -> one canonical Action.

    Raises :class:`ActionError`, and only that, for any input string: no verb recognised (with
    example phrasings), no matching object (listing what is visible/held), or ambiguity
    (listing the candidates by id with a distinguishing hint).
    """
    if not isinstance(text, str):
        raise ActionError(f"expected action text, got {type(text).__name__}; say e.g. {EXAMPLES}")
    try:
        return _ground(text.strip()[:4000], ctx)
    except ActionError:
        raise
    except Exception as e:  # the contract is ActionError only; keep it even if a parser slips
        raise ActionError(
            f"could not ground {text[:60]!r} (internal error: {type(e).__name__}); say e.g. {EXAMPLES}"
        ) from e


def _ground(s: str, ctx: Context) -> Action:
    if not s:
        raise ActionError(f"empty action; say e.g. {EXAMPLES}{_id_hint(ctx)}")
    m = _ID.match(s)
    if m:
        return by_id(int(m.group(1)), ctx)
    if s.startswith("{") and s.endswith("}"):
        act = _from_json(s, ctx)
        if act is not None:
            return act
    try:
        act = parse_canonical(s)
    except ActionError:
        if "(" in s:
            raise
        act = None
    deferred = None
    if act is None and "(" in s:
        for em in _EMBEDDED.finditer(s):
            if em.group(1)[0].isupper() and canonical_name(em.group(1)):
                try:
                    act = parse_canonical(em.group(0))
                except ActionError as e:
                    deferred = e
                break
    if act is not None:
        return _check(act, ctx)
    try:
        return _free(s, ctx)
    except ActionError:
        if deferred:
            raise deferred from None
        m = _ID_IN_PROSE.search(s)  # 'I choose action 3 (RotateLeft)'
        if m:
            return by_id(int(m.group(1)), ctx)
        bare = [canonical_name(w) for w in _BARE.findall(s)]  # 'Next action: MoveAhead'
        if bare and bare[0]:
            return Action(bare[0])
        raise


def by_id(i: int, ctx: Context, args=None) -> Action:
    """``ctx.allowed[i]``, with ``<code>``/``<text>`` placeholders filled from ``args`` (a dict or list)."""
    n = len(ctx.allowed)
    if not n:
        raise ActionError(
            f"action id {i} given but no numbered actions are listed this step; say e.g. {EXAMPLES}"
        )
    if not 0 <= i < n:
        raise ActionError(f"action id {i} out of range; valid ids are 0-{n - 1}")
    act = ctx.allowed[i]
    holes = [k for k, a in enumerate(act.args) if a.startswith("<") and a.endswith(">")]
    if not holes:
        return act
    params = CATALOG[act.name]
    if isinstance(args, dict):
        given = [args.get(params[k], args.get(act.args[k].strip("<>"))) for k in holes]
    elif isinstance(args, (list, tuple)):
        given = list(args)[-len(holes) :]
    elif isinstance(args, (str, int)) and len(holes) == 1:
        given = [args]
    else:
        given = []
    if len(given) != len(holes) or any(g is None or str(g).strip() == "" for g in given):
        need = ", ".join(params[k] for k in holes)
        raise ActionError(
            f'action {i} is {act}: give its {need}, e.g. {{"action_id": {i}, "args": '
            f'{{"{params[holes[0]]}": "..."}}}} or \'{act.name}({act.args[0]}, ...)\''
        )
    out = list(act.args)
    for k, g in zip(holes, given):
        out[k] = str(g).strip()
    return Action(act.name, tuple(out))


def _from_json(s: str, ctx: Context) -> Action | None:
    """``{"action_id": 7, "args": {"code": "4172"}}`` or ``{"action": "open the chest"}``; None if not JSON."""
    try:
        d = json.loads(s)
    except ValueError:
        return None
    if not isinstance(d, dict):
        return None
    aid = d.get("action_id", d.get("id"))
    if isinstance(aid, (int, str)) and not isinstance(aid, bool) and str(aid).strip().isdigit():
        return by_id(int(str(aid).strip()), ctx, d.get("args"))
    act = d.get("action")
    if (
        isinstance(act, str) and canonical_name(act) and set(d) & _THOR_KEYS
    ):  # {"action": "OpenObject", "objectId": ...}
        return _check(from_mapping(d), ctx)
    if isinstance(act, str) and act.strip():
        args = d.get("args")
        if isinstance(args, dict) and args and canonical_name(act):
            args = [args.get(p) for p in CATALOG[canonical_name(act)] if args.get(p) is not None]
        if isinstance(args, (list, tuple)) and args and canonical_name(act):
            return _check(Action(canonical_name(act), tuple(str(a) for a in args)), ctx)
        return _ground(act.strip(), ctx)
    raise ActionError(
        f'JSON action needs "action_id" (a number from the list) or "action" (text); got keys {sorted(d)}'
    )


def _check(act: Action, ctx: Context) -> Action:
    """Validate a canonical action's arguments against the context; object args may be phrases."""
    args = []
    for p, a in zip(CATALOG[act.name], act.args):
        if p in ("object", "receptacle", "key"):
            ids = {c.id: c.id for c in ctx.objects} | {c.id.lower(): c.id for c in ctx.objects}
            found = ids.get(a) or ids.get(a.lower())
            if not found:
                try:
                    found = _resolve(
                        _words(a), ctx, held_first=p == "object" and act.name in ("Drop", "Put", "Give")
                    )
                except ActionError as e:
                    if str(e).startswith("ambiguous"):
                        raise
                    raise ActionError(f"unknown object {a!r} in {act.name}(); {_seen(ctx)}") from None
            a = found
        elif p == "agent":
            a = _agent(a, ctx)
        elif not a.strip():
            raise ActionError(
                f'{act.name} needs a non-empty {p}, e.g. {act.name}(keypad, 4172) / Say("hello")'
            )
        args.append(a)
    return Action(act.name, tuple(args))
