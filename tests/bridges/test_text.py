"""Text on notes and keypads: fits its face, is deterministic, and changing it leaks nothing."""

import numpy as np
from embodied.bridges.panda3d.renderer import Renderer
from embodied.bridges.panda3d.text import text_image


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def test_text_image_fits_and_is_deterministic():
    a = np.asarray(text_image("The exit code is 4172", 0.6, 0.45, (1, 1, 0.9), (0, 0, 0)))
    b = np.asarray(text_image("The exit code is 4172", 0.6, 0.45, (1, 1, 0.9), (0, 0, 0)))
    assert np.array_equal(a, b)
    ink = a.mean(axis=2) < 100
    assert 0.03 < ink.mean() < 0.4
    rows, cols = np.where(ink)
    h, w = ink.shape
    assert (
        rows.min() > 0 and cols.min() > 0 and rows.max() < h - 1 and cols.max() < w - 1
    )  # inside the margins
    long = np.asarray(text_image("word " * 80, 0.6, 0.45, (1, 1, 1), (0, 0, 0)))
    assert (long.mean(axis=2) < 100).any()


def test_changing_text_does_not_leak():
    r = Renderer("software")
    r.load_scene(
        [
            {
                "id": "pad",
                "seg": 1,
                "kind": "keypad",
                "shape": "box",
                "size": [0.36, 0.06, 0.3],
                "pos": [0, 1, 1.5],
                "color": [0.2, 0.2, 0.2],
                "text": "x",
                "text_color": [0, 1, 0],
            }
        ]
    )
    r.set_cameras(
        [{"agent": "a0", "pos": [0, 0, 1.5], "hpr": [0, 0, 0], "fov": 90, "width": 224, "height": 224}]
    )
    for i in range(100):
        r.update([{"id": "pad", "text": f"warm {i}"}])
        r.render(["a0"], ("rgb",))
    before = rss_kb()
    for i in range(600):
        r.update([{"id": "pad", "text": f"{i:04d} WRONG"}])
        r.render(["a0"], ("rgb",))
    grown = rss_kb() - before
    r.close()
    assert grown < 15_000, f"{grown} kB for 600 texts"  # it was ~90 MB before textures were released
