"""``embodied bench report DIR [DIR2 ...]``: one self-contained HTML file."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "runs", nargs="+", help="run directories (the first is the baseline for paired differences)"
    )
    p.add_argument("--out", default=None, help="HTML file to write (default: FIRST_RUN/report.html)")
    p.add_argument("--replays", type=int, default=1, help="replays shown per run, suite and tier (default 1)")


def main(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .report import write
    from .suites import SuiteError

    if args.replays < 0:
        raise SuiteError(f"--replays {args.replays}: use 0 or more")
    if args.out:  # before the replays are encoded, not after
        out = Path(args.out)
        if out.is_dir():
            raise SuiteError(f"--out {out} is a directory; give a file, e.g. {out / 'report.html'}")
        if not out.parent.is_dir():
            raise SuiteError(f"--out {out}: no directory {out.parent}; create it or write elsewhere")
        existed = out.exists()
        try:
            with open(out, "ab"):
                pass
        except OSError as e:
            raise SuiteError(f"--out {out}: cannot write there ({e.strerror})") from None
        if not existed:
            out.unlink()
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=(console := Console(stderr=True)),
        transient=True,
        disable=not console.is_terminal,  # off a terminal a transient bar leaves only a blank line
    ) as bar:
        task = bar.add_task("replays", total=None)

        def progress(done: int, total: int, key: str) -> None:
            bar.update(task, completed=done, total=total, description=f"replay {key}")

        out = write(
            args.runs, args.out or Path(args.runs[0]) / "report.html", replays=args.replays, progress=progress
        )
    print(f"report: {out} ({out.stat().st_size / 1024:.0f} KiB, opens from disk with no server)")
    return 0
