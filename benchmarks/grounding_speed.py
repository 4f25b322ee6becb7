"""Free-text grounding speed: microseconds per ``embodied.language.ground`` call over the test table.

    python benchmarks/grounding_speed.py [--rounds 20]

Prints the median over rounds of the mean time per call. No threshold: a benchmark, not a test
(wall-clock limits in tests fail on a loaded machine and pass on a fast one)."""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from embodied.errors import ActionError
from embodied.language import ground
from tests.test_language import CASES, CTX


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=20, help="timed rounds (default: %(default)s)")
    args = p.parse_args()
    per_round = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        for ctx, text, _ in CASES:
            with contextlib.suppress(ActionError):
                ground(text, CTX[ctx])
        per_round.append((time.perf_counter() - start) / len(CASES))
    print(
        f"ground(): {statistics.median(per_round) * 1e6:.0f} us per call "
        f"(median of {args.rounds} rounds over {len(CASES)} texts; min {min(per_round) * 1e6:.0f} us)"
    )


if __name__ == "__main__":
    main()
