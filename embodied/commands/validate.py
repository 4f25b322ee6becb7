"""validate scene specs: schema, geometry, solvable, shortcuts (exit 1 if any fails)

Each spec is a file path, a directory (every scene spec in it, e.g. what 'embodied gen --out DIR'
wrote) or a shipped scene name ('embodied scenes' lists them). The plan is walked with 0.25 m
moves and 90-degree turns, the env's defaults; if your env moves otherwise (Env(nav=NavConfig(
rotate=45))), give the same --turn and --step: a scene walkable one way may not be another.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..cli import positive_float


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "specs",
        nargs="+",
        metavar="SPEC",
        help="scene spec file, directory of spec files, or shipped scene name",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON report instead of text")
    parser.add_argument(
        "--turn",
        type=_turn,
        default=90.0,
        metavar="DEG",
        help="RotateLeft/RotateRight size the plan is walked with, as NavConfig(rotate=) (default: %(default)g)",
    )
    parser.add_argument(
        "--step",
        type=positive_float("the step", "m"),
        default=0.25,
        metavar="M",
        help="MoveAhead/Back/Left/Right length, as NavConfig(step=) (default: %(default)g)",
    )


def _turn(text: str) -> float:
    x = positive_float("the turn", "degrees")(text)
    if x > 180:
        raise argparse.ArgumentTypeError(f"the turn must be at most 180 degrees, got {text}")
    return x


def main(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..nav import NavConfig
    from ..spec import resolve_scene_path
    from ..validate import validate

    specs = []
    for s in args.specs:
        if Path(s).is_dir():
            found = _specs_in(Path(s))
            if not found:
                hint = _foreign_in(Path(s))
                raise ConfigError(
                    f"{s} is a directory with no scene spec (*.json with a 'format' field) in it"
                    + (f"; {hint}" if hint else "")
                )
            specs += found
            continue
        if not s.lstrip().startswith("{"):
            resolve_scene_path(s)  # a missing file is a usage mistake (exit 2), not an invalid scene
        specs.append(s)
    worst = 0
    reports = []
    nav = NavConfig(step=args.step, rotate=args.turn)
    for s in specs:
        r = validate(s, nav=nav)
        worst = max(worst, 0 if r.ok else 1)
        if args.json:
            reports.append(
                {
                    "spec": s,
                    "ok": r.ok,
                    "problems": [dict(zip(("kind", "path", "message"), p)) for p in r.problems],
                    "plan": [str(x) for x in (r.verdict.plan if r.verdict else [])],
                    "walked_with": {"turn": r.nav.rotate, "step": r.nav.step},
                }
            )
        else:
            print(f"{s}:")
            for line in r.lines():
                print(f"  {line}")
    if args.json:
        print(json.dumps(reports, indent=2))
    return worst


def _specs_in(d: Path) -> list[str]:
    """The scene specs directly in ``d``, sorted: JSON objects with a ``format`` field (so a
    generator's index or a run's metrics are skipped)."""
    out = []
    for f in sorted(d.glob("*.json")):
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            out.append(str(f))  # unreadable: validate reports it
            continue
        if isinstance(data, dict) and "format" in data:
            out.append(str(f))
    return out


def _foreign_in(d: Path) -> str | None:
    """What to do with the first file in ``d`` in another benchmark's format (an EscapeCraft
    level...), as ``NAME: hint``; None when there is none."""
    from ..spec import foreign_format_hint

    for f in sorted(d.glob("*.json")):
        try:
            hint = foreign_format_hint(json.loads(f.read_text(encoding="utf-8")), str(f))
        except (OSError, ValueError):
            continue
        if hint:
            return f"{f.name}: {hint}"
    return None
