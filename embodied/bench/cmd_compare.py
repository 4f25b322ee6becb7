"""``embodied bench compare DIR1 DIR2 ...``: leaderboard and paired differences."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", help="run directories")
    p.add_argument("--metric", default="success", help="metric for the paired difference (default success)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")


def main(args: argparse.Namespace) -> int:
    import json

    from rich.console import Console
    from rich.table import Table

    from .leaderboard import HEADERS, leaderboard

    board = leaderboard(args.runs, args.metric)
    if args.json:
        print(json.dumps(board, indent=2))
        return 0
    con = Console(width=170)
    t = Table(title="leaderboard (mean ± s.e. over episodes)")
    for c in HEADERS:
        t.add_column(c)
    for row in board["rows"]:
        t.add_row(*row["cells"])
    con.print(t)
    if board["paired"]:
        p = Table(title=f"paired difference in {args.metric} (each run minus the first, same episodes)")
        for c in ("run", "vs", "suite", "tier", "n", "difference ± s.e."):
            p.add_column(c)
        for d in board["paired"]:
            p.add_row(d["run"], d["vs"], d["suite"], d["tier"], str(d["n"]), d["text"])
        con.print(p)
    return 0
