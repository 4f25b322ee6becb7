"""``embodied bench export RUN --format jsonl --out DIR``: steps as training records."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="a run directory made with --frames all")
    p.add_argument("--format", default="jsonl", choices=["jsonl"], help="output format (jsonl)")
    p.add_argument("--out", required=True, help="directory for data.jsonl and images/")
    p.add_argument("--successful-only", action="store_true", help="only episodes the agent solved")


def main(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .export import export

    n = export(args.run, args.out, args.successful_only)
    out = Path(args.out)
    eps = f"{n['episodes']} episode{'' if n['episodes'] == 1 else 's'}"
    print(f"exported {n['records']} steps of {eps} to {out / 'data.jsonl'} (images in {out / 'images'}/)")
    return 0
