"""Prompts of the ``openai:MODEL`` agent: versioned template files, frames as JPEG, text views.

Templates live in ``embodied/agents/prompts/<version>.yaml`` (package data; ``v1`` ships) or in
any YAML file with the same keys (``prompt="path/to/mine.yaml"``). :class:`PromptSet` loads one
and exposes ``hash`` (sha256 of the file's bytes, 12 hex digits), recorded in every step and in
the run config. Fields are ``${name}`` (``string.Template``); a line whose fields all came out
empty is dropped, so optional sections (teammates' messages, hints) vanish when unused.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import numpy as np
import yaml
from PIL import Image

from .. import yamlio
from ..errors import ConfigError

DEFAULT_PROMPT = "v1"
_FIELD = re.compile(r"\$\{(\w+)\}")
REQUIRED = (
    "system",
    "answer_format",
    "turn",
    "heard",
    "hint",
    "view_image",
    "view_text",
    "reminder",
    "reprompt",
)


class PromptSet:
    """One version of the templates. ``source``: a shipped version name or a YAML file path."""

    def __init__(self, source: str | Path = DEFAULT_PROMPT):
        if isinstance(source, Path) or str(source).endswith((".yaml", ".yml")):
            path = Path(source)
            try:
                raw = path.read_bytes()
            except OSError as e:
                raise ConfigError(
                    f"cannot read prompt file {path}: {e.strerror}; pass a YAML file or {shipped()}"
                ) from None
            self.name = path.stem
        else:
            f = resources.files("embodied.agents").joinpath("prompts", f"{source}.yaml")
            if not f.is_file():
                raise ConfigError(
                    f"unknown prompt version {source!r}; shipped: {', '.join(shipped())}, or a YAML path"
                )
            raw = f.read_bytes()
            self.name = str(source)
        self.hash = hashlib.sha256(raw).hexdigest()[:12]
        try:
            data = yaml.safe_load(raw)
        except yaml.YAMLError as e:  # a user's own template file: one line, not a parser traceback
            raise ConfigError(
                f"prompt {source}: not valid YAML {yamlio.error_text(e)}; copy prompts/v1.yaml and edit it"
            ) from None
        missing = [k for k in REQUIRED if not isinstance(data, dict) or k not in data]
        if missing:
            raise ConfigError(
                f"prompt {self.name}: missing templates {missing}; copy prompts/v1.yaml and edit it"
            )
        self.version = str(data.get("version", self.name))
        self.t = data

    def fill(self, key: str, sub: str | None = None, **fields: Any) -> str:
        text = self.t[key][sub] if sub else self.t[key]
        return fill(text, fields)


def shipped() -> list[str]:
    d = resources.files("embodied.agents").joinpath("prompts")
    return sorted(p.name[:-5] for p in d.iterdir() if p.name.endswith(".yaml"))


def fill(template: str, fields: dict[str, Any]) -> str:
    """Substitute ``${name}`` fields; drop lines whose fields are all empty; keep other lines."""
    out = []
    for line in template.splitlines():
        names = _FIELD.findall(line)
        values = [str(fields.get(n, "") or "") for n in names]
        if names and not any(v.strip() for v in values):
            continue
        out.append(Template(line).safe_substitute({n: str(fields.get(n, "") or "") for n in names}))
    return "\n".join(out)


def encode_frame(rgb: np.ndarray, size: int | None = None, quality: int = 85) -> str:
    """A frame as a ``data:image/jpeg;base64,...`` URL, its longer side scaled to ``size`` pixels."""
    img = Image.fromarray(rgb)
    if size and max(img.size) != size:
        scale = size / max(img.size)
        img = img.resize(
            (max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.BILINEAR
        )
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=int(quality))
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def describe_view(env: Any, aid: str, info: dict[str, Any]) -> str:
    """The text-only ablation's stand-in for the frame: what is visible, from object metadata.

    Per visible object or door: its name (colour and type), state (open/closed, locked, on,
    held), distance in meters and direction (ahead, left, right). It says nothing a frame would
    not show (no note text: that takes ``Read``).
    """
    from ..nav import bearing_to

    a = info["agent"]
    pose = (a["x"], a["y"], a["yaw"], a.get("horizon", 0.0))
    w = env.world
    parts = []
    for o in sorted(info["objects"], key=lambda o: o["distance"]):
        if not o["visible"]:
            continue
        t = o["objectId"]
        spec = w.objs.get(t) or w.door_specs.get(t)
        color = getattr(spec, "color", None)
        name = getattr(spec, "name", None) or ""
        kind = o["objectType"]
        label = " ".join(x for x in (color, kind) if x) + f" '{t}'" + (f" ({name})" if name else "")
        states = []
        if w.can(t, "openable") or kind == "door":
            states.append("open" if o["isOpen"] else "closed")
        if o["isLocked"]:
            states.append("locked")
        if w.can(t, "toggleable"):
            states.append("on" if o["isToggled"] else "off")
        p = o["position"]
        b = bearing_to(pose, (p["x"], p["y"]))
        side = "ahead" if abs(b) < 15 else (f"{abs(b):.0f} degrees to the {'left' if b < 0 else 'right'}")
        reach = ", within reach" if o["interactable"] else ""
        parts.append(
            f"{label}{' [' + ', '.join(states) + ']' if states else ''}: {o['distance']:.1f} m, {side}{reach}"
        )
    if not parts:
        return "nothing but walls and floor."
    return "; ".join(parts) + "."


def next_milestone(env: Any, aid: str) -> str:
    """The first checkpoint of the plan not reached yet, in words (the ``hints`` knob)."""
    from ..tasks import describe_goal

    reached = set(env.get_state().get("reached", ()))
    for i, cp in enumerate(env.checkpoints):
        if i not in reached:
            text = re.sub(rf"\b{re.escape(aid)}\b", "you", describe_goal(cp))
            return re.sub(r"\byou (read|hold|get|say)s\b", r"you \1", text)
    return "the goal itself"
