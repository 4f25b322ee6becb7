"""import a level from another benchmark's format as a scene spec (replayed by the oracle, with pictures)

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
    p.add_argument(
        "--their-cap",
        action="store_true",
        help="max_steps = their step cap (50/75/100) as is, as the frozen ESC-MM suite keeps it; "
        "default: 10x our oracle's steps, at most 1000 (docs/generation.md)",
    )


def main(args: argparse.Namespace) -> int:
    from ..validate import validate
    from .accept import accept, draw_map, write_spec
    from .escapecraft import cap_note, import_level
    from .outpath import out_file

    out = Path(args.out)
    if out.suffix != ".json":
        from ..errors import ConfigError

        raise ConfigError(f"--out names the spec file and must end in .json, got {str(out)!r}")
    out_file(out)  # before any work: an unwritable path is said at once
    spec = import_level(args.level, args.scene, seed=args.seed, name=out.stem, scale_cap=not args.their_cap)
    report = validate(spec, walk=False)
    if not report.ok:
        for line in report.lines():
            print(f"embodied import: {line}", file=sys.stderr)
        print(f"embodied import: {args.level} did not validate; nothing written", file=sys.stderr)
        return 1
    if args.no_replay:
        write_spec(spec, out)
        draw_map(spec).save(out.with_suffix(".map.png"))
        print(f"wrote {out} (tier {spec.metadata['tier']}, {cap_note(spec)}; not replayed in the engine)")
        return 0
    from ..engine import launch

    with launch() as engine:
        acc = accept(spec, engine, out.parent)
    if not acc.ok:
        print(f"embodied import: rejected: {acc.reason}", file=sys.stderr)
        return 1
    print(
        f"wrote {out} (tier {spec.metadata['tier']}, {cap_note(spec)}; "
        f"the oracle escaped in {acc.steps} steps in the engine), {out.stem}.map.png, {out.stem}.thumb.png"
    )
    return 0
