"""Scene sources for suites that are not built by a seeded builder: imported levels (ESC-MM)
and LLM-generated scenes (GEN). Each source ``NAME(suite, tier, seed) -> spec`` has a
``NAME_available(suite) -> (bool, reason)`` that ``embodied bench list`` shows."""

from __future__ import annotations

import importlib
from typing import Any

from .suites import Suite, SuiteError, Tier

IMPORTER = "embodied.procedural.escapecraft"  # MM-Escape's EscapeCraft levels -> our spec
LLM_GENERATOR = "embodied.procedural.llm"


def _module(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def escapecraft_available(suite: Suite) -> tuple[bool, str]:
    mod = _module(IMPORTER)
    if mod is None:
        return False, (
            f"needs the EscapeCraft importer ({IMPORTER}, 'embodied import escapecraft'), which this "
            "version does not ship yet"
        )
    if not hasattr(mod, "import_level"):
        return False, f"{IMPORTER} has no import_level(level, scene=None, seed=0); update the package"
    return True, ""


def escapecraft(suite: Suite, tier: Tier, seed: int) -> Any:
    """MM-Escape level ``tier.params['level']`` with scene layout number ``seed`` (when the level
    has layouts) and the password drawn from ``seed``."""
    ok, why = escapecraft_available(suite)
    if not ok:
        raise SuiteError(f"suite {suite.name} is unavailable: {why}")
    mod = importlib.import_module(IMPORTER)
    return mod.import_level(tier.params["level"], scene=tier.params.get("scene_of_seed") and seed, seed=seed)


def generated_available(suite: Suite) -> tuple[bool, str]:
    eps = suite.lock().get("episodes", {})
    if eps and all("spec" in eps.get(f"{e.tier}/{e.seed}", {}) for e in suite.episodes()):
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
