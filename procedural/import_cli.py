"""Import a level from another benchmark's format as a scene spec (replayed by the oracle, with pictures).

    embodied import escapecraft levels/level3_key_first.json levels/scene_data/level3_key_first/1.json \\
        --out level3.json --seed 7

The spec is validated and replayed by the oracle in the embedded engine before it is written;
beside it go ``NAME.map.png`` (top-down) and ``NAME.thumb.png`` (first person). A level that does
not validate or that the oracle cannot finish is reported with the reason and not written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

FORMATS = ("escapecraft",)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "format", choices=FORMATS, help="source format: escapecraft (MM-Escape's EscapeCraft levels)"
    )
    p.add_argument("level", help="the level file (puzzle logic), e.g. levels/level2.json")
    p.add_argument("scene", nargs="?", help="optional scene file (their layout: room, items, player pose)")
    p.add_argument("--out", required=True, help="where to write the spec (.json); pictures go beside it")
    p.add_argument("--seed", type=int, default=0, help="seed for drawn values (passwords)")
    p.add_argument(
        "--no-replay", action="store_true", help="skip the engine replay (the spec is then unchecked)"
    )


def main(args: argparse.Namespace) -> int:
    from ..validate import validate
    from .accept import accept, draw_map, write_spec
    from .escapecraft import import_level

    out = Path(args.out)
    if out.suffix != ".json":
        from ..errors import ConfigError

        raise ConfigError(f"--out names the spec file and must end in .json, got {str(out)!r}")
    spec = import_level(args.level, args.scene, seed=args.seed, name=out.stem)
    report = validate(spec, walk=False)
    if not report.ok:
        for line in report.lines():
            print(f"embodied import: {line}", file=sys.stderr)
        print(f"embodied import: {args.level} did not validate; nothing written", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.no_replay:
        write_spec(spec, out)
        draw_map(spec).save(out.with_suffix(".map.png"))
        print(f"wrote {out} (tier {spec.metadata['tier']}, not replayed in the engine)")
        return 0
    from ..engine import launch

    with launch() as engine:
        acc = accept(spec, engine, out.parent)
    if not acc.ok:
        print(f"embodied import: rejected: {acc.reason}", file=sys.stderr)
        return 1
    print(
        f"wrote {out} (tier {spec.metadata['tier']}, step cap {spec.max_steps}; "
        f"the oracle escaped in {acc.steps} steps in the engine), {out.stem}.map.png, {out.stem}.thumb.png"
    )
    return 0
