"""Object types as data (``types.yaml``): default shape, size, color and affordances.

Rules ask an object what it affords (Minigrid's habit), never switch on its type.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from . import yamlio
from .errors import SpecError

AFFORDANCES = ("pickupable", "openable", "receptacle", "readable", "takes_code", "pressable", "toggleable")

# named colors -> RGB 0..1, used for rendering and for grounding "the red chest"
COLORS: dict[str, tuple[float, float, float]] = {
    "red": (0.85, 0.12, 0.12),
    "green": (0.15, 0.65, 0.2),
    "blue": (0.15, 0.3, 0.85),
    "yellow": (0.95, 0.85, 0.15),
    "orange": (0.95, 0.55, 0.1),
    "purple": (0.55, 0.2, 0.7),
    "pink": (0.95, 0.5, 0.7),
    "white": (0.92, 0.92, 0.92),
    "black": (0.08, 0.08, 0.08),
    "gray": (0.5, 0.5, 0.5),
    "darkgray": (0.25, 0.25, 0.27),
    "silver": (0.75, 0.77, 0.8),
    "brown": (0.5, 0.3, 0.15),
    "tan": (0.8, 0.65, 0.45),
    "beige": (0.85, 0.8, 0.65),
    "gold": (0.95, 0.75, 0.1),
    "paper": (0.97, 0.95, 0.85),
    "lime": (0.4, 1.0, 0.3),
    "cyan": (0.1, 0.75, 0.8),
}


@dataclass(frozen=True)
class ObjType:
    name: str
    shape: str
    size: tuple[float, float, float]
    color: str
    mount: str
    affords: frozenset[str]
    height: float = 0.0
    text_color: str = "black"


def _load() -> dict[str, ObjType]:
    raw = yamlio.safe_load(resources.files("embodied").joinpath("types.yaml").read_text())
    out = {}
    for name, t in raw.items():
        bad = set(t["affords"]) - set(AFFORDANCES)
        if bad:
            raise SpecError(f"types.yaml: {name}: unknown affordances {sorted(bad)}", "types.yaml")
        out[name] = ObjType(
            name,
            t["shape"],
            tuple(t["size"]),
            t["color"],
            t["mount"],
            frozenset(t["affords"]),
            t.get("height", 0.0),
            t.get("text_color", "black"),
        )
    return out


TYPES: dict[str, ObjType] = _load()
