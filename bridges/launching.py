"""What the bridges' ``launch()`` functions share (Unreal, Unity): launched engines listen on
127.0.0.1 and have no authentication, the build comes from an argument or an environment
variable, logs go to ``log_dir`` or a fresh temporary directory, and the returned engine owns
its process (closed at interpreter exit, and at once if its first request fails)."""

from __future__ import annotations

import importlib
import os
import tempfile
from collections.abc import Callable
from typing import TypeVar

from embodied.engine import _OWNED
from embodied.errors import EngineError

E = TypeVar("E")


def need(module: str, extra: str, bridge: str) -> None:
    """EngineError naming the extra to install when ``module`` (a bridge's client library) is missing."""
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise EngineError(f"{bridge} needs {module}: pip install 'embodied[{extra}]' ({exc})") from None


def refuse_remote(protocol: str, token: str | None, host: str, remote: str) -> None:
    """EngineError for ``token=`` (``protocol`` has no authentication) or a host other than 127.0.0.1;
    ``remote`` says what to do instead for a remote engine."""
    if token is not None:
        raise EngineError(f"{protocol} has no authentication: launch without token= (it binds 127.0.0.1)")
    if host not in ("127.0.0.1", "localhost"):
        raise EngineError(f"host {host!r}: a launched {protocol} engine listens on 127.0.0.1 only; {remote}")


def build_from(build: str | os.PathLike | None, env_var: str) -> str | os.PathLike | None:
    """``build``, else ``$env_var``, else None (the embedded stand-in)."""
    return build or os.environ.get(env_var) or None


def log_dir_for(log_dir: str | None, prefix: str) -> tuple[str, str | None]:
    """``(log_dir, tmp_dir)``: the directory for the engine's log, created; ``tmp_dir`` is the fresh
    temporary directory used when ``log_dir`` is None (the engine removes it on a clean close)."""
    tmp_dir = None if log_dir else tempfile.mkdtemp(prefix=prefix)
    log_dir = log_dir or tmp_dir
    os.makedirs(log_dir, exist_ok=True)
    return log_dir, tmp_dir


def own(engine: E, first: Callable[[], object]) -> E:
    """Register ``engine`` to be closed at exit, run its ``first`` request(s), close it if they fail."""
    _OWNED.add(engine)
    try:
        first()
    except BaseException:
        engine.close()
        raise
    return engine
