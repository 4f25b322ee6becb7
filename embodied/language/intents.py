"""The intents that take more than a verb and one object: a key put into or used on a lock,
'use X', toggles, going through a door, motion ('turn around', 'go to the chest'), speech
('tell bob the code is 4172'), giving to a teammate, and codes entered on a keypad."""

from __future__ import annotations

import re

from ..actions import Action
from ..errors import ActionError
from .context import Context, _Soft
from .lexicon import (
    _NUM,
    CODE_TYPES,
    DIRECTIONS,
    FILLERS,
    GROUPS,
    LOCK_WORDS,
    MOTION_CLASS,
    MOTION_DEFAULT,
    PLACE_WORDS,
    _content,
    _split,
)
from .references import _ambiguous, _ids, _kind, _offered, _resolve, _seen

_QUOTE = re.compile(r"\"([^\"]*)\"|\u201c([^\u201d]*)\u201d|\u2018([^\u2019]*)\u2019|(?<!\w)'([^']*)'(?!\w)")


def _unlock_with(key: str, where: list[str], ctx: Context) -> Action:
    """Unlock ``where`` (words; the lock words stripped) with ``key``; with no target named, the one
    thing in view that a key unlocks (from this step's offered actions), else ask which."""
    where = [w for w in where if w not in LOCK_WORDS]
    if _content(where):
        return Action("Unlock", (_resolve(where, ctx), key))
    fits = sorted({a.args[0] for a in ctx.allowed if a.name == "Unlock" and a.args[1] == key})
    if len(fits) == 1:
        return Action("Unlock", (fits[0], key))
    held = any(c.id == key and c.held for c in ctx.objects)
    if fits:
        why = f"it may unlock {', '.join(fits)}; say e.g. 'use the key on {fits[0]}'"
    elif not held and ctx.allowed:
        why = f"you do not hold {key}; pick it up first ('pick up the key')"
    else:
        why = "nothing in view is locked with a key; say e.g. 'use the key on the door' with the door in view"
    raise ActionError(f"use {key} on what? {why}")


def _use(oid: str, where: list[str], ctx: Context) -> Action:
    """'use the key (on the door)' unlocks; 'use the lamp' is the one interaction it offers now."""
    if where or _kind(oid, ctx) == "key":
        return _unlock_with(oid, where, ctx)
    uses = _offered(oid, ctx, ("Press", "ToggleOn", "ToggleOff", "Read", "Open", "Close"))
    if len(uses) == 1:
        return uses[0]
    kind = _kind(oid, ctx) or oid
    offer = f"it offers {', '.join(map(str, uses))}" if uses else f"{oid} offers no interaction from here"
    raise ActionError(
        f"use {oid} how? {offer}; say e.g. 'open the {kind}', 'use the key on the {kind}', 'press the button'"
    )


def _toggle(verb: str, args: list[str], ctx: Context) -> Action:
    """'toggle the lamp' -> ToggleOn or ToggleOff, whichever the step offers for it."""
    on = "on" in args or verb.endswith(" on")
    off = "off" in args or verb.endswith(" off")
    oid = _resolve([w for w in args if w not in ("on", "off")], ctx)
    if on != off:
        return Action("ToggleOn" if on else "ToggleOff", (oid,))
    offered = _offered(oid, ctx, ("ToggleOn", "ToggleOff"))
    if len(offered) == 1:
        return offered[0]
    raise ActionError(
        f"{verb} {oid} on or off? say 'turn on the {_kind(oid, ctx)}' or 'turn off the {_kind(oid, ctx)}'"
    )


def _through(verb: str, args: list[str], ctx: Context) -> Action:
    """'go through the door', 'leave the room': the next step toward passing through a door.

    MoveAhead when the door is in view, near and ahead; else ``NavigateTo(door)`` when the step
    offers it (high-level mode); else a turn toward the door in view. A door out of view asks the
    agent to find it first (its position is not given away)."""
    words = [w for w in args if w not in PLACE_WORDS and w not in FILLERS]  # 'leave the room now'
    doors = [c for c in ctx.objects if c.type == "door"]
    if _content(words):
        oid = _resolve(words, ctx)
        if _kind(oid, ctx) != "door":
            if verb == "leave":  # 'leave the key'
                return Action("Drop", (_resolve(words, ctx, held_first=True),))
            raise ActionError(f"{verb} {oid}? only a door can be gone through; doors: {_ids(doors)}")
        door = next(c for c in ctx.objects if c.id == oid)
    else:
        seen = [c for c in doors if c.visible]
        if len(seen) > 1:
            raise ActionError(_ambiguous("door", seen))
        if not seen and len(doors) != 1:
            raise ActionError(f"{verb} through which door? none is in view; doors: {_ids(doors)}")
        door = (seen or doors)[0]
    if door.distance < 0.3 or (door.visible and door.distance <= 1.6 and abs(door.bearing) <= 20):
        return Action("MoveAhead")  # ahead and near, or standing in the doorway (out of view there)
    if Action("NavigateTo", (door.id,)) in ctx.allowed:
        return Action("NavigateTo", (door.id,))
    if not door.visible:
        raise ActionError(f"{door.id} is not in view; look for it first, e.g. 'turn left'")
    return Action("RotateLeft" if door.bearing < -20 else "RotateRight" if door.bearing > 20 else "MoveAhead")


def _motion(verb: str, args: list[str], ctx: Context) -> Action:
    cls = MOTION_CLASS.get(verb, "move")
    held = next((c.id for c in ctx.objects if c.held and c.type == "key"), None)
    if cls == "turn" and held and {"key", held} & set(args) and (parts := _split(args, ("in", "into"))):
        return _unlock_with(
            _resolve(parts[0], ctx, held_first=True), parts[1], ctx
        )  # 'turn the key in the lock'
    if cls == "turn" and ("on" in args or "off" in args) and _content(args):
        return Action("ToggleOn" if "on" in args else "ToggleOff", (_resolve(args, ctx),))
    for k, w in enumerate(args):
        if w in ("to", "towards", "toward", "near", "closer", "nearer", "beside") or (
            w == "for" and verb == "head"
        ):
            target = [x for x in args[k + 1 :] if x not in ("to", "the")]
            if len(target) == 1 and target[0] in DIRECTIONS[cls]:
                return Action(DIRECTIONS[cls][target[0]])
            return Action("NavigateTo", (_resolve(args[k + 1 :], ctx),))
        if w not in (
            "over",
            "up",
            "back",
            "straight",
            "directly",
            "right",
            "closer",
            "close",
            "a",
            "bit",
            "little",
            "way",
            "all",
            "the",
        ):
            break
    skip = {
        "the",
        "a",
        "one",
        "step",
        "steps",
        "bit",
        "little",
        "slightly",
        "more",
        "your",
        "my",
        "of",
        "again",
        "once",
        "twice",
        "degrees",
        "by",
        "meter",
        "meters",
        "m",
        "pace",
        "paces",
        "few",
        "small",
        "to",
        "please",
        "quickly",
        "slowly",
        "carefully",
        "go",
        "further",
        "farther",
    }
    rest = [w for w in args if w not in skip and not _NUM.fullmatch(w)]
    if rest and rest[0] in DIRECTIONS[cls]:
        return Action(DIRECTIONS[cls][rest[0]])
    if not rest and verb in MOTION_DEFAULT:
        return Action(MOTION_DEFAULT[verb])
    raise _Soft(
        f"{verb} which way? say e.g. 'move ahead/back/left/right', 'turn left/right/around', "
        "'look up/down' or 'go to the chest'"
    )


def _message(verb: str, pos: int, s: str, ctx: Context) -> str:
    agents = {a.lower() for a in ctx.agents}
    m = re.match(r"[\s:,\-]*(?:to\s+)?(?:(?:the|my|our)\s+)?([^\W_]+(?:_[^\W_]+)*)", s[pos:], re.I)
    if m and (m.group(1).lower() in agents or m.group(1).lower() in GROUPS):
        pos += m.end()
    rest = s[pos:]
    end = re.search(r"[.;!\n](?:\s|$)|[.;!\n]$|\n", rest)
    body = rest[: end.start()] if end else rest
    q = _QUOTE.search(rest)
    if q and (not end or q.start() < end.start()):
        quoted = next(g for g in q.groups() if g is not None)
        return quoted if quoted.strip() else _empty_message(verb)
    body = re.sub(r"^[\s:,\-]*(?:(?:that|to)\s+)?", "", body, flags=re.I)
    words = body.split()
    if len(words) >= 2 and words[-2].lower() == "to" and words[-1].lower().strip("?!,") in agents:
        body = " ".join(words[:-2])
    return body.strip(" \t,:-") or _empty_message(verb)


def _empty_message(verb: str) -> str:
    raise _Soft(f"{verb} what? say e.g. 'tell bob the code is 4172' or 'say \"hello\"'")


def _give(args: list[str], ctx: Context) -> Action:
    lower = {a.lower(): a for a in ctx.agents}
    if not lower:
        raise ActionError("no teammates to give to in this task")
    k = next((k for k, w in enumerate(args) if w in lower), None)
    if k is not None:
        agent = lower[args[k]]
        obj = args[: k - 1] if k and args[k - 1] == "to" else args[:k] + args[k + 1 :]
    elif "to" in args:
        who = " ".join(args[args.index("to") + 1 :])
        raise ActionError(f"unknown teammate {who!r}; teammates: {', '.join(ctx.agents)}")
    elif len(lower) == 1:
        agent, obj = ctx.agents[0], args
    else:
        raise ActionError(f"give it to whom? teammates: {', '.join(ctx.agents)}")
    return Action("Give", (_resolve([w for w in obj if w != "over"], ctx, held_first=True), agent))


def _code(words: list[str], s: str) -> str | None:
    for k, w in enumerate(words):
        if _NUM.fullmatch(w):
            run = [w]
            for x in words[k + 1 :]:
                if not _NUM.fullmatch(x):
                    break
                run.append(x)
            return "".join(run) if all(len(x) == 1 for x in run) else run[0]
        if any(ch.isdigit() for ch in w) and w.isascii():
            return w.upper() if w.upper() in s else w
    return None


def _code_target(ctx: Context) -> str:
    pool = [c for c in ctx.objects if c.visible]
    for t in CODE_TYPES:
        hits = [c for c in pool if c.type == t]
        if len(hits) == 1:
            return hits[0].id
        if hits:
            raise ActionError(_ambiguous(t, hits))
    raise ActionError(f"enter the code into what? no keypad is visible; {_seen(ctx)}")


def _held_key(target: str, ctx: Context) -> str:
    keys = [c for c in ctx.objects if c.held and c.type == "key"]
    if len(keys) == 1:
        return keys[0].id
    held = ", ".join(c.id for c in keys)
    raise ActionError(
        f"unlock {target} with which key? "
        + (
            f"you hold {held}; say which"
            if keys
            else "you hold none; pick one up or say 'unlock the chest with the brass key'"
        )
    )
