"""``--out`` checked before any work: a path that cannot be written is one line up front, not a
failure after minutes of generation and replay (docs/generation.md)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..errors import ConfigError


def out_dir(path: Path, flag: str = "--out") -> Path:
    """Create directory ``path`` (with its parents) and make sure files can be written in it;
    ConfigError saying what is wrong and what would work otherwise."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{flag} {path} is a file, not a directory; name a new or existing directory")
    _writable(path, path, flag)
    return path


def out_file(path: Path, flag: str = "--out") -> Path:
    """The same for the directory of file ``path`` (created); ``path`` must not be a directory."""
    if path.is_dir():
        raise ConfigError(f"{flag} {path} is a directory; name the file, e.g. {path / 'level.json'}")
    _writable(path.parent, path, flag)
    return path


def _writable(folder: Path, given: Path, flag: str) -> None:
    for p in (folder, *folder.parents):
        if p.exists():
            if not p.is_dir():
                raise ConfigError(
                    f"{flag} {given}: {p} is a file, not a directory; choose a path under a directory"
                )
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".embodied-write-check-"):
            pass
    except OSError as e:
        raise ConfigError(
            f"{flag} {given}: cannot create or write to {folder} ({e.strerror or e}); choose a directory you can write to"
        ) from None
