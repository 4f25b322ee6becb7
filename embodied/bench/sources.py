"""Scene sources for suites that are not built by a seeded builder: imported levels (ESC-MM)
and LLM-generated scenes (GEN). Each source ``NAME(suite, tier, seed) -> spec`` has a
``NAME_available(suite) -> (bool, reason)`` that ``embodied bench list`` shows."""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import EmbodiedError
from .suites import Suite, SuiteError, Tier

IMPORTER = "embodied.procedural.escapecraft"  # MM-Escape's EscapeCraft levels -> our spec
LLM_GENERATOR = "embodied.procedural.llm"


def _module(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def escapecraft_available(suite: Suite) -> tuple[bool, str]:
    if _module(IMPORTER) is None:
        return False, f"needs the EscapeCraft importer ({IMPORTER}), which this installation lacks"
    missing = [
        lv["level"]
        for t in suite.tiers
        for lv in _levels(t)
        if not _level_dir(suite).joinpath(f"{lv['level']}.json").exists()
    ]
    if missing:
        return False, f"level files missing from {_level_dir(suite)}: {', '.join(missing)}"
    return True, ""


def _level_dir(suite: Suite):
    return suite.path.parent / suite.raw.get("levels_dir", "escapecraft")


def _levels(tier: Tier) -> list[dict[str, Any]]:
    """``[{"level": name, "scenes": n}, ...]``: one episode per (level, scene layout) in order;
    ``scenes: 0`` means one episode per seed laid out by our layout solver."""
    return tier.params.get("levels") or [
        {"level": tier.params["level"], "scenes": tier.params.get("scenes", 0)}
    ]


def escapecraft(suite: Suite, tier: Tier, seed: int) -> Any:
    """Episode ``seed`` of an MM-Escape tier: the levels' scene layouts in order (``scene_data/<level>/<n>.json``),
    or our layout when a level has none; the password is drawn from ``seed``."""
    ok, why = escapecraft_available(suite)
    if not ok:
        raise SuiteError(f"suite {suite.name} is unavailable: {why}")
    from ..procedural.escapecraft import import_level

    d = _level_dir(suite)
    k = seed
    for lv in _levels(tier):
        n = int(lv.get("scenes", 0))
        if n == 0 or k < n:
            scene = None if n == 0 else d / "scene_data" / lv["level"] / f"{k + 1}.json"
            # budget: {scene: true} (v2 on): the importer's cap, 10x our oracle's steps, at most
            # 1,000, never less than the oracle plus their cap; else (v1) their caps unscaled
            scaled = bool(suite.budget.get("scene"))
            spec = import_level(d / f"{lv['level']}.json", scene, seed=seed, scale_cap=scaled)
            data = spec.to_json()
            data["name"] = f"{suite.name.lower()}_t{tier.tier}_s{seed}"
            return data
        k -= n
    raise SuiteError(f"suite {suite.name} tier {tier.tier} has no episode {seed}")


def generated_available(suite: Suite) -> tuple[bool, str]:
    eps = suite.lock().get("episodes", {})
    # a scene whose oracle was interrupted is kept with its spec alone; it is not frozen yet
    if eps and all({"spec", "budget"} <= eps.get(f"{e.tier}/{e.seed}", {}).keys() for e in suite.episodes()):
        return True, ""
    if _module(LLM_GENERATOR) is None:
        return False, (
            f"no frozen scenes in {suite.lock_path.name if suite.lock_path else 'its lock file'}, and the LLM "
            f"generator ({LLM_GENERATOR}) is not in this version"
        )
    return False, (
        "not generated yet: run 'embodied bench freeze "
        f"{suite.name} --base-url URL --model MODEL' with an OpenAI-compatible endpoint"
    )


def generated(suite: Suite, tier: Tier, seed: int) -> Any:
    raise SuiteError(
        f"suite {suite.name} tier {tier.tier} seed {seed} has no frozen scene; {generated_available(suite)[1]}"
    )


def generator_prompt(tier: Tier, seed: int) -> str:
    """What the LLM generator is asked for episode ``seed`` of a generated tier."""
    p = tier.params
    want = []
    if p.get("rooms"):
        want.append(f"{p['rooms']} room{'s' if p['rooms'] > 1 else ''}")
    if p.get("depth"):
        want.append(f"a chain of {p['depth']} lock{'s' if p['depth'] > 1 else ''} before the way out")
    extra = f" Make it {' and '.join(want)}." if want else ""
    return f"{p['prompts'][seed]}.{extra}"


# an endpoint error after which the next request is not worth making (the client retried it)
ENDPOINT_DOWN = {"APIConnectionError", "APITimeoutError", "InternalServerError", "RateLimitError"}


class FreezeStopped(EmbodiedError):
    """Freezing stopped early (the endpoint is down); what was frozen is written and kept."""


def llm_maker(suite: Suite, client, on_event=None, report=None):
    """``make_spec(episode)`` for :meth:`Suite.freeze`: the LLM generator with ``client`` (a ChatClient)."""
    from ..procedural.llm import generate_llm

    settings = dict(suite.raw.get("generator", {}))
    tries = int(settings.get("max_repairs", 3)) + 1
    answered = []  # whether the endpoint ever answered

    def make(ep):
        t = suite.tier(ep.tier)
        res = generate_llm(
            client,
            generator_prompt(t, ep.seed),
            tries=tries,
            temperature=settings.get("temperature", 0.7),
            on_event=on_event,
        )
        if report is not None:
            report[ep.key] = {
                "ok": res.ok,
                "reasons": res.reasons,
                "requests": res.requests,
                "cache_hits": res.cache_hits,
                "cost_usd": res.cost_usd,
            }
        if res.requests:
            answered.append(True)
        elif not answered:  # a wrong --base-url/--model: stop now, not after every episode's retries
            raise SuiteError(
                f"{suite.name}: {'; '.join(res.reasons)}; nothing new was frozen (check --base-url and --model)"
            )
        if res.api_errors and res.api_errors[-1] in ENDPOINT_DOWN:
            # the client's retries are spent on this episode: the endpoint is down (refused, timing
            # out, 5xx, rate limited); the next episodes would each spend them again
            raise FreezeStopped(
                f"{suite.name}: stopped at {ep.key}: the endpoint failed {len(res.api_errors)} times in a "
                f"row ({res.api_errors[-1]})"
            )
        if not res.ok:
            return None
        data = res.spec.to_json()
        data["name"] = f"{suite.name.lower()}_t{t.tier}_s{ep.seed}"
        data["seed"] = ep.seed
        return _load(data)

    return make


def _load(data):
    from ..spec import load_spec

    return load_spec(data)
