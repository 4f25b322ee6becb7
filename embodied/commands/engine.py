"""engine commands: 'embodied engine serve --help'"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="engine_cmd", required=True, metavar="ENGINE_COMMAND")
    s = sub.add_parser(
        "serve",
        help="run the embedded engine as a server until closed (--protocol embodied|unrealcv)",
        add_help=False,  # the engine's own parser answers --help, under the name 'embodied engine serve'
    )
    s.set_defaults(_extra_args=True)  # everything after 'serve' goes to the engine's parser


def main(args: argparse.Namespace) -> int:
    from ..bridges.serve import main as serve

    return serve(args.extra, prog="embodied engine serve")
