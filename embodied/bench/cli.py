"""benchmark suites: list, run, compare, report, export, freeze

Run agents on task suites of rising difficulty (frozen scenes and step budgets), compare the
runs with their standard errors and write one HTML report; see docs/benchmark.md.
"""

# one module per subcommand (embodied/bench/cmd_*.py), each with add_arguments/main

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "list": ("cmd_list", "list the suites: tiers, episode counts, versions, availability"),
    "run": ("cmd_run", "run an agent on suites into a resumable run directory"),
    "compare": ("cmd_compare", "leaderboard of runs and paired differences with their errors"),
    "report": ("cmd_report", "one self-contained HTML report of runs (plots, replays, cost)"),
    "export": ("cmd_export", "export a run's steps as prompt/image/rationale/action JSONL for fine-tuning"),
    "freeze": ("cmd_freeze", "compute and write a suite's lock file (scene hashes, oracle steps, budgets)"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="bench_cmd", required=True, metavar="{" + ",".join(COMMANDS) + "}")
    for name, (module, text) in COMMANDS.items():
        p = sub.add_parser(name, help=text, description=text)
        importlib.import_module(f"embodied.bench.{module}").add_arguments(p)


def main(args: argparse.Namespace) -> int:
    module = importlib.import_module(f"embodied.bench.{COMMANDS[args.bench_cmd][0]}")
    try:
        return module.main(args)
    except (FileNotFoundError, NotADirectoryError) as e:
        said = f"cannot use '{e.filename}': {e.strerror}" if e.filename else str(e).splitlines()[0]
        print(f"embodied bench {args.bench_cmd}: error: {said}", file=sys.stderr)
        return 2
