"""``embodied doctor``: checks that this machine renders real frames headless, and says what to fix.

Each check prints OK / WARN / FAIL with a reason; the exit code is 1 if any check FAILs.
Frames are checked for the failures peers' users hit under Xvfb and EGL: black or uniform
frames, the same frame for different poses, different frames for the same pose, and depth or
segmentation that do not line up with RGB.
"""

from __future__ import annotations

import platform
import sys
import time
from importlib import metadata

import numpy as np


def _version(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "missing"


def frame_problem(rgb: np.ndarray) -> str | None:
    """Why a frame looks broken (black, blank or uniform), or None if it looks like a picture."""
    if rgb.max() < 8:
        return "the frame is black"
    if float(rgb.std()) < 2.0:
        return f"the frame is uniform (one color, std {rgb.std():.2f})"
    return None


def run_checks(renderers: tuple[str, ...] = ("software", "gl")) -> list[tuple[str, str, str]]:
    from .env import Env

    out: list[tuple[str, str, str]] = []
    out.append(("python", "OK", f"{platform.python_version()} on {platform.platform()}"))
    for pkg in ("panda3d", "pyzmq", "numpy", "gymnasium", "pettingzoo"):
        v = _version(pkg)
        out.append((pkg, "OK" if v != "missing" else "FAIL", v))
    out.append(_decoder_row())
    for renderer in renderers:
        name = f"engine ({renderer})"
        try:
            t0 = time.perf_counter()
            env = Env("key_door", renderer=renderer, modalities=("rgb", "depth", "segmentation"))
        except Exception as e:
            level = "FAIL" if renderer == "software" else "WARN"
            out.append((name, level, f"did not start: {str(e).splitlines()[0]}"))
            continue
        try:
            with env:
                _check_env(env, renderer, name, t0, out)
        except Exception as e:  # a renderer that starts but fails to draw is a row, not a crash
            level = "FAIL" if renderer == "software" else "WARN"
            out.append((f"{renderer}: frames", level, f"failed: {' '.join(str(e).split())[:200]}"))
    return out


def _decoder_row() -> tuple[str, str, str]:
    """Which depth/seg decoder this machine has: loading it here also compiles it into numba's
    cache, so the engines that follow load it in about a second (docs/rendering.md)."""
    from .bridges.panda3d.decode import describe
    from .errors import EngineError

    t0 = time.perf_counter()
    try:
        said = describe()
    except EngineError as e:
        return ("depth/seg decoder", "FAIL", str(e))
    took = f"; ready in {time.perf_counter() - t0:.1f} s"
    if said.startswith("compiled") or "EMBODIED_DECODE=numpy" in said:
        return ("depth/seg decoder", "OK", said + took)
    return ("depth/seg decoder", "WARN", said + " (depth and segmentation 4-6x slower)")


def _check_env(env, renderer: str, name: str, t0: float, out: list[tuple[str, str, str]]) -> None:
    hello = env.engine.hello()
    out.append(
        (
            name,
            "OK",
            f"started in {time.perf_counter() - t0:.2f} s; {hello.get('renderer')} "
            f"({hello.get('driver', '?')}), protocol {hello.get('protocol')}",
        )
    )
    a, _ = env.reset()
    b, *_ = env.step("RotateLeft")
    c, *_ = env.step("RotateRight")
    problems = [p for p in (frame_problem(a["rgb"]), frame_problem(b["rgb"])) if p]
    if problems:
        out.append((f"{renderer}: frames", "FAIL", problems[0] + "; try --renderer software"))
    elif np.array_equal(a["rgb"], b["rgb"]):
        out.append((f"{renderer}: frames", "FAIL", "two different poses gave the same frame (stale frames)"))
    elif not np.array_equal(a["rgb"], c["rgb"]):
        out.append((f"{renderer}: frames", "WARN", "the same pose gave different pixels (not deterministic)"))
    else:
        out.append(
            (
                f"{renderer}: frames",
                "OK",
                "not black, change with the pose, identical for the same pose",
            )
        )
    drawn = a["segmentation"] > 0
    aligned = bool(np.all(np.isfinite(a["depth"][drawn])) and np.all(np.isinf(a["depth"][~drawn])))
    out.append(
        (
            f"{renderer}: depth/seg",
            "OK" if aligned else "FAIL",
            "aligned with rgb" if aligned else "depth and segmentation disagree about what is drawn",
        )
    )
    rtt = min(env.engine.ping() for _ in range(20))
    out.append((f"{renderer}: round trip", "OK", f"{rtt * 1e6:.0f} µs ping"))


def main() -> int:
    from rich.console import Console
    from rich.table import Table

    rows = run_checks()
    table = Table(title="embodied doctor")
    for col in ("check", "status", "detail"):
        table.add_column(col)
    style = {"OK": "green", "WARN": "yellow", "FAIL": "red"}
    for check, status, detail in rows:
        table.add_row(check, f"[{style[status]}]{status}[/]", detail)
    Console().print(table)
    return 1 if any(s == "FAIL" for _, s, _ in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
