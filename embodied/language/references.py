"""Object references: the one object a phrase ('the second red drawer', 'the key on the
table', 'the left note') means, by id, type, name, colour, ordinal and place, preferring what is
in view or held; and the messages that list what is visible when it cannot tell."""

from __future__ import annotations

import re

from ..actions import Action
from ..errors import ActionError
from .context import Candidate, Context, _Soft
from .lexicon import _NUM, _WORD_TYPE, COLORS, NEARNESS, ORDINALS, PRONOUNS, RELATIONS, _content, _sing


def _kind(oid: str, ctx: Context) -> str:
    return next((c.type for c in ctx.objects if c.id == oid), "")


def _offered(oid: str, ctx: Context, names) -> list[Action]:
    return [a for a in ctx.allowed if a.name in names and a.args and a.args[0] == oid]


def _ids(cands: list[Candidate]) -> str:
    return ", ".join(c.id for c in cands) or "none in this scene"


def _agent(a: str, ctx: Context) -> str:
    found = {x.lower(): x for x in ctx.agents}.get(a.strip().lower())
    if not found:
        raise ActionError(
            f"unknown teammate {a!r}; teammates: {', '.join(ctx.agents) or 'none in this task'}"
        )
    return found


def _cwords(c: Candidate) -> set[str]:
    parts = re.split(r"[\s_\-]+|(?<=[a-z])(?=[0-9])", f"{c.id} {c.name}".lower())
    return {c.id.lower(), c.type.lower(), (c.color or "").lower(), *parts} - {""}


def _number(c: Candidate) -> int | None:
    m = re.search(r"([0-9]+)$", c.id) or re.search(r"([0-9]+)$", c.name)
    return int(m.group(1)) if m else None


def _resolve(words: list[str], ctx: Context, held_first: bool = False) -> str:
    """The id of the one object ``words`` ('the second red drawer') refers to, or ActionError."""
    pronoun = any(w in PRONOUNS for w in words)
    phrase = " ".join(_content(words)) or "it"
    for k, w in enumerate(
        words
    ):  # 'the key from the drawer', 'the key on the table' -> 'key' (not 'the box on the left')
        after = _content(words[k + 1 :])
        if (
            w in RELATIONS
            and _content(words[:k])
            and words[k - 1] not in NEARNESS
            and not (after and after[0] in NEARNESS)
        ):
            words = words[:k]
            break
    words = _content(words)
    colors = {("gray" if w == "grey" else "gold" if w == "golden" else w) for w in words if w in COLORS}
    ordinal = next((ORDINALS[w] for w in words if w in ORDINALS), None)
    if ordinal is None:
        ordinal = next((int(w) for w in words if _NUM.fullmatch(w) and len(w) < 6), None)
    near = next((NEARNESS[w] for w in words if w in NEARNESS), None)
    content = [
        w
        for w in words
        if w not in COLORS
        and w not in ORDINALS
        and w not in NEARNESS
        and w not in PRONOUNS
        and not _NUM.fullmatch(w)
        and w not in ("to", "in", "the", "of")
    ]
    if not (content or colors or ordinal or near):
        held = [c for c in ctx.objects if c.held]
        if held_first and len(held) == 1 and pronoun:
            return held[0].id
        raise _Soft(f"which object? name it by type, colour or id; {_seen(ctx)}")
    cw = {c.id: _cwords(c) for c in ctx.objects}
    known = [
        w
        for w in content
        if any(w in ws or _sing(w) in ws or w in _WORD_TYPE or _sing(w) in _WORD_TYPE for ws in cw.values())
    ]
    if content and not known:
        raise ActionError(f"no object matches {phrase!r}; {_seen(ctx)}")

    def score(c: Candidate) -> int:
        total = 0
        for w in known:
            if w in cw[c.id] or _sing(w) in cw[c.id]:
                total += 2
            elif _WORD_TYPE.get(w, _WORD_TYPE.get(_sing(w))) == c.type:
                total += 1
            else:
                return 0
        if colors and not colors & {(c.color or "").lower(), *cw[c.id]}:
            return 0
        return total + 1

    matches: list[Candidate] = []
    for pool in ([c for c in ctx.objects if c.visible or c.held], list(ctx.objects)):
        scored = [(score(c), c) for c in pool]
        best = max((sc for sc, _ in scored), default=0)
        matches = [c for sc, c in scored if sc and sc == best]
        if matches:
            break
    if not matches:
        raise ActionError(f"no object matches {phrase!r}; {_seen(ctx)}")
    everyone = matches + [c for c in ctx.objects if c not in matches and score(c) >= best]
    if held_first and any(c.held for c in matches):
        matches = everyone = [c for c in matches if c.held]
    if ordinal is not None and len(everyone) > 1:
        matches = _by_ordinal(ordinal, everyone, phrase, ctx)
    if (near and len(matches) > 1) or (near in ("left", "right", "mid") and len(everyone) > 1):
        said = next(w for w in words if w in NEARNESS)
        matches = _by_place(near, said, matches, everyone, phrase)
    if len(matches) > 1:
        raise ActionError(_ambiguous(phrase, matches))
    return matches[0].id


def _by_ordinal(ordinal: int, cands: list[Candidate], phrase: str, ctx: Context) -> list[Candidate]:
    """'drawer 2' / 'the second drawer': by the number in the ids when all have one, else the
    n-th from the left of those in view (never of those out of view: their order is unknown)."""
    nums = [_number(c) for c in cands]
    if all(n is not None for n in nums):
        want = max(nums) if ordinal == -1 else ordinal
        hits = [c for c, n in zip(cands, nums) if n == want]
        if not hits:
            raise ActionError(
                f"no {phrase!r}: the candidates are {', '.join(c.id for c in cands)}; {_seen(ctx)}"
            )
        return hits
    view = sorted((c for c in cands if c.visible and not c.held), key=lambda c: (c.bearing, c.distance))
    if ordinal > len(view) or not view:
        seen = f"only {len(view)} of them in view" if view else "none of them is in view"
        raise ActionError(_ambiguous(phrase, cands, f"counting from the left, {seen}"))
    return [view[ordinal - 1 if ordinal > 0 else -1]]


_PLACE = {
    "near": lambda c: c.distance,
    "far": lambda c: -c.distance,
    "left": lambda c: c.bearing,
    "right": lambda c: -c.bearing,
    "mid": lambda c: abs(c.bearing),
}
_TIE = {"near": 0.2, "far": 0.2, "left": 5.0, "right": 5.0, "mid": 5.0}  # m or degrees


def _by_place(near: str, said: str, matches: list[Candidate], everyone: list[Candidate], phrase: str):
    """'the left note', 'the nearest box': left/right/middle from the agent's view (objects in view
    only), near/far by distance. Asks back (ActionError listing the candidates) rather than guess:
    none in view, a tie, the only one in view on the other side, or an object *named* by the word
    ('note_left') that is not the one the view picks."""
    view = [c for c in everyone if c.visible and not c.held]
    pool = matches if near in ("near", "far") else view or [c for c in everyone if not c.held]
    named = [c for c in everyone if said in _cwords(c) or near in _cwords(c)]
    key = _PLACE[near]
    ranked = sorted(pool, key=key)
    if not ranked:
        raise ActionError(
            _ambiguous(phrase, everyone, f"none of them is in view, so '{said}' cannot be judged")
        )
    pick = ranked[0]
    if len(ranked) > 1 and key(ranked[1]) - key(pick) < _TIE[near]:
        raise ActionError(_ambiguous(phrase, everyone, f"more than one is {said}"))
    if named and pick not in named:
        raise ActionError(
            _ambiguous(
                phrase, everyone, f"{named[0].id} is named '{said}' but {pick.id} is the {said} one from here"
            )
        )
    if named or near in ("near", "far"):
        return [pick]
    if not view:
        raise ActionError(
            _ambiguous(phrase, everyone, f"none of them is in view, so '{said}' cannot be judged")
        )
    side = {"left": pick.bearing < -3, "right": pick.bearing > 3, "mid": abs(pick.bearing) < 15}[near]
    if len(view) == 1 and not side:
        raise ActionError(_ambiguous(phrase, everyone, f"the only one in view, {pick.id}, is not {said}"))
    return [pick]


def _hint(c: Candidate) -> str:
    side = (
        "behind"
        if abs(c.bearing) > 135
        else "left"
        if c.bearing < -15
        else "right"
        if c.bearing > 15
        else "ahead"
    )
    bits = [
        c.color or "",
        "held" if c.held else f"{c.distance:.1f} m {side}",
        "" if c.visible or c.held else "not in view",
    ]
    return f"{c.id} ({', '.join(b for b in bits if b)})"


def _ambiguous(phrase: str, cands: list[Candidate], why: str = "") -> str:
    why = f" ({why})" if why else ""
    return f"ambiguous {phrase!r}{why}: {', '.join(_hint(c) for c in cands[:8])}; say which, e.g. by id"


def _seen(ctx: Context) -> str:
    vis = [f"{c.id} ({c.type})" for c in ctx.objects if c.visible and not c.held][:15]
    held = [c.id for c in ctx.objects if c.held]
    out = f"visible: {', '.join(vis)}" if vis else "nothing is visible"
    return out + (f"; held: {', '.join(held)}" if held else "")


def _id_hint(ctx: Context) -> str:
    return f", an action id 0-{len(ctx.allowed) - 1}" if ctx.allowed else ""
