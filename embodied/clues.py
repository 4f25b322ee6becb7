"""Clue consistency: the codes a reader derives from a lock's clue texts must open that lock.

The solver treats a code as known once its clues are read (see docs/scene-format.md), so it
cannot notice a scene whose notes say one thing while the lock wants another. This module reads
the texts the way a player would and derives the codes they give:

- a whole code written out (``The exit code is 4172``), digits or spelled (``four one seven two``);
- a code split over several clues, joined in order (``first half: 39`` + ``second half: 58``);
  ordinal words (first, second, third, fourth, last) order the parts when every part has one;
- arithmetic (``12 + 27``, ``6 x 7``, ``40 minus 1``, ``the sum of 12 and 27``);
- a colour or symbol mapping (``red=4, blue=7`` in one clue, ``blue red red`` in another);
- a clue inside a book: books are readable clues like notes (their text shows once read).

``check_clues(spec)`` returns ``(path, message)`` problems: a code lock whose clues give other
codes (both sides named: the lock's code and what each clue says), or a code that no readable
text gives, unless the lock is marked ``"given": true`` (the agent is told it up front) or
``"given": false`` (a sealed lock nobody is meant to open).
"""

from __future__ import annotations

import itertools
import re

from .spec import Lock, Obj, Spec, affordances

DIGIT_WORDS = {
    w: str(i)
    for i, w in enumerate(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
}
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": 99, "final": 99}
_OPS = r"\+|-|−|–|×|\*|x|plus|minus|times|multiplied by"
_ARITH = re.compile(rf"\b\d+(?:\s*(?:{_OPS})\s*\d+)+\b", re.IGNORECASE)
_SUM = re.compile(r"\b(sum|product|difference) of (\d+) and (\d+)\b", re.IGNORECASE)
_PAIR = re.compile(r"\b([A-Za-z]+)\s*(?:=|:|→|->|means|stands for)\s*(\d)(?=\s*(?:[,;.)]|and\b|$))")
_SPELLED = re.compile(rf"\b(?:(?:{'|'.join(DIGIT_WORDS)})\b[\s,-]*){{2,}}", re.IGNORECASE)
_NUM = re.compile(r"\d+")
_SEP = re.compile(r"[\s,;–>→-]*(?:(?:then|and)[\s,;–>→-]*)?", re.IGNORECASE)
MAX_COMBOS = 256


def _eval(expr: str) -> int | None:
    """Value of ``12 + 27 x 2`` with the usual precedence (products first); None if negative."""
    parts = re.split(rf"\s*({_OPS})\s*", expr, flags=re.IGNORECASE)
    total, term, sign = 0, int(parts[0]), 1
    for op, num in zip(parts[1::2], parts[2::2]):
        n, op = int(num), op.lower()
        if op in ("+", "plus", "-", "−", "–", "minus"):
            total += sign * term
            sign, term = (1 if op in ("+", "plus") else -1), n
        else:
            term *= n
    total += sign * term
    return total if total >= 0 else None


def mapping(texts: list[str]) -> dict[str, str]:
    """Colour/symbol → digit pairs given anywhere in ``texts`` (``red=4``, ``moon means 7``)."""
    out: dict[str, str] = {}
    for t in texts:
        if len(_PAIR.findall(t)) < 2:  # a legend pairs several words ("half: 3" is not one)
            continue
        for m in _PAIR.finditer(t):
            word = m.group(1).lower()
            if word not in DIGIT_WORDS and word not in ("code", "is", "half", "part", "digits"):
                out[word] = m.group(2)
    return out


def atoms(text: str, legend: dict[str, str]) -> list[str]:
    """The numbers a reader takes from one text, in reading order.

    Arithmetic is worked out (its operands are not numbers of their own), mapped words are
    decoded in runs of two or more, spelled digits are joined, legend entries are skipped."""
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= x or a >= y for x, y in taken)

    for m in _PAIR.finditer(text):
        if m.group(1).lower() in legend:
            taken.append(m.span())
    for m in _SUM.finditer(text):
        a, b = int(m.group(2)), int(m.group(3))
        val = {"sum": a + b, "product": a * b, "difference": abs(a - b)}[m.group(1).lower()]
        found.append((m.start(), str(val)))
        taken.append(m.span())
    for m in _ARITH.finditer(text):
        if free(*m.span()):
            val = _eval(m.group(0))
            if val is not None:
                found.append((m.start(), str(val)))
                taken.append(m.span())
    for m in _SPELLED.finditer(text):
        if free(*m.span()):
            digits = "".join(DIGIT_WORDS[w.lower()] for w in re.findall(r"[A-Za-z]+", m.group(0)))
            found.append((m.start(), digits))
            taken.append(m.span())
    if legend:  # runs of two or more mapped words, separated only by spaces, commas, dashes, "then"
        hits = [
            m for m in re.finditer(r"[A-Za-z]+", text) if m.group(0).lower() in legend and free(*m.span())
        ]
        runs: list[list[re.Match]] = []
        for m in hits:
            if runs and _SEP.fullmatch(text[runs[-1][-1].end() : m.start()]):
                runs[-1].append(m)
            else:
                runs.append([m])
        for run in runs:
            if len(run) >= 2:
                found.append((run[0].start(), "".join(legend[m.group(0).lower()] for m in run)))
                taken.append((run[0].start(), run[-1].end()))
    for m in _NUM.finditer(text):
        if free(*m.span()):
            found.append((m.start(), m.group(0)))
    return [v for _, v in sorted(found)]


def _ordinal(text: str) -> int | None:
    hits = [v for w, v in ORDINALS.items() if re.search(rf"\b{w}\b", text, re.IGNORECASE)]
    return min(hits) if len(hits) == 1 else None


def derive(texts: list[str]) -> list[str]:
    """Every code a reader could take from ``texts`` read together (see the module docstring)."""
    legend = mapping(texts)
    per = [atoms(t, legend) for t in texts]
    out: list[str] = [a for p in per for a in p] + ["".join(p) for p in per if len(p) > 1]
    orders = [list(range(len(texts)))]
    ords = [_ordinal(t) for t in texts]
    if len(texts) > 1 and all(o is not None for o in ords) and len(set(ords)) == len(ords):
        orders.append(sorted(range(len(texts)), key=lambda i: ords[i]))
    for order in orders:
        parts = [per[i] for i in order if per[i]]
        if len(parts) > 1:
            for combo in itertools.islice(itertools.product(*parts), MAX_COMBOS):
                out.append("".join(combo))
    return list(dict.fromkeys(out))


def _readable(o: Obj) -> bool:
    return "readable" in affordances(o) or o.type == "screen"


def _matches(code: str, cand: str) -> bool:
    return cand == code or (cand.isdigit() and code.isdigit() and cand.zfill(len(code)) == code)


def _quote(text: str, n: int = 60) -> str:
    t = " ".join(text.split())
    return repr(t if len(t) <= n else t[: n - 1] + "…")


def check_clues(spec: Spec) -> list[tuple[str, str]]:
    """Problems with the clues of every code lock in ``spec`` (empty when all are consistent)."""
    objs = {o.id: o for o in spec.objects}
    readable = {o.id: o.text or "" for o in spec.objects if _readable(o)}
    problems: list[tuple[str, str]] = []
    locks: list[tuple[str, str, Lock]] = [
        (f"doors[{i}].lock", f"door {d.id!r}", d.lock) for i, d in enumerate(spec.doors) if d.lock
    ] + [(f"objects[{i}].lock", f"{o.type} {o.id!r}", o.lock) for i, o in enumerate(spec.objects) if o.lock]
    for path, what, lock in locks:
        if lock.kind != "code" or lock.given is not None:
            continue
        code = lock.code or ""
        if lock.clues:
            ids = [c for c in lock.clues if c in objs]
            texts = [readable.get(c, "") for c in ids]
            cands = derive(texts)
            if any(_matches(code, c) for c in cands):
                continue
            said = "; ".join(f"{c} says {_quote(t)}" for c, t in zip(ids, texts))
            if not cands:
                problems.append(
                    (
                        f"{path}.code",
                        f"{what} opens with {code}, but its clues give no code ({said}); "
                        'write the code into them or mark the lock "given": true',
                    )
                )
                continue
            best = sorted(cands, key=lambda c: (len(c) != len(code), -len(c)))[:3]
            problems.append(
                (
                    f"{path}.code",
                    f"{what} opens with {code}, but its clues give {' or '.join(best)} ({said})",
                )
            )
        elif not any(code in t for t in readable.values()):
            near = {oid: [c for c in derive([t]) if len(c) == len(code)] for oid, t in readable.items() if t}
            near = {k: v for k, v in near.items() if v}
            hint = (
                "; readable texts give " + "; ".join(f"{k}: {', '.join(v[:3])}" for k, v in near.items())
                if near
                else ""
            )
            problems.append(
                (
                    f"{path}.code",
                    f"{what} opens with {code}, but no readable text gives that code{hint}; "
                    "add a note with it, list the lock's 'clues', or mark the lock \"given\": true "
                    "(told up front) or false (sealed)",
                )
            )
    return problems
