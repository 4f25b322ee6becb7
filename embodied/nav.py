"""Kinematic navigation: collision, line of sight, field of view, and a pose-space planner.

Poses are ``(x, y, yaw, horizon)``: meters; yaw in degrees, 0 = facing north (+y), positive turns
left (Panda3D heading); horizon in degrees, positive looks down (AI2-THOR). The agent is a
circle of ``radius`` on the floor with its eye at ``eye_height``.
"""

from __future__ import annotations

import heapq
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
MAX_NODES = 60_000  # poses one breadth-first search of plan_path takes at most (rooms of ~15 m a side)
MAX_CELLS = 400_000  # floor positions plan_path's route over the position grid takes (rooms of 100 m)
FINAL_LEG = 12  # moves before the end of that route where the breadth-first search takes over
_SEARCH = threading.local()  # whether this thread's last plan_path stopped at max_nodes


def gave_up_reason() -> str:
    """Why this thread's last :func:`plan_path` gave up ("" unless :func:`search_gave_up`)."""
    if not search_gave_up():
        return ""
    return getattr(_SEARCH, "why", "") or "the room is too large for the search"


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
    """Liang-Barsky clip: does the open segment pass through the rectangle's interior?

    The four edges are written out (a loop over them built four tuples per call; line of sight
    asks this per wall). ``t0`` only grows and ``t1`` only shrinks, so a segment that misses
    the rectangle ends with ``t0 > t1`` whichever edge shows it: it is checked per axis, to stop
    early."""
    dx, dy = x1 - x0, y1 - y0
    t0, t1 = 0.0, 1.0
    if abs(dx) < 1e-12:  # parallel to the x edges: outside them, or nothing to clip
        if x0 - rect.x0 < 0 or rect.x1 - x0 < 0:
            return False
    else:
        t, u = (x0 - rect.x0) / -dx, (rect.x1 - x0) / dx
        if dx > 0:  # enters across x0, leaves across x1 (max and min as conditionals: no call)
            t0, t1 = (t if t > t0 else t0), (u if u < t1 else t1)
        else:
            t0, t1 = (u if u > t0 else t0), (t if t < t1 else t1)
        if t0 > t1:
            return False
    if abs(dy) < 1e-12:
        if y0 - rect.y0 < 0 or rect.y1 - y0 < 0:
            return False
    else:
        t, u = (y0 - rect.y0) / -dy, (rect.y1 - y0) / dy
        if dy > 0:
            t0, t1 = (t if t > t0 else t0), (u if u < t1 else t1)
        else:
            t0, t1 = (u if u > t0 else t0), (t if t < t1 else t1)
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
    for b in blockers:  # noqa: SIM110  (a loop, not all() over a generator: no function made per call)
        if segment_hits_rect(x0, y0, x1, y1, b):
            return False
    return True


@dataclass(frozen=True)
class Near:
    """Where every goal pose of a :func:`plan_path` call stands: ``contains(x, y)`` holds there,
    inside ``bounds``. With it the planner can route across rooms too large for its breadth-first
    search; it must not leave out a goal pose."""

    bounds: Rect
    contains: Callable[[float, float], bool]

    @staticmethod
    def disc(x: float, y: float, r: float) -> Near:
        return Near(
            Rect(x - r, y - r, x + r, y + r),
            lambda px, py: math.hypot(px - x, py - y) <= r,
        )


def plan_path(
    start: tuple[float, float, float, float],
    goal: Callable[[tuple], bool],
    free: Callable[[float, float], bool],
    cfg: NavConfig,
    max_nodes: int = MAX_NODES,
    moves: tuple[str, ...] = (
        "MoveAhead",
        "RotateLeft",
        "RotateRight",
        "MoveBack",
        "MoveLeft",
        "MoveRight",
    ),
    looks: tuple[str, ...] = LOOKS,
    near: Near | None = None,
) -> list[str] | None:
    """A list of navigation actions from ``start`` to a pose where ``goal(pose)`` holds.

    Breadth-first over (x, y, yaw, horizon) with the env's kinematics (:func:`next_pose`), so
    executing the returned actions reproduces the poses exactly, and the list is a shortest one.
    ``free(x, y)`` says whether the agent may stand there. Horizon moves (LookUp/LookDown) are
    searched too. None when no pose satisfies ``goal``, or when the search took ``max_nodes``
    poses (:func:`search_gave_up`; rooms of about 15 m a side).

    ``near`` (where the goal poses stand) lets it go farther: when the breadth-first search gives
    up, or provably would (it takes every pose up to one action short of the goal, and a lower
    bound on their number reaches ``max_nodes``), a route over the floor's position grid
    (weighted A*, at most :data:`MAX_CELLS` positions: rooms up to 100 m a side) is walked to
    within :data:`FINAL_LEG` moves of ``near``, and the breadth-first search finds the rest from
    there. That path is short but not always a shortest one. Where the breadth-first search finds
    a path, that path is returned, exactly as without ``near``. The route keeps to a lattice of
    positions the moves and turns reach (:func:`_lattice`): square with side moves or turns that
    reach right angles (90°, 45°, 30°, ...), triangles with turns of 60° or 120°; where there is
    none (MoveAhead alone with turns of 72°, say) the breadth-first search is all there is, and
    :func:`gave_up_reason` says so when it gives up.
    """
    start = (start[0], start[1], start[2] % 360.0, start[3])
    free_cache: dict[tuple[int, int], bool] = {}

    def is_free(x, y):
        k = (round(x * 1000), round(y * 1000))
        if k not in free_cache:
            free_cache[k] = free(x, y)
        return free_cache[k]

    _SEARCH.gave_up, _SEARCH.why = False, ""
    if goal(start):
        return []
    lattice = _lattice(start, cfg, moves) if near is not None else None
    grid = _Grid(start, cfg, is_free, *lattice) if lattice is not None else None
    route = grid.route(near) if grid is not None else None  # None: breadth-first alone, as without near
    if route is None or not grid.search_gives_up(start, cfg, grid.lower, moves, looks, max_nodes):
        path = _breadth_first(start, goal, is_free, cfg, max_nodes, moves, looks)
        if path is not None or not _SEARCH.gave_up or route is None:
            if path is None and _SEARCH.gave_up and near is not None and lattice is None:
                _SEARCH.why = (
                    f"turns of {cfg.rotate:g}° with {', '.join(a for a in moves if a in MOVES)} keep the agent "
                    f"on no floor lattice, so a room too large for the breadth-first search "
                    f"({max_nodes:,} poses) has no route; turns that divide 90° or 120°, or "
                    "MoveBack/MoveLeft/MoveRight, have one"
                )
            return path
    return _walk_route(start, route, grid, goal, is_free, cfg, max_nodes, moves, looks)


def _lattice(start, cfg: NavConfig, moves: tuple[str, ...]) -> tuple | None:
    """The lattice of floor positions the route of :func:`plan_path` walks from ``start``: its
    second axis (the first is ``start``'s heading, ``cfg.step`` long) and the cells one move
    reaches (``(i, j)``: ``i`` along the first, ``j`` along the second); None where the moves and
    turns keep no lattice that they can walk every way (e.g. only MoveAhead and turns of 72°).

    Square, the second axis to the right, where the agent can move right, back and left (by side
    moves, or turns of a divisor of 90°: 90, 45, 30, ...); else the first lattice that a move at
    another heading spans with it (turns of 60° or 120°: triangles)."""
    if "MoveAhead" not in moves:
        return None
    headings, ring = {round(start[2] % 360.0, 6)}, [start[2] % 360.0]
    turns = [a for a in moves if a in ROTATIONS]
    while ring and len(headings) <= 720:  # (a turn that does not divide 360 degrees evenly: many)
        nxt = []
        for yaw in ring:
            for a in turns:
                q = next_pose(a, (0.0, 0.0, yaw, 0.0), cfg)[2]
                if round(q, 6) not in headings:
                    headings.add(round(q, 6))
                    nxt.append(q)
        ring = nxt
    steps = [a for a in MOVES if a in moves]
    vecs: list[tuple[float, float]] = []  # the moves' unit vectors at every heading, each once
    for h in sorted(headings):
        for a in steps:
            v = move_delta(a, h, 1.0)
            if not any(_same(v, u) for u in vecs):
                vecs.append(v)
    fx, fy = forward(start[2])
    square = [(fy, -fx), (-fx, -fy), (-fy, fx)]  # right, back, left
    if all(any(_same(s, v) for v in vecs) for s in square):
        return (fy, -fx), ((1, 0), (0, 1), (-1, 0), (0, -1)), len(headings)
    others = sorted(vecs, key=lambda v: math.atan2(v[0] * fy - v[1] * fx, v[0] * fx + v[1] * fy) % math.tau)
    for ex, ey in others:
        det = fx * ey - fy * ex
        if abs(det) < 1e-6:  # along the first axis
            continue
        cells = []
        for vx, vy in others:  # (i, j) with v = i f + j e, whole numbers
            i, j = (vx * ey - vy * ex) / det, (fx * vy - fy * vx) / det
            if abs(i - round(i)) < 1e-6 and abs(j - round(j)) < 1e-6:
                cells.append((round(i), round(j)))
        if _walks_every_way(cells):
            return (ex, ey), tuple(cells), len(headings)
    return None


def _same(u: tuple[float, float], v: tuple[float, float]) -> bool:
    """Are two floor vectors equal but for rounding (1e-6 m on each axis)?"""
    return abs(u[0] - v[0]) < 1e-6 and abs(u[1] - v[1]) < 1e-6


def _walks_every_way(cells: list[tuple[int, int]]) -> bool:
    """Do moves by ``cells`` reach each neighbour of the origin's square lattice (so every cell)?"""
    seen, ring = {(0, 0)}, [(0, 0)]
    for _ in range(6):
        ring = [(i + a, j + b) for i, j in ring for a, b in cells if max(abs(i + a), abs(j + b)) <= 6]
        ring = [c for c in set(ring) if c not in seen]
        seen.update(ring)
    return {(1, 0), (-1, 0), (0, 1), (0, -1)} <= seen


def _breadth_first(start, goal, is_free, cfg, max_nodes, moves, looks) -> list[str] | None:
    """The breadth-first search of :func:`plan_path` (``goal(start)`` already tested)."""

    def key(p):
        return (
            round(p[0] * 1000),
            round(p[1] * 1000),
            round(p[2] % 360.0, 3),
            round(p[3], 3),
        )

    _SEARCH.gave_up = False
    prev: dict[tuple, tuple | None] = {key(start): None}
    queue = deque([start])
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


class _Grid:
    """Floor positions ``start`` reaches (:func:`_lattice`): cell (i, j) stands ``i`` steps ahead
    of ``start`` and ``j`` steps along the second axis (on a square lattice: to its right)."""

    def __init__(self, start, cfg: NavConfig, is_free, axis, cells, headings):
        self.x0, self.y0 = start[0], start[1]
        self.fx, self.fy = forward(start[2])
        self.ex, self.ey = axis
        self.cells = cells  # the cells one move reaches from (0, 0)
        self.headings = headings  # how many the turns reach
        self.square = axis == (self.fy, -self.fx)
        self.step = cfg.step
        self.is_free = is_free
        self.lower = 0

    def at(self, i: int, j: int) -> tuple[float, float]:
        s = self.step
        return (
            self.x0 + s * (i * self.fx + j * self.ex),
            self.y0 + s * (i * self.fy + j * self.ey),
        )

    def around(self, c: tuple[int, int]) -> list[tuple[int, int]]:
        i, j = c
        return [(i + a, j + b) for a, b in self.cells]

    def open(self, c: tuple[int, int]) -> bool:
        return c == (0, 0) or self.is_free(*self.at(*c))

    def route(self, near: Near) -> list[tuple[int, int]] | None:
        """Grid cells from the start to one where ``near`` holds, each next to the one before
        (weighted A*: short, not always the shortest); None when there is none, or after
        :data:`MAX_CELLS` cells. ``lower``: a lower bound on the moves it takes."""
        b = near.bounds
        cx, cy = (b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2
        slack = math.hypot(b.x1 - b.x0, b.y1 - b.y0) / 2 * math.sqrt(2)
        s = self.step

        def h(
            c,
        ):  # moves at least: straight distance to the bounds, and grid (L1) distance to them
            x, y = self.at(*c)
            dx, dy = max(b.x0 - x, 0.0, x - b.x1), max(b.y0 - y, 0.0, y - b.y1)
            u, v = x - cx, y - cy
            grid = (
                abs(u * self.fx + v * self.fy) + abs(u * self.fy - v * self.fx) - slack if self.square else 0
            )
            return max(0, math.ceil(max(math.hypot(dx, dy), grid) / s - 1e-6))  # whole moves: ties stay ties

        parent: dict[tuple[int, int], tuple[int, int] | None] = {(0, 0): None}
        g = {(0, 0): 0}
        self.lower = h((0, 0))  # moves from the start at least (the route may take more)
        heap = [(2 * self.lower, 0, (0, 0))]
        done: set[tuple[int, int]] = set()
        while heap:
            _, neg, c = heapq.heappop(heap)
            if c in done:
                continue
            done.add(c)
            if near.contains(*self.at(*c)) and self.open(c):
                out = [c]
                while parent[out[-1]] is not None:
                    out.append(parent[out[-1]])
                return out[::-1]
            if len(g) >= MAX_CELLS:
                return None
            gn = 1 - neg
            for n in self.around(c):
                if n in done or g.get(n, gn + 1) <= gn or not self.open(n):
                    continue
                g[n] = gn
                parent[n] = c
                heapq.heappush(heap, (gn + 2 * h(n), -gn, n))  # weighted: straight on, not every tie
        return None

    def search_gives_up(self, start, cfg, far: int, moves, looks, max_nodes: int) -> bool:
        """Would the breadth-first search give up, ``near`` being ``far`` moves away at least?

        It takes every pose up to one action short of the goal before it finds it: a position
        ``k`` moves away at ``far - 1 - k`` turns and looks of spare gives that many poses (the
        side moves keep the heading, so it is reached in ``k`` actions). Counted out from the
        start until the count reaches ``max_nodes`` (it would give up) or the positions end."""
        if not set(MOVES) <= set(moves) or far < 2:
            return False
        spare = _spare(start, cfg, moves, looks)  # spare[n]: poses per position with n actions to spare
        seen = {(0, 0)}
        ring = [(0, 0)]
        total = 0
        for k in range(far):
            total += len(ring) * spare[min(far - 1 - k, len(spare) - 1)]
            if total >= max_nodes:
                return True
            nxt = []
            for c in ring:
                for n in self.around(c):
                    if n not in seen and self.open(n):
                        seen.add(n)
                        nxt.append(n)
            ring = nxt
        return False


def _spare(start, cfg: NavConfig, moves, looks) -> list[int]:
    """``out[n]``: the (yaw, horizon) pairs the turns and looks in ``moves``/``looks`` reach from
    ``start``'s in n actions or fewer (the last entry: all of them)."""
    acts = [a for a in (*moves, *looks) if a in ROTATIONS or a in LOOKS]
    pose = (0.0, 0.0, start[2], start[3])
    seen = {(round(pose[2] % 360.0, 3), round(pose[3], 3))}
    ring, out = [pose], [1]
    while ring:
        nxt = []
        for p in ring:
            for a in acts:
                q = next_pose(a, p, cfg)
                k = None if q is None else (round(q[2] % 360.0, 3), round(q[3], 3))
                if k is not None and k not in seen:
                    seen.add(k)
                    nxt.append(q)
        ring = nxt
        if ring:
            out.append(len(seen))
    return out


def _walk_route(start, route, grid: _Grid, goal, is_free, cfg, max_nodes, moves, looks) -> list[str] | None:
    """Walk ``route`` (grid cells) up to :data:`FINAL_LEG` moves before its end, then search the
    rest breadth-first; if that fails, from the route's end. None (given up) when neither finds it."""
    rotations = [a for a in ROTATIONS if a in moves]
    steps = [a for a in MOVES if a in moves]
    pose, done, walked = start, [], 0
    for stop in (max(0, len(route) - 1 - FINAL_LEG), len(route) - 1):
        while walked < stop:
            x, y = grid.at(*route[walked + 1])
            acts = _toward(pose, x - pose[0], y - pose[1], cfg, steps, rotations, grid.headings)
            if acts is None:
                break
            for a in acts:
                pose = next_pose(a, pose, cfg)
                if a in MOVES and not is_free(pose[0], pose[1]):  # (the route's cells are free)
                    _SEARCH.gave_up = True
                    return None
            done += acts
            walked += 1
        if goal(pose):
            return done
        rest = _breadth_first(pose, goal, is_free, cfg, max_nodes, moves, looks)
        if rest is not None:
            return done + rest
    _SEARCH.gave_up = True
    return None


def _toward(pose, dx: float, dy: float, cfg: NavConfig, steps, rotations, most: int) -> list[str] | None:
    """The fewest actions (turns of one kind, at most ``most``, then one move) that move ``pose``
    by (dx, dy), one grid step."""
    turned = dict.fromkeys(rotations, pose)
    for n in range(most + 1):
        for r in rotations if n else (None,):
            p = pose if r is None else next_pose(r, turned[r], cfg)
            if r is not None:
                turned[r] = p
            for a in steps:
                mx, my = move_delta(a, p[2], cfg.step)
                if _same((mx, my), (dx, dy)):
                    return [*((r,) * n), a]
    return None
