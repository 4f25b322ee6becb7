"""The vocabulary of free text and the word-level helpers every parser shares.

The vocabulary is data (``embodied/language.yaml``): verb phrases by intent, object-type
synonyms, colours, ordinals, nearness words and the words the interpreter skips. The helpers
split text into lowercase tokens, find the verb phrase at a position, cut an argument phrase
where it ends, split it at a preposition, and singularise a noun.
"""

from __future__ import annotations

import re
from importlib import resources

from .. import yamlio

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
_TOKEN = re.compile(r"[^\W_]+(?:['\u2019_][^\W_]+)*|[.;!?:,\n]")
_NUM = re.compile(r"[0-9]+")
_VERB_INDEX: dict[str, list[tuple[str, ...]]] = {}
for _phrase in sorted(VERBS, key=lambda p: -len(p.split())):
    _VERB_INDEX.setdefault(_phrase.split()[0], []).append(tuple(_phrase.split()))
_WORD_TYPE = {w: t for t, words in SYNONYMS.items() for w in words}


def _tokens(s: str) -> list[tuple[str, int, int]]:
    return [(m.group().lower().replace("\u2019", "'"), m.start(), m.end()) for m in _TOKEN.finditer(s)]


def _words(s: str) -> list[str]:
    return [t for t, _, _ in _tokens(s) if t not in ",.;:!?\n"]


def _verb_at(words: list[str], i: int) -> tuple[str, ...] | None:
    for phrase in _VERB_INDEX.get(words[i], ()):
        if tuple(words[i : i + len(phrase)]) == phrase:
            return phrase
    return None


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


def _sing(w: str) -> str:
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("es") and w[:-2].endswith(("x", "ch", "sh", "ss")):
        return w[:-2]
    return w[:-1] if w.endswith("s") and not w.endswith("ss") and len(w) > 3 else w


def _content(words: list[str]) -> list[str]:
    return [w for w in words if w not in REF_FILLERS and w not in PRONOUNS]
