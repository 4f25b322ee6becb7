"""The LLM scene generator: staged prompts, JSON against the spec schema, validator-driven repair.

``generate_llm(client, prompt, image=...)`` holds one conversation with a model behind any
OpenAI-compatible endpoint (through :class:`embodied.agents.openai_client.ChatClient`: the
genuine ``openai`` SDK, retries, an on-disk cache keyed by model, messages — images included —
and every sampling parameter, token and cost accounting from a price table):

1. **theme**: name, description and theme of the room the user asked for (text and/or image);
2. **layout**: rooms and doors;
3. **puzzle**: objects, the chain of locks, keys and codes, agents, goal, ``required``;
4. **clues**: the complete scene spec with the clue texts, as JSON against the spec's JSON schema.

Answers are requested as structured output (``response_format`` with the JSON schema) where the
endpoint supports it; an endpoint that refuses the parameter is asked again without it, and
answers are parsed tolerantly (code fences, prose around the JSON, trailing commas). The full
spec then goes through the same validation as every scene (schema, geometry, clue consistency,
solvable with the reason, shortcuts) and through an optional ``check`` (the engine replay);
every problem goes back to the model for repair, at most ``tries`` times. The result is a
:class:`LLMResult`: ``spec`` is set only when a scene passed everything, otherwise ``reasons``
says why it gave up. ``max_cost`` (USD) stops before a request that could pass the budget.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AgentAPIError, ConfigError
from ..spec import Spec
from ..validate import validate

STAGES = ("theme", "layout", "puzzle", "clues")
SYSTEM = (
    "You design escape-room scenes for an embodied-AI benchmark. Scenes are JSON in the format "
    "'embodied.scene/1'. Rules: every lock needs a key object or a code; a code is known only from "
    "readable objects (note, book, screen) whose text gives it, listed in the lock's 'clues'; a door "
    "with a code lock needs a keypad object with 'controls' set to the door id; the exit door joins a "
    "room to 'outside'; keys may lie in rooms or inside containers (chest, box, drawer, cabinet, safe); "
    "list every lock the player must open in 'required'. Answer with JSON only."
)
ASK = {
    "theme": (
        'STAGE theme. The user wants: {prompt}\nAnswer {{"name": snake_case, "description": one sentence, '
        '"theme": a few words}}.'
    ),
    "layout": (
        'STAGE layout. Give the rooms and doors: {{"rooms": [{{"id", "size": [w, h] meters}}], "doors": '
        '[{{"id", "between": [room, room or "outside"], "lock": optional}}]}}. One door must lead "outside" '
        'and have the id "exit".'
    ),
    "puzzle": (
        'STAGE puzzle. Give the objects, agents, goal and required locks: {{"objects": [...], "agents": '
        '[{{"id": "a0", "room": ...}}], "goal": {{"exit_through": "exit"}}, "required": [...]}}. Build a chain '
        "of 2-3 locks backwards from the exit; codes are 4 digits."
    ),
    "clues": (
        "STAGE clues. Now write the complete scene spec as one JSON object matching this JSON schema, "
        "with the texts of every note or book that gives a code (the code must be in the text, or split "
        "over clues in order):\n{schema}"
    ),
}
REPAIR = (
    "The validator rejected the scene:\n{problems}\nFix every problem and answer with the complete "
    "corrected scene spec as one JSON object."
)


@dataclass
class LLMResult:
    """What a generation run produced and what it cost."""

    spec: Spec | None
    reasons: list[str] = field(default_factory=list)  # why it gave up (empty on success)
    rounds: int = 0  # full specs checked (1 = valid at first answer)
    requests: int = 0  # answers obtained (cache hits included)
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)  # per answer: stage, problems
    api_errors: list[str] = field(
        default_factory=list
    )  # when the endpoint failed: each attempt's error class

    @property
    def ok(self) -> bool:
        return self.spec is not None


def image_part(path: str | Path) -> dict[str, Any]:
    """An image message part (data URL) for a PNG/JPEG/WebP file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"no image file {str(p)!r} for --from-image")
    mime = mimetypes.guess_type(p.name)[0] or ""
    if mime not in ("image/png", "image/jpeg", "image/webp", "image/gif"):
        raise ConfigError(
            f"{p.name}: --from-image takes a PNG, JPEG, WebP or GIF file, not {mime or 'this type'}"
        )
    data = base64.b64encode(p.read_bytes()).decode()
    return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}}


def parse_json(text: str) -> dict[str, Any]:
    """The JSON object in a model's answer: code fences, prose around it and trailing commas tolerated."""
    t = text.strip()
    fence = re.search(r"```(?:json)?\s*(.*?)```", t, re.S)
    if fence:
        t = fence.group(1).strip()
    start = t.find("{")
    if start < 0:
        raise ValueError("no JSON object in the answer")
    depth, end, in_str, esc = 0, -1, False, False
    for i in range(start, len(t)):
        c = t[i]
        if in_str:
            esc = (c == "\\") and not esc
            if c == '"' and not esc:
                in_str = False
            continue
        if c == '"':
            in_str = True
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                end = i + 1
                break
    if end < 0:
        raise ValueError("the JSON object is not closed")
    blob = t[start:end]
    try:
        obj = json.loads(blob)
    except json.JSONDecodeError:
        try:
            obj = json.loads(re.sub(r",\s*([}\]])", r"\1", blob))
        except json.JSONDecodeError as e:
            raise ValueError(f"not valid JSON: {e.msg} at line {e.lineno} col {e.colno}") from None
    if not isinstance(obj, dict):
        raise ValueError("the answer is JSON but not an object")
    return obj


def spec_schema() -> dict[str, Any]:
    return Spec.model_json_schema()


class _Budget(Exception):
    pass


def generate_llm(
    client: Any,
    prompt: str | None,
    image: str | Path | None = None,
    tries: int = 4,
    temperature: float | None = 0.7,
    max_tokens: int | None = 4000,
    max_cost: float | None = None,
    check: Callable[[Spec], list[str]] | None = None,
    on_event: Callable[[str, dict[str, Any]], None] | None = None,
    structured: bool = True,
) -> LLMResult:
    """Generate one scene (see the module docstring). ``client`` is a ChatClient (or alike)."""
    if not prompt and image is None:
        raise ConfigError("give --prompt TEXT and/or --from-image FILE to describe the scene")
    if max_cost is not None and getattr(client, "price", None) is None:
        raise ConfigError(
            f"--max-cost needs the price of {client.model!r}: it is not in the price table; give --prices FILE "
            '(JSON {"model": [USD per 1M input tokens, per 1M output tokens]})'
        )
    res = LLMResult(None)
    say = on_event or (lambda kind, info: None)
    first: list[dict[str, Any]] = [
        {"type": "text", "text": ASK["theme"].format(prompt=prompt or "the room in the image")}
    ]
    if image is not None:
        first.append(image_part(image))
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": first},
    ]
    schema = spec_schema()
    state = {"structured": structured}

    def ask(stage: str, full: bool) -> str:
        params: dict[str, Any] = {"temperature": temperature, "max_tokens": max_tokens}
        if full and state["structured"]:
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "scene_spec", "schema": schema, "strict": False},
            }
        if max_cost is not None and client.price is not None:
            chars = sum(len(json.dumps(m["content"])) for m in messages)
            worst = (chars / 3 * client.price[0] + (max_tokens or 4000) * client.price[1]) / 1e6
            if (res.cost_usd or 0.0) + worst > max_cost:
                raise _Budget(
                    f"stopped before the {stage} request: it could cost up to ${worst:.4f} and "
                    f"${res.cost_usd or 0:.4f} of the --max-cost ${max_cost:g} is spent"
                )
        try:
            c = client.complete(messages, params)
        except AgentAPIError as e:
            if "response_format" in params and re.search(r"HTTP 4(00|22)\b", str(e)):
                state["structured"] = False  # the endpoint does not take structured output: parse tolerantly
                say("fallback", {"stage": stage, "error": str(e)})
                return ask(stage, full)
            raise
        res.requests += 1
        res.cache_hits += c.cached
        res.prompt_tokens += c.prompt_tokens
        res.completion_tokens += c.completion_tokens
        if res.cost_usd is not None:
            res.cost_usd = None if c.cost_usd is None else res.cost_usd + c.cost_usd
        messages.append({"role": "assistant", "content": c.content})
        say("answer", {"stage": stage, "cached": c.cached, "cost": res.cost_usd})
        return c.content

    try:
        for stage in STAGES[:3]:  # theme, layout, puzzle: plans the model builds on
            if stage != "theme":
                messages.append({"role": "user", "content": ASK[stage]})
            for _ in range(2):
                try:
                    parse_json(ask(stage, False))
                    break
                except ValueError as e:
                    res.history.append({"stage": stage, "problems": [f"json: {e}"]})
                    messages.append(
                        {
                            "role": "user",
                            "content": f"That was not a JSON object ({e}). Answer with JSON only.",
                        }
                    )
        messages.append({"role": "user", "content": ASK["clues"].format(schema=json.dumps(schema))})
        problems: list[str] = []
        for round_ in range(tries + 1):
            answer = ask("clues" if round_ == 0 else "repair", True)
            res.rounds += 1
            problems = _check(answer, check)
            res.history.append({"stage": "clues" if round_ == 0 else "repair", "problems": problems})
            say("checked", {"round": round_ + 1, "problems": problems})
            if not problems:
                res.spec = _spec(answer)
                return res
            if round_ < tries:
                messages.append(
                    {"role": "user", "content": REPAIR.format(problems="\n".join(f"- {p}" for p in problems))}
                )
        res.reasons = [f"gave up after {tries} repairs; the last answer still had these problems:", *problems]
    except _Budget as e:
        res.reasons = [str(e)]
    except AgentAPIError as e:
        res.reasons = [f"the model's endpoint failed: {e}"]
        res.api_errors = list(getattr(e, "errors", None) or [type(e).__name__])
    return res


def _check(answer: str, check: Callable[[Spec], list[str]] | None) -> list[str]:
    try:
        data = parse_json(answer)
    except ValueError as e:
        return [f"json: {e}; answer with one JSON object"]
    data.setdefault("format", "embodied.scene/1")
    report = validate(data, walk=False)
    if not report.ok:
        return report.lines()
    if check is not None:
        return check(report.spec)
    return []


def _spec(answer: str) -> Spec:
    from ..spec import load_spec

    data = parse_json(answer)
    data.setdefault("format", "embodied.scene/1")
    data.setdefault("metadata", {})["generator"] = "llm"
    return load_spec(data)
