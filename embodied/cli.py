"""The ``embodied`` command. Each subcommand is a module, registered by one line in :data:`COMMANDS`.

A subcommand module has a docstring (its first line is the help line), ``add_arguments(parser)``
and ``main(args) -> int``. Keep its top-level imports light: every module is imported to build
``embodied --help``; import heavy things inside ``main``.

A user's mistake prints one line (what is wrong, what would work) and exits 2: raise a
:class:`~embodied.errors.ConfigError`, :class:`~embodied.errors.SpecError` or
:class:`~embodied.errors.ActionError` (or call ``parser.error``). Any other
:class:`~embodied.errors.EmbodiedError` prints one line and exits 1.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys

COMMANDS: dict[str, str] = {  # subcommand -> module
    "demo": "embodied.commands.demo",
    "validate": "embodied.commands.validate",
    "scenes": "embodied.commands.scenes",
    "doctor": "embodied.commands.doctor",
    "engine": "embodied.commands.engine",
    "gallery": "embodied.commands.gallery",
    "play": "embodied.commands.play",
    "gen": "embodied.procedural.gen_cli",
    "import": "embodied.procedural.import_cli",
    "bench": "embodied.bench.cli",
}


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line (what is wrong, where to look) and exit 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def int_in(lo: int, hi: int | None = None):
    """An argparse ``type``: a whole number in lo..hi, else a one-line usage error."""

    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if n < lo or (hi is not None and n > hi):
            raise argparse.ArgumentTypeError(
                f"must be {lo}..{hi}, got {n}" if hi else f"must be at least {lo}, got {n}"
            )
        return n

    return parse


def positive_float(what: str = "value", unit: str = ""):
    """An argparse ``type``: a finite number more than 0 (a timeout, a rate), else a one-line usage error.

    ``what`` and ``unit`` name it in the message: ``timeout must be more than 0 seconds, got -1``.
    """
    of_unit = f" of {unit}" if unit else ""
    unit = f" {unit}" if unit else ""

    def parse(text: str) -> float:
        try:
            x = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(x):
            raise argparse.ArgumentTypeError(f"{what} must be a finite number{of_unit}, got {text}")
        if x <= 0:
            raise argparse.ArgumentTypeError(f"{what} must be more than 0{unit}, got {text}")
        return x

    return parse


def add_renderer_option(parser: argparse.ArgumentParser) -> None:
    """``--renderer software|gl|auto``, as every command and engine process that starts a renderer takes it."""
    parser.add_argument(
        "--renderer",
        choices=["software", "gl", "auto"],
        default="software",
        help="software (works everywhere), gl (GPU/EGL), auto (gl if it works) (default: %(default)s)",
    )


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = Parser(prog="embodied", description="Embodied-AI research platform: escape rooms, engines, agents.")
    p.add_argument("--version", action="version", version=f"embodied {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND", parser_class=Parser)
    for name, modname in COMMANDS.items():
        mod = importlib.import_module(modname)
        doc = (mod.__doc__ or "").strip().replace("``", "")  # no reST markup in --help
        sp = sub.add_parser(
            name,
            help=doc.splitlines()[0] if doc else None,
            description=doc or None,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        mod.add_arguments(sp)
        sp.set_defaults(_main=mod.main)
    return p


def error_line(e: BaseException) -> str:
    """One line for an error: a SpecError's first problem (and how many more)."""
    from .errors import SpecError

    if isinstance(e, SpecError) and e.problems:
        path, msg = e.problems[0]
        more = f" (and {len(e.problems) - 1} more problems)" if len(e.problems) > 1 else ""
        return f"{e.source}: {path + ': ' if path else ''}{msg}{more}"
    return " ".join(str(e).split())


def check_environment() -> None:
    """The ``EMBODIED_*`` settings a command reads later (maybe only at its first depth frame, or in
    a worker), checked before it starts: ConfigError naming the values that work."""
    from .errors import ConfigError

    decode = os.environ.get("EMBODIED_DECODE", "")
    if decode.strip():
        from .bridges.panda3d.decode import MODES

        if decode.strip().lower() not in MODES:
            raise ConfigError(
                f"EMBODIED_DECODE={decode!r} is not a depth/segmentation decoder; set {'|'.join(MODES)} "
                "or unset it (docs/rendering.md)"
            )
    if os.environ.get("EMBODIED_DECODE_WAIT", "").strip():
        from .bridges.panda3d.decode import wait_setting
        from .errors import EngineError

        try:
            wait_setting()
        except EngineError as e:
            raise ConfigError(f"{e} (docs/rendering.md)") from None
    engine = os.environ.get("EMBODIED_ENGINE", "")
    if engine:
        from .engine import ENGINES

        if engine not in ENGINES:
            raise ConfigError(
                f"EMBODIED_ENGINE={engine!r} is not an engine; set {'|'.join(ENGINES)} or unset it"
            )


def main(argv: list[str] | None = None) -> int:
    from .errors import ActionError, ConfigError, EmbodiedError, SpecError

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    prog = " ".join(filter(None, ("embodied", args.cmd, getattr(args, f"{args.cmd}_cmd", None))))
    if extra and not getattr(args, "_extra_args", False):  # named by the subcommand they were given to
        parser.exit(2, f"{prog}: error: unrecognized arguments: {' '.join(extra)} (see '{prog} --help')\n")
    args.extra = extra
    args.argv = argv  # what the user typed after 'embodied' (a command that says how to resume repeats it)
    try:
        check_environment()
        return int(args._main(args) or 0)
    except (ConfigError, SpecError, ActionError) as e:
        print(f"{prog}: error: {error_line(e)}", file=sys.stderr)
        return 2
    except EmbodiedError as e:
        print(f"{prog}: error: {error_line(e)}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # 'embodied ... | head': the reader left; the rest is not wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    except OSError as e:  # a path the user gave: missing, not writable, a directory...
        if e.filename is None:
            raise
        print(f"{prog}: error: cannot use '{e.filename}': {e.strerror}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
