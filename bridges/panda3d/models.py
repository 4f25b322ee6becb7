"""Object models as data: ``embodied/models.yaml`` (parts per type) plus a user's table.

A model is a list of parts (a unit shape posed inside the object's unit box, a colour role, a
material, and optionally a hinge or slide driven by the node's ``state``), or a user's asset
file (``.egg``, ``.bam``, or ``.gltf``/``.glb`` when ``panda3d-gltf`` is installed) fitted to
the object's size. The table given by the ``EMBODIED_MODELS`` environment variable (a YAML
file of the same format) overrides or extends the built-in one, so a lab can swap in its own
art for the same world model. Errors name the file, the model and the field.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from embodied.bridges.panda3d.geometry import UNIT_SHAPES
from embodied.bridges.panda3d.textures import MATERIALS

from embodied import yamlio
from embodied.errors import EngineError
from embodied.objtypes import COLORS

ROLES = {"body": 1.0, "dark": 0.62, "darker": 0.38}
ENV_VAR = "EMBODIED_MODELS"


@dataclass(frozen=True)
class Move:
    when: str
    pivot: tuple = (0.0, 0.0, 0.0)
    hpr: tuple = (0.0, 0.0, 0.0)
    by: tuple = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Part:
    shape: str
    size: tuple = (1.0, 1.0, 1.0)
    at: tuple = (0.0, 0.0, 0.0)
    hpr: tuple = (0.0, 0.0, 0.0)
    color: str = "body"
    material: str = ""
    glow: bool = False
    segments: int = 24
    taper: float = 1.0
    tube: float = 0.15
    move: Move | None = None
    color_if: tuple | None = None  # (state, colour when true, colour when false)
    show_if: str | None = None

    @property
    def dynamic(self) -> bool:
        return self.move is not None or self.color_if is not None or self.show_if is not None

    @property
    def group(self) -> tuple:
        """Parts that share a group move, recolour and show together (one mesh)."""
        return (self.move, self.color_if, self.show_if)


@dataclass(frozen=True)
class Model:
    name: str
    parts: tuple = ()
    text: tuple | None = None  # (at, (w, h), hpr, background colour or "", glow) in fractions
    file: str = ""
    hpr: tuple = (0.0, 0.0, 0.0)


def truthy(state: dict, when: str) -> bool:
    """``when`` is a state key, or ``!key`` for its negation."""
    neg = when.startswith("!")
    v = bool(state.get(when.lstrip("!"), False))
    return v != neg


def resolve_color(name: str, body: tuple) -> tuple:
    """A part colour: a role relative to the object's colour, or a colour name."""
    if name in ROLES:
        return tuple(c * ROLES[name] for c in body)
    if name == "light":
        return tuple(c + (1 - c) * 0.45 for c in body)
    return COLORS[name]


def _vec(v: Any, where: str, n: int = 3) -> tuple:
    if not isinstance(v, list | tuple) or len(v) != n or not all(isinstance(x, int | float) for x in v):
        raise EngineError(f"{where}: expected a list of {n} numbers, got {v!r}")
    return tuple(float(x) for x in v)


def _color(v: Any, where: str) -> str:
    if v not in ROLES and v != "light" and v not in COLORS:
        raise EngineError(
            f"{where}: unknown colour {v!r}; expected a role (body, dark, darker, light) or one of {sorted(COLORS)}"
        )
    return v


def _state(v: Any, where: str) -> str:
    if v is True:  # YAML 1.1 reads a bare `on` as true
        return "on"
    if not isinstance(v, str) or not v.lstrip("!"):
        raise EngineError(f'{where}: expected a state name (e.g. open, locked, "on"), got {v!r}')
    return v


PART_KEYS = {
    "shape", "size", "at", "hpr", "color", "material", "glow", "segments", "taper", "tube",
    "move", "color_if", "show_if",
}  # fmt: skip


def _part(raw: Any, where: str) -> Part:
    if not isinstance(raw, dict):
        raise EngineError(f"{where}: expected a part map, got {raw!r}")
    extra = set(raw) - PART_KEYS
    if extra:
        raise EngineError(f"{where}: unknown keys {sorted(extra)}; expected some of {sorted(PART_KEYS)}")
    shape = raw.get("shape")
    if shape not in UNIT_SHAPES:
        raise EngineError(f"{where}.shape: unknown shape {shape!r}; expected one of {list(UNIT_SHAPES)}")
    kw: dict[str, Any] = {"shape": shape}
    for k in ("size", "at", "hpr"):
        if k in raw:
            kw[k] = _vec(raw[k], f"{where}.{k}")
    kw["color"] = _color(raw.get("color", "body"), f"{where}.color")
    mat = raw.get("material", "")
    if mat and mat not in MATERIALS:
        raise EngineError(f"{where}.material: unknown material {mat!r}; expected one of {list(MATERIALS)}")
    kw["material"] = mat or ""
    kw["glow"] = bool(raw.get("glow", False))
    kw["segments"] = int(raw.get("segments", 24))
    kw["taper"] = float(raw.get("taper", 1.0))
    kw["tube"] = float(raw.get("tube", 0.15))
    if "move" in raw:
        m = raw["move"]
        if not isinstance(m, dict) or "when" not in m:
            raise EngineError(f"{where}.move: expected {{when: STATE, pivot, hpr, by}}, got {m!r}")
        kw["move"] = Move(
            _state(m["when"], f"{where}.move.when"),
            *(_vec(m.get(k, [0, 0, 0]), f"{where}.move.{k}") for k in ("pivot", "hpr", "by")),
        )
    if "color_if" in raw:
        c = raw["color_if"]
        if not isinstance(c, dict) or not {"when", "then", "else"} <= set(c):
            raise EngineError(
                f"{where}.color_if: expected {{when: STATE, then: COLOR, else: COLOR}}, got {c!r}"
            )
        kw["color_if"] = (
            _state(c["when"], f"{where}.color_if.when"),
            _color(c["then"], f"{where}.color_if.then"),
            _color(c["else"], f"{where}.color_if.else"),
        )
    if "show_if" in raw:
        kw["show_if"] = _state(raw["show_if"], f"{where}.show_if")
    return Part(**kw)


def parse_models(raw: Any, source: str, base: Path | None = None) -> dict[str, Model]:
    """Validate a models table (the YAML's content); ``base`` resolves relative asset paths."""
    if not isinstance(raw, dict):
        raise EngineError(f"{source}: expected a map of model name -> model")
    out = {}
    for name, m in raw.items():
        where = f"{source}: {name}"
        if not isinstance(m, dict):
            raise EngineError(f"{where}: expected a model map with 'parts' or 'file'")
        if "file" in m:
            path = Path(str(m["file"]))
            if base is not None and not path.is_absolute():
                path = base / path
            if not path.exists():
                raise EngineError(f"{where}.file: no such file {str(path)!r}")
            out[name] = Model(name, file=str(path), hpr=_vec(m.get("hpr", [0, 0, 0]), f"{where}.hpr"))
            continue
        parts = m.get("parts")
        if not isinstance(parts, list) or not parts:
            raise EngineError(f"{where}.parts: expected a non-empty list of parts")
        text = None
        if "text" in m:
            t = m["text"]
            text = (
                _vec(t.get("at", [0, 0, 0]), f"{where}.text.at"),
                _vec(t.get("size", [1, 1]), f"{where}.text.size", 2),
                _vec(t.get("hpr", [0, 0, 0]), f"{where}.text.hpr"),
                _color(t["bg"], f"{where}.text.bg") if "bg" in t else "",
                bool(t.get("glow", False)),
            )
        out[name] = Model(name, tuple(_part(p, f"{where}.parts[{i}]") for i, p in enumerate(parts)), text)
    return out


def load_models(user_file: str | None = None) -> dict[str, Model]:
    """The built-in models, overridden by ``user_file`` (default: $EMBODIED_MODELS, if set)."""
    text = resources.files("embodied").joinpath("models.yaml").read_text()
    models = parse_models(yamlio.safe_load(text), "embodied/models.yaml")
    user_file = user_file or os.environ.get(ENV_VAR) or None
    if user_file:
        path = Path(user_file)
        try:
            raw = yamlio.safe_load(path.read_text())
        except OSError as e:
            raise EngineError(
                f"models file {user_file!r}: {e.strerror}; set {ENV_VAR} to a readable YAML file"
            ) from e
        except yaml.YAMLError as e:
            raise EngineError(f"models file {user_file!r}: not valid YAML ({e})") from e
        models.update(parse_models(raw, user_file, path.parent))
    return models
