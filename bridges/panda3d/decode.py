"""Segmentation and exact z-depth from the id pass's frame (docs/rendering.md).

The id pass draws every polygon flat in the colour of its face id; this module turns that frame
(uint32 per pixel, rows bottom-up as tinydisplay copies them to RAM) into

  * ``seg``   int32 (H, W): ``face_seg[id]``, the node's seg value (0 for void);
  * ``depth`` float32 (H, W): ``1 / (a x + (c z + b))`` with the face's (a, b, c) from its
    camera-space plane (:func:`face_table`) and the pixel centre's ray (x, z) at view-axis
    distance 1; ``inf`` for void.
    Pixels whose value is not positive (NaN: a face seen exactly edge-on; <= 0: a pixel
    centre just past a grazing face's horizon, lines 1 pixel wide) take the smallest depth
    of their 8 neighbours, in up to 3 passes (still ``inf`` where none is finite).

Two implementations give identical arrays (tests/bridges/test_decode.py): a compiled
one-pass decoder (numba, ``pip install 'embodied[fast]'``; imported on the first depth or
seg frame, never at engine start; machine code cached beside this file or in numba's cache
directory) and numpy (about 4x slower at 224², 6x at 640x480). ``EMBODIED_DECODE=numpy``
forces numpy; ``EMBODIED_DECODE=numba`` makes a missing numba an error.

The first depth/seg frame starts loading (or, with no cache, compiling) the compiled decoder on
a thread of its own and waits for it at most ``EMBODIED_DECODE_WAIT`` s (default 5); frames
that come before it is ready are decoded by numpy (the same arrays), so a slow compile (tens
of seconds on a loaded machine with no cache) never holds a request past its timeout.
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
import threading
import time

import numpy as np

from embodied.errors import EngineError

_KERNEL: list = []  # [compiled decoder or None] once decided; frames use it from then on
_LOADER: list = []  # [thread loading the compiled decoder, when it started]
_FAILED: list = []  # [why the compiled decoder did not load] (EMBODIED_DECODE=numba: an error)
_LOCK = threading.Lock()
_STATS = {"numpy_frames": 0}  # frames numpy decoded while the compiled decoder was loading
MODES = ("auto", "numba", "numpy")  # $EMBODIED_DECODE's values (the CLI checks it before a command runs)
WAIT = 5.0  # s the first frames wait for the compiled decoder ($EMBODIED_DECODE_WAIT)
_NO_PLANES = np.zeros((1, 4))
_IDENTITY = np.eye(4)
POOL = 6  # output arrays remembered per target (see recycled)
# Frames this many pixels wide or wider, with depth, are decoded run by run by the compiled decoder
# (its runs' fills vectorised: at 640x480 ~0.75 of the per-pixel loop's time, at 224x224 ~0.95; at
# 84x84, whose runs are short, 1.1-1.2, so narrower frames keep the per-pixel loop; docs/rendering.md)
RUNS_FROM = 160
_NO_SEG, _NO_DEPTH = np.zeros((0, 0), np.int32), np.zeros((0, 0), np.float32)


def _refcount_in_a_list_alone() -> int:
    """What ``sys.getrefcount`` says of an array only a list holds: 2 up to Python 3.13, but
    later versions may skip counting the call's own argument, so it is measured, not assumed."""
    held = [np.empty(0)]
    return sys.getrefcount(held[0])


_ALONE = _refcount_in_a_list_alone()


def _mode() -> str:
    mode = os.environ.get("EMBODIED_DECODE", "auto").strip().lower() or "auto"
    if mode not in MODES:
        raise EngineError(f"EMBODIED_DECODE={mode!r}: expected 'auto', 'numba' or 'numpy'")
    return mode


def wait_setting() -> float:
    """``$EMBODIED_DECODE_WAIT``: seconds the first depth/seg frames wait for the compiled
    decoder before numpy decodes them (default :data:`WAIT`; the CLI checks it before a command runs)."""
    raw = os.environ.get("EMBODIED_DECODE_WAIT", "").strip()
    if not raw:
        return WAIT
    try:
        wait = float(raw)
    except ValueError:
        wait = math.nan
    if not 0 <= wait < math.inf:
        raise EngineError(f"EMBODIED_DECODE_WAIT={raw!r}: expected seconds >= 0 (e.g. 5, or 0: never wait)")
    return wait


def kernel(args: tuple | None = None, wait: float = math.inf):
    """The compiled decoder, or None: numba missing, ``EMBODIED_DECODE=numpy``, or still loading
    after ``wait`` s (then numpy decodes the frame; the compiled decoder takes over once ready).
    The first call starts loading it on a thread of its own, compiled for ``args``' types (a
    decode call's arguments; None: those of the software renderer's frames)."""
    if _KERNEL:
        return _KERNEL[0]
    mode = _mode()
    with _LOCK:
        if _FAILED and mode == "numba":
            raise EngineError(
                f"EMBODIED_DECODE=numba but the compiled decoder failed to load ({_FAILED[0]}); "
                "pip install 'embodied[fast]' or unset EMBODIED_DECODE"
            )
        if _KERNEL:
            return _KERNEL[0]
        if mode == "numpy":
            _KERNEL.append(None)
            return None
        if importlib.util.find_spec("numba") is None:
            if mode == "numba":
                raise EngineError(
                    "EMBODIED_DECODE=numba but numba is not installed; "
                    "pip install 'embodied[fast]' or unset EMBODIED_DECODE"
                )
            _KERNEL.append(None)
            return None
        if not _LOADER or not _LOADER[0].is_alive():
            spec = _spec(args)
            job = threading.Thread(target=_load, args=(spec,), name="embodied-decoder", daemon=True)
            _LOADER[:] = [job, time.monotonic()]
            job.start()
        job, started = _LOADER
    job.join(None if wait == math.inf else max(0.0, started + wait - time.monotonic()))
    if _KERNEL or _FAILED:
        return kernel()
    _STATS["numpy_frames"] += 1
    return None


def _layout(a: np.ndarray) -> str:
    return "C" if a.flags.c_contiguous else "F" if a.flags.f_contiguous else "A"


def _spec(args: tuple | None) -> tuple:
    """What numba needs of ``args`` to compile for them, without holding the arrays (they may
    be views of the engine's shared-memory ring): (dtype, ndim, layout, read-only) per array."""
    if args is None:  # the software renderer's frame: read-only uint32 rows; float64 planes
        i4, f4, f8 = np.dtype(np.int32), np.dtype(np.float32), np.dtype(np.float64)
        arrays = [(np.dtype(np.uint32), 1, "C", True), 1, 1, 1, (i4, 1, "C", False), (f8, 2, "C", False)]
        arrays += [(f8, 2, "C", False), (f4, 1, "C", False), (f4, 1, "C", False), (i4, 2, "C", False)]
        return (*arrays, (f4, 2, "C", False), True, True, 1)
    return tuple(
        (a.dtype, a.ndim, _layout(a), not a.flags.writeable) if isinstance(a, np.ndarray) else a for a in args
    )


def _dummy(spec) -> object:
    """A small array numba types exactly as an array of ``spec`` (or the scalar itself)."""
    if not isinstance(spec, tuple):
        return spec
    dtype, ndim, layout, readonly = spec
    a = np.zeros((4,) * ndim, dtype)
    if layout == "F" and ndim > 1:
        a = np.asfortranarray(a[(slice(0, 2),) * ndim])
    elif layout == "A":
        a = a[(slice(None, None, 2),) * ndim]
    a.flags.writeable = not readonly
    return a


def _load(spec: tuple) -> None:
    """Import the compiled decoder and compile it for ``spec`` (numba loads it from its cache
    when it can); on this thread, so the frames meanwhile are numpy's."""
    started = time.monotonic()
    fn: object = None
    try:
        import numba
        from embodied.bridges.panda3d._decode_numba import decode as fn

        fn.compile(tuple(numba.typeof(_dummy(x)) for x in spec))
    except Exception as exc:  # (an ImportError, or numba failing to compile: numpy stays)
        print(
            f"embodied: the compiled depth/seg decoder failed to load ({exc}); numpy decodes", file=sys.stderr
        )
        with _LOCK:
            _FAILED[:] = [exc]
            _KERNEL[:] = [] if _mode_or_auto() == "numba" else [None]
        return
    with _LOCK:
        _KERNEL[:] = [fn]
    if _STATS["numpy_frames"]:
        print(
            f"embodied: compiled depth/seg decoder ready after {time.monotonic() - started:.1f} s; "
            f"numpy decoded the {_STATS['numpy_frames']} frames before it (the same arrays; docs/rendering.md)",
            file=sys.stderr,
            flush=True,
        )


def _mode_or_auto() -> str:
    try:
        return _mode()
    except EngineError:
        return "auto"


def describe() -> str:
    """Which decoder depth and seg use here, for benchmark headers."""
    fn = kernel()
    if fn is not None:
        import numba

        return f"compiled (numba {numba.__version__})"
    if _FAILED:
        return f"numpy (the compiled decoder failed to load: {_FAILED[0]})"
    if os.environ.get("EMBODIED_DECODE", "").strip().lower() == "numpy":
        return "numpy (EMBODIED_DECODE=numpy)"
    return "numpy (numba not installed: pip install 'embodied[fast]' for the compiled decoder)"


def decode(
    buf: np.ndarray,
    h: int,
    w: int,
    n: int,
    face_seg: np.ndarray,
    pc: np.ndarray | None,
    xs: np.ndarray,
    zs: np.ndarray,
    want_seg: bool,
    want_depth: bool,
    pool: list | None = None,
    eye: np.ndarray | None = None,
    into: dict | None = None,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(seg, depth) of an id frame ``buf`` (h * w uint32, rows bottom-up), each None unless
    wanted. ``n``: face ids in use (larger values are never drawn; they are clamped so a corrupt
    frame cannot index past the tables); ``face_seg``: int32 per face; ``pc``: float64 (n, 4)
    face planes, needed for depth: in camera space (x right, y forward, z up), or with ``eye``
    (float64 (4, 4)) in a frame that ``eye`` maps to camera space (:func:`camera_planes`; the
    compiled decoder moves only the faces the frame shows); ``xs`` (w,), ``zs`` (h,): float32
    rays, ``zs[0]`` the top row. ``pool``: a list kept per target, from which the compiled
    decoder takes output arrays nobody holds any more (:func:`recycled`). ``into``: ``{"seg": int32
    (h, w), "depth": float32 (h, w)}`` (either or both) the compiled decoder writes into instead
    (the engine's shared-memory ring slot: no array of its own, no copy after); the numpy decoder
    returns arrays of its own (the caller copies them)."""
    eye = _IDENTITY if eye is None else eye
    if _KERNEL:
        fn = _KERNEL[0]
    else:  # the first frames: the compiled decoder is loaded (or compiled) meanwhile
        planes = pc if want_depth else _NO_PLANES
        fn = kernel(
            (buf, h, w, n, face_seg, planes, eye, xs, zs, _NO_SEG, _NO_DEPTH, True, True, RUNS_FROM),
            wait_setting(),
        )
    if fn is None:
        tab = face_table(camera_planes(pc, eye)) if want_depth else None
        return _decode_numpy(buf, h, w, n, face_seg, tab, xs, zs, want_seg, want_depth)
    pool = [] if pool is None else pool
    into = into or {}
    seg = depth = None
    if want_seg:
        seg = into.get("seg")
        if seg is None:
            seg = recycled(pool, (h, w), np.int32)
    if want_depth:
        depth = into.get("depth")
        if depth is None:
            depth = recycled(pool, (h, w), np.float32)
    seg = _NO_SEG if seg is None else seg
    depth = _NO_DEPTH if depth is None else depth
    planes = pc if want_depth else _NO_PLANES
    fn(buf, h, w, n, face_seg, planes, eye, xs, zs, seg, depth, want_seg, want_depth, RUNS_FROM)
    return (seg if want_seg else None), (depth if want_depth else None)


def camera_planes(planes: np.ndarray, eye: np.ndarray) -> np.ndarray:
    """``planes @ eye.T`` (float64 (n, 4)), summed left to right with every product rounded (no
    fused multiply-add), as the compiled decoder does it face by face: the same bits either way."""
    out = np.empty_like(planes)
    tmp = np.empty(len(planes))
    for j in range(4):
        col = out[:, j]
        np.multiply(planes[:, 0], eye[j, 0], out=col)
        for k in (1, 2, 3):
            np.multiply(planes[:, k], eye[j, k], out=tmp)
            col += tmp
    return out


def recycled(pool: list, shape: tuple, dtype) -> np.ndarray:
    """An array of ``shape`` and ``dtype`` from ``pool`` that nothing but the pool references
    any more (the caller dropped the frame it was, and no view, memoryview or zero-copy send
    holds it), else a new one, remembered in the pool (the oldest of more than POOL is
    forgotten, not touched). A frame a caller still holds is never written again. Why: a new
    2.4 MB of depth + seg per 640x480 frame came from fresh pages each time (glibc gives large
    freed blocks back to the system), ~280 page faults a frame."""
    for i in range(len(pool)):
        if sys.getrefcount(pool[i]) == _ALONE and pool[i].dtype == dtype and pool[i].shape == shape:
            arr = pool.pop(i)  # (in use now: to the end, the oldest stays first)
            pool.append(arr)
            return arr
    arr = np.empty(shape, dtype)
    pool.append(arr)
    if len(pool) > POOL:
        del pool[0]
    return arr


def face_table(pc: np.ndarray) -> np.ndarray:
    """Per face (a, b, c) of 1/depth = a x + b + c z, float32, from camera-space planes ``pc``
    (a face seen edge-on: its plane passes through the eye: NaN for its whole row; row 0, the
    void, is 0)."""
    tab = np.empty((len(pc), 3), np.float32)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        np.divide(pc[:, :3], pc[:, 3:4], out=tab, casting="same_kind")  # through the eye: inf/NaN
        np.negative(tab, out=tab)
        tab[0] = 0.0  # void (its plane is 0: NaN above)
        total = float(tab.sum())  # NaN or inf if any entry is (or, harmlessly, if the sum overflows)
    if total != total or abs(total) == math.inf:
        tab[~np.isfinite(tab).all(axis=1)] = np.nan
    return tab


def fill_from_neighbours(depth: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """Each hole gets the nearest finite depth among its 8 neighbours (a few passes)."""
    for _ in range(3):
        pad = np.pad(depth, 1, constant_values=np.inf)
        h, w = depth.shape
        near = np.min(
            [pad[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0
        )
        depth = np.where(holes, near, depth)
        holes = holes & np.isinf(depth)
        if not holes.any():
            break
    return depth


def _decode_numpy(buf, h, w, n, face_seg, tab, xs, zs, want_seg, want_depth):
    """Run by run: a row is a few runs of one face each, so the per-face tables are read once
    per run and spread with ``np.repeat``. Few numpy calls: each costs about a microsecond."""
    fid = np.ascontiguousarray(buf.reshape(h, w)[::-1]).reshape(-1)  # row 0 = top
    change = np.empty(fid.shape, bool)
    np.not_equal(fid[1:], fid[:-1], out=change[1:])
    change[::w] = True  # runs end with their row
    starts = np.flatnonzero(change)
    lengths = np.empty_like(starts)
    np.subtract(starts[1:], starts[:-1], out=lengths[:-1])
    lengths[-1] = fid.size - starts[-1]
    ids = fid.take(starts)
    if ids.max() >= n:
        np.minimum(ids, np.uint32(n - 1), out=ids)
    seg = face_seg.take(ids).repeat(lengths).reshape(h, w) if want_seg else None
    if not want_depth:
        return seg, None
    tab = tab.take(ids, axis=0)
    row = starts // w
    a, k = tab[:, 0], tab[:, 2] * zs.take(row)
    k += tab[:, 1]
    inv = a.repeat(lengths).reshape(h, w)
    inv *= xs
    inv += k.repeat(lengths).reshape(h, w)
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = np.reciprocal(inv, out=inv)  # void (a = b = c = 0): inf
    if not depth.min() > 0:
        holes = ~(depth > 0)
        depth[holes] = np.inf
        depth = fill_from_neighbours(depth, holes)
    return seg, depth
