"""check that this machine renders real frames headless (black/stale frame detection)"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def main(args: argparse.Namespace) -> int:
    from ..doctor import main as doctor

    return doctor()
