"""Every EscapeCraft level of a checkout: import, validate, replay with the oracle in the engine.

    git clone https://github.com/THUNLP-MT/EscapeCraft && python benchmarks/escapecraft_all.py EscapeCraft/levels

Each level file is imported alone (our layout) and with each of its scene files (their layout);
prints one line per case and the count that validated and that the oracle finished within the
level's step cap.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def main(levels_dir: str, out: str | None = None) -> int:
    from embodied.procedural.accept import accept
    from embodied.procedural.escapecraft import import_level

    from embodied.engine import launch
    from embodied.validate import validate

    root = Path(levels_dir)
    cases = []
    for lv in sorted(root.glob("*.json")):
        cases.append((lv, None))
        cases += [
            (lv, sc)
            for sc in sorted((root / "scene_data" / lv.stem).glob("*.json"), key=lambda p: int(p.stem))
        ]
    valid = solved = 0
    t0 = time.perf_counter()
    with launch() as engine:
        for i, (lv, sc) in enumerate(cases):
            spec = import_level(lv, sc, seed=i)
            rep = validate(spec, walk=False)
            if not rep.ok:
                print(f"{lv.name} {sc.name if sc else '-'}: INVALID {rep.lines()[:2]}")
                continue
            valid += 1
            acc = accept(spec, engine, Path(out) if out else None)
            solved += acc.ok
            print(
                f"{lv.name:24s} {sc.name if sc else '-':8s} tier {spec.metadata['tier']:<4} "
                f"{'solved' if acc.ok else 'FAILED ' + acc.reason} in {acc.steps}/{spec.max_steps} steps",
                flush=True,
            )
    print(
        f"{len(cases)} cases: {valid} valid, {solved} solved by the oracle in the engine ({time.perf_counter() - t0:.0f} s)"
    )
    return 0 if solved == len(cases) else 1


if __name__ == "__main__":
    if len(sys.argv) < 2 or not any(Path(sys.argv[1]).glob("*.json")):
        print(
            "usage: python benchmarks/escapecraft_all.py LEVELS_DIR [OUT]: a directory of EscapeCraft "
            "level files (*.json), e.g. EscapeCraft/levels of a clone, or tasks/escapecraft",
            file=sys.stderr,
        )
        raise SystemExit(2)
    raise SystemExit(main(*sys.argv[1:3]))
