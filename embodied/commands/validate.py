"""validate scene specs: schema, geometry, solvable, shortcuts (exit 1 if any fails)

Each spec is a file path or a shipped scene name ('embodied scenes' lists them).
"""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("specs", nargs="+", metavar="SPEC", help="scene spec file or shipped scene name")
    parser.add_argument("--json", action="store_true", help="print a JSON report instead of text")


def main(args: argparse.Namespace) -> int:
    from ..spec import resolve_scene_path
    from ..validate import validate

    for s in args.specs:
        if not s.lstrip().startswith("{"):
            resolve_scene_path(s)  # a missing file is a usage mistake (exit 2), not an invalid scene
    worst = 0
    reports = []
    for s in args.specs:
        r = validate(s)
        worst = max(worst, 0 if r.ok else 1)
        if args.json:
            reports.append(
                {
                    "spec": s,
                    "ok": r.ok,
                    "problems": [dict(zip(("kind", "path", "message"), p)) for p in r.problems],
                    "plan": [str(x) for x in (r.verdict.plan if r.verdict else [])],
                }
            )
        else:
            print(f"{s}:")
            for line in r.lines():
                print(f"  {line}")
    if args.json:
        print(json.dumps(reports, indent=2))
    return worst
