"""``gen/escape``: a fresh rule-generated escape room per seed, as a Task.

    env = embodied.make("gen/escape", depth=3, rooms=2, seed=7)
    env.reset(seed=8)          # another seed builds another scene

The knobs are those of :func:`embodied.procedural.generate`; the scene for seed ``s`` is the one
``embodied gen --seed s`` writes with the same knobs.
"""

from __future__ import annotations

import random
from typing import Any

from ..spec import Spec
from ..tasks import Task


class GenEscape(Task):
    rooms: int = 2
    depth: int = 3
    branching: int = 1
    decoys: int = 1
    indirection: int = 1
    agents: int = 1
    theme: str = "manor"
    description = "escape a rule-generated room (backward-chained locks, keys and clues)"

    def knobs(self) -> dict[str, Any]:
        names = ("rooms", "depth", "branching", "decoys", "indirection", "agents", "theme")
        return {k: getattr(self, k) for k in names}

    def build(self, rng: random.Random) -> dict[str, Any]:
        from . import generate

        return generate(rng, **self.knobs()).to_json()

    def spec(self, seed: int | None) -> Spec:
        from . import generate

        spec = generate(seed if seed is not None else 0, **self.knobs())
        if self.max_steps is not None:
            spec.max_steps = self.max_steps
        return spec
