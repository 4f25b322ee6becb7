"""Start an UnrealCV-enabled build (or the embedded stand-in) and connect to it.

``embodied.launch(engine="unreal", build=PATH)`` ends here (the engine registry points at
:func:`launch`). For a real build it:

1. picks a free port (one per instance) unless ``port=`` is given, and writes ``unrealcv.ini``
   (``[UnrealCV.Core]`` Port/Width/Height/FOV) beside the binary, under a file lock so several
   instances of one build never read each other's port;
2. starts ``BUILD [map] -RenderOffscreen -unattended -nosound -ResX=W -ResY=H`` in its own
   process group, output to ``<log_dir>/unreal-<pid>.log``;
3. waits for the port (or the Unix socket ``/tmp/unrealcv_PORT.socket`` with ``unix=True``),
   retrying every ``retry_interval`` s for up to ``start_timeout`` s, then connects the genuine
   ``unrealcv.Client`` (greeting bounded by ``connect_timeout``);
4. returns an :class:`~embodied.bridges.unrealcv.backend.UnrealCVEngine` that owns the process:
   ``close()`` (and interpreter exit) stops the whole process group.

Without ``build`` (and without ``$EMBODIED_UNREAL_BUILD``) the "build" is the embedded engine
answering the UnrealCV protocol (``embodied engine serve --protocol unrealcv``), so everything
that takes ``engine="unreal"`` runs on this machine. ``connect()`` attaches to a running server.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from embodied.bridges.launching import build_from, log_dir_for, need, own, refuse_remote
from embodied.bridges.unrealcv.assets import load_table

from embodied.engine import _stop_group, _tail
from embodied.errors import EngineError, EngineTimeout

INI = "[UnrealCV.Core]\nPort={port}\nWidth={width}\nHeight={height}\nFOV={fov:.6f}\nEnableInput=True\nEnableRightEye=False\n"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def write_ini(path: Path, port: int, width: int, height: int, fov: float) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(INI.format(port=port, width=width, height=height, fov=fov))
    os.replace(tmp, path)


def _pdeathsig() -> None:  # runs in the child before exec: die with the launching thread
    with contextlib.suppress(Exception):
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _wait_ready(proc, host, port, unix_path, deadline, retry, describe) -> None:
    while True:
        if proc.poll() is not None:
            raise EngineError(
                f"the Unreal build exited with code {proc.returncode} before {describe()} was ready:\n"
                f"{_tail(describe.log)}\nLikely fix: run the command in the log by hand; check the "
                "UnrealCV plugin is enabled and the GPU/Vulkan driver works (or use -nullrhi to test)"
            )
        try:
            if unix_path:
                if os.path.exists(unix_path):
                    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                        s.settimeout(retry)
                        s.connect(unix_path)
                    return
            else:
                with socket.create_connection((host, port), timeout=retry):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise EngineTimeout(
                f"{describe()} was not listening within the start timeout (pid {proc.pid}); log "
                f"{describe.log}:\n{_tail(describe.log)}\nLikely fix: a large build loads slowly - pass "
                "a larger start_timeout= to launch(); check unrealcv.ini's Port matches"
            )
        time.sleep(retry)


def launch(
    engine: str = "unreal",
    headless: bool = True,
    renderer: str = "software",
    host: str = "127.0.0.1",
    port: int = 0,
    timeout: float = 30.0,
    log_dir: str | None = None,
    token: str | None = None,
    build: str | os.PathLike | None = None,
    map: str | None = None,
    width: int = 640,
    height: int = 480,
    fov: float = 90.0,
    unix: bool = False,
    start_timeout: float | None = None,
    connect_timeout: float | None = None,
    retry_interval: float = 0.2,
    assets: str | dict | None = None,
    extra_args: list[str] | tuple = (),
    ini_path: str | os.PathLike | None = None,
    image_format: str = "bmp",
):
    """Start a build and return a connected, owning :class:`UnrealCVEngine` (module docstring).

    ``timeout``: default for every request; ``start_timeout`` (default ``max(timeout, 60)``)
    bounds the wait for the port; ``connect_timeout`` (default ``timeout``) the greeting.
    ``renderer`` only applies to the embedded stand-in; ``token`` is refused (UnrealCV has no auth).
    """
    from embodied.bridges.unrealcv.backend import UnrealCVEngine
    from embodied.bridges.unrealcv.transport import ClientTransport

    need("unrealcv", "unreal", "the Unreal bridge")  # before any process starts

    refuse_remote("UnrealCV", token, host, "use connect() for a remote one")
    start_timeout = max(timeout, 60.0) if start_timeout is None else float(start_timeout)
    connect_timeout = timeout if connect_timeout is None else float(connect_timeout)
    table = load_table(assets)
    build = build_from(build, "EMBODIED_UNREAL_BUILD")
    log_dir, tmp_dir = log_dir_for(log_dir, "embodied-unreal-")
    port = int(port) or free_port(host)
    unix_path = f"/tmp/unrealcv_{port}.socket" if unix else None
    lock = None
    if build is None:  # the embedded engine stands in for a build
        cmd = [sys.executable, "-m", "embodied.bridges.unrealcv.server", "--port", str(port)]
        cmd += ["--renderer", renderer, "--width", str(width), "--height", str(height), "--fov", str(fov)]
        cmd += ["--parent-pid", str(os.getpid())]
        if unix:
            cmd += ["--unix", unix_path]
        if isinstance(assets, (str, os.PathLike)):
            cmd += ["--assets", str(assets)]
    else:
        binary = Path(build).expanduser().resolve()
        if not binary.is_file() or not os.access(binary, os.X_OK):
            raise EngineError(
                f"Unreal build {str(build)!r} is not an executable file. Likely fix: pass the packaged "
                "game's binary (e.g. .../Binaries/Linux/MyGame or MyGame.sh) and chmod +x it"
            )
        ini = Path(ini_path) if ini_path else binary.with_name("unrealcv.ini")
        lock = open(ini.with_name(f".{ini.name}.lock"), "w")  # noqa: SIM115 (held until the build is up)
        fcntl.flock(lock, fcntl.LOCK_EX)
        write_ini(ini, port, width, height, fov)
        cmd = [str(binary)] + ([map] if map else [])
        cmd += (["-RenderOffscreen"] if headless else []) + ["-unattended", "-nosound"]
        cmd += [f"-ResX={width}", f"-ResY={height}", *(str(a) for a in extra_args)]
    tmp_log = os.path.join(log_dir, f"unreal-starting-{uuid.uuid4().hex}.log")
    try:
        with open(tmp_log, "wb") as logf:
            proc = subprocess.Popen(
                cmd,
                stdout=logf,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_pdeathsig if threading.current_thread() is threading.main_thread() else None,
            )
        log_path = os.path.join(log_dir, f"unreal-{proc.pid}.log")
        os.replace(tmp_log, log_path)

        def describe() -> str:
            return f"UnrealCV server {unix_path or f'{host}:{port}'}"

        describe.log = log_path
        try:
            _wait_ready(
                proc, host, port, unix_path, time.monotonic() + start_timeout, retry_interval, describe
            )
        finally:
            if lock is not None:
                lock.close()  # the build has read its ini: the next instance may write its own
        try:
            transport = ClientTransport(
                unix_path or (host, port),
                unix=bool(unix),
                connect_timeout=connect_timeout,
                alive=lambda: proc.poll() is None,  # a dead build fails the next request at once
            )
        except (TimeoutError, ConnectionError) as exc:
            raise EngineError(
                f"cannot connect the unrealcv client to {describe()}: {exc}; log {log_path}:\n"
                f"{_tail(log_path)}\nLikely fix: another client holds the build (UnrealCV serves one "
                "at a time), or pass a larger connect_timeout="
            ) from None
    except BaseException:
        if "proc" in locals():
            _stop_group(proc, grace=1.0)
        raise
    eng = UnrealCVEngine(
        transport, table, timeout, process=proc, log_path=log_path, image_format=image_format
    )
    eng._tmp_dir = tmp_dir
    return own(eng, eng.hello)


def connect(
    host: str = "127.0.0.1",
    port: int = 9000,
    unix_path: str | None = None,
    timeout: float = 30.0,
    assets: str | dict | None = None,
    image_format: str = "bmp",
):
    """Attach to a running UnrealCV server (not owned: ``close()`` leaves it running)."""
    from embodied.bridges.unrealcv.backend import UnrealCVEngine
    from embodied.bridges.unrealcv.transport import ClientTransport

    need("unrealcv", "unreal", "the Unreal bridge")  # before any process starts

    where = unix_path or f"{host}:{port}"
    try:
        transport = ClientTransport(unix_path or (host, port), unix=bool(unix_path), connect_timeout=timeout)
    except (TimeoutError, ConnectionError) as exc:
        raise EngineError(
            f"cannot connect to the UnrealCV server at {where}: {exc}. Likely fix: start the build "
            "(or 'embodied engine serve --protocol unrealcv --port PORT') and check the port in its unrealcv.ini"
        ) from None
    eng = UnrealCVEngine(transport, load_table(assets), timeout, image_format=image_format)
    eng.hello()
    return eng
