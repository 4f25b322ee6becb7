"""Clue texts for a code at a given indirection level, written so :mod:`embodied.clues` reads them back.

Levels (the ``indirection`` knob):
0. the code written out: ``The red chest opens with 4172.``
1. split over two clues, in order: ``red chest, first half: 41`` / ``red chest, second half: 72``
2. arithmetic: ``red chest: 2081 + 2091``
3. a colour or symbol mapping: a legend (``rose=4, moon=1, ...``) and a sequence (``moon rose ...``)
4. a book that must be read, whose text gives the code (written as at level 0 or 2)

Each clue is ``(kind, text)`` with kind ``note`` or ``book``; the caller places them.
"""

from __future__ import annotations

import random

ORDINAL = ["first", "second", "third", "fourth", "fifth"]
NUMBER = ["zero", "one", "two", "three", "four", "five"]


def new_code(rng: random.Random, digits: int = 4) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(digits))


def clue_texts(
    rng: random.Random, code: str, target: str, level: int, symbols: list[str]
) -> list[tuple[str, str]]:
    """Clues that together give ``code`` for the lock called ``target`` (e.g. "the red chest")."""
    if level <= 0:
        return [("note", f"The code for {target} is {code}.")]
    if level == 1:
        h = len(code) // 2
        return [
            ("note", f"Code for {target}, first half: {code[:h]}"),
            ("note", f"Code for {target}, second half: {code[h:]}"),
        ]
    if level == 2:
        return [("note", arithmetic(rng, code, target))]
    if level == 3:
        used = sorted(set(code))
        pool = list(symbols)
        rng.shuffle(pool)
        extra = [d for d in "0123456789" if d not in used]
        rng.shuffle(extra)
        digits = used + extra[: max(0, min(len(pool), 5) - len(used))]
        rng.shuffle(digits)
        legend = dict(zip(digits, pool))
        pairs = ", ".join(f"{legend[d]}={d}" for d in digits)
        seq = " ".join(legend[d] for d in code)
        return [("note", f"Symbols for {target}: {pairs}."), ("note", f"{target.capitalize()}: {seq}")]
    inner = arithmetic(rng, code, target) if rng.random() < 0.5 else f"The code for {target} is {code}."
    return [("book", f"Day 12. I hid the combination where nobody reads. {inner}")]


def arithmetic(rng: random.Random, code: str, target: str) -> str:
    n = int(code)
    form = rng.randrange(3)
    if form == 0 or n < 2:
        a = rng.randrange(0, n + 1)
        return f"Code for {target}: {a} + {n - a} (four digits)"
    if form == 1:
        b = rng.randrange(1, 500)
        return f"Code for {target}: {n + b} - {b} (four digits)"
    factors = [f for f in range(2, 10) if n % f == 0]
    if not factors:
        a = rng.randrange(0, n + 1)
        return f"Code for {target}: {a} + {n - a} (four digits)"
    f = rng.choice(factors)
    return f"Code for {target}: {n // f} x {f} (four digits)"


def part_text(code_part: str, k: int, parts: int, target: str) -> str:
    """One of ``parts`` pieces of a code split across independent sub-chains."""
    return f"Code for {target}, {ORDINAL[k]} of {NUMBER[parts]} parts: {code_part}"
