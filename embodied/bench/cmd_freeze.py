"""``embodied bench freeze SUITE``: write the suite's lock file."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("suites", nargs="+", help="suite names (see 'embodied bench list')")


def main(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from .suites import SuiteError, get_suite

    for name in args.suites:
        s = get_suite(name)
        ok, why = s.availability()
        if not ok:
            raise SuiteError(f"suite {s.name} is unavailable: {why}")
        n = len(s.episodes())
        with Progress(transient=True) as bar:
            task = bar.add_task(f"{s.name} v{s.version}", total=n)
            data = s.freeze(progress=lambda ep, t=task: bar.advance(t))
        print(f"{s.name} v{s.version}: {len(data['episodes'])} episodes frozen into {s.lock_path}")
    return 0
