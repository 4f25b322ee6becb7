"""Acceptance of a generated or imported scene: the oracle replays it in the engine, and pictures are saved.

``accept(spec, engine, out_dir)`` runs the oracle (every agent of the scene) through the ordinary
env API in a real engine; the scene is accepted only if the goal is reached within the step
budget. Beside ``<name>.json`` it writes ``<name>.map.png`` (a top-down map drawn from the
layout: rooms, doors with their locks, objects by type, agents) and ``<name>.thumb.png`` (the
first agent's first-person view at reset, rendered by the engine). A failure carries the reason
(the env's last error message, the step budget, or the engine error).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from ..layout import build_layout
from ..spec import OUTSIDE, Spec

PX = 48  # pixels per meter on the map
TYPE_COLOR = {
    "key": (230, 180, 20),
    "note": (245, 240, 215),
    "book": (60, 160, 80),
    "keypad": (60, 60, 70),
    "screen": (20, 20, 20),
}


@dataclass
class Acceptance:
    ok: bool
    reason: str = ""
    steps: int = 0
    plan: int = 0
    files: dict[str, str] = field(default_factory=dict)


def write_spec(spec: Spec, path: Path) -> None:
    """The spec as JSON, byte-identical for identical specs (indent 1, fixed key order)."""
    path.write_text(json.dumps(spec.to_json(), indent=1, ensure_ascii=False) + "\n")


def replay(spec: Spec, engine: Any, size: int = 160, thumb: Path | None = None) -> tuple[bool, str, int]:
    """Oracle episode in ``engine`` (an EngineClient): (success, reason if not, steps)."""
    from ..agents import make_agent
    from ..env import Env
    from ..record import run_episode

    env = Env(spec, engine=engine, width=size, height=size)
    try:
        if thumb is not None:
            env.reset()
            Image.fromarray(aimed_view(env)).save(thumb)
        agents = {aid: make_agent("oracle") for aid in env.world.agent_ids}
        m = run_episode(env, agents)
        if m.success:
            return True, "", m.steps
        why = "the step budget ran out" if m.steps >= env.max_steps else "the oracle stopped"
        last = (env.last_obs or {}).get(env.agent_id, {}).get("text", "")
        return (
            False,
            f"oracle did not reach the goal in the engine: {why} after {m.steps} steps {last}".strip(),
            m.steps,
        )
    finally:
        env.close()


def aim_target(world: Any, aid: str) -> tuple[str | None, float, float]:
    """What a first-person thumbnail of ``aid`` should look at: the most telling thing in its room
    (a locked container or door, then a keypad, a note, a door on, any object), else the room's
    centre: (thing or None, x, y)."""
    room = world.agent(aid)["room"]
    rank = []
    for oid, o in world.objs.items():
        if world.state["objects"][oid]["loc"] != ["room", room]:
            continue
        rank.append((0 if o.lock is not None else 1 if o.type == "keypad" else 2 if o.text else 3, oid))
    for did, g in world.layout.doors.items():
        if room in g.rooms:  # a locked door is the puzzle; an open one shows the way on
            rank.append((0.5 if world.door_specs[did].lock is not None else 2.5, did))
    if rank:
        t = min(rank)[1]
        x, y, _z = world.position(t)
        return t, x, y
    r = world.layout.rooms[room]
    return None, (r.x0 + r.x1) / 2, (r.y0 + r.y1) / 2


def aim_yaw(world: Any, aid: str) -> float:
    """The yaw (degrees) that faces :func:`aim_target` from where ``aid`` stands."""
    import math

    a = world.agent(aid)
    _t, tx, ty = aim_target(world, aid)
    if math.hypot(tx - a["x"], ty - a["y"]) < 0.05:  # standing on it: keep the yaw
        return a["yaw"]
    return math.degrees(math.atan2(-(tx - a["x"]), ty - a["y"])) % 360


AIM_HORIZON = 15.0  # a little down: floor things and wall things both show


def aimed_view(env: Any) -> Any:
    """The first agent's view at reset, turned toward :func:`aim_target` (a blank wall tells
    nothing); the env is left in its reset state."""
    start = env.get_state()
    aimed = json.loads(json.dumps(start))
    a = aimed["world"]["agents"][env.agent_id]
    a["yaw"], a["horizon"] = aim_yaw(env.world, env.agent_id), AIM_HORIZON
    obs, _ = env.set_state(aimed)
    env.set_state(start)
    return obs["rgb"]


def accept(spec: Spec, engine: Any, out_dir: Path | None = None, size: int = 160) -> Acceptance:
    """Replay ``spec`` in ``engine``; save spec, map and thumbnail into ``out_dir`` if accepted."""
    files: dict[str, str] = {}
    thumb = None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        thumb = out_dir / f"{spec.name}.thumb.png"
    try:
        ok, reason, steps = replay(spec, engine, size, thumb)
    except Exception as e:  # an engine error must not take the whole batch down; report it
        ok, reason, steps = False, f"engine replay failed: {type(e).__name__}: {e}", 0
    if out_dir is not None:
        if ok:
            write_spec(spec, out_dir / f"{spec.name}.json")
            draw_map(spec).save(out_dir / f"{spec.name}.map.png")
            files = {k: str(out_dir / f"{spec.name}.{k}") for k in ("json", "map.png", "thumb.png")}
        elif thumb is not None and thumb.exists():
            thumb.unlink()
    return Acceptance(ok, reason, steps, files=files)


def _place_label(
    d: Any, anchor: tuple[int, int], text: str, col: tuple, font: Any, taken: list, size
) -> None:
    """Draw ``text`` next to ``anchor`` where it covers no marker and no other label (right, left,
    below, above, then further out; else where it covers least), and remember its box."""
    x0, y0, x1, y1 = d.textbbox((0, 0), text, font=font)
    tw, th = x1 - x0, y1 - y0
    cx, cy = anchor
    spots = [(9, -th // 2 - 1), (-tw - 9, -th // 2 - 1), (-tw // 2, 9), (-tw // 2, -th - 10)]
    spots += [(dx, dy + s * k) for k in (14, 28, 42) for s in (1, -1) for dx, dy in spots[:2]]

    def overlap(b: tuple) -> int:
        return sum(
            max(0, min(b[2], t[2]) - max(b[0], t[0])) * max(0, min(b[3], t[3]) - max(b[1], t[1]))
            for t in taken
        )

    best = None
    for dx, dy in spots:
        bx, by = cx + dx, cy + dy
        box = (bx - 1, by - 1, bx + tw + 1, by + th + 2)
        if box[0] < 0 or box[1] < 0 or box[2] > size[0] or box[3] > size[1]:
            continue
        cost = overlap(box)
        if best is None or cost < best[0]:
            best = (cost, bx, by, box)
        if cost == 0:
            break
    if best is None:
        best = (0, cx + 9, cy - th // 2, (cx + 8, cy - th // 2, cx + 9 + tw, cy + th))
    _, bx, by, box = best
    d.text((bx - x0, by - y0), text, fill=col, font=font)
    taken.append(box)
    return box


def draw_map(spec: Spec) -> Image.Image:
    """A top-down map of ``spec``'s layout (north up), labelled, for people to look at."""
    lay = build_layout(spec)
    b = lay.bounds
    pad = 0.6
    w, h = int((b.x1 - b.x0 + 2 * pad + 2.5) * PX), int((b.y1 - b.y0 + 2 * pad) * PX) + 20  # room for labels

    def px(x: float, y: float) -> tuple[int, int]:
        return int((x - b.x0 + pad) * PX), int((b.y1 + pad - y) * PX)

    img = Image.new("RGB", (w, h), (235, 238, 242))
    d = ImageDraw.Draw(img)
    try:
        font = ImageFont.load_default(size=11)
    except TypeError:
        font = ImageFont.load_default()
    room_boxes: list[tuple[int, int, int, int]] = []
    for rid, r in lay.rooms.items():
        x0, y1 = px(r.x0, r.y0)
        x1, y0 = px(r.x1, r.y1)
        d.rectangle(
            [x0, y0, x1, y1], fill=(250, 248, 240) if not rid.startswith("booth") else (235, 225, 245)
        )
        d.text((x0 + 4, y0 + 3), rid, fill=(90, 90, 110), font=font)
        room_boxes.append(d.textbbox((x0 + 4, y0 + 3), rid, font=font))
    for wall in lay.walls:
        x0, y1 = px(wall.x0, wall.y0)
        x1, y0 = px(wall.x1, wall.y1)
        d.rectangle([x0, y0, x1, y1], fill=(60, 60, 70))
        room_boxes.append((x0, y0, x1, y1))  # (labels keep off walls too)
    doors = {x.id: x for x in spec.doors}
    labels: list[tuple[tuple[int, int], str, tuple[int, int, int]]] = []  # (anchor, text, colour)
    taken = list(room_boxes)  # boxes labels must not cover: room names, markers, placed labels
    for did, g in lay.doors.items():
        gap = g.gap
        x0, y1 = px(gap.x0, gap.y0)
        x1, y0 = px(gap.x1, gap.y1)
        lk = doors[did].lock
        col = (40, 170, 60) if lk is None else (200, 60, 50) if lk.kind == "key" else (50, 90, 210)
        d.rectangle([x0 - 2, y0 - 2, x1 + 2, y1 + 2], fill=col)
        taken.append((x0 - 2, y0 - 2, x1 + 2, y1 + 2))
        label = did + ("" if lk is None else f" [{lk.key}]" if lk.kind == "key" else f" [{lk.code}]")
        if OUTSIDE in g.rooms:
            label += " -> out"
        labels.append((px(*g.center), label, col))
    inside = {c: o.id for o in spec.objects for c in o.contains}
    for o in spec.objects:
        p = lay.objects.get(o.id)
        if p is None:
            continue
        cx, cy = px(p.x, p.y)
        col = TYPE_COLOR.get(o.type, (150, 110, 70))
        d.rectangle([cx - 6, cy - 6, cx + 6, cy + 6], fill=col, outline=(30, 30, 30))
        taken.append((cx - 6, cy - 6, cx + 6, cy + 6))
        held = [c for c, holder in inside.items() if holder == o.id]
        label = o.id + (f" [{o.lock.key if o.lock.kind == 'key' else o.lock.code}]" if o.lock else "")
        if held:
            label += " > " + ", ".join(held)
        labels.append(((cx, cy), label, (20, 20, 20)))
    for aid, (x, y, _yaw) in lay.agents.items():
        cx, cy = px(x, y)
        d.ellipse([cx - 7, cy - 7, cx + 7, cy + 7], fill=(40, 110, 230))
        taken.append((cx - 7, cy - 7, cx + 7, cy + 7))
        labels.append(((cx, cy), aid, (40, 110, 230)))
    img.info["labels"] = [_place_label(d, a, text, col, font, taken, (w, h - 20)) for a, text, col in labels]
    d.text(
        (6, h - 16),
        f"{spec.name}  (red: key lock, blue: code lock, green: open)",
        fill=(60, 60, 60),
        font=font,
    )
    return img
