"""Property tests: ground() never raises anything but ActionError, and its actions name real things."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from embodied.actions import CATALOG, Action
from embodied.errors import ActionError
from embodied.language import VERBS, Candidate, Context, ground

C = Candidate
CTX = Context(
    objects=(
        C("chest_red", "chest", "red chest", "red", 1.2, -20),
        C("chest_blue", "chest", "blue chest", "blue", 2.5, 25),
        C("brass_key", "key", "brass key", held=True),
        C("note_1", "note", "note", distance=1.0),
        C("keypad", "keypad", distance=2.0, bearing=40),
        C("exit_door", "door", "exit door", distance=4.0),
        C("drawer_1", "drawer", bearing=-30),
        C("drawer_2", "drawer"),
        C("apple", "apple", color="red", visible=False),
    ),
    agents=("bob", "a1"),
    allowed=(Action("MoveAhead"), Action("Open", ("chest_red",)), Action("Pass")),
)
IDS = {c.id for c in CTX.objects}
ADVERSARIAL = [
    "",
    " ",
    "\x00",
    "\n\n\t",
    "\u200b",
    "\ufeff",
    "🙂" * 50,
    "a" * 10_000,
    "open " * 2000,
    "(" * 500,
    ")" * 500,
    "'; DROP TABLE actions; --",
    '{"action": "Open", "objectId": null}',
    "[[[]]]",
    "#",
    "#-1",
    "[99999999999]",
    "action",
    "action -3",
    "Open(",
    "Open()",
    "Open(,,,)",
    'Say("',
    'Say("\\ud800")',
    "Give(, )",
    "EnterCode(keypad)",
    "...",
    "?!",
    "¿¡",
    "١٢٣",
    "٣",
    "²",
    "Ⅻ",
    "İSTANBUL",
    "ß" * 30,
    "the the the",
    "to to to",
    "it",
    "open it",
    "give it to",
    "tell",
    "tell bob",
    "say ''",
    'say ""',
    "type",
    "enter 99999999999999999999999999 on the keypad",
    "go to",
    "turn on",
    "put in on into",
    "unlock with",
    "the second",
    "the 0th drawer",
    "drawer 0",
    "open drawer -1",
    "open the 99999999999999999999th drawer",
    "NaN",
    "None",
    "null",
    "1e309",
    "0x10",
    "\\",
    "%s%s%n",
    "{0}",
    "${x}",
    "open the chest\x00with\x07the key",
    "OPEN THE RED CHEST" * 100,
    "pick\u00a0up\u2003the key",
    "Ｏｐｅｎ the chest",
]
VOCAB = sorted(
    {w for phrase in VERBS for w in phrase.split()}
    | {
        "the",
        "a",
        "red",
        "blue",
        "chest",
        "chests",
        "key",
        "note",
        "door",
        "exit",
        "keypad",
        "drawer",
        "second",
        "last",
        "closest",
        "left",
        "right",
        "it",
        "to",
        "in",
        "on",
        "with",
        "bob",
        "a1",
        "carol",
        "4172",
        "3",
        "code",
        "please",
        "'",
        '"',
        ",",
        ".",
        ":",
        "(",
        ")",
        "#",
        "[",
        "]",
        "don't",
        "because",
        "and",
        "chest_red",
        "drawer_2",
        "Open",
        "Say",
    }
)


def check(text: str) -> None:
    try:
        act = ground(text, CTX)
    except ActionError as e:
        msg = str(e)
        assert msg.strip(), f"empty message for {text!r}"
        assert "internal error" not in msg, f"{text!r}: {msg}"
        return
    assert isinstance(act, Action) and act.name in CATALOG
    for param, arg in act.params.items():
        if param in ("object", "receptacle", "key"):
            assert arg in IDS, (text, act)
        elif param == "agent":
            assert arg in CTX.agents, (text, act)
        else:
            assert isinstance(arg, str) and arg.strip(), (text, act)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(), max_size=200))
def test_any_unicode(text):
    check(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(VOCAB), max_size=12).map(" ".join))
def test_vocabulary_soup(text):
    check(text)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(st.sampled_from(ADVERSARIAL), st.sampled_from(VOCAB), st.text(max_size=8)), max_size=5
    ).map("".join)
)
def test_adversarial_mix(text):
    check(text)


def test_fixed_adversarial():
    for text in ADVERSARIAL:
        check(text)
