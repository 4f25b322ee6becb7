"""``embodied bench list``: suites, tiers, episode counts, versions, availability."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tiers", action="store_true", help="also describe every tier")


def main(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from .suites import load_suites

    table = Table(title="benchmark suites (tasks/)")
    for col in ("suite", "version", "tiers", "episodes", "lock", "available", "description"):
        table.add_column(col)
    for s in load_suites().values():
        ok, why = s.availability()
        table.add_row(
            s.name,
            str(s.version),
            " ".join(t.tier for t in s.tiers),
            " + ".join(str(len(t.seeds)) for t in s.tiers),
            s.lock_status(),
            "yes" if ok else f"no: {why}",
            s.description,
        )
        if args.tiers:
            for t in s.tiers:
                cap = f" (cap {t.max_steps} steps)" if t.max_steps else ""
                table.add_row("", "", t.tier, str(len(t.seeds)), "", "", f"{t.description}{cap}")
    Console(width=160).print(table)
    return 0
