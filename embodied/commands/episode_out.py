"""What ``embodied demo`` and ``embodied play`` share: the env from their common flags, the banner,
and the closing lines (verdict and where the frames, GIF, metrics and steps were written)."""

from __future__ import annotations

import argparse
import errno
import os
import tempfile
from pathlib import Path
from typing import Any


def out_dir(path: str) -> Path:
    """``--out``, checked (not created) before any engine starts: OSError, one line from the CLI,
    when a file stands in its way or its nearest existing directory is not writable."""
    out = Path(path)
    probe = out
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(out))
    if not os.access(probe, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(out))
    try:  # access() says yes to root everywhere: a read-only mount or /proc only shows on a real try
        os.rmdir(tempfile.mkdtemp(prefix=".embodied-probe-", dir=probe))
    except OSError as e:
        raise OSError(e.errno, e.strerror, str(out)) from None
    return out


def open_env(task: Any, args: argparse.Namespace):
    """The :class:`~embodied.env.Env` of ``--size``, ``--seed``, ``--renderer`` and ``--max-steps``."""
    from ..env import Env

    return Env(
        task,
        width=args.size,
        height=args.size,
        seed=args.seed,
        renderer=args.renderer,
        max_steps=args.max_steps,
    )


def banner(console, command: str, who: str, env, detail: str) -> None:
    """``embodied demo: oracle in scene key_door (…, 224x224)`` then ``task: …; budget N steps``."""
    from rich.markup import escape

    from ..tasks import describe_goal

    console.print(
        f"[bold]embodied {command}[/]: {escape(who)} in scene [cyan]{escape(env.spec.name)}[/] "
        f"({escape(detail)}{', ' if detail else ''}{env.width}x{env.height})\n"
        f"task: {escape(describe_goal(env.spec.goal))}; budget {env.max_steps} steps"
    )


def verdict(m) -> str:
    """``ESCAPED`` / ``GOAL REACHED`` in green, else ``did not finish (reason)`` in red."""
    from rich.markup import escape

    won = "ESCAPED" if "exit_through" in (m.goal or {}) else "GOAL REACHED"
    return f"[green]{won}[/]" if m.success else f"[red]did not finish[/] ({escape(m.end_reason)})"


def outputs(console, m, out: Path) -> None:
    console.print(
        f"frames:  {m.frames_dir}/\nGIF:     {m.gif}\nmetrics: {out / 'metrics.json'}\nsteps:   {out / 'steps.jsonl'}"
    )
