"""list the shipped scenes with their descriptions"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def main(args: argparse.Namespace) -> int:
    from ..spec import load_spec, shipped_scenes

    for n in shipped_scenes():
        print(f"{n:20s} {load_spec(n).description or ''}")
    return 0
