"""Scene specs, format ``embodied.scene/1``: load, validate, name the bad field.

A spec is JSON; every field is described in docs/scene-format.md. Coordinates: meters, x east, y north (z up in the engine).
A room's ``at`` is its south-west corner in world coordinates; an object's or agent's ``at``
is relative to its room's south-west corner. Positions are optional: :mod:`embodied.layout`
places what has none.

``load_spec(x)`` accepts a path, a JSON string, a dict, a shipped scene name (``"key_door"``)
or a :class:`Spec`; every problem is reported at once in a :class:`~embodied.errors.SpecError`
whose entries name the field path, e.g. ``objects[2].lock.code: a code lock needs 'code'``.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import SpecError
from .objtypes import TYPES
from .quoting import brief
from .spec_limits import check_limits

FORMAT = "embodied.scene/1"
OUTSIDE = "outside"
Vec2 = tuple[float, float]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class Lock(_Model):
    kind: Literal["key", "code"]
    key: str | None = None
    code: str | None = None
    clues: list[str] | None = None
    given: bool | None = Field(
        None,
        description="true: the agent is told the code up front; false: nobody can learn it (a sealed lock); "
        "unset: readable clues must give it",
    )

    @field_validator("code", mode="before")
    @classmethod
    def _code_str(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v

    @model_validator(mode="after")
    def _needs(self) -> Lock:
        if self.kind == "key" and not self.key:
            raise ValueError("a key lock needs 'key' (the id of the key object)")
        if self.kind == "code" and not self.code:
            raise ValueError("a code lock needs 'code' (e.g. \"4172\")")
        return self


# Room light presets: (intensity, light colour rgb, key light [heading, pitch]); "default" is
# the renderer's own rig. docs/scene-format.md#room-light
LIGHT_PRESETS = {
    "default": (1.0, (1.0, 1.0, 1.0), (30.0, -55.0)),
    "bright": (1.3, (1.0, 1.0, 1.0), (30.0, -70.0)),
    "dim": (0.55, (1.0, 0.97, 0.92), (30.0, -55.0)),
    "dark": (0.3, (0.85, 0.9, 1.0), (30.0, -55.0)),
    "warm": (1.0, (1.0, 0.86, 0.66), (60.0, -40.0)),
    "cool": (1.0, (0.8, 0.9, 1.0), (0.0, -60.0)),
}


class RoomLight(_Model):
    """A room's light: the renderer's ambient, key and fill lights scaled by ``intensity``,
    tinted by ``color``, the key light shining along ``direction``."""

    intensity: float = Field(1.0, ge=0.0, le=3.0, description="1 = the default brightness")
    color: str = Field("white", description="a colour name tinting the light")
    direction: Vec2 = Field(
        (30.0, -55.0), description="key light [heading, pitch] in degrees (pitch < 0: down)"
    )

    @field_validator("color")
    @classmethod
    def _known_color(cls, v: str) -> str:
        from .objtypes import COLORS

        if v not in COLORS:
            raise ValueError(f"unknown light colour {v!r}; expected one of {sorted(COLORS)}")
        return v

    @field_validator("direction")
    @classmethod
    def _pitch(cls, v: Vec2) -> Vec2:
        if not -90.0 <= v[1] <= 90.0:
            raise ValueError(f"light direction pitch must be within [-90, 90] degrees, got {v[1]}")
        return v

    def rig(self) -> tuple[float, tuple, tuple]:
        """(intensity, light colour rgb, key light [heading, pitch])."""
        from .objtypes import COLORS

        rgb = COLORS[self.color]
        top = max(max(rgb), 1e-6)
        return self.intensity, tuple(c / top for c in rgb), tuple(self.direction)


class Room(_Model):
    id: str
    size: Vec2 = (5.0, 4.0)
    at: Vec2 | None = None
    color: str | None = None
    floor: str | None = None
    light: (
        Annotated[
            Annotated[RoomLight, Tag("map")] | Annotated[str, Tag("preset")],
            Discriminator(lambda v: "preset" if isinstance(v, str) else "map"),
        ]
        | None
    ) = Field(None, description=f"a preset ({', '.join(LIGHT_PRESETS)}) or {{intensity, color, direction}}")

    @field_validator("light", mode="before")
    @classmethod
    def _light(cls, v: Any) -> Any:
        if isinstance(v, str) and v not in LIGHT_PRESETS:
            raise ValueError(
                f"unknown light preset {v!r}; expected one of {list(LIGHT_PRESETS)} "
                "or {intensity, color, direction}"
            )
        if v is not None and not isinstance(v, str | dict | RoomLight):
            raise ValueError(f"expected a preset name or {{intensity, color, direction}}, got {v!r:.60}")
        return v

    def light_rig(self) -> tuple[float, tuple, tuple] | None:
        """(intensity, light colour rgb, key light [heading, pitch]); None: the renderer's default."""
        if self.light is None:
            return None
        if isinstance(self.light, str):
            return LIGHT_PRESETS[self.light]
        return self.light.rig()

    @field_validator("size")
    @classmethod
    def _positive(cls, v: Vec2) -> Vec2:
        if v[0] < 1.5 or v[1] < 1.5:
            raise ValueError(f"room size must be at least 1.5 x 1.5 m, got {list(v)}")
        return v


class Door(_Model):
    id: str
    between: tuple[str, str]
    lock: Lock | None = None
    open: bool = False
    wall: Literal["north", "south", "east", "west"] | None = None
    offset: float | None = Field(
        None, description="door center along the shared wall, meters from its west/south end"
    )
    width: float = Field(1.0, ge=0.7, le=3.0)
    color: str | None = None
    name: str | None = None


class Obj(_Model):
    id: str
    type: str
    room: str | None = None
    at: Vec2 | None = None
    yaw: float | None = None
    color: str | None = None
    name: str | None = None
    contains: list[str] = []
    lock: Lock | None = None
    text: str | None = None
    open: bool | None = None
    on: bool | None = None
    controls: str | None = None
    affords: dict[str, bool] | None = None
    size: tuple[float, float, float] | None = None
    wall: Literal["north", "south", "east", "west"] | None = None

    @field_validator("type")
    @classmethod
    def _known_type(cls, v: str) -> str:
        if v not in TYPES:
            raise ValueError(f"unknown type {v!r}; known types: {', '.join(sorted(TYPES))}")
        return v


class AgentSpec(_Model):
    id: str
    room: str
    at: Vec2 | None = None
    yaw: float | None = Field(None, description="degrees, 0 = facing north (+y), 90 = west")
    name: str | None = None


class Spec(_Model):
    format: Literal["embodied.scene/1"] = FORMAT
    name: str = "scene"
    seed: int = 0
    description: str | None = None
    rooms: list[Room] = Field(min_length=1)
    doors: list[Door] = []
    objects: list[Obj] = []
    agents: list[AgentSpec] = Field(min_length=1)
    goal: dict[str, Any]
    checkpoints: list[dict[str, Any]] | None = None
    required: list[str] = []
    max_steps: int | None = Field(None, ge=1)
    metadata: dict[str, Any] | None = Field(
        None, description="free-form provenance (generator, knobs, difficulty); ignored by the rules"
    )

    # convenient lookups (not serialized)
    def obj(self, oid: str) -> Obj:
        return next(o for o in self.objects if o.id == oid)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


GOAL_KEYS = {"exit_through", "agent_in", "holding", "inside", "state", "said", "read", "all", "any", "not"}
STATES = {"open", "closed", "locked", "unlocked", "on", "off", "pressed"}


def load_spec(src: Any) -> Spec:
    """Load and validate a spec from a path, JSON text, dict, shipped scene name or Spec."""
    if isinstance(src, Spec):
        return src
    source = "scene spec"
    if isinstance(src, Path) or (isinstance(src, str) and not src.lstrip().startswith("{")):
        if isinstance(src, str) and (len(src) > 4096 or src.lstrip().startswith("[")):
            raise SpecError(
                f"expected a path, a shipped scene name or a JSON object, got {brief(src)}", "scene spec"
            )
        path = resolve_scene_path(str(src))
        source = str(path)
        try:
            data = _json(Path(path).read_text())
        except json.JSONDecodeError as e:
            yaml_hint = (
                "; scene specs are JSON, not YAML (docs/scene-format.md)"
                if Path(path).suffix.lower() in (".yaml", ".yml")
                else ""
            )
            raise SpecError(
                [(f"line {e.lineno} col {e.colno}", f"not valid JSON: {e.msg}{yaml_hint}")], source
            ) from None
        except IsADirectoryError:
            raise SpecError(
                "a directory, not a scene spec file; give a spec file or a shipped scene name "
                "('embodied scenes' lists them)",
                source,
            ) from None
        except OSError as e:
            raise SpecError(f"cannot read it: {e.strerror or e}", source) from None
        except UnicodeDecodeError as e:
            raise SpecError(
                f"cannot read it: not UTF-8 text ({e.reason} at byte {e.start})", source
            ) from None
    elif isinstance(src, str):
        try:
            data = _json(src)
        except json.JSONDecodeError as e:
            raise SpecError(
                [(f"line {e.lineno} col {e.colno}", f"not valid JSON: {e.msg}")], source
            ) from None
    elif isinstance(src, dict):
        data = src
    else:
        raise SpecError(f"expected a path, JSON text, dict or Spec, got {type(src).__name__}", source)
    return validate_data(data, source)


MAX_SPEC_BYTES = 4 * 1024 * 1024


def _json(text: str) -> Any:
    """Decode spec JSON; too large or too deeply nested text is a SpecError, not a crash."""
    if len(text) > MAX_SPEC_BYTES:
        raise SpecError(f"spec of {len(text)} characters; at most {MAX_SPEC_BYTES}")
    try:
        return json.loads(text)
    except RecursionError:
        raise SpecError("JSON nested too deeply (the spec format needs a few levels)") from None


def resolve_scene_path(name: str) -> Path:
    """A file path as given, or a shipped scene (``key_door`` → ``scenes/key_door.json``)."""
    p = Path(name)
    if p.exists():
        return p
    shipped = resources.files("embodied.scenes").joinpath(f"{name.removesuffix('.json')}.json")
    if shipped.is_file():
        return Path(str(shipped))
    raise SpecError(
        f"no scene file {name!r} and no shipped scene of that name; shipped: {', '.join(shipped_scenes())}"
    )


def shipped_scenes() -> list[str]:
    return sorted(
        p.name[:-5] for p in resources.files("embodied.scenes").iterdir() if p.name.endswith(".json")
    )


def foreign_format_hint(data: Any, source: str = "scene spec") -> str | None:
    """What to do with a file in another benchmark's format given where a spec belongs (None if it
    does not look like one we know): an EscapeCraft level or scene file (MM-Escape)."""
    if not isinstance(data, dict) or "format" in data or "rooms" in data:
        return None
    file = source if source != "scene spec" else "FILE"
    room = data.get("room")
    if isinstance(room, dict) and ("exit" in room or "items" in room):
        return (
            "this looks like an EscapeCraft level, not a scene spec; convert it with: "
            f"embodied import escapecraft {file} --out SPEC.json (docs/generation.md)"
        )
    if {"instances", "player", "room_polygon"} <= data.keys():
        return (
            "this looks like an EscapeCraft scene file (a level's layout), not a scene spec; convert it "
            f"with its level: embodied import escapecraft LEVEL.json {file} --out SPEC.json (docs/generation.md)"
        )
    return None


def validate_data(data: dict[str, Any], source: str = "scene spec") -> Spec:
    if not isinstance(data, dict):
        raise SpecError(f"a scene spec is a JSON object, got {type(data).__name__}", source)
    hint = foreign_format_hint(data, source)
    if hint:
        raise SpecError(hint, source)
    if data.get("format", FORMAT) != FORMAT:
        raise SpecError([("format", f"expected {FORMAT!r}, got {brief(data.get('format'))}")], source)
    limits = check_limits(data)
    if limits:
        raise SpecError(limits, source)
    try:
        spec = Spec.model_validate(data)
    except ValidationError as e:
        raise SpecError([(_loc(err["loc"]), _msg(err)) for err in e.errors()], source) from None
    problems = check_references(spec)
    if problems:
        raise SpecError(problems, source)
    return spec


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after[_needs(), Lock]",) or str(part).startswith(("function-", "literal[")):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out


def _msg(err: dict) -> str:
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return f"unknown field (value {err.get('input')!r}); check the spelling against docs/scene-format.md"
    if err["type"] == "missing":
        return "required field is missing"
    return msg


def check_references(spec: Spec) -> list[tuple[str, str]]:
    """Cross-field checks: unique ids, references to rooms/objects/keys/doors, containment."""
    problems: list[tuple[str, str]] = []
    rooms = {r.id for r in spec.rooms}
    objs = {o.id: o for o in spec.objects}
    doors = {d.id: d for d in spec.doors}
    agents = {a.id for a in spec.agents}
    seen: dict[str, str] = {}
    for kind, items in (
        ("rooms", spec.rooms),
        ("doors", spec.doors),
        ("objects", spec.objects),
        ("agents", spec.agents),
    ):
        for i, item in enumerate(items):
            if item.id in seen:
                problems.append(
                    (f"{kind}[{i}].id", f"duplicate id {item.id!r} (already used in {seen[item.id]})")
                )
            elif item.id == OUTSIDE:
                problems.append(
                    (f"{kind}[{i}].id", f"{OUTSIDE!r} is reserved for the area beyond exit doors")
                )
            seen.setdefault(item.id, f"{kind}[{i}]")
    for i, d in enumerate(spec.doors):
        for side in d.between:
            if side not in rooms and side != OUTSIDE:
                problems.append(
                    (
                        f"doors[{i}].between",
                        f"unknown room {side!r}; rooms: {', '.join(sorted(rooms))}, or {OUTSIDE!r}",
                    )
                )
        if d.between[0] == d.between[1]:
            problems.append((f"doors[{i}].between", "a door joins two different rooms"))
        problems += _check_lock(d.lock, f"doors[{i}].lock", objs)
    contained: dict[str, str] = {}
    for i, o in enumerate(spec.objects):
        for c in o.contains:
            if c not in objs:
                problems.append((f"objects[{i}].contains", f"unknown object {c!r}"))
            elif c in contained:
                problems.append((f"objects[{i}].contains", f"{c!r} is already inside {contained[c]!r}"))
            else:
                contained[c] = o.id
        if o.contains and not _affords(o, "receptacle"):
            problems.append((f"objects[{i}].contains", f"a {o.type} is not a receptacle"))
        problems += _check_lock(o.lock, f"objects[{i}].lock", objs)
        if o.controls is not None and o.controls not in objs and o.controls not in doors:
            problems.append((f"objects[{i}].controls", f"unknown door or object {o.controls!r}"))
        if o.text is not None and not _affords(o, "readable") and o.type not in ("screen",):
            problems.append((f"objects[{i}].text", f"a {o.type} is not readable; use a note, book or screen"))
    for i, o in enumerate(spec.objects):
        if o.id in contained:
            if o.room is not None and o.room != _room_of(contained[o.id], objs, contained):
                problems.append(
                    (
                        f"objects[{i}].room",
                        f"{o.id!r} is inside {contained[o.id]!r}, which is in another room",
                    )
                )
        elif o.room is None:
            problems.append(
                (f"objects[{i}].room", f"{o.id!r} needs a room (or to be listed in some object's 'contains')")
            )
        elif o.room not in rooms:
            problems.append(
                (f"objects[{i}].room", f"unknown room {o.room!r}; rooms: {', '.join(sorted(rooms))}")
            )
    for c, holder in contained.items():  # containment cycles
        chain, cur = [c], holder
        while cur in contained and cur not in chain:
            chain.append(cur)
            cur = contained[cur]
        if cur in chain:
            problems.append(("objects", f"containment cycle: {' in '.join([*chain, cur])}"))
            break
    for i, a in enumerate(spec.agents):
        if a.room not in rooms:
            problems.append(
                (f"agents[{i}].room", f"unknown room {a.room!r}; rooms: {', '.join(sorted(rooms))}")
            )
    problems += _check_goal(spec.goal, "goal", spec, objs, doors, rooms, agents)
    for i, cp in enumerate(spec.checkpoints or []):
        problems += _check_goal(cp, f"checkpoints[{i}]", spec, objs, doors, rooms, agents)
    for i, r in enumerate(spec.required):
        lockable = (objs.get(r) and objs[r].lock) or (doors.get(r) and doors[r].lock)
        if not lockable:
            problems.append((f"required[{i}]", f"{r!r} is not a locked door or object"))
    return problems


def _room_of(oid: str, objs: dict[str, Obj], contained: dict[str, str]) -> str | None:
    seen = set()
    while oid in contained and oid not in seen:
        seen.add(oid)
        oid = contained[oid]
    return objs[oid].room if oid in objs else None


def affordances(o: Obj) -> frozenset[str]:
    """What an object affords: its type's affordances, with the spec's ``affords`` overrides applied.

    The one definition used by the world (hence the env, solver and oracle) and the validator."""
    over = o.affords or {}
    return frozenset(
        {a for a in TYPES[o.type].affords if over.get(a, True)} | {a for a, v in over.items() if v}
    )


def _affords(o: Obj, what: str) -> bool:
    return what in affordances(o)


def _check_lock(lock: Lock | None, path: str, objs: dict[str, Obj]) -> list[tuple[str, str]]:
    if lock is None:
        return []
    out = []
    if lock.kind == "key":
        if lock.key not in objs:
            out.append((f"{path}.key", f"unknown key object {lock.key!r}"))
        elif not _affords(objs[lock.key], "pickupable"):
            out.append((f"{path}.key", f"{lock.key!r} is a {objs[lock.key].type}, which cannot be picked up"))
    for j, c in enumerate(lock.clues or []):
        if c not in objs:
            out.append((f"{path}.clues[{j}]", f"unknown object {c!r}"))
        elif not _affords(objs[c], "readable"):
            out.append((f"{path}.clues[{j}]", f"{c!r} is a {objs[c].type}, which cannot be read"))
    return out


def _check_goal(g: Any, path: str, spec: Spec, objs, doors, rooms, agents) -> list[tuple[str, str]]:
    if not isinstance(g, dict) or (
        len(g) != 1 and not (len(g) == 2 and "exit_through" in g and "agents" in g)
    ):
        return [
            (
                path,
                f'a goal is one predicate like {{"exit_through": "exit"}}; keys: {", ".join(sorted(GOAL_KEYS))}',
            )
        ]
    key = next(k for k in g if k != "agents")
    val = g[key]
    p = f"{path}.{key}"
    if key not in GOAL_KEYS:
        return [(path, f"unknown predicate {key!r}; known: {', '.join(sorted(GOAL_KEYS))}")]
    if key in ("all", "any"):
        if not isinstance(val, list) or not val:
            return [(p, "expects a non-empty list of predicates")]
        return [
            e
            for i, sub in enumerate(val)
            for e in _check_goal(sub, f"{p}[{i}]", spec, objs, doors, rooms, agents)
        ]
    if key == "not":
        return _check_goal(val, p, spec, objs, doors, rooms, agents)
    args = val if isinstance(val, list) else [val]
    if not all(isinstance(a, str) for a in args):
        return [(p, "arguments are ids (strings)")]
    if key == "exit_through":
        if len(args) != 1 or args[0] not in doors:
            return [(p, f"unknown door {val!r}; doors: {', '.join(sorted(doors))}")]
        if OUTSIDE not in doors[args[0]].between:
            return [(p, f"door {args[0]!r} does not lead {OUTSIDE!r}")]
        return []
    expect = {
        "agent_in": ("agent?", "room"),
        "holding": ("agent?", "object"),
        "inside": ("object", "object"),
        "state": ("thing", "state"),
        "said": ("agent?", "text"),
        "read": ("agent?", "object"),
    }[key]
    if len(args) == len(expect) - 1 and expect[0] == "agent?":
        args = [None, *args]
    if len(args) != len(expect):
        return [(p, f"expects {len(expect)} arguments: {list(expect)}")]
    out = []
    for kind, a in zip(expect, args):
        if a is None:
            continue
        if kind == "agent?" and a not in agents:
            out.append((p, f"unknown agent {a!r}"))
        elif kind == "room" and a not in rooms and a != OUTSIDE:
            out.append((p, f"unknown room {a!r}"))
        elif kind == "object" and a not in objs:
            out.append((p, f"unknown object {a!r}"))
        elif kind == "thing" and a not in objs and a not in doors:
            out.append((p, f"unknown object or door {a!r}"))
        elif kind == "state" and a not in STATES:
            out.append((p, f"unknown state {a!r}; states: {', '.join(sorted(STATES))}"))
    return out
