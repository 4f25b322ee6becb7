"""What an ``openai:MODEL`` agent counts over an episode.

:class:`Tally` adds up the calls, cache hits, tokens, images, cost (None from the first call of a
model missing from the price table), latency, harness time, the three kinds of unusable answer
(format errors, invalid actions, failed actions), re-prompts, invalid no-ops, API errors by class
and parse paths; :meth:`Tally.totals` is the agent's ``stats()`` (``metrics.json``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any


class Tally:
    """One episode's counters (see the module docstring); a new one per episode."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.paths: Counter = Counter()  # parse path -> answers
        self.api_error_classes: Counter = Counter()
        self.cost_usd: float | None = 0.0

    def add_call(self, c, messages: list[dict], rec: dict) -> None:
        """Count one completed call ``c`` (a :class:`~.openai_client.Completion`) of ``messages``,
        in the episode and in the step's record ``rec``."""
        images = sum(
            1
            for m in messages
            if isinstance(m.get("content"), list)
            for p in m["content"]
            if p.get("type") == "image_url"
        )
        self.counts["calls"] += 1
        self.counts["cache_hits"] += c.cached
        self.counts["prompt_tokens"] += c.prompt_tokens
        self.counts["completion_tokens"] += c.completion_tokens
        self.counts["images"] += images
        self.counts["latency_us"] += int(c.latency * 1e6)
        self.api_error_classes.update(c.errors)
        rec["api_errors"] += c.errors
        rec["prompt_tokens"] += c.prompt_tokens
        rec["completion_tokens"] += c.completion_tokens
        rec["images"] += images
        rec["latency_s"] = round(rec["latency_s"] + c.latency, 6)
        rec["cached"] = rec["cached"] and c.cached
        if c.cost_usd is None:
            self.cost_usd = rec["cost_usd"] = None
        elif rec["cost_usd"] is not None and self.cost_usd is not None:
            rec["cost_usd"] = round(rec["cost_usd"] + c.cost_usd, 8)
            self.cost_usd += c.cost_usd

    def totals(self, model: str, prompt_hash: str) -> dict[str, Any]:
        """The episode's totals, as ``stats()`` reports them."""
        c = self.counts
        return {
            "model": model,
            "prompt_hash": prompt_hash,
            "steps": c["steps"],
            "calls": c["calls"],
            "cache_hits": c["cache_hits"],
            "prompt_tokens": c["prompt_tokens"],
            "completion_tokens": c["completion_tokens"],
            "images": c["images"],
            "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 8),
            "latency_s": round(c["latency_us"] / 1e6, 4),
            "harness_s": round(c["harness_us"] / 1e6, 4),
            "format_errors": c["format_errors"],
            "invalid_actions": c["invalid_actions"],
            "failed_actions": c["failed_actions"],
            "reprompts": c["reprompts"],
            "invalid_noops": c["invalid_noops"],
            "api_errors": sum(self.api_error_classes.values()),
            "api_error_classes": dict(self.api_error_classes),
            "api_failed_steps": c["api_failed_steps"],
            "parse_paths": dict(self.paths),
        }
