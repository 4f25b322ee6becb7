"""The openai:MODEL agent in a benchmark run, against the local OpenAI-compatible server:
tokens, images, cost, format errors and the prompt hash reach the results; the key never does."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("openai", reason="the openai package is not installed")

from embodied.bench.budget import oracle_actions
from embodied.bench.rundir import RunDir
from embodied.bench.runner import RunSpec, run
from embodied.bench.suites import get_suite
from embodied.testing import FakeOpenAI
from tests.vlm_helpers import ACTIONS, answer_by_id

SECRET = "sk-bench-secret-4711"


def listed(req) -> dict[str, int]:
    """The numbered actions of the latest user message that lists them (a re-prompt does not)."""
    for msg in reversed(req.messages):
        content = (
            msg["content"]
            if isinstance(msg["content"], str)
            else "\n".join(p.get("text", "") for p in msg["content"])
        )
        found = {m.group(2): int(m.group(1)) for m in ACTIONS.finditer(content)}
        if msg["role"] == "user" and found:
            return found
    return {}


def test_openai_agent_run_records_tokens_cost_format_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    suite = get_suite("MANIP")
    plan = [step["a0"] for step in oracle_actions(suite.spec("1", 0))]
    state = {"n": 0, "garbled": False}

    def script(req):
        if not state["garbled"]:  # the first answer is unusable: re-prompt, then the plan
            state["garbled"] = True
            return "hmm, I am not sure what to do here"
        act = plan[state["n"]]
        state["n"] += 1
        return answer_by_id(act, listed(req), f"plan step {state['n']}: {act}")

    out = tmp_path / "run"
    with FakeOpenAI(script) as srv:
        m = run(
            RunSpec(
                [suite],
                "openai:gpt-4o",
                out,
                tiers=["1"],
                seeds=[0],
                size=64,
                agent_options={"base_url": srv.base_url, "retries": 0, "cache_dir": str(tmp_path / "cache")},
            )
        )
        requests = len(srv.completions)
    (r,) = RunDir(out).results()
    assert r["success"] and r["steps"] == len(plan) and requests == len(plan) + 1
    assert r["format_error_rate"] == pytest.approx(1 / len(plan))
    assert r["tokens_in"] > 0 and r["tokens_out"] > 0 and r["images"] >= len(plan) and r["cost"] > 0
    assert r["prompt_hash"] and r["prompt_version"]
    assert m["overall"]["cost_per_success"] == pytest.approx(r["cost"])
    step = json.loads((out / "episodes/MANIP/1/0/steps.jsonl").read_text().splitlines()[-1])
    assert step["thought"].startswith("plan step") and step["prompt"] and step["parse_path"]
    for f in out.rglob("*"):
        if f.is_file():
            assert SECRET.encode() not in f.read_bytes(), f
