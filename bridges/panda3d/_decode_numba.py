"""The compiled id-frame decoder (numba): one pass over the frame, the same arrays as the numpy
decoder of :mod:`.decode` (see there). Imported only when depth or seg is first asked for.

Float32 arithmetic in the same order as numpy's (``a * x`` then ``+ k``, with ``k = c * z + b``;
no fused multiply-add: fastmath is off), so depth is bit-identical."""

from __future__ import annotations

import numpy as np
from numba import njit

_JIT = {"nogil": True, "boundscheck": False, "error_model": "numpy"}


def _jit(fn):
    """Compiled with its machine code cached on disk (beside this file, or in numba's cache
    directory); where neither is writable, compiled once per process instead (~2 s)."""
    try:
        return njit(cache=True, **_JIT)(fn)
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        return njit(**_JIT)(fn)


@_jit
def _fill_holes(depth, h, w, bad, bad_rows):
    """Pixels whose depth is not > 0 (``bad`` of them, in the rows flagged in ``bad_rows``)
    take the smallest depth of their 8 neighbours and themselves, set to inf first; up to 3
    passes, each reading the previous one's depths (as the numpy decoder's
    ``fill_from_neighbours``)."""
    idx = np.empty(bad, np.int64)
    m = 0
    for y in range(h):
        if not bad_rows[y]:
            continue
        for x in range(w):
            if not depth[y, x] > 0:
                depth[y, x] = np.inf
                idx[m] = y * w + x
                m += 1
    near = np.empty(m, np.float32)
    for _ in range(3):
        for j in range(m):
            y, x = idx[j] // w, idx[j] % w
            best = np.float32(np.inf)
            for yy in range(max(y - 1, 0), min(y + 2, h)):
                for xx in range(max(x - 1, 0), min(x + 2, w)):
                    v = depth[yy, xx]
                    if v < best:
                        best = v
            near[j] = best
        left = 0
        for j in range(m):
            depth[idx[j] // w, idx[j] % w] = near[j]
            if near[j] == np.inf:
                idx[left] = idx[j]
                left += 1
        m = left
        if m == 0:
            break


@_jit
def _coefficients(planes, eye, f):
    """Face f's (a, b, c), as :func:`.decode.face_table` computes them from
    :func:`.decode.camera_planes` (the world plane moved into camera space with the same float64
    operations in the same order; quotients rounded to float32, negated; a row with a non-finite
    entry all NaN; the void face 0)."""
    if f == 0:
        zero = np.float32(0.0)
        return zero, zero, zero
    p0, p1, p2, p3 = planes[f, 0], planes[f, 1], planes[f, 2], planes[f, 3]
    d = p0 * eye[3, 0] + p1 * eye[3, 1] + p2 * eye[3, 2] + p3 * eye[3, 3]
    a = -np.float32((p0 * eye[0, 0] + p1 * eye[0, 1] + p2 * eye[0, 2] + p3 * eye[0, 3]) / d)
    b = -np.float32((p0 * eye[1, 0] + p1 * eye[1, 1] + p2 * eye[1, 2] + p3 * eye[1, 3]) / d)
    c = -np.float32((p0 * eye[2, 0] + p1 * eye[2, 1] + p2 * eye[2, 2] + p3 * eye[2, 3]) / d)
    if not (np.isfinite(a) and np.isfinite(b) and np.isfinite(c)):
        nan = np.float32(np.nan)
        return nan, nan, nan
    return a, b, c


@_jit
def _decode_runs(buf, h, w, n, face_seg, planes, eye, xs, zs, seg, depth, want_seg):
    """:func:`decode` with depth, run by run: per row, first where each run of one face id
    starts (a flag per pixel, then the flags read eight at a time), then each run's seg and depth
    filled in loops the compiler vectorises (``1 / (a x + k)`` eight or sixteen pixels an
    instruction). The same float32 operations in the same order as the per-pixel loop, so the
    same bits. Indices are unsigned: a signed one makes numba wrap negative indices, and the
    loops then compile to gathers and scatters."""
    one = np.float32(1.0)
    top = np.uint32(n - 1)
    u1 = np.uint64(1)
    uw = np.uint64(w)
    bad = 0
    tab = np.empty((n, 3), np.float32)
    known = np.zeros(n, np.uint8)
    bad_rows = np.zeros(h, np.uint8)
    starts = np.empty(w + 1, np.uint64)  # the row's runs: where each starts, and its face id
    ids = np.empty(w, np.uint32)
    nwords = (w + 7) // 8
    flags = np.zeros(nwords * 8, np.uint8)  # (the tail past w stays 0)
    words = flags.view(np.uint64)
    for y in range(h):
        src = (h - 1 - y) * w
        row = buf[src : src + w]
        z = zs[y]
        # where a run starts: one flag byte per pixel in a loop the compiler vectorises, then
        # the flags read eight at a time (most words are zero: no run starts there)
        flags[0] = 1
        for x in range(u1, uw):
            flags[x] = row[x] != row[x - u1]
        r = 0
        for k in range(nwords):
            if words[k] != 0:
                for x in range(k * 8, k * 8 + 8):
                    if flags[x]:
                        starts[r] = x
                        ids[r] = row[x]
                        r += 1
        starts[r] = uw
        if want_seg:
            srow = seg[y]
            for i in range(r):
                v = ids[i]
                s = face_seg[v if v < top else top]
                for j in range(starts[i], starts[i + 1]):
                    srow[j] = s
        drow = depth[y]
        for i in range(r):
            v = ids[i]
            f = v if v < top else top
            if not known[f]:
                tab[f, 0], tab[f, 1], tab[f, 2] = _coefficients(planes, eye, f)
                known[f] = 1
            a, b, c = tab[f, 0], tab[f, 1], tab[f, 2]
            k = c * z
            k = k + b
            for j in range(starts[i], starts[i + 1]):
                drow[j] = one / (a * xs[j] + k)
        row_bad = 0
        for x in range(w):
            row_bad += not drow[x] > 0
        if row_bad:
            bad += row_bad
            bad_rows[y] = 1
    if bad:
        _fill_holes(depth, h, w, bad, bad_rows)
    return bad


@_jit
def decode(buf, h, w, n, face_seg, planes, eye, xs, zs, seg, depth, want_seg, want_depth, runs_from):
    """Fill ``seg`` (int32 (h, w)) and/or ``depth`` (float32 (h, w)) from ``buf`` (h * w
    uint32, rows bottom-up); ``planes``: float64 (n, 4) face planes, moved into camera space by
    ``eye`` (float64 (4, 4)) for the faces the frame shows, each once. Frames ``runs_from``
    pixels wide or wider with depth are decoded run by run (:func:`_decode_runs`). Returns how
    many depth pixels needed their neighbours."""
    if want_depth and w >= runs_from:
        return _decode_runs(buf, h, w, n, face_seg, planes, eye, xs, zs, seg, depth, want_seg)
    one = np.float32(1.0)
    top = np.uint32(n - 1)
    bad = 0
    # per face: (a, b, c), computed on its first run (known[f])
    tab = np.empty((n if want_depth else 0, 3), np.float32)
    known = np.zeros(n if want_depth else 0, np.uint8)
    bad_rows = np.zeros(h if want_depth else 0, np.uint8)
    for y in range(h):
        src = (h - 1 - y) * w
        row = buf[src : src + w]  # (indexing a row view with x >= 0 skips negative-index checks)
        z = zs[y]
        prev = row[0] ^ np.uint32(1)  # differs from the first pixel: its face is looked up
        s = np.int32(0)
        a = np.float32(0.0)
        k = np.float32(0.0)
        if want_depth:
            drow = depth[y]
            if want_seg:
                srow = seg[y]
                for x in range(w):
                    v = row[x]
                    if v != prev:
                        prev = v
                        f = v if v < top else top
                        s = face_seg[f]
                        if not known[f]:
                            tab[f, 0], tab[f, 1], tab[f, 2] = _coefficients(planes, eye, f)
                            known[f] = 1
                        a, b, c = tab[f, 0], tab[f, 1], tab[f, 2]
                        k = c * z
                        k = k + b
                    srow[x] = s
                    drow[x] = a * xs[x] + k
            else:
                for x in range(w):
                    v = row[x]
                    if v != prev:
                        prev = v
                        f = v if v < top else top
                        if not known[f]:
                            tab[f, 0], tab[f, 1], tab[f, 2] = _coefficients(planes, eye, f)
                            known[f] = 1
                        a, b, c = tab[f, 0], tab[f, 1], tab[f, 2]
                        k = c * z
                        k = k + b
                    drow[x] = a * xs[x] + k
            for x in range(w):
                drow[x] = one / drow[x]
            row_bad = 0
            for x in range(w):
                row_bad += not drow[x] > 0
            if row_bad:
                bad += row_bad
                bad_rows[y] = 1
        else:
            srow = seg[y]
            for x in range(w):
                v = row[x]
                if v != prev:
                    prev = v
                    s = face_seg[v if v < top else top]
                srow[x] = s
    if bad:
        _fill_holes(depth, h, w, bad, bad_rows)
    return bad
