"""The ``openai:MODEL`` agent: a vision-language model behind any OpenAI-compatible endpoint.

    agent = make_agent("openai:gpt-4o", base_url=None, temperature=0.0, history="last", history_k=3)

Each turn it sends the system prompt (rules, answer format) and a user message with the current
frame (JPEG, base64; or, with ``text_only``, a description built from object metadata) and the
text: task, step/budget, room, inventory, last action and its feedback, what teammates said
(attributed), an optional hint, the last actions, and the allowed actions (numbered for the
``ids``/``both`` interfaces). The answer goes through :func:`~.openai_parse.parse_answer`, then
``Env.to_action`` (the env's own grounding of ids, JSON and free text). An answer that cannot
be used is re-prompted once with the error; if the second fails too, the step is an invalid
no-op (``Pass``), counted. Format errors (nothing usable), invalid actions (usable form, but
not a valid action here) and failed actions (valid, refused by the world) are counted apart;
API errors (after retries) apart from all three. See docs/agents.md.

After each ``act``, ``last_record`` holds the step's record (prompt hash, raw answer, parse
path, thought, tokens, cost, latency...), which :func:`embodied.record.run_episode` writes to
``steps.jsonl``; ``config()`` goes into the run config and ``stats()`` into ``metrics.json``.
"""

from __future__ import annotations

import time
from typing import Any

from ..actions import NAVIGATION, Action
from ..errors import AgentAPIError, ConfigError
from .openai_client import RETRIED, ChatClient
from .openai_messages import Conversation
from .openai_parse import INTERFACES, parse_answer
from .openai_prompt import DEFAULT_PROMPT, PromptSet, describe_view, encode_frame, fill, next_milestone
from .openai_tally import Tally

HISTORY_MODES = ("none", "last", "keyframes", "full")
DETAILS = ("auto", "low", "high")


class OpenAIAgent:
    """See the module docstring. Every argument is recorded by :meth:`config`.

    Args:
        model: model name at the endpoint. base_url: the endpoint (None: OpenAI's).
        api_key_env: environment variable with the key (never stored or logged).
        temperature, top_p, max_tokens, seed: sampling parameters (None: endpoint default).
        image_size: longer side of the JPEG sent, in pixels (None: as rendered).
        jpeg_quality: 1..95. detail: ``auto`` | ``low`` | ``high`` (OpenAI image detail).
        timeout: seconds per request; retries, backoff, backoff_cap: see :class:`ChatClient`.
        cache_dir: on-disk response cache (None: off). prices: price table (see ``prices.yaml``).
        prompt: template version (``v1``) or a YAML path. history: ``none`` | ``last`` (the last
            ``history_k`` turns) | ``keyframes`` (the last ``history_k`` key frames: the first
            turn, room changes, successful interactions) | ``full``.
        text_only: replace the frame with a text description (the vision ablation).
        hints: add the next checkpoint of the plan in words. interface: ``ids`` | ``free-text`` | ``both``.
        recent: how many of its last actions the turn lists.
        max_api_failures: consecutive steps lost to API errors before the episode is abandoned
            (:class:`AgentAPIError`); a lost step is a counted no-op.
    """

    def __init__(
        self,
        model: str = "gpt-4o",
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        temperature: float | None = 0.0,
        top_p: float | None = None,
        max_tokens: int | None = 400,
        seed: int | None = None,
        image_size: int | None = None,
        jpeg_quality: int = 85,
        detail: str = "auto",
        timeout: float = 60.0,
        retries: int = 5,
        backoff: float = 1.0,
        backoff_cap: float = 30.0,
        cache_dir: str | None = None,
        prices: Any = None,
        prompt: str = DEFAULT_PROMPT,
        history: str = "last",
        history_k: int = 3,
        text_only: bool = False,
        hints: bool = False,
        interface: str = "both",
        recent: int = 5,
        max_api_failures: int = 3,
        agent_id: str | None = None,
        client: ChatClient | None = None,
        **client_kw: Any,
    ):
        if history not in HISTORY_MODES:
            raise ConfigError(f"unknown history mode {history!r}; choose from {', '.join(HISTORY_MODES)}")
        if interface not in INTERFACES:
            raise ConfigError(f"unknown action interface {interface!r}; choose from {', '.join(INTERFACES)}")
        if detail not in DETAILS:
            raise ConfigError(f"unknown image detail {detail!r}; choose from {', '.join(DETAILS)}")
        if not 1 <= int(jpeg_quality) <= 95:
            raise ConfigError(f"jpeg_quality must be 1..95, got {jpeg_quality}")
        if image_size is not None and not 16 <= int(image_size) <= 4096:
            raise ConfigError(f"image_size must be 16..4096 pixels, got {image_size}")
        if temperature is not None and not 0 <= float(temperature) <= 2:
            raise ConfigError(f"temperature must be 0..2, got {temperature}")
        if top_p is not None and not 0 < float(top_p) <= 1:
            raise ConfigError(f"top_p must be in (0, 1], got {top_p}")
        if int(history_k) < 0:
            raise ConfigError(f"history_k must be 0 or more turns, got {history_k}")
        if max_tokens is not None and int(max_tokens) < 1:
            raise ConfigError(f"max_tokens must be at least 1 (or None: the endpoint's), got {max_tokens}")
        self.model = model
        self.sampling = {"temperature": temperature, "top_p": top_p, "max_tokens": max_tokens, "seed": seed}
        self.image_size, self.jpeg_quality, self.detail = image_size, int(jpeg_quality), detail
        self.prompts = PromptSet(prompt)
        self.history, self.history_k = history, int(history_k)
        self.text_only, self.hints, self.interface = bool(text_only), bool(hints), interface
        self.recent, self.max_api_failures = int(recent), int(max_api_failures)
        self.agent_id = agent_id
        self.client = client or ChatClient(
            model,
            base_url=base_url,
            api_key_env=api_key_env,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            backoff_cap=backoff_cap,
            cache_dir=cache_dir,
            prices=prices,
            **client_kw,
        )
        self.env = None
        self.last_record: dict[str, Any] = {}
        self._reset_counters()

    # ------------------------------------------------------------ bookkeeping
    def _reset_counters(self) -> None:
        self.conversation = Conversation(self.history, self.history_k, self.detail)
        self.actions_taken: list[str] = []
        self.tally = Tally()
        self._consecutive_api = 0
        self._last: dict[str, Any] | None = None  # what the previous act returned
        self._room: str | None = None

    @property
    def turns(self) -> list[dict[str, Any]]:
        """This episode's finished turns, oldest first: ``text`` (the prompt), ``image``, ``answer``,
        ``key`` (a key frame). The benchmark harness records the last one's text."""
        return self.conversation.turns

    def config(self) -> dict[str, Any]:
        """Every knob, for the run config (no key)."""
        return {
            "agent": f"openai:{self.model}",
            **self.client.describe(),
            **self.sampling,
            "image_size": self.image_size,
            "jpeg_quality": self.jpeg_quality,
            "detail": self.detail,
            "prompt": self.prompts.name,
            "prompt_version": self.prompts.version,
            "prompt_hash": self.prompts.hash,
            "history": self.history,
            "history_k": self.history_k,
            "text_only": self.text_only,
            "hints": self.hints,
            "interface": self.interface,
            "recent": self.recent,
            "max_api_failures": self.max_api_failures,
        }

    def stats(self, final_info: dict | None = None) -> dict[str, Any]:
        """Episode totals. ``final_info``: the last step's info, to count whether its action failed."""
        if final_info is not None and self._last is not None:
            self._account(final_info)
            self._last = None
        return self.tally.totals(self.model, self.prompts.hash)

    def reset(self, env) -> None:
        """Start an episode in ``env`` (an :class:`~embodied.env.Env`): new turns and counters."""
        self.env = env
        self.agent_id = self.agent_id or env.agent_id
        self._reset_counters()

    # ------------------------------------------------------------ acting
    def act(self, obs: dict[str, Any], info: dict[str, Any]) -> Action:
        """One turn: ask the model (re-prompting once with the error), return the action, or ``Pass``
        for an unusable answer or a step lost to API errors (an invalid no-op, counted).

        Raises:
            AgentAPIError: a non-retried API error, or ``max_api_failures`` lost steps in a row.
        """
        t0 = time.perf_counter()
        call_s = 0.0
        if self._last is not None:
            self._account(info)
        self.tally.counts["steps"] += 1
        text, image, keyframe = self._turn(obs, info)
        self._last = None  # accounted; if this turn raises, nothing is counted twice
        allowed = tuple(info["allowed_actions"])
        messages = self.conversation.messages(self.system_prompt(), text, image)
        rec: dict[str, Any] = {
            "model": self.model,
            "prompt_version": self.prompts.version,
            "prompt_hash": self.prompts.hash,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "images": 0,
            "cost_usd": 0.0,
            "latency_s": 0.0,
            "cached": True,
            "api_errors": [],
            "reprompted": False,
            "format_errors": 0,
            "invalid_actions": 0,
        }
        answers: list[str] = []
        action: Action | None = None
        error = ""
        for attempt in range(2):
            t = time.perf_counter()
            try:
                c = self.client.complete(messages, self.sampling)
            except AgentAPIError as e:
                call_s += time.perf_counter() - t
                errs = getattr(e, "errors", [])
                self.tally.api_error_classes.update(errs)
                rec["api_errors"] += errs
                if errs and errs[-1] not in RETRIED:
                    raise
                self._consecutive_api += 1
                self.tally.counts["api_failed_steps"] += 1
                rec.update(api_error=str(e), noop=True, cached=False)  # (not every answer from the cache)
                if self._consecutive_api >= self.max_api_failures:
                    raise
                break
            call_s += time.perf_counter() - t
            self._consecutive_api = 0
            self.tally.add_call(c, messages, rec)
            answers.append(c.content)
            parsed = parse_answer(c.content, self.interface, allowed)
            self.tally.paths[parsed.path] += 1
            rec.update(parse_path=parsed.path, thought=parsed.thought)
            if parsed.action is None:
                kind, error = ("invalid_actions" if parsed.misfit else "format_errors"), parsed.error
            else:
                action, err = self.env.to_action(parsed.action, self.agent_id)
                kind, error = ("format_errors" if parsed.path == "free_text" else "invalid_actions"), err
                rec["answer_action"] = parsed.action
            if action is not None:
                break
            self.tally.counts[kind] += 1
            rec[kind] += 1
            if attempt == 0:
                self.tally.counts["reprompts"] += 1
                rec["reprompted"] = True
                messages = [
                    *messages,
                    {"role": "assistant", "content": c.content},
                    {"role": "user", "content": self.prompts.fill("reprompt", error=error)},
                ]
        if action is None and "api_error" not in rec:
            self.tally.counts["invalid_noops"] += 1
            rec.update(noop=True, error=error)
        rec["raw_answer"] = answers[-1] if answers else None
        if len(answers) > 1:
            rec["first_answer"] = answers[0]
        chosen = action or Action("Pass")
        rec["chosen_action"] = str(chosen)
        self.conversation.add(text, image, answers[-1] if answers else "", keyframe)
        self.actions_taken.append(str(chosen) + (" (no-op: answer unusable)" if action is None else ""))
        self._last = {
            "action": chosen,
            "noop": action is None,
            "error": rec.get("error") or rec.get("api_error"),
        }
        rec["call_s"] = round(call_s, 6)
        harness = time.perf_counter() - t0 - call_s
        rec["harness_s"] = round(harness, 6)
        self.tally.counts["harness_us"] += int(harness * 1e6)
        self.last_record = rec
        return chosen

    def _account(self, info: dict[str, Any]) -> None:
        """Count the previous action's outcome (a failed action: valid, but the world said no)."""
        if not self._last["noop"] and not info.get("lastActionSuccess", True):
            self.tally.counts["failed_actions"] += 1

    # ------------------------------------------------------------ the prompt
    def system_prompt(self) -> str:
        env, aid = self.env, self.agent_id
        from ..tasks import describe_goal

        names = {a.id: (a.name or a.id) for a in env.spec.agents}
        mates = [f"{names[a]} ({a})" for a in env.world.agent_ids if a != aid]
        task = f"Your task: {describe_goal(env.spec.goal)}."
        if mates:
            task += f" Your teammates: {', '.join(mates)}; you share the goal."
        me = f"{names.get(aid, aid)} ({aid})" if names.get(aid, aid) != aid else aid
        fmt = self.prompts.fill("answer_format", self.interface)
        return self.prompts.fill("system", agent_name=me, task_line=task, answer_format=fmt)

    def _turn(self, obs: dict[str, Any], info: dict[str, Any]) -> tuple[str, str | None, bool]:
        from ..tasks import describe_goal

        env, aid = self.env, self.agent_id
        p = self.prompts
        names = {a.id: (a.name or a.id) for a in env.spec.agents}
        said = [s for s in env.world.state["said"] if s[0] != aid]
        feedback = obs.get("text", "") or ""
        for s in said:  # the env appends what was heard; it is listed, attributed, below instead
            feedback = feedback.replace(f"{s[0]} says: {s[1]}", "").strip()
        heard = ""
        if said:
            lines = [f'- step {s[2] + 1}, {names.get(s[0], s[0])} ({s[0]}): "{s[1]}"' for s in said[-5:]]
            heard = p.fill("heard", messages="\n".join(lines))
        if self._last is None:
            last = "(none yet: this is the first step)"
        elif self._last["noop"]:
            last = (
                f"none (your answer could not be used and counted as an invalid no-op: {self._last['error']})"
            )
        else:
            ok = "succeeded" if info.get("lastActionSuccess") else f"FAILED: {info.get('errorMessage')}"
            last = f"{self._last['action']} -> {ok}"
        if self.interface == "free-text":
            actions = "\n".join(f"- {a}" for a in info["allowed_actions"])
        else:
            actions = "\n".join(f"{i}. {a}" for i, a in enumerate(info["allowed_actions"]))
        room = info["agent"]["room"]
        keyframe = self._last is None or room != self._room
        if self._last is not None and not self._last["noop"]:
            keyframe |= bool(info.get("lastActionSuccess")) and self._last["action"].name not in NAVIGATION
        self._room = room
        view = (
            p.fill("view_text", description=describe_view(env, aid, info))
            if self.text_only
            else p.t["view_image"]
        )
        text = fill(
            p.t["turn"],
            {
                "step": info["step"] + 1,
                "max_steps": info.get("max_steps", env.max_steps),
                "task": describe_goal(env.spec.goal),
                "room": room,
                "inventory": ", ".join(info["inventory"]) or "nothing",
                "last_action": last,
                "feedback": feedback or "(none)",
                "heard": heard,
                "hint": p.fill("hint", milestone=next_milestone(env, aid)) if self.hints else "",
                "recent": ", ".join(self.actions_taken[-self.recent :]) or "(none)",
                "view": view,
                "actions": actions,
                "reminder": p.t["reminder"][self.interface],
            },
        )
        image = None
        if not self.text_only:
            image = encode_frame(obs["rgb"], self.image_size, self.jpeg_quality)
        return text, image, keyframe
