"""Kinematic navigation: collision, line of sight, field of view, and a pose-space planner.

Poses are ``(x, y, yaw, horizon)``: meters; yaw in degrees, 0 = facing north (+y), positive turns
left (Panda3D heading); horizon in degrees, positive looks down (AI2-THOR). The agent is a
circle of ``radius`` on the floor with its eye at ``eye_height``.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .errors import ActionError
from .layout import Rect


@dataclass(frozen=True)
class NavConfig:
    step: float = 0.25  # MoveAhead/Back/Left/Right distance, m
    rotate: float = 90.0  # RotateLeft/Right, degrees
    look: float = 30.0  # LookUp/Down, degrees
    horizon_min: float = -30.0  # looking up is negative
    horizon_max: float = 60.0
    radius: float = 0.2
    eye_height: float = 1.5
    fov: float = 90.0  # horizontal, degrees
    reach: float = 1.5  # interaction distance, m (floor distance to the object's center)
    view_distance: float = 15.0


def forward(yaw: float) -> tuple[float, float]:
    r = math.radians(yaw)
    return (-math.sin(r), math.cos(r))


def move_delta(action: str, yaw: float, step: float) -> tuple[float, float]:
    fx, fy = forward(yaw)
    # right of forward (fx, fy) is (fy, -fx)
    if action == "MoveAhead":
        return (fx * step, fy * step)
    if action == "MoveBack":
        return (-fx * step, -fy * step)
    if action == "MoveRight":
        return (fy * step, -fx * step)
    if action == "MoveLeft":
        return (-fy * step, fx * step)
    raise ActionError(f"{action!r} is not a move")


ROTATIONS = ("RotateLeft", "RotateRight", "TurnAround")
LOOKS = ("LookUp", "LookDown")
MOVES = ("MoveAhead", "MoveBack", "MoveLeft", "MoveRight")
MAX_NODES = 60_000  # poses plan_path searches by default (enough for rooms up to about 15 m a side)
_SEARCH = threading.local()  # whether this thread's last plan_path stopped at max_nodes


def search_gave_up() -> bool:
    """True when this thread's last :func:`plan_path` returned None because it searched ``max_nodes``
    poses, not because no pose reaches the goal (a large room: the goal may still be reachable)."""
    return getattr(_SEARCH, "gave_up", False)


def next_pose(action: str, pose: tuple[float, float, float, float], cfg: NavConfig) -> tuple | None:
    """The pose one navigation action leads to, before collision checks; None if the action cannot
    be done from ``pose`` (looking beyond the horizon limits). The env's rules and every planner
    use this one function, so a planned path is exactly what stepping does."""
    x, y, yaw, hz = pose
    if action in MOVES:
        dx, dy = move_delta(action, yaw, cfg.step)
        return (x + dx, y + dy, yaw, hz)
    if action in ROTATIONS:
        delta = cfg.rotate if action == "RotateLeft" else -cfg.rotate if action == "RotateRight" else 180.0
        return (x, y, (yaw + delta) % 360.0, hz)
    if action in LOOKS:
        h = hz + (cfg.look if action == "LookDown" else -cfg.look)
        return (x, y, yaw, h) if cfg.horizon_min - 1e-9 <= h <= cfg.horizon_max + 1e-9 else None
    raise ActionError(f"{action!r} is not a navigation action")


def circle_hits_rect(x: float, y: float, r: float, rect: Rect) -> bool:
    cx = min(max(x, rect.x0), rect.x1)
    cy = min(max(y, rect.y0), rect.y1)
    return (x - cx) ** 2 + (y - cy) ** 2 < r * r - 1e-9


def segment_hits_rect(x0: float, y0: float, x1: float, y1: float, rect: Rect) -> bool:
    """Liang-Barsky clip: does the open segment pass through the rectangle's interior?"""
    dx, dy = x1 - x0, y1 - y0
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, x0 - rect.x0), (dx, rect.x1 - x0), (-dy, y0 - rect.y0), (dy, rect.y1 - y0)):
        if abs(p) < 1e-12:
            if q < 0:
                return False
        else:
            t = q / p
            if p < 0:
                t0 = max(t0, t)
            else:
                t1 = min(t1, t)
            if t0 > t1:
                return False
    return t1 - t0 > 1e-6


def angle_diff(a: float, b: float) -> float:
    """a - b wrapped to [-180, 180)."""
    return (a - b + 180.0) % 360.0 - 180.0


def in_view(
    pose: tuple[float, float, float, float],
    point: tuple[float, float, float],
    cfg: NavConfig,
    aspect: float = 1.0,
    margin: float = 2.0,
) -> bool:
    """Is ``point`` inside the camera frustum of ``pose`` (ignoring occlusion)?"""
    x, y, yaw, horizon = pose
    dx, dy, dz = point[0] - x, point[1] - y, point[2] - cfg.eye_height
    dist = math.hypot(dx, dy)
    if dist < 1e-6 or dist > cfg.view_distance:
        return False
    bearing = math.degrees(math.atan2(-dx, dy))  # heading that faces the point
    rel = angle_diff(bearing, yaw)
    half_h = cfg.fov / 2
    if abs(rel) > half_h - margin:
        return False
    # vertical: angle below the horizontal, measured in the camera's vertical plane
    depth = dist * math.cos(math.radians(rel))
    down = math.degrees(math.atan2(-dz, depth))
    half_v = math.degrees(math.atan(math.tan(math.radians(half_h)) / aspect))
    return abs(down - horizon) <= half_v - margin


def bearing_to(pose, point) -> float:
    """Degrees the point lies to the agent's right (+) or left (-)."""
    x, y, yaw = pose[0], pose[1], pose[2]
    return -angle_diff(math.degrees(math.atan2(-(point[0] - x), point[1] - y)), yaw)


def line_of_sight(x0: float, y0: float, x1: float, y1: float, blockers: Iterable[Rect]) -> bool:
    return not any(segment_hits_rect(x0, y0, x1, y1, b) for b in blockers)


def plan_path(
    start: tuple[float, float, float, float],
    goal: Callable[[tuple], bool],
    free: Callable[[float, float], bool],
    cfg: NavConfig,
    max_nodes: int = MAX_NODES,
    moves: tuple[str, ...] = ("MoveAhead", "RotateLeft", "RotateRight", "MoveBack", "MoveLeft", "MoveRight"),
    looks: tuple[str, ...] = LOOKS,
) -> list[str] | None:
    """Shortest list of navigation actions from ``start`` to a pose where ``goal(pose)`` holds.

    Breadth-first over (x, y, yaw, horizon) with the env's kinematics (:func:`next_pose`), so
    executing the returned actions reproduces the poses exactly. ``free(x, y)`` says whether the agent may stand
    there. Horizon moves (LookUp/LookDown) are searched too. None when no pose satisfies ``goal``.
    """

    def key(p):
        return (round(p[0] * 1000), round(p[1] * 1000), round(p[2] % 360.0, 3), round(p[3], 3))

    start = (start[0], start[1], start[2] % 360.0, start[3])
    _SEARCH.gave_up = False
    if goal(start):
        return []
    prev: dict[tuple, tuple | None] = {key(start): None}
    queue = deque([start])
    free_cache: dict[tuple[int, int], bool] = {}

    def is_free(x, y):
        k = (round(x * 1000), round(y * 1000))
        if k not in free_cache:
            free_cache[k] = free(x, y)
        return free_cache[k]

    while queue and len(prev) < max_nodes:
        p = queue.popleft()
        nexts = []
        for a in (*moves, *looks):
            q = next_pose(a, p, cfg)
            if q is not None and (a not in MOVES or is_free(q[0], q[1])):
                nexts.append((a, q))
        for a, q in nexts:
            k = key(q)
            if k in prev:
                continue
            prev[k] = (key(p), a, p)
            if goal(q):
                path = [a]
                cur = key(p)
                while prev[cur] is not None:
                    _, act, before = prev[cur]
                    path.append(act)
                    cur = key(before)
                return path[::-1]
            queue.append(q)
    _SEARCH.gave_up = bool(queue)
    return None
