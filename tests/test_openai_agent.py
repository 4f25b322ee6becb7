"""The openai:MODEL agent in real episodes: genuine openai SDK, local server, real engine."""

from __future__ import annotations

import base64
import io
import json
import re

import pytest
from PIL import Image

from embodied.agents import make_agent
from embodied.env import Env
from embodied.errors import AgentAPIError
from embodied.record import run_episode
from embodied.testing import FakeOpenAI, Reply
from tests.vlm_helpers import OracleScript, answer_by_id, as_action, listed, prompt_text

SIZE = 64


def agent_for(srv, **kw):
    kw.setdefault("backoff", 0.001)
    return make_agent("openai:gpt-4o", base_url=srv.base_url, **kw)


@pytest.fixture
def env(engine):
    with Env("chest_split_code", engine=engine, width=SIZE, height=SIZE) as e:
        yield e


def play(env, agent, steps):
    obs, info = env.reset()
    agent.reset(env)
    out = []
    for _ in range(steps):
        act = agent.act(obs, info)
        obs, _, term, trunc, info = env.step(act)
        out.append((dict(agent.last_record), info))
        if term or trunc:
            break
    return out, info


def test_every_parser_path_end_to_end(env):
    answers = [
        '{"thought": "look left", "action_id": 4}',  # json (4: RotateLeft)
        "Here: {'thought': 'and back', 'action': 'RotateRight',}",  # json_repaired
        "Thought: walk on\nAction: MoveAhead",  # action_line
        "5",  # action_id (RotateRight)
        "I will RotateLeft now.",  # action_name
        "turn right",  # free_text, grounded by embodied.language
    ]
    with FakeOpenAI(answers) as srv:
        steps, _ = play(env, agent_for(srv), len(answers))
        req = srv.completions[0]
    paths = [r["parse_path"] for r, _ in steps]
    assert paths == ["json", "json_repaired", "action_line", "action_id", "action_name", "free_text"]
    assert [r["chosen_action"] for r, _ in steps] == [
        "RotateLeft",
        "RotateRight",
        "MoveAhead",
        "RotateRight",
        "RotateLeft",
        "RotateRight",
    ]
    assert all(info["lastActionSuccess"] for _, info in steps)
    assert steps[0][0]["thought"] == "look left" and steps[2][0]["thought"] == "walk on"
    # the request: system rules, the frame as a JPEG data URL, step/budget and the numbered actions
    assert req.messages[0]["role"] == "system" and "escape through exit" in req.messages[0]["content"]
    assert req.images()[0].startswith("data:image/jpeg;base64,")
    assert re.search(r"Step 1 of \d+", req.text()) and "4. RotateLeft" in req.text()
    assert all(
        r["prompt_hash"] == steps[0][0]["prompt_hash"] and len(r["prompt_hash"]) == 12 for r, _ in steps
    )


def test_reprompt_then_counted_noop_and_error_kinds_apart(env):
    answers = [
        "hmm, let me think",  # format error ...
        "still thinking",  # ... re-prompted, format error again -> invalid no-op (Pass)
        '{"thought": "x", "action_id": 99}',  # invalid action (no such id) ...
        '{"thought": "fixed", "action_id": 0}',  # ... re-prompted, fixed
        "Open(chest)",  # a valid action the world refuses (too far): a failed action
        "Done",
    ]
    with FakeOpenAI(answers) as srv:
        agent = agent_for(srv)
        steps, info = play(env, agent, 4)
        reprompt = srv.completions[1]
    (noop, _), (fixed, _), (failed, failed_info), _ = steps
    assert noop["noop"] and noop["chosen_action"] == "Pass" and noop["reprompted"]
    assert noop["format_errors"] == 2 and noop["first_answer"] == "hmm, let me think"
    assert "could not be used" in prompt_text(reprompt) and reprompt.messages[-2]["role"] == "assistant"
    assert fixed["invalid_actions"] == 1 and fixed["chosen_action"] == "MoveAhead" and not fixed.get("noop")
    assert not failed_info["lastActionSuccess"] and failed["chosen_action"] == "Open(chest)"
    s = agent.stats(info)
    assert (s["format_errors"], s["invalid_actions"], s["failed_actions"]) == (2, 1, 1)
    assert (s["reprompts"], s["invalid_noops"], s["api_errors"], s["calls"]) == (2, 1, 0, 6)
    assert s["parse_paths"] == {"free_text": 2, "json": 2, "action_name": 2}  # Open(chest), Done
    # the next prompt tells the model its answer was unusable
    assert "invalid no-op" in srv.completions[2].text()


def test_full_episode_solved_by_scripted_answers(env, tmp_path):
    env.reset()
    script = OracleScript(env, "a0")
    with FakeOpenAI(script) as srv:
        agent = agent_for(srv)
        m = run_episode(env, agent, tmp_path, agent_name="openai:gpt-4o", agent_options=agent.config())
    assert m.success and m.end_reason == "goal reached"
    s = m.agent_stats["a0"]
    assert s["calls"] == m.steps == len(srv.completions) and s["format_errors"] == s["invalid_noops"] == 0
    assert s["cost_usd"] > 0 and s["prompt_tokens"] > 0
    assert s["images"] == 1 + 2 + 3 + 4 * (m.steps - 3)  # history "last", k=3: 3 past frames + this one
    lines = [json.loads(x) for x in (tmp_path / "steps.jsonl").read_text().splitlines()]
    assert {"prompt_hash", "raw_answer", "parse_path", "thought", "chosen_action", "cost_usd"} <= set(
        lines[0]
    )
    assert lines[0]["run"]["agent_options"]["prompt_hash"] == lines[0]["prompt_hash"]
    assert any(x["action"].startswith("EnterCode(chest, 3958)") for x in lines)
    assert json.loads((tmp_path / "metrics.json").read_text())["agent_stats"]["a0"]["calls"] == m.steps
    assert (tmp_path / "episode.gif").stat().st_size > 0


def test_flaky_endpoint_episode_finishes_with_errors_counted(env):
    env.reset()
    script = OracleScript(env, "a0")
    failures = [
        Reply.rate_limit(retry_after=0.001),
        Reply.server_error(500),
        Reply.server_error(503),
        Reply.disconnect(),
        Reply.malformed(),
        Reply.slow("late", delay=8.0),
    ]
    calls = {"n": 0}

    def flaky(req):
        calls["n"] += 1
        if calls["n"] % 3 == 0 and failures:  # every third request fails, each class once
            return failures.pop(0)
        return script(req)

    with FakeOpenAI(flaky) as srv:
        agent = agent_for(srv, timeout=3.0)  # generous: a machine at load 7 must not add timeouts
        m = run_episode(env, agent)
    assert m.success
    s = m.agent_stats["a0"]
    assert s["api_error_classes"] == {
        "RateLimitError": 1,
        "InternalServerError": 2,
        "APIConnectionError": 1,
        "MalformedResponse": 1,
        "APITimeoutError": 1,
    }
    assert s["api_errors"] == 6 and s["api_failed_steps"] == 0 and s["format_errors"] == 0


def test_endpoint_down_counted_noops_then_abandoned_with_record_kept(env, tmp_path):
    with FakeOpenAI(default=Reply.server_error(500)) as srv:
        agent = agent_for(srv, retries=1, max_api_failures=2)
        with pytest.raises(AgentAPIError, match="failed 2 times"):
            run_episode(env, agent, tmp_path)
        assert len(srv.completions) == 4
    lines = [json.loads(x) for x in (tmp_path / "steps.jsonl").read_text().splitlines()]
    assert len(lines) == 1 and lines[0]["noop"] and lines[0]["action"] == "Pass"
    assert lines[0]["api_errors"] == ["InternalServerError"] * 2
    assert lines[0]["cached"] is False  # no answer came, from the cache or the endpoint
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["end_reason"].startswith("stopped by an error: AgentAPIError")
    assert metrics["agent_stats"]["a0"]["api_failed_steps"] == 2


def test_cache_replay_makes_zero_requests(env, tmp_path):
    answers = ['{"thought": "a", "action_id": 4}', "MoveAhead", "turn right", "Done"]
    with FakeOpenAI(answers) as srv:
        first, _ = play(env, agent_for(srv, cache_dir=tmp_path / "cache", temperature=0.0, seed=7), 4)
    with FakeOpenAI() as srv:  # scripted with nothing: any request would fail
        again, _ = play(env, agent_for(srv, cache_dir=tmp_path / "cache", temperature=0.0, seed=7), 4)
        assert srv.requests == []
    assert [r["chosen_action"] for r, _ in again] == [r["chosen_action"] for r, _ in first]
    assert all(r["cached"] and r["cost_usd"] == 0 for r, _ in again)
    assert not any(r["cached"] for r, _ in first)


def test_evaluation_knobs_shape_the_request(env):
    with FakeOpenAI(default="RotateLeft") as srv:
        agent = agent_for(srv, text_only=True, hints=True, interface="free-text", history="none")
        play(env, agent, 2)
        text = srv.completions[-1].text()
        assert srv.completions[-1].images() == [] and "What you see:" in text
        assert "note" in text and "3958" not in text and "39" not in text.split("What you see:")[1]
        assert "next milestone" in text and "milestone toward the goal is: you read note_left" in text
        assert "- RotateLeft" in text and "4. RotateLeft" not in text  # words, no numbers
        assert len(srv.completions[-1].messages) == 2  # history none: system + this turn
        cfg = agent.config()
        assert (cfg["text_only"], cfg["hints"], cfg["interface"], cfg["history"]) == (
            True,
            True,
            "free-text",
            "none",
        )

        srv.requests.clear()
        agent = agent_for(srv, image_size=32, jpeg_quality=50, detail="low", history="last", history_k=2)
        play(env, agent, 4)
        last = srv.completions[-1]
        assert len(last.messages) == 1 + 2 * 2 + 1 and len(last.images()) == 3
        img = Image.open(io.BytesIO(base64.b64decode(last.images()[-1].split(",", 1)[1])))
        assert img.size == (32, 32) and img.format == "JPEG"
        assert last.messages[-1]["content"][1]["image_url"]["detail"] == "low"

        srv.requests.clear()
        play(env, agent_for(srv, history="full"), 4)
        assert len(srv.completions[-1].images()) == 4
        srv.requests.clear()
        play(env, agent_for(srv, history="keyframes", history_k=5), 4)  # turning only: first frame is key
        assert len(srv.completions[-1].images()) == 2


def test_multi_agent_one_reads_the_code_says_it_the_other_types_it_because_told(engine, tmp_path):
    """Ana reads the note and says the code; Bo's script types whatever code Ana's words in its
    prompt carry. Neither script knows the code: Ana takes it from her feedback, Bo from the
    attributed message in his prompt."""
    with Env("collab_split", engine=engine, width=SIZE, height=SIZE) as env:
        env.reset_all()
        plans = {aid: OracleScript(env, aid) for aid in ("ana", "bo")}
        told = {}

        def ana(req):
            ids = listed(req)
            act = as_action(plans["ana"].oracle.act(None, None))
            if act.name == "Say":
                code = re.search(
                    r'note says: "Exit code: (\d+)"', "\n".join(r.text() for r in srv_a.completions)
                )
                assert code, "Ana has not read the note"
                return json.dumps(
                    {
                        "thought": "Bo needs this",
                        "action_id": ids[next(a for a in ids if a.startswith("Say("))],
                        "args": {"text": f"the code is {code.group(1)}"},
                    }
                )
            return answer_by_id(act, ids, "heading for the note")

        def bo(req):
            ids = listed(req)
            act = as_action(plans["bo"].oracle.act(None, None))
            heard = re.search(r'Ana \(ana\): "the code is (\d+)"', prompt_text(req))
            if heard:
                told["code"] = heard.group(1)
            if act.name == "EnterCode":
                act = type(act)("EnterCode", (act.args[0], told["code"]))  # only what he was told
            return answer_by_id(act, ids, "waiting for Ana" if act.name == "Pass" else "go")

        with FakeOpenAI(ana) as srv_a, FakeOpenAI(bo) as srv_b:
            agents = {
                "ana": agent_for(srv_a, temperature=0.2),
                "bo": make_agent(
                    "openai:gpt-4o-mini", base_url=srv_b.base_url, prompt="v1", history="none", backoff=0.001
                ),
            }
            m = run_episode(env, agents, tmp_path, agent_options={a: ag.config() for a, ag in agents.items()})
    assert m.success, m.end_reason
    assert told["code"] == "7351"
    assert {r.json["model"] for r in srv_a.completions} == {"gpt-4o"}
    assert {r.json["model"] for r in srv_b.completions} == {"gpt-4o-mini"}
    assert (
        m.run["agent_options"]["bo"]["history"] == "none"
        and m.run["agent_options"]["ana"]["temperature"] == 0.2
    )
    lines = [json.loads(x) for x in (tmp_path / "steps.jsonl").read_text().splitlines()]
    assert any(x["agent"] == "bo" and x["action"] == "EnterCode(keypad, 7351)" for x in lines)
