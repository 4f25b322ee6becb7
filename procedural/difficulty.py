"""Difficulty estimate of a scene, from its structure and its optimal plan (any source: rules, LLM, import).

Components: ``locks`` opened on the optimal plan, ``depth`` (the longest chain of locks, each
guarding the next one's opener), ``branching`` (clues of the exit's code lock that lie behind
locks of their own), ``indirection`` (0 written out .. 4 in a book, read back from the clue
texts), ``decoys`` (locked things and readable texts the plan never uses, plus distractors),
``plan`` (optimal action count), ``rooms`` and ``agents``. ``score`` weighs them; ``tier`` 1–4
buckets the score (tier edges in ``TIERS``), for building suites of rising difficulty.
"""

from __future__ import annotations

import re
from typing import Any

from ..clues import _ARITH, _SUM, mapping
from ..solver import Verdict
from ..spec import Spec

WEIGHTS = {
    "depth": 1.0,
    "branching": 0.8,
    "indirection": 0.5,
    "decoys": 0.25,
    "plan": 0.05,
    "rooms": 0.4,
    "agents": 1.0,
}
TIERS = (3.0, 5.0, 8.0)  # score < 3 → tier 1, < 5 → 2, < 8 → 3, else 4


def _indirection(spec: Spec) -> int:
    objs = {o.id: o for o in spec.objects}
    level = 0
    for lk in [d.lock for d in spec.doors] + [o.lock for o in spec.objects]:
        if lk is None or lk.kind != "code" or lk.given is not None:
            continue
        clues = [objs[c] for c in lk.clues or [] if c in objs]
        texts = [c.text or "" for c in clues]
        if any(c.type == "book" for c in clues):
            level = max(level, 4)
        elif len(texts) > 1 and len(mapping(texts)) >= 2:
            level = max(level, 3)
        elif any(_ARITH.search(t) or _SUM.search(t) for t in texts):
            level = max(level, 2)
        elif len(texts) > 1:
            level = max(level, 1)
    return level


def _depth(spec: Spec) -> tuple[int, int]:
    """(longest lock chain, branches of the exit lock) from who guards each lock's opener."""
    objs = {o.id: o for o in spec.objects}
    inside = {c: o.id for o in spec.objects for c in o.contains}
    locks = {d.id: d.lock for d in spec.doors if d.lock} | {o.id: o.lock for o in spec.objects if o.lock}
    door_into = {}  # room -> locked door leading into it from an earlier room (rule-generated line)
    for d in spec.doors:
        if d.lock and "outside" not in d.between and d.lock.given is None:
            door_into[d.between[1]] = d.id

    def guards(oid: str) -> list[str]:
        out, cur = [], oid
        while cur in inside:
            cur = inside[cur]
            if cur in locks:
                out.append(cur)
        room = objs[cur].room if cur in objs else None
        if room in door_into:
            out.append(door_into[room])
        return out

    memo: dict[str, int] = {}

    def depth(lock_id: str, seen: frozenset = frozenset()) -> int:
        if lock_id in memo:
            return memo[lock_id]
        if lock_id in seen:
            return 0
        lk = locks[lock_id]
        openers = [lk.key] if lk.kind == "key" else list(lk.clues or [])
        sub = [depth(g, seen | {lock_id}) for o in openers if o in objs for g in guards(o)]
        memo[lock_id] = 1 + max(sub, default=0)
        return memo[lock_id]

    deepest = max((depth(x) for x in locks if locks[x].given is None), default=0)
    goal_door = spec.goal.get("exit_through") if isinstance(spec.goal, dict) else None
    branches = 1
    if goal_door in locks and locks[goal_door].kind == "code" and locks[goal_door].clues:
        guarded = {tuple(guards(c)) for c in locks[goal_door].clues if c in objs}
        branches = max(1, len(guarded - {()}))
    return deepest, branches


def estimate(spec: Spec, verdict: Verdict) -> dict[str, Any]:
    """The difficulty record written into ``spec.metadata["difficulty"]``."""
    used = {a for s in verdict.plan for a in s.args}
    unlocked = {s.args[0] for s in verdict.plan if s.verb in ("Unlock", "EnterCode")}
    # a keypad's EnterCode names the keypad; count the lock it controls
    ctrl = {o.id: o.controls for o in spec.objects if o.controls}
    unlocked = {ctrl.get(u, u) for u in unlocked}
    lockable = [d.id for d in spec.doors if d.lock and d.lock.given is None] + [
        o.id for o in spec.objects if o.lock
    ]
    readable = [o.id for o in spec.objects if o.text]
    distract = [o.id for o in spec.objects if not o.text and not o.lock and o.type not in ("key", "keypad")]
    decoys = (
        len([x for x in lockable if x not in unlocked])
        + len([x for x in readable if x not in used])
        + len([x for x in distract if x not in used and not any(x in o.contains for o in spec.objects)])
    )
    depth, branching = _depth(spec)
    parts = {
        "depth": depth,
        "branching": branching,
        "indirection": _indirection(spec),
        "decoys": decoys,
        "plan": verdict.length,
        "rooms": len([r for r in spec.rooms if not re.match(r"booth_", r.id)]),
        "agents": len(spec.agents),
    }
    score = sum(
        WEIGHTS[k] * (v - 1 if k in ("branching", "rooms", "agents") else v) for k, v in parts.items()
    )
    tier = 1 + sum(score >= edge for edge in TIERS)
    return {**parts, "locks": len(unlocked), "score": round(score, 2), "tier": tier}
