"""Free text: the first clause with a clear verb (a negated clause is skipped: 'don't open
the door, pick up the key'), and its verb phrase read as an intent: a catalog verb with one
object, or one of the parsers in :mod:`.intents`."""

from __future__ import annotations

from ..actions import CATALOG, Action
from ..errors import ActionError
from .context import Context, _Soft
from .intents import (
    _code,
    _code_target,
    _give,
    _held_key,
    _message,
    _motion,
    _through,
    _toggle,
    _unlock_with,
    _use,
)
from .lexicon import (
    _NUM,
    CODE_TYPES,
    EXAMPLES,
    FILLERS,
    LOCK_WORDS,
    NEGATIONS,
    PUT_PREPS,
    VERBS,
    _content,
    _cut,
    _split,
    _tokens,
    _verb_at,
)
from .references import _id_hint, _kind, _offered, _resolve


def _free(s: str, ctx: Context) -> Action:
    toks = _tokens(s)
    clauses, cur = [], []
    for t in toks:
        if t[0] in ",.;:!?\n":
            clauses.append(cur)
            cur = []
        else:
            cur.append(t)
    clauses.append(cur)
    first_err: ActionError | None = None
    tried = set()
    for anywhere in (False, True):
        for ci, cl in enumerate(clauses):
            words = [t[0] for t in cl]
            i = 0
            while i < len(words):
                if words[i : i + 3] == ["go", "ahead", "and"]:
                    i += 3
                    continue
                phrase = _verb_at(words, i)
                if phrase and i and words[i - 1] in ("the", "a", "an", "this", "that", "your", "my"):
                    phrase = None  # a noun here: 'the exit is locked', 'the pad'
                if phrase and (ci, i) not in tried and len(tried) < 64:
                    tried.add((ci, i))
                    try:
                        return _parse(
                            VERBS[" ".join(phrase)], phrase, words[i + len(phrase) :], cl, i, s, ctx
                        )
                    except _Soft as e:
                        first_err = first_err or e
                if words[i] in NEGATIONS or (not anywhere and words[i] not in FILLERS):
                    break
                i += len(phrase) if phrase else 1
    if first_err:
        raise first_err
    raise ActionError(
        f"could not find an action in {s[:60]!r}; say e.g. {EXAMPLES}{_id_hint(ctx)}, "
        "or a canonical action like Open(chest_red)"
    )


def _parse(intent: str, phrase, args: list[str], cl, i: int, s: str, ctx: Context) -> Action:
    verb = " ".join(phrase)
    if intent == "say":
        return Action("Say", (_message(verb, cl[i + len(phrase) - 1][2], s, ctx),))
    raw, args = args, _cut(args)
    if intent == "give" or (verb == "pass" and ("to" in args or set(args) & {a.lower() for a in ctx.agents})):
        return _give(args, ctx)
    if intent in CATALOG and not CATALOG[intent]:
        return Action(intent)
    if intent == "move":
        return _motion(verb, args, ctx)
    if intent == "toggle":
        return _toggle(verb, args, ctx)
    if intent == "through":
        if verb != "leave" or not _split(args, PUT_PREPS):
            return _through(verb, args, ctx)
        intent = "put"  # 'leave the key in the chest'
    if intent == "drop":
        intent = "put" if _split(args, PUT_PREPS) else "Drop"
    if intent == "put":
        parts = _split(args, PUT_PREPS)
        if parts is None:
            if "down" in args or "away" in args:
                return Action("Drop", (_resolve(args, ctx, held_first=True),))
            raise _Soft(f"{verb} it where? say e.g. '{verb} the key in the chest' or 'drop the key'")
        obj = _resolve(parts[0], ctx, held_first=True)
        if _kind(obj, ctx) == "key" and (not _content(parts[1]) or set(_content(parts[1])) & LOCK_WORDS):
            return _unlock_with(obj, parts[1], ctx)  # 'insert the key into the lock / the door'
        rec = _resolve(parts[1], ctx)
        if _kind(obj, ctx) == "key" and (
            _kind(rec, ctx) == "door" or Action("Unlock", (rec, obj)) in ctx.allowed
        ):
            return Action("Unlock", (rec, obj))  # a locked thing: putting the key in means unlocking
        return Action("Put", (obj, rec))
    if intent in ("open", "unlock"):
        parts = _split(args, ("with", "using"))
        if intent == "open" and parts is None:
            return Action("Open", (_resolve(args, ctx),))
        target = _resolve(parts[0] if parts else args, ctx)
        return Action(
            "Unlock", (target, _resolve(parts[1], ctx, held_first=True) if parts else _held_key(target, ctx))
        )
    if intent in ("code", "use"):
        parts = _split(
            [w for w in args if w not in ("open", "unlock")],
            ("on", "onto", "into", "in", "to", "at", "for", "with", "using"),
        )
        what, where = parts if parts else (args, [])
        if intent == "use" and not where and _NUM.fullmatch(what[-1] if what else "") and len(what[-1]) < 3:
            try:  # ALFWorld's 'use desklamp 1': a numbered object, not a code
                oid = _resolve(what, ctx, held_first=True)
            except ActionError:
                oid = None
            if oid and _kind(oid, ctx) not in CODE_TYPES:
                return _use(oid, [], ctx)
        code = _code(what, s) or _code(where, s)
        if not code and (intent == "code" or {"code", "password", "combination", "pin"} & set(what)):
            tail = _NUM.search(s, cl[i + len(phrase) - 1][2]) or _NUM.search(s)
            code = tail and tail.group()
        if code:
            where = [w for w in where if w != code]
            return Action("EnterCode", (_resolve(where, ctx) if _content(where) else _code_target(ctx), code))
        if intent == "use" and what and not where:  # 'use the key to open the door'
            to = _split(raw, ("to open", "to unlock", "and open", "and unlock"))
            where = to[1] if to else []
        if intent == "use" and what and (where or not set(_content(what)) & set(CODE_TYPES)):
            return _use(_resolve(what, ctx, held_first=True), where, ctx)
        raise _Soft(f"no code in {s[:60]!r}; say e.g. 'type 4172 on the keypad' or 'use the key on the door'")
    if intent == "Pickup" and ("step" in args or "steps" in args):
        return _motion("take a step", args[args.index("step" if "step" in args else "steps") + 1 :], ctx)
    args = [w for w in args if w not in ("on", "off")] if intent.startswith("Toggle") else args
    oid = _resolve(args, ctx, held_first=intent == "Drop")
    if intent == "Press" and ctx.allowed and Action("Press", (oid,)) not in ctx.allowed:
        toggles = _offered(oid, ctx, ("ToggleOn", "ToggleOff"))
        if len(toggles) == 1:  # 'pull the lever', 'flip the switch': a toggle, not a button
            return toggles[0]
    return Action(intent, (oid,))
