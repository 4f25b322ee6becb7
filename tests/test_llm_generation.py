"""The LLM generator against a local OpenAI-compatible server (the genuine openai SDK talks to it).

The scripted "model" answers each stage; the final scene answers are chosen per test to exercise
one validator message each (invalid JSON, schema, unsolvable, shortcut, clue contradiction) and
the repair that fixes it, or to never converge.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
from embodied.procedural.llm import generate_llm, parse_json
from PIL import Image

from embodied.agents.openai_client import ChatClient
from embodied.testing import FakeOpenAI, Reply

GOOD = {
    "format": "embodied.scene/1",
    "name": "victorian_study",
    "description": "A Victorian study; the exit code is in the safe.",
    "rooms": [{"id": "study", "size": [5, 4.5]}],
    "doors": [
        {
            "id": "exit",
            "between": ["study", "outside"],
            "lock": {"kind": "code", "code": "4172", "clues": ["letter"]},
        }
    ],
    "objects": [
        {"id": "keypad", "type": "keypad", "room": "study", "controls": "exit"},
        {
            "id": "safe",
            "type": "safe",
            "room": "study",
            "contains": ["letter"],
            "lock": {"kind": "key", "key": "brass_key"},
        },
        {"id": "letter", "type": "note", "text": "The exit code is 4172"},
        {"id": "brass_key", "type": "key", "room": "study", "color": "gold"},
    ],
    "agents": [{"id": "a0", "room": "study"}],
    "goal": {"exit_through": "exit"},
    "required": ["exit", "safe"],
}


def broken(kind: str) -> str:
    d = copy.deepcopy(GOOD)
    if kind == "json":
        return '{"format": "embodied.scene/1", "rooms": [ oops'
    if kind == "schema":
        d["rooms"][0]["colour"] = "red"
    elif kind == "unsolvable":
        d["objects"][1]["contains"] = ["letter", "brass_key"]  # the key locked inside its own safe
        del d["objects"][3]["room"]
    elif kind == "shortcut":  # a locked drawer listed as required although the exit never needs it
        d["objects"].append(
            {"id": "drawer", "type": "drawer", "room": "study", "lock": {"kind": "key", "key": "brass_key"}}
        )
        d["required"] = ["exit", "drawer"]
    elif kind == "clue":
        d["doors"][0]["lock"]["code"] = "1234"  # the letter still says 4172
    return json.dumps(d)


def model(final: list[str]):
    """A script: fixed stage answers, then the scene answers in ``final`` (the last one repeats)."""
    answers = list(final)

    def answer(req) -> str | Reply:
        last = req.messages[-1]["content"]
        text = (
            last
            if isinstance(last, str)
            else " ".join(p.get("text", "") for p in last if p.get("type") == "text")
        )
        if "STAGE theme" in text:
            return '{"name": "victorian_study", "description": "a study", "theme": "victorian"}'
        if "STAGE layout" in text:
            return 'Here: {"rooms": [{"id": "study", "size": [5, 4.5]}], "doors": [{"id": "exit", "between": ["study", "outside"]}]}'
        if "STAGE puzzle" in text:
            return '```json\n{"objects": [], "agents": [{"id": "a0", "room": "study"}], "goal": {"exit_through": "exit"},}\n```'
        return answers.pop(0) if len(answers) > 1 else answers[0]

    return answer


@pytest.fixture
def client(tmp_path):
    def make(srv, cache=True, prices=None):
        return ChatClient(
            "gpt-4o-mini",
            base_url=srv.base_url,
            retries=0,
            cache_dir=tmp_path / "cache" if cache else None,
            prices=prices,
        )

    return make


def test_valid_at_first_answer_uses_structured_output(client):
    with FakeOpenAI(model([json.dumps(GOOD)])) as srv:
        res = generate_llm(client(srv), "a Victorian study with a hidden safe")
        assert res.ok and res.rounds == 1 and res.requests == 4
        final = srv.completions[-1].json
        assert final["response_format"]["type"] == "json_schema"
        assert "rooms" in final["response_format"]["json_schema"]["schema"]["properties"]
        assert all("response_format" not in r.json for r in srv.completions[:3])
    assert res.spec.metadata["generator"] == "llm" and res.prompt_tokens > 0 and res.cost_usd > 0


@pytest.mark.parametrize(
    "kind, says",
    [
        ("json", "json: "),
        ("schema", "schema: rooms[0].colour"),
        ("unsolvable", "unsolvable: goal"),
        ("shortcut", "shortcut: required[1]"),
        ("clue", "clue: doors[0].lock.code"),
    ],
)
def test_each_validator_message_goes_back_and_the_repair_converges(client, kind, says):
    with FakeOpenAI(model([broken(kind), json.dumps(GOOD)])) as srv:
        res = generate_llm(client(srv), "a study", tries=3)
        assert res.ok, res.reasons
        assert res.rounds == 2 and says in res.history[-2]["problems"][0]
        repair = srv.completions[-1].text()
        assert "The validator rejected the scene" in repair and says in repair
    if kind == "clue":
        assert "1234" in repair and "4172" in repair


def test_gives_up_with_reasons_and_nothing_valid(client):
    with FakeOpenAI(model([broken("clue")])) as srv:
        res = generate_llm(client(srv), "a study", tries=2)
    assert not res.ok and res.spec is None and res.rounds == 3
    assert "gave up after 2 repairs" in res.reasons[0] and any("1234" in r for r in res.reasons)


def test_image_is_sent_as_an_image_part(client, tmp_path):
    img = tmp_path / "plan.png"
    Image.new("RGB", (32, 24), (200, 180, 150)).save(img)
    with FakeOpenAI(model([json.dumps(GOOD)])) as srv:
        res = generate_llm(client(srv), None, image=img)
        assert res.ok
        urls = srv.completions[0].images()
        assert len(urls) == 1 and urls[0].startswith("data:image/png;base64,")
        assert "the room in the image" in srv.completions[0].text()


def test_cache_replays_with_zero_requests(client):
    with FakeOpenAI(model([broken("schema"), json.dumps(GOOD)])) as srv:
        first = generate_llm(client(srv), "a study", temperature=0.2)
        n = len(srv.completions)
        again = generate_llm(client(srv), "a study", temperature=0.2)
        assert len(srv.completions) == n  # every answer came from the cache
        assert again.cache_hits == again.requests == first.requests
        assert again.spec.to_json() == first.spec.to_json()
        other = generate_llm(client(srv), "a study", temperature=0.3)  # another sampling parameter: asked
        assert len(srv.completions) > n and other.cache_hits == 0


def test_endpoint_without_structured_output_is_parsed_tolerantly(client):
    def answer(req):
        if "response_format" in req.json:
            return Reply.error(400, "response_format is not supported by this server")
        return model(["Sure! ```json\n" + json.dumps(GOOD) + "\n```"])(req)

    with FakeOpenAI(answer) as srv:
        res = generate_llm(client(srv, cache=False), "a study")
        assert res.ok and "response_format" not in srv.completions[-1].json


def test_max_cost_stops_before_the_budget_is_passed(client):
    with FakeOpenAI(model([broken("clue")])) as srv:
        res = generate_llm(client(srv, prices={"gpt-4o-mini": [1000.0, 1000.0]}), "a study", max_cost=0.5)
    assert not res.ok and "max-cost" in res.reasons[0] and res.requests < 2


def test_max_cost_needs_a_known_price(client):
    from embodied.errors import ConfigError

    with FakeOpenAI(model([json.dumps(GOOD)])) as srv:
        c = ChatClient("local-llama", base_url=srv.base_url, retries=0)
        with pytest.raises(ConfigError, match="not in the price table"):
            generate_llm(c, "a study", max_cost=1.0)
        assert srv.completions == []


def test_parse_json_tolerates_prose_fences_and_trailing_commas():
    assert parse_json('Here it is: {"a": [1, 2,], "b": "}"} thanks') == {"a": [1, 2], "b": "}"}
    with pytest.raises(ValueError, match="not closed"):
        parse_json('{"a": 1')


def _cli(srv, tmp_path, *extra):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "embodied.cli",
            "gen",
            "--generator",
            "llm",
            "--base-url",
            srv.base_url,
            "--model",
            "gpt-4o-mini",
            "--prompt",
            "a Victorian study",
            "--out",
            str(tmp_path / "out"),
            "--cache",
            str(tmp_path / "cache"),
            "--tries",
            "1",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_cli_writes_a_valid_scene_replayed_in_the_engine(tmp_path):
    with FakeOpenAI(model([broken("unsolvable"), json.dumps(GOOD)])) as srv:
        r = _cli(srv, tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out"
    spec = json.loads((out / "victorian_study.json").read_text())
    assert spec["metadata"]["rounds"] == 2 and spec["metadata"]["model"] == "gpt-4o-mini"
    assert (out / "victorian_study.thumb.png").exists() and (out / "victorian_study.map.png").exists()


def test_cli_never_writes_an_invalid_scene(tmp_path):
    with FakeOpenAI(model([broken("clue")])) as srv:
        r = _cli(srv, tmp_path, "--no-replay")
    assert r.returncode == 1 and "gave up" in r.stderr
    out = tmp_path / "out"
    assert not list(out.glob("*.json")) or all(p.name.endswith(".log.json") for p in out.glob("*.json"))
    log = json.loads(next(out.glob("*.log.json")).read_text())
    assert any("1234" in x for x in log["reasons"])


def test_cli_takes_the_retries_and_request_timeout_its_error_names(tmp_path):
    # the endpoint error says "raise --retries / --request-timeout": gen had neither (unrecognized arguments)
    with FakeOpenAI(lambda req: Reply.slow(json.dumps(GOOD), delay=3.0)) as srv:
        r = _cli(srv, tmp_path, "--no-replay", "--retries", "1", "--request-timeout", "0.3")
        asked = len(srv.completions)
    assert r.returncode == 1, r.stderr
    assert "failed 2 times (APITimeoutError, APITimeoutError)" in " ".join(r.stderr.split()), r.stderr
    assert asked == 2  # the first try and one retry, each cut at 0.3 s


def test_cli_bad_price_table_is_one_line(tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text("{not json")  # was a JSONDecodeError traceback
    with FakeOpenAI([]) as srv:
        r = _cli(srv, tmp_path, "--no-replay", "--prices", str(prices))
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert lines[0].startswith(f"embodied gen: error: cannot read price table {prices}: at line 1 col 10")
