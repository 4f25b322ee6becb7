"""Scene generators: rule-based (offline, seeded), LLM-based, and importers; see docs/generation.md.

from embodied import procedural
spec = procedural.generate(7, depth=3, rooms=2, indirection=2)   # an int seed or a random.Random
spec.metadata["difficulty"]                                       # {"depth": 3, ..., "tier": 2}
"""

from __future__ import annotations

import random
from typing import Any

from ..errors import EmbodiedError
from ..spec import Spec

__all__ = ["DEFAULTS", "KNOBS", "GenerationError", "generate"]


class GenerationError(EmbodiedError):
    """A generator could not produce a valid scene; ``reasons`` lists what validation said."""

    def __init__(self, message: str, reasons: list[str] | None = None):
        super().__init__(message)
        self.reasons = reasons or []


def __getattr__(name: str) -> Any:
    if name in ("KNOBS", "DEFAULTS"):
        from . import rules

        return getattr(rules, name)
    raise AttributeError(name)


def generate(rng: random.Random | int | None = None, *, walk: bool = False, **knobs: Any) -> Spec:
    """A valid escape room from the rule-based generator (see :mod:`embodied.procedural.rules`).

    ``rng``: an int seed (recorded as the spec's ``seed``) or a ``random.Random`` (a seed is drawn
    from it). The scene is validated (schema, geometry, clues, solvable, no shortcuts; ``walk=True``
    also walks the plan physically) and its difficulty estimate is written to
    ``metadata["difficulty"]``. Raises :class:`GenerationError` with the validator's reasons if no
    valid scene comes out (room sizes are grown up to three times for geometry problems)."""
    from ..validate import validate
    from .difficulty import estimate
    from .rules import build, check_knobs

    k = check_knobs(knobs)
    if rng is None or isinstance(rng, int):
        seed = int(rng or 0)
        rng = random.Random(seed)
    else:
        seed = rng.randrange(2**31)
    state = rng.getstate()
    for grow in (0.0, 1.0, 2.0, 3.0):
        rng.setstate(state)  # the same choices; only the rooms grow
        data = build(rng, seed, k, grow)
        report = validate(data, walk=walk, time_limit=None)  # deterministic: a state budget, no clock
        if report.ok:
            break
        if any(kind != "geometry" for kind, _, _ in report.problems):
            break
    if not report.ok:
        raise GenerationError(
            f"the rule generator made an invalid scene for seed {seed} and knobs {k} (a generator bug): "
            + "; ".join(report.lines()),
            report.lines(),
        )
    spec = report.spec  # (the validated spec itself: parsing it again would cost as much as a search)
    spec.metadata["difficulty"] = estimate(spec, report.verdict)
    return spec
