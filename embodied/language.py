"""Free text -> one canonical :class:`~embodied.actions.Action`, grounded in what the agent sees.

``ground("open the red chest", ctx)`` returns ``Open(chest_red)``. It also accepts an action id
from the step's allowed list (``"3"``, ``"#3"``, ``"action 3"``) and canonical strings
(``"Open(chest_red)"``, ``"PickupObject(key)"``). The vocabulary (verbs, object-type synonyms,
colours, ordinals) is data at the top of this module; the interpreter below reads the first clear
intent of the text and resolves object references by id, type, name, colour, ordinal and
nearness, preferring visible or held objects. Anything it cannot ground raises
:class:`~embodied.errors.ActionError` (and nothing else) with a message naming the fix.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources

from . import yamlio
from .actions import CATALOG, Action, canonical_name, from_mapping, parse_canonical
from .errors import ActionError

# ---------------------------------------------------------------- vocabulary (data: language.yaml)
_V = yamlio.safe_load(resources.files("embodied").joinpath("language.yaml").read_text())
# verb phrase -> intent: a catalog verb (one object, or none) or a small parser named in lowercase.
VERBS: dict[str, str] = {phrase: intent for intent, phrases in _V["verbs"].items() for phrase in phrases}
MOTION_CLASS: dict[str, str] = _V["motion_class"]  # every other "move" verb is class "move"
DIRECTIONS: dict[str, dict[str, str]] = _V["directions"]
MOTION_DEFAULT: dict[str, str] = _V["motion_default"]
# object type -> words that may name it (the type itself first)
SYNONYMS: dict[str, tuple[str, ...]] = {t: tuple(words) for t, words in _V["synonyms"].items()}
CODE_TYPES = tuple(_V["code_types"])  # default targets of a bare "enter 4172", in order
COLORS, NEGATIONS, STOPS = set(_V["colors"]), set(_V["negations"]), set(_V["stops"])
ORDINALS: dict[str, int] = _V["ordinals"]
NEARNESS: dict[str, str] = _V["nearness"]
FILLERS, REF_FILLERS, RELATIONS = set(_V["fillers"]), set(_V["ref_fillers"]), set(_V["relations"])
PUT_PREPS = tuple(_V["put_preps"])
GROUPS, PRONOUNS = set(_V["groups"]), set(_V["pronouns"])
LOCK_WORDS, PLACE_WORDS = set(_V["lock_words"]), set(_V["place_words"])
EXAMPLES: str = _V["examples"]

# ---------------------------------------------------------------- public types


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


_TOKEN = re.compile(r"[^\W_]+(?:['\u2019_][^\W_]+)*|[.;!?:,\n]")
_ID = re.compile(
    r"^(?:(?:action|option|choice)(?:\s*id)?\s*[:#]?\s*)?[#\[(]?\s*([0-9]{1,9})\s*[\])]?\s*[.!]?$", re.I
)
_EMBEDDED = re.compile(r"(?<![A-Za-z_])([A-Za-z_]+)\s*\(([^()]*)\)")
_QUOTE = re.compile(r"\"([^\"]*)\"|\u201c([^\u201d]*)\u201d|\u2018([^\u2019]*)\u2019|(?<!\w)'([^']*)'(?!\w)")
_NUM = re.compile(r"[0-9]+")
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
_VERB_INDEX: dict[str, list[tuple[str, ...]]] = {}
for _phrase in sorted(VERBS, key=lambda p: -len(p.split())):
    _VERB_INDEX.setdefault(_phrase.split()[0], []).append(tuple(_phrase.split()))
_WORD_TYPE = {w: t for t, words in SYNONYMS.items() for w in words}


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


# ---------------------------------------------------------------- free text
def _tokens(s: str) -> list[tuple[str, int, int]]:
    return [(m.group().lower().replace("\u2019", "'"), m.start(), m.end()) for m in _TOKEN.finditer(s)]


def _words(s: str) -> list[str]:
    return [t for t, _, _ in _tokens(s) if t not in ",.;:!?\n"]


def _verb_at(words: list[str], i: int) -> tuple[str, ...] | None:
    for phrase in _VERB_INDEX.get(words[i], ()):
        if tuple(words[i : i + len(phrase)]) == phrase:
            return phrase
    return None


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


def _cut(args: list[str]) -> list[str]:
    """The argument phrase ends at a conjunction or at 'to <verb>' ('open the chest to get the key')."""
    for k, w in enumerate(args):
        if w in STOPS or (
            w == "to" and k + 1 < len(args) and args[k + 1] in _VERB_INDEX and args[k + 1] != "the"
        ):
            return args[:k]
    return args


def _split(args: list[str], preps) -> tuple[list[str], list[str]] | None:
    for k in range(len(args)):
        for p in sorted(preps, key=lambda p: -len(p.split())):
            pw = p.split()
            if args[k : k + len(pw)] == pw:
                return args[:k], args[k + len(pw) :]
    return None


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
        return _through(verb, args, ctx)
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


def _kind(oid: str, ctx: Context) -> str:
    return next((c.type for c in ctx.objects if c.id == oid), "")


def _offered(oid: str, ctx: Context, names) -> list[Action]:
    return [a for a in ctx.allowed if a.name in names and a.args and a.args[0] == oid]


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
    if verb == "leave" and _split(args, PUT_PREPS):  # 'leave the key in the chest'
        return _parse("put", ("leave",), args, [], 0, "", ctx)
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


def _ids(cands: list[Candidate]) -> str:
    return ", ".join(c.id for c in cands) or "none in this scene"


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


def _agent(a: str, ctx: Context) -> str:
    found = {x.lower(): x for x in ctx.agents}.get(a.strip().lower())
    if not found:
        raise ActionError(
            f"unknown teammate {a!r}; teammates: {', '.join(ctx.agents) or 'none in this task'}"
        )
    return found


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


# ---------------------------------------------------------------- object references
def _sing(w: str) -> str:
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("es") and w[:-2].endswith(("x", "ch", "sh", "ss")):
        return w[:-2]
    return w[:-1] if w.endswith("s") and not w.endswith("ss") and len(w) > 3 else w


def _cwords(c: Candidate) -> set[str]:
    parts = re.split(r"[\s_\-]+|(?<=[a-z])(?=[0-9])", f"{c.id} {c.name}".lower())
    return {c.id.lower(), c.type.lower(), (c.color or "").lower(), *parts} - {""}


def _number(c: Candidate) -> int | None:
    m = re.search(r"([0-9]+)$", c.id) or re.search(r"([0-9]+)$", c.name)
    return int(m.group(1)) if m else None


def _content(words: list[str]) -> list[str]:
    return [w for w in words if w not in REF_FILLERS and w not in PRONOUNS]


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
