"""The engine wire format, shared by the client (:mod:`embodied.engine`) and engine servers.

A message is a ZeroMQ multipart message: frame 0 is a msgpack-encoded header (a dict),
frames 1.. are raw buffers (sent zero-copy). Requests carry ``{"op": str, ...}`` and,
when the server was started with a token, ``"token": str``. An engine holds several scenes;
every request about a scene names it by its handle, ``"scene": str``, which ``load_scene``
returns. Replies are ``{"ok": True, ...}`` or ``{"ok": False, "error": {"type": str, "message": str}}``.
Array buffers are described in the reply header, in frame order, by
``"buffers": [{"scene": h, "agent": "a0", "name": "rgb", "shape": [H, W, 3], "dtype": "uint8"}, ...]``.
The full description (ops, fields, errors, versioning) is docs/protocol.md.

The ``check_*`` functions validate request fields and raise :class:`ProtocolError` naming
the field, the value received and what was expected; nothing received is ever evaluated.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import msgpack
import numpy as np

from embodied.errors import ProtocolError
from embodied.quoting import brief

PROTOCOL_VERSION = 2  # 2: scene handles (several scenes per engine), batched render, close_scene
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
OPS = ("hello", "ping", "load_scene", "close_scene", "update", "camera", "render", "raycast", "close")
MAX_HANDLE_CHARS = 64
MAX_BATCH = 256  # scenes in one render request
MAX_TEXT_CHARS = 4000  # text drawn on one node (a note, a screen)
MAX_ID_CHARS = 200
SHAPES = ("box", "cylinder", "sphere", "card")
MODALITIES = ("rgb", "depth", "seg")
DTYPES = {"uint8": np.uint8, "float32": np.float32, "int32": np.int32}


# ---------------------------------------------------------------- framing


def _default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise ProtocolError(
        f"cannot send {type(obj).__name__} {obj!r:.60} in a message header; "
        "use numbers, strings, lists, dicts"
    )


def pack(header: dict, buffers: Iterable[Any] = ()) -> list:
    """Return the frames of one message: the msgpack header, then the raw buffers.
    numpy scalars and arrays in the header are sent as numbers and lists."""
    return [msgpack.packb(header, use_bin_type=True, default=_default), *buffers]


def unpack_header(frame: Any) -> dict:
    """Decode frame 0. Raises ProtocolError when it is not msgpack or not a dict."""
    try:
        header = msgpack.unpackb(bytes(frame), raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises several unrelated types
        raise ProtocolError(
            f"header (frame 0) is not valid msgpack: {exc}; expected a msgpack map like {{'op': 'ping'}}"
        ) from None
    if not isinstance(header, dict):
        raise ProtocolError(f"header (frame 0) must be a msgpack map, got {type(header).__name__}")
    return header


def error_reply(exc: BaseException) -> dict:
    """The reply header for a failed request."""
    return {"ok": False, "error": {"type": type(exc).__name__, "message": str(exc)}}


_DTYPE_NAMES = {np.dtype(t).num: name for name, t in DTYPES.items()}


_FRAME_DTYPES = {"rgb": np.dtype(np.uint8), "depth": np.dtype(np.float32), "seg": np.dtype(np.int32)}


def posed_cameras(lenses: Sequence[tuple], poses: Sequence[float]) -> list[dict]:
    """The camera maps of a render request (docs/protocol.md) for cameras of ``lenses``
    ``(agent, fov, width, height)`` posed by ``poses``: per camera ``pos`` then ``hpr``, six
    numbers, as a compact request carries them (the env's poser and the engine's full form of a
    compact request both build their maps here)."""
    return [
        {
            "agent": agent,
            "pos": list(poses[i : i + 3]),
            "hpr": list(poses[i + 3 : i + 6]),
            "fov": fov,
            "width": width,
            "height": height,
        }
        for i, (agent, fov, width, height) in zip(range(0, 6 * len(lenses), 6), lenses)
    ]


def frame_spec(modality: str, width: int, height: int) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) of the frame a camera of ``width`` x ``height`` gives for a modality."""
    return ((height, width, 3) if modality == "rgb" else (height, width)), _FRAME_DTYPES[modality]


def describe(agent: str, name: str, array: np.ndarray, scene: str | None = None) -> dict:
    """The header entry that describes one array buffer."""
    dtype = _DTYPE_NAMES.get(array.dtype.num) or array.dtype.name  # (.name is slow Python code)
    out = {"agent": agent, "name": name, "shape": list(array.shape), "dtype": dtype}
    if scene is not None:
        out["scene"] = scene
    return out


def decode_buffers(header: dict, frames: list) -> dict[str, dict[str, np.ndarray]]:
    """Turn the reply's buffer frames into ``{agent: {name: array}}`` (read-only views,
    no copy). Raises ProtocolError when the descriptions and frames do not match."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for scenes in decode_scenes(header, frames).values():
        for agent, arrays in scenes.items():
            out.setdefault(agent, {}).update(arrays)
    return out


def decode_scenes(header: dict, frames: list) -> dict[str | None, dict[str, dict[str, np.ndarray]]]:
    """Like :func:`decode_buffers`, grouped by scene handle: ``{scene: {agent: {name: array}}}``."""
    descs = header.get("buffers", [])
    if not isinstance(descs, list) or len(descs) != len(frames):
        n = len(descs) if isinstance(descs, list) else "no list of"
        raise ProtocolError(f"reply describes {n} buffers but carries {len(frames)}")
    out: dict[str | None, dict[str, dict[str, np.ndarray]]] = {}
    for i, (desc, frame) in enumerate(zip(descs, frames)):
        if (
            not isinstance(desc, dict)
            or not isinstance(desc.get("agent"), str)
            or not isinstance(desc.get("name"), str)
            or not isinstance(desc.get("shape"), list)
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in desc["shape"])
        ):
            raise ProtocolError(
                f"buffer description {i} is malformed: {brief(desc)}; expected "
                "{'agent': str, 'name': str, 'shape': [ints], 'dtype': str}"
            )
        dtype = DTYPES.get(desc.get("dtype"))
        if dtype is None:
            raise ProtocolError(f"unknown buffer dtype {desc.get('dtype')!r}; expected one of {list(DTYPES)}")
        buf = frame.buffer if hasattr(frame, "buffer") else frame
        arr = np.frombuffer(buf, dtype=dtype)
        shape = tuple(desc["shape"])
        if arr.size != math.prod(shape):
            raise ProtocolError(f"buffer {desc['agent']}/{desc['name']}: {arr.size} items, shape {shape}")
        out.setdefault(desc.get("scene"), {}).setdefault(desc["agent"], {})[desc["name"]] = arr.reshape(shape)
    return out


# ---------------------------------------------------------------- field checks


def _tname(v: Any) -> str:
    return type(v).__name__


def check_type(value: Any, types: type | tuple, field: str, expected: str) -> Any:
    """Return value if isinstance(value, types) (bool is never a number), else raise."""
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise ProtocolError(f"field {brief(field)}: expected {expected}, got bool {value!r}")
    if not isinstance(value, types):
        raise ProtocolError(f"field {brief(field)}: expected {expected}, got {_tname(value)} {brief(value)}")
    return value


def check_handle(value: Any, field: str = "scene") -> str:
    """A scene handle: 1..64 characters of letters, digits and ``_ - . :``."""
    check_type(value, str, field, "a scene handle string (from load_scene)")
    if not 1 <= len(value) <= MAX_HANDLE_CHARS or not all(
        c.isascii() and (c.isalnum() or c in "_-.:") for c in value
    ):
        raise ProtocolError(
            f"field {field!r}: {brief(value)} is not a scene handle; expected 1..{MAX_HANDLE_CHARS} "
            "letters, digits or _-.: as returned by load_scene"
        )
    return value


def check_id(value: Any, field: str) -> str:
    check_type(value, str, field, "a string id")
    if not 1 <= len(value) <= MAX_ID_CHARS:
        raise ProtocolError(f"field {field!r}: ids have 1..{MAX_ID_CHARS} characters, got {len(value)}")
    return value


def check_text(value: Any, field: str) -> str:
    check_type(value, str, field, "a string or null")
    if len(value) > MAX_TEXT_CHARS:
        raise ProtocolError(
            f"field {field!r}: text of {len(value)} characters; at most {MAX_TEXT_CHARS} are drawn on a node"
        )
    return value


def check_number(value: Any, field: str) -> float:
    check_type(value, (int, float, np.integer, np.floating), field, "a number")
    try:
        out = float(value)
    except OverflowError:  # an int too large for a float
        out = math.inf
    if not math.isfinite(out):
        raise ProtocolError(f"field {field!r}: expected a finite number, got {brief(value)}")
    return out


_PLAIN_NUMBERS = frozenset((int, float))


def _vec3(value: Any) -> tuple[float, float, float] | None:
    """``check_vec(value, field, 3)`` for the common case (every camera, every pose): a list of 3
    finite ints or floats, as floats; None for anything else (``check_vec`` then says what is wrong)."""
    if type(value) is list and len(value) == 3:
        x, y, z = value
        tx, ty, tz = type(x), type(y), type(z)
        if (tx is float or tx is int) and (ty is float or ty is int) and (tz is float or tz is int):
            try:
                out = (float(x), float(y), float(z))
            except OverflowError:
                return None
            total = out[0] + out[1] + out[2]
            if total - total == 0.0:  # (inf or NaN anywhere makes it NaN; a sum that overflows, too)
                return out
    return None


def check_vec(value: Any, field: str, n: int = 3) -> tuple[float, ...]:
    """A list of n finite numbers."""
    if n == 3 and (out := _vec3(value)) is not None:  # the common case, in one pass
        return out
    check_type(value, (list, tuple, np.ndarray), field, f"a list of {n} numbers")
    if len(value) != n:
        raise ProtocolError(f"field {field!r}: expected a list of {n} numbers, got {len(value)} items")
    return tuple(check_number(v, f"{field}[{i}]") for i, v in enumerate(value))


def check_color(value: Any, field: str) -> tuple[float, float, float]:
    c = check_vec(value, field, 3)
    if any(v < 0 or v > 1 for v in c):
        raise ProtocolError(f"field {field!r}: color components must be in 0..1, got {list(c)}")
    return c


def check_str_list(value: Any, field: str, allowed: Iterable[str] | None = None) -> list[str]:
    if type(value) is list and all(type(v) is str for v in value):  # the common case, in one pass
        out = list(value)
    else:
        check_type(value, (list, tuple), field, "a list of strings")
        out = [check_type(v, str, f"{field}[{i}]", "a string") for i, v in enumerate(value)]
    if allowed is not None:
        if not isinstance(allowed, (tuple, list, set, frozenset)):
            allowed = list(allowed)
        for v in out:
            if v not in allowed:
                raise ProtocolError(
                    f"field {field!r}: unknown value {brief(v)}; expected one of {list(allowed)}"
                )
    return out


def check_list(value: Any, field: str) -> list:
    return check_type(value, (list, tuple), field, "a list")


def check_node(node: Any, field: str) -> dict:
    """Validate one scene node and return it normalised (defaults filled in)."""
    check_type(node, dict, field, "a node map")
    out = {"id": check_id(node.get("id"), f"{field}.id")}
    seg = check_type(node.get("seg"), int, f"{field}.seg", "an int >= 1")
    if seg < 1 or seg >= 2**31:
        raise ProtocolError(f"field '{field}.seg': expected an int >= 1, got {seg}")
    out["seg"] = seg
    out["kind"] = check_type(node.get("kind", ""), str, f"{field}.kind", "a string")
    shape = check_type(node.get("shape"), str, f"{field}.shape", f"one of {list(SHAPES)}")
    if shape not in SHAPES:
        raise ProtocolError(
            f"field '{field}.shape': unknown shape {brief(shape)}; expected one of {list(SHAPES)}"
        )
    out["shape"] = shape
    out["size"] = check_vec(node.get("size"), f"{field}.size")
    if any(s < 0 for s in out["size"]):
        raise ProtocolError(f"field '{field}.size': sizes must be >= 0, got {list(out['size'])}")
    out["pos"] = check_vec(node.get("pos", [0, 0, 0]), f"{field}.pos")
    out["hpr"] = check_vec(node.get("hpr", [0, 0, 0]), f"{field}.hpr")
    out["color"] = check_color(node.get("color", [0.7, 0.7, 0.7]), f"{field}.color")
    out["visible"] = check_type(node.get("visible", True), bool, f"{field}.visible", "a bool")
    text = node.get("text")
    out["text"] = None if text is None else check_text(text, f"{field}.text")
    out["text_color"] = check_color(node.get("text_color", [0.05, 0.05, 0.05]), f"{field}.text_color")
    for key in ("model", "material"):  # look fields (docs/rendering.md); renderers may ignore them
        if node.get(key):
            out[key] = check_type(node[key], str, f"{field}.{key}", "a string")
    if "look_seed" in node:
        out["look_seed"] = check_type(node["look_seed"], int, f"{field}.look_seed", "an int")
    if "state" in node:
        out["state"] = check_state(node["state"], f"{field}.state")
    return out


UPDATE_FIELDS = {"pos", "hpr", "color", "visible", "text", "text_color", "state"}
STATE_TYPES = (bool, int, float, str)


def check_state(state: Any, field: str) -> dict:
    """A node's ``state`` (docs/rendering.md): a small map of name -> bool/number/string."""
    check_type(state, dict, field, "a map of name -> bool/number/string")
    if len(state) > 32 or not all(
        isinstance(k, str) and isinstance(v, STATE_TYPES) for k, v in state.items()
    ):
        raise ProtocolError(f"field '{field}': expected at most 32 entries of name -> bool/number/string")
    return dict(state)


def check_update(upd: Any, field: str) -> dict:
    """Validate one node update ``{"id", any of pos/hpr/color/visible/text/text_color/state}``."""
    check_type(upd, dict, field, "an update map")
    out: dict[str, Any] = {"id": check_id(upd.get("id"), f"{field}.id")}
    for key in upd:
        if key != "id" and key not in UPDATE_FIELDS:
            raise ProtocolError(
                f"field '{field}.{key}': not updatable; expected some of {sorted(UPDATE_FIELDS)}"
            )
    if "pos" in upd:
        out["pos"] = check_vec(upd["pos"], f"{field}.pos")
    if "hpr" in upd:
        out["hpr"] = check_vec(upd["hpr"], f"{field}.hpr")
    for key in ("color", "text_color"):
        if key in upd:
            out[key] = check_color(upd[key], f"{field}.{key}")
    if "visible" in upd:
        out["visible"] = check_type(upd["visible"], bool, f"{field}.visible", "a bool")
    if "text" in upd:
        t = upd["text"]
        out["text"] = None if t is None else check_text(t, f"{field}.text")
    if "state" in upd:
        out["state"] = check_state(upd["state"], f"{field}.state")
    return out


MAX_RESOLUTION = 4096
_ORIGIN = [0, 0, 0]  # (pos and hpr a camera map leaves out; never changed)


def check_camera(cam: Any, field: str) -> dict:
    """Validate one camera ``{"agent", "pos", "hpr", "fov" (horizontal degrees), "width", "height"}``."""
    if type(cam) is dict:  # the common case (every render request), checked in one pass
        agent, fov = cam.get("agent"), cam.get("fov", 90)
        w, h = cam.get("width", 224), cam.get("height", 224)
        if (
            type(agent) is str
            and type(fov) in _PLAIN_NUMBERS
            and 1 <= fov <= 170
            and type(w) is int
            and type(h) is int
            and 1 <= w <= MAX_RESOLUTION
            and 1 <= h <= MAX_RESOLUTION
        ):
            pos, hpr = _vec3(cam.get("pos", _ORIGIN)), _vec3(cam.get("hpr", _ORIGIN))
            if pos is not None and hpr is not None:
                return {"agent": agent, "pos": pos, "hpr": hpr, "fov": float(fov), "width": w, "height": h}
    check_type(cam, dict, field, "a camera map")
    out = {"agent": check_type(cam.get("agent"), str, f"{field}.agent", "a string")}
    out["pos"] = check_vec(cam.get("pos", _ORIGIN), f"{field}.pos")
    out["hpr"] = check_vec(cam.get("hpr", _ORIGIN), f"{field}.hpr")
    fov = check_number(cam.get("fov", 90), f"{field}.fov")
    if not 1 <= fov <= 170:
        raise ProtocolError(f"field '{field}.fov': expected horizontal degrees in 1..170, got {fov}")
    out["fov"] = fov
    for key in ("width", "height"):
        v = check_type(cam.get(key, 224), int, f"{field}.{key}", "an int")
        if not 1 <= v <= MAX_RESOLUTION:
            raise ProtocolError(f"field '{field}.{key}': expected 1..{MAX_RESOLUTION} pixels, got {v}")
        out[key] = v
    return out


# ---------------------------------------------------------------- render request checks
# One definition, used by the server (validating a whole batch before applying any of it)
# and by the renderer's own methods (called directly in-process).


def check_render_agents(
    agents: Any, known_cameras: Iterable[str], field: str = "agents", scene: str = ""
) -> list[str]:
    """The agents to render: a list of ids, each with a camera (known, or sent in this request)."""
    agents = check_str_list(agents, field)
    known = known_cameras if isinstance(known_cameras, (set, dict, frozenset)) else set(known_cameras)
    for a in agents:
        if a not in known:
            where = f" in scene {scene!r}" if scene else ""
            raise ProtocolError(
                f"field '{field}': no camera for agent {brief(a)}{where}; send 'cameras' with this "
                f"request or the 'camera' op first (known: {sorted(known)[:20]})"
            )
    return agents


def check_updates(updates: Any, nodes: Iterable[str], field: str = "updates", scene: str = "") -> list[dict]:
    """Node updates, each well-formed and naming a node of the scene (all are checked before any applies)."""
    if not updates:
        return []  # (the common case: no node changed)
    checked = [check_update(u, f"{field}[{i}]") for i, u in enumerate(check_list(updates or [], field))]
    return check_update_ids(checked, nodes, field, scene)


def check_update_ids(
    checked: list[dict], nodes: Iterable[str], field: str = "updates", scene: str = ""
) -> list[dict]:
    """Checked updates whose ids all name nodes of the scene (else nothing may be applied)."""
    if not checked:
        return checked
    names = nodes if isinstance(nodes, (set, dict, frozenset)) else set(nodes)
    for i, u in enumerate(checked):
        if u["id"] not in names:
            where = f" in scene {scene!r}" if scene else ""
            raise ProtocolError(
                f"field '{field}[{i}].id': unknown node id {brief(u['id'])}{where}; nothing was applied"
            )
    return checked


def check_cameras(cameras: Any, field: str = "cameras") -> list[dict]:
    return [check_camera(c, f"{field}[{i}]") for i, c in enumerate(check_list(cameras or [], field))]
