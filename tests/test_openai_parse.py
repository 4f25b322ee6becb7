"""The tolerant answer parser: every path, recorded; nothing guessed."""

from __future__ import annotations

import json

import pytest

from embodied.agents.openai_parse import parse_answer

ALLOWED = ("MoveAhead", "RotateLeft", "Open(chest)", "EnterCode(keypad, <code>)", "Done")


@pytest.mark.parametrize(
    "text, path, action, thought",
    [
        ('{"thought": "go", "action_id": 2}', "json", {"action_id": 2, "args": None}, "go"),
        (
            'Sure! ```json\n{"thought": "type it", "action_id": 3, "args": {"code": "4172"}}\n``` ok',
            "json",
            {"action_id": 3, "args": {"code": "4172"}},
            "type it",
        ),
        (
            'I think so. {"reasoning": "see it", "action": "open the chest"} done',
            "json",
            "open the chest",
            "see it",
        ),
        ("{'thought': 'go', 'action_id': 1,}", "json_repaired", {"action_id": 1}, "go"),
        ('{thought: "walk", action: "MoveAhead"', "json_repaired", "MoveAhead", "walk"),
        ('{"thought": "x", "action_id": "#4", "ok": True}', "json_repaired", {"action_id": 4}, "x"),
        (
            "Thought: the chest is near\nAction: Open(chest)",
            "action_line",
            "Open(chest)",
            "the chest is near",
        ),
        ("**Action ID:** 0", "action_line", {"action_id": 0}, ""),
        ("3", "action_id", {"action_id": 3}, ""),
        ("action #1.", "action_id", {"action_id": 1}, ""),
        ("The chest is right here, so I pick Open(chest) now.", "action_name", "Open(chest)", None),
        ("Let me RotateLeft to look around", "action_name", "RotateLeft", None),
        ("open the red chest please", "free_text", "open the red chest please", None),
    ],
)
def test_paths(text, path, action, thought):
    p = parse_answer(text, "both", ALLOWED)
    assert p.path == path, p
    got = json.loads(p.action) if p.action.startswith("{") else p.action
    if isinstance(action, dict):
        assert {k: got.get(k) for k in action} == action
    else:
        assert got == action
    if thought is not None:
        assert p.thought == thought
    else:
        assert p.thought  # the prose is kept as the rationale


@pytest.mark.parametrize(
    "text, error",
    [
        ("", "empty"),
        ('{"thought": "hmm", "plan": "later"}', 'no "action_id" or "action"'),
        ('{"thought": "hmm", "action": ""}', "empty"),
    ],
)
def test_format_errors_are_reported_not_guessed(text, error):
    p = parse_answer(text, "both", ALLOWED)
    assert p.action is None and error in p.error and not p.misfit


def test_interfaces():
    # ids: numbers, or a listed action verbatim; words are a format error; a non-listed name a misfit
    assert json.loads(parse_answer("Action: Open(chest)", "ids", ALLOWED).action) == {"action_id": 2}
    p = parse_answer("open the chest", "ids", ALLOWED)
    assert p.action is None and "action_id" in p.error and not p.misfit
    p = parse_answer('{"action": "open the chest"}', "ids", ALLOWED)
    assert p.action is None and p.misfit
    # free-text: numbers are not this interface's answers
    p = parse_answer('{"thought": "t", "action_id": 2}', "free-text", ALLOWED)
    assert p.action is None and p.misfit and "words" in p.error
    assert parse_answer("go through the door", "free-text", ALLOWED).path == "free_text"
    with pytest.raises(ValueError):
        parse_answer("x", "telepathy")


def test_json_with_action_text_and_args_keeps_both():
    p = parse_answer('{"thought": "t", "action": "EnterCode", "args": {"object": "keypad", "code": "12"}}')
    assert json.loads(p.action) == {"action": "EnterCode", "args": {"object": "keypad", "code": "12"}}
