"""render every object type in every state, and each scene's start view, on one contact sheet

Renders every object type in each of its states (from ``models.yaml``: open, locked, on,
pressed ...) at 224² from the distance an agent interacts from, plus the start view of
every shipped scene, with the embedded Panda3D renderer in this process. Writes one PNG per
view and ``contact_sheet.png`` with labels. Deterministic.
"""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path

VIEW_DISTANCE = 0.9  # meters (horizontal) from the object's front, where an agent interacts
EYE = 1.5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="directory for the PNGs (created)")
    parser.add_argument("--size", type=int, default=224, help="pixels per side (default 224)")
    parser.add_argument("--types", nargs="*", help="only these object types (default: all)")
    parser.add_argument("--no-rooms", action="store_true", help="skip the shipped scenes' views")
    parser.add_argument("--seed", type=int, default=None, help="appearance randomisation seed (default: off)")


def _states(model) -> list[str]:
    names: list[str] = []
    for p in model.parts if model else ():
        for when in (p.move.when if p.move else None, p.color_if[0] if p.color_if else None, p.show_if):
            if when and when.lstrip("!") not in names and when.lstrip("!") != "lockable":
                names.append(when.lstrip("!"))
    return names


def object_views(size: int, types: list[str] | None = None) -> list[tuple[str, list, dict]]:
    """(label, nodes, camera) for every type and state: the object in a corner of plain room."""
    from ..bridges.panda3d.models import load_models
    from ..objtypes import TYPES
    from ..scene_graph import color

    models = load_models()
    out = []
    for name, t in TYPES.items():
        if types and name not in types:
            continue
        sy, sz = t.size[1:]
        mounted = t.mount == "wall"
        z = t.height if mounted else sz / 2
        y = 1.0 - sy / 2 - 0.06 if mounted else 0.0
        room = _room(1.0)
        base = {"id": name, "seg": 10, "kind": name, "shape": t.shape, "size": list(t.size),
                "pos": [0.0, y, z], "hpr": [0.0, 0.0, 0.0], "color": list(color(None, t.color)),
                "model": name if name in models else ""}  # fmt: skip
        if name in ("note", "screen"):
            base["text"] = "The code is 4172"
            base["text_color"] = list(color(None, t.text_color))
        if name == "keypad":
            base["text"] = "CODE 41__"
            base["text_color"] = list(color(None, t.text_color))
        lockable = name in ("chest", "safe", "box", "keypad", "cabinet", "drawer", "fridge")
        states = _states(models.get(name))
        variants = [("", {"locked": lockable, "lockable": lockable})]
        for st in states:
            if st == "locked":
                if lockable:
                    variants.append(("unlocked", {"locked": False, "lockable": True}))
                continue
            variants.append((st, {st: True, "locked": False, "lockable": lockable}))
        dist = (0.55 if t.mount == "loose" else VIEW_DISTANCE) + sy / 2
        for label, state in variants:
            node = dict(base, state=state)
            if t.mount == "loose":
                node["pos"] = [0.0, 0.0, sz / 2]
            target = node["pos"]
            cam_pos = [target[0] + dist * 0.3, target[1] - dist, EYE]
            cam = {"agent": "a0", "pos": cam_pos, "hpr": look_at(cam_pos, target), "fov": 90,
                   "width": size, "height": size}  # fmt: skip
            out.append((f"{name} {label}".strip(), [*room, node], cam))
        if t.mount == "loose":  # small things: also as seen on a table, or up close
            node = dict(base, state=variants[0][1], pos=[0.0, 0.0, sz / 2])
            cam_pos = [0.15, -0.45, 0.45]
            cam = {"agent": "a0", "pos": cam_pos, "hpr": look_at(cam_pos, node["pos"]), "fov": 90,
                   "width": size, "height": size}  # fmt: skip
            out.append((f"{name} (close)", [*room, node], cam))
    return out


def look_at(eye, target) -> list[float]:
    """Panda3D hpr (degrees) of a camera at ``eye`` looking at ``target``."""
    dx, dy, dz = (target[i] - eye[i] for i in range(3))
    return [math.degrees(math.atan2(-dx, dy)), math.degrees(math.atan2(dz, math.hypot(dx, dy))), 0.0]


def _room(back: float) -> list[dict]:
    s = 1
    return [
        {"id": "floor", "seg": s, "kind": "floor", "shape": "box", "size": [6, 6, 0.1], "pos": [0, -2, -0.05],
         "color": [0.45, 0.36, 0.28], "material": "planks"},
        {"id": "wall", "seg": s, "kind": "wall", "shape": "box", "size": [6, 0.1, 2.6], "pos": [0, back + 0.05, 1.3],
         "color": [0.78, 0.74, 0.66], "material": "plaster"},
        {"id": "wall2", "seg": s, "kind": "wall", "shape": "box", "size": [0.1, 6, 2.6], "pos": [-1.6, -2, 1.3],
         "color": [0.78, 0.74, 0.66], "material": "plaster"},
        {"id": "ceiling", "seg": s, "kind": "ceiling", "shape": "box", "size": [6, 6, 0.1], "pos": [0, -2, 2.65],
         "color": [0.9, 0.9, 0.88], "material": "plaster"},  # a view up past the walls sees a ceiling, not the sky
    ]  # fmt: skip


def room_views(size: int, seed: int | None) -> list[tuple[str, list, dict]]:
    """(label, nodes, camera) of every shipped scene from each agent's start pose."""
    from ..nav import NavConfig
    from ..scene_graph import SceneGraph
    from ..spec import load_spec, shipped_scenes
    from ..world import World

    out = []
    for name in shipped_scenes():
        world = World(load_spec(name))
        nodes = SceneGraph(world, appearance_seed=seed).build_nodes()
        aid = world.agent_ids[0]
        a = world.agent(aid)
        cam = {"agent": "a0", "pos": [a["x"], a["y"], NavConfig().eye_height], "hpr": [a["yaw"], -8.0, 0.0],
               "fov": 90, "width": size, "height": size}  # fmt: skip
        out.append((f"room {name}", nodes, cam))
    return out


def file_name(label: str) -> str:
    """A view's file name from its label: lowercase, only ``[a-z0-9_-]`` ("key (close)" -> "key_close")."""
    return re.sub(r"[^a-z0-9_-]+", "_", label.lower()).strip("_") or "view"


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one bitmap size
        return ImageFont.load_default()


def contact_sheet(tiles: list[tuple[str, object]], cols: int = 8):
    """One image of labelled tiles (label under each picture), as many columns as tiles up to
    ``cols`` (no empty band beside a short row); a label wider than its tile is drawn smaller."""
    from PIL import Image, ImageDraw

    w, h = tiles[0][1].size
    label_h = 22
    cols = max(1, min(cols, len(tiles)))
    rows = math.ceil(len(tiles) / cols)
    sheet = Image.new("RGB", (cols * w, rows * (h + label_h)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for i, (label, img) in enumerate(tiles):
        x, y = (i % cols) * w, (i // cols) * (h + label_h)
        sheet.paste(img, (x, y))
        size = 15
        font = _font(size)
        while size > 8 and draw.textlength(label, font=font) > w - 4:
            size -= 1
            font = _font(size)
        draw.text((x + w / 2, y + h + label_h / 2), label, fill=(0, 0, 0), font=font, anchor="mm")
    return sheet


def render_gallery(
    out: Path, size: int = 224, types=None, rooms: bool = True, seed: int | None = None
) -> list[Path]:
    """Render every view into ``out``; returns the written paths (the contact sheet last)."""
    from PIL import Image

    from ..bridges.panda3d.renderer import Renderer

    out.mkdir(parents=True, exist_ok=True)
    views = object_views(size, types) + (room_views(size, seed) if rooms else [])
    r = Renderer("software")
    tiles, paths = [], []
    try:
        for label, nodes, cam in views:
            r.load_scene(nodes, label, background=(0.62, 0.76, 0.92))
            r.set_cameras([cam])
            img = Image.fromarray(r.render(["a0"], ("rgb",))["a0"]["rgb"])
            path = out / (file_name(label) + ".png")
            img.save(path)
            paths.append(path)
            tiles.append((label, img))
    finally:
        r.close()
    sheet = out / "contact_sheet.png"
    contact_sheet(tiles).save(sheet)
    return [*paths, sheet]


def main(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..objtypes import TYPES

    unknown = [t for t in args.types or [] if t not in TYPES]
    if unknown:
        raise ConfigError(f"unknown type {unknown[0]!r}; known: {', '.join(sorted(TYPES))}")
    if not 16 <= args.size <= 2048:
        raise ConfigError(f"--size {args.size} is out of range; use 16..2048")
    out = Path(args.out)
    clash = next((p for p in (out, *out.parents) if p.exists() and not p.is_dir()), None)
    if clash == out:
        raise ConfigError(f"--out {args.out} is a file; give a directory (it is made if missing)")
    if clash is not None:
        raise ConfigError(
            f"--out {args.out}: {clash} is a file, not a directory; give a path under a directory"
        )
    try:
        paths = render_gallery(out, args.size, args.types, not args.no_rooms, args.seed)
    except OSError as e:
        raise ConfigError(f"cannot write to {args.out!r}: {e.strerror}") from e
    print(f"wrote {len(paths) - 1} views and {paths[-1]}")
    return 0
