"""In-process Panda3D renderer: scene nodes in, RGB / depth / segmentation arrays out.

No ZeroMQ here (see :mod:`embodied.bridges.panda3d.server`). Headless: it drives a
``GraphicsEngine`` with an offscreen buffer directly (no ShowBase, no X server, no audio).

Backends: ``"software"`` (Panda3D's tinydisplay CPU rasteriser, deterministic pixels),
``"gl"`` (p3headlessgl / EGL; fails with EngineError when unavailable), ``"auto"`` (gl, then
software). World frame: Panda3D's (x east, y north, z up; meters; hpr in degrees).

Outputs of :meth:`Renderer.render` (row 0 = top of the image, C-contiguous):
  * ``rgb``   uint8   (H, W, 3), lit by an ambient and two directional lights.
  * ``depth`` float32 (H, W), meters along the camera's view axis (z-depth), ``inf`` for void.
  * ``seg``   int32   (H, W), the node's ``seg`` value, 0 for void.

Depth and seg come from one extra flat-colour pass that encodes each node's internal index
(exact, 6 bits per channel); depth is then computed per pixel by exact ray/shape
intersection in numpy (tinydisplay cannot read back its z-buffer). Both line up with rgb
pixel for pixel: same camera, same geometry, same rasteriser.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
from embodied.bridges.panda3d.geometry import intersect, make_unit_geoms
from embodied.bridges.panda3d.text import text_card
from panda3d.core import (
    AmbientLight,
    Camera,
    ColorAttrib,
    CullBinEnums,
    CullBinManager,
    DirectionalLight,
    FrameBufferProperties,
    GraphicsEngine,
    GraphicsOutput,
    GraphicsPipe,
    GraphicsPipeSelection,
    LightAttrib,
    MaterialAttrib,
    NodePath,
    PerspectiveLens,
    RenderState,
    Texture,
    TextureAttrib,
    WindowProperties,
    loadPrcFileData,
)

from embodied.errors import EngineError, ProtocolError
from embodied.protocol import check_camera, check_node, check_str_list, check_update, check_vec

loadPrcFileData(
    "embodied",
    """
load-display p3tinydisplay
aux-display p3headlessgl
window-type none
audio-library-name null
framebuffer-multisample 0
sync-video 0
notify-level warning
default-directnotify-level warning
text-pixels-per-unit 64
text-minfilter linear
""",
)

# Draw opaque geometry in scene-graph order, not sorted by render-state pointers: with the
# default state-sorted bin, which of two surfaces meeting at equal depth wins a pixel depended
# on the order states were created, so a scene reloaded from a state rendered a few pixels
# differently from the same scene reached by updates (recovery after an engine restart).
_bins = CullBinManager.get_global_ptr()
_bins.set_bin_type(_bins.find_bin("opaque"), CullBinEnums.BT_unsorted)

PIPES = {"software": "TinyOffscreenGraphicsPipe", "gl": "eglGraphicsPipe"}
MAX_NODES = 1 << 18
MAX_BUFFERS = 32  # offscreen buffers kept across all scenes; the least recently used is freed
MAX_BUFFER_PIXELS = 4096 * 4096 * 2  # and at most this many pixels in them together
DEFAULT_SCENE = "default"
_SHIFT = 2  # id pass: 6 bits per channel, value (k << 2) + 2 survives tinydisplay's +-1 error


def _open_pipe(renderer: str):
    sel = GraphicsPipeSelection.get_global_ptr()
    sel.load_aux_modules()
    wanted = ["gl", "software"] if renderer == "auto" else [renderer]
    problems = []
    for kind in wanted:
        if kind not in PIPES:
            raise EngineError(f"unknown renderer {kind!r}; expected 'software', 'gl' or 'auto'")
        types = [t for t in sel.get_pipe_types() if t.name == PIPES[kind]]
        pipe = sel.make_pipe(types[0]) if types else None
        if pipe is None or not pipe.is_valid():
            problems.append(f"{kind}: pipe {PIPES[kind]} not available")
            continue
        engine = GraphicsEngine(pipe)
        buf = _make_buffer(engine, pipe, 16, 16)
        if buf is None:
            problems.append(f"{kind}: could not open an offscreen buffer on {PIPES[kind]}")
            continue
        gsg = buf.get_gsg()
        driver = (
            " ".join(
                s for s in (gsg.get_driver_vendor(), gsg.get_driver_renderer(), gsg.get_driver_version()) if s
            )
            or pipe.get_interface_name()
        )
        engine.remove_window(buf)
        return kind, pipe, engine, driver
    raise EngineError(
        "no usable renderer (" + "; ".join(problems) + "). Use --renderer software "
        "(CPU, always available) or install EGL/Mesa for --renderer gl."
    )


def _id_state(index: int) -> RenderState:
    """Flat colour of node ``index`` in the id pass: index + 1 in 6-bit digits (r, g, b)."""
    k = index + 1
    code = [(((k >> (6 * c)) & 63) << _SHIFT | 2) / 255 for c in range(3)]
    return RenderState.make(ColorAttrib.make_flat((*code, 1)), 1000)


def _make_buffer(engine, pipe, width, height, gsg=None):
    fbp = FrameBufferProperties()
    fbp.set_rgb_color(True)
    fbp.set_color_bits(24)
    fbp.set_depth_bits(24)
    return engine.make_output(
        pipe,
        f"buf{width}x{height}",
        0,
        fbp,
        WindowProperties.size(width, height),
        GraphicsPipe.BF_refuse_window | GraphicsPipe.BF_resizeable,
        gsg,
    )


class _Buffer:
    """An offscreen buffer with its RAM texture and display region. Panda3D never gives back the
    memory of a removed buffer, so buffers are pooled and resized (which does free memory)."""

    def __init__(self, engine, pipe, gsg, width: int, height: int):
        self.buffer = _make_buffer(engine, pipe, width, height, gsg)
        if self.buffer is None:
            raise EngineError(f"could not open a {width}x{height} offscreen buffer")
        self.tex = Texture()
        self.buffer.add_render_texture(self.tex, GraphicsOutput.RTM_copy_ram, GraphicsOutput.RTP_color)
        self.buffer.set_clear_color_active(True)
        self.region = self.buffer.make_display_region()
        self.buffer.set_active(False)

    def resize(self, width: int, height: int) -> None:
        if (self.buffer.get_x_size(), self.buffer.get_y_size()) != (width, height):
            self.buffer.set_size(width, height)


class _Target:
    """One offscreen buffer (per resolution) with an rgb camera and an id-pass camera."""

    def __init__(self, renderer: Renderer, width: int, height: int):
        self.width, self.height = width, height
        self.slot = renderer._take_buffer(width, height)
        self.buffer, self.tex, self.region = self.slot.buffer, self.slot.tex, self.slot.region
        self.lens = PerspectiveLens()
        self.eye = renderer.root.attach_new_node("eye")
        self.cam = self.eye.attach_new_node(Camera("rgb", self.lens))
        idcam = Camera("id", self.lens)
        idcam.set_initial_state(renderer.id_state)
        idcam.set_tag_state_key("nid")
        self.idcam = self.eye.attach_new_node(idcam)
        self.region.set_camera(self.cam)

    def free(self) -> _Buffer:
        """Drop the cameras and hand back the buffer (the target is unusable afterwards)."""
        self.idcam.node().clear_tag_states()
        self.region.set_camera(NodePath())
        self.eye.remove_node()
        self.tex.clear_ram_image()
        slot, self.slot = self.slot, None
        return slot

    def grab(self, camera_np, clear) -> np.ndarray:
        self.region.set_camera(camera_np)
        self.buffer.set_clear_color(clear)
        self.buffer.set_active(True)
        self.buffer.get_engine().render_frame()
        self.buffer.set_active(False)
        img = np.frombuffer(self.tex.get_ram_image_as("RGB"), np.uint8)
        return img.reshape(self.height, self.width, 3)[::-1]


class _Scene:
    """One scene held by the engine: its own root (lights + nodes), cameras and offscreen targets."""

    def __init__(self, handle: str):
        self.handle = handle
        self.root = NodePath("render")
        self.scene = self.root.attach_new_node("scene")
        self.targets: dict[tuple[int, int], _Target] = {}
        self.cameras: dict[str, dict] = {}
        self.nodes: dict[str, dict] = {}
        self.order: list[str] = []
        self.background = (0.0, 0.0, 0.0)
        self.name = ""


def _scene_attr(name: str) -> property:
    """A Renderer attribute that belongs to the scene in use (see :meth:`Renderer.use`)."""

    def get(self):
        return getattr(self.current, name)

    def set(self, value):
        setattr(self.current, name, value)

    return property(get, set, doc=f"``{name}`` of the scene in use")


class Renderer:
    """Renders scenes of boxes, cylinders, spheres and cards (see docs/protocol.md scene nodes).

    The renderer holds several scenes, each named by a handle, each with its own root node,
    cameras and offscreen buffers; :meth:`use` picks the one that ``load_scene``, ``update``,
    ``set_cameras``, ``render`` and ``raycast`` act on (in-process users who never call it get
    one scene, ``"default"``). Offscreen buffers are capped engine-wide (``max_buffers``,
    ``max_buffer_pixels``): the least recently used one is freed and rebuilt when needed.

    Raises ProtocolError for invalid nodes, updates, cameras or unknown ids (nothing is
    applied from a failing call), EngineError when no backend can be opened.
    """

    root = _scene_attr("root")
    scene = _scene_attr("scene")
    targets = _scene_attr("targets")
    cameras = _scene_attr("cameras")
    nodes = _scene_attr("nodes")
    order = _scene_attr("order")
    background = _scene_attr("background")
    name = _scene_attr("name")

    def __init__(
        self,
        renderer: str = "software",
        max_buffers: int = MAX_BUFFERS,
        max_buffer_pixels: int = MAX_BUFFER_PIXELS,
    ):
        self.backend, self.pipe, self.engine, self.driver = _open_pipe(renderer)
        self.max_buffers, self.max_buffer_pixels = max(1, max_buffers), max_buffer_pixels
        self._host = _make_buffer(self.engine, self.pipe, 16, 16)  # keeps the shared GSG alive
        self.gsg = None
        if self._host is not None:
            self._host.set_active(False)
            self.gsg = self._host.get_gsg()
        self.geoms = make_unit_geoms()
        self.id_state = RenderState.make(
            LightAttrib.make_all_off(), TextureAttrib.make_off(), MaterialAttrib.make_off(), 1000
        )
        self.scenes: dict[str, _Scene] = {}
        self._current: _Scene | None = None
        self._lru: OrderedDict[tuple[str, int, int], _Target] = OrderedDict()  # every live target
        self._pool: list[_Buffer] = []  # buffers of freed targets, shrunk, for reuse
        self._ray_cache: tuple = (None, None)

    # ------------------------------------------------------------ scenes (handles)
    @property
    def current(self) -> _Scene:
        """The scene in use; in-process users who never call :meth:`use` get ``"default"``."""
        if self._current is None:
            self.use(DEFAULT_SCENE, create=True)
        return self._current

    def use(self, handle: str, create: bool = False) -> _Scene:
        """Make scene ``handle`` the one later calls act on (``create``: make it if it is new)."""
        sc = self.scenes.get(handle)
        if sc is None:
            if not create:
                raise ProtocolError(
                    f"field 'scene': unknown scene handle {handle!r:.80}; load_scene (without 'scene') "
                    f"returns a new handle ({len(self.scenes)} scenes open)"
                )
            sc = self.scenes[handle] = _Scene(handle)
            self._current = sc
            self._lights()
        self._current = sc
        return sc

    def close_scene(self, handle: str) -> None:
        """Free scene ``handle``: its nodes, cameras and buffers. Unknown handles raise ProtocolError."""
        sc = self.use(handle)
        for key in [k for k in self._lru if k[0] == handle]:
            self._release(self._lru.pop(key))
        sc.targets.clear()
        sc.root.remove_node()
        sc.nodes.clear()
        del self.scenes[handle]
        self._current = None
        RenderState.garbage_collect()

    def buffer_count(self) -> int:
        return len(self._lru)

    def _lights(self):
        amb = self.root.attach_new_node(AmbientLight("ambient"))
        amb.node().set_color((0.55, 0.55, 0.55, 1))
        self.root.set_light(amb)
        for hpr, level in (((30, -50, 0), 0.5), ((-150, -20, 0), 0.22)):
            sun = self.root.attach_new_node(DirectionalLight("sun"))
            sun.node().set_color((level, level, level, 1))
            sun.set_hpr(*hpr)
            self.root.set_light(sun)

    # ------------------------------------------------------------ scene
    def load_scene(self, nodes: list, name: str = "", background=None) -> int:
        """Replace the whole scene. Returns the node count."""
        if len(nodes) >= MAX_NODES:
            raise ProtocolError(f"field 'nodes': {len(nodes)} nodes; at most {MAX_NODES - 1} per scene")
        checked = [check_node(n, f"nodes[{i}]") for i, n in enumerate(nodes)]
        ids = set()
        for i, n in enumerate(checked):
            if n["id"] in ids:
                raise ProtocolError(f"field 'nodes[{i}].id': duplicate node id {n['id']!r}")
            ids.add(n["id"])
        bg = check_vec(background, "background") if background is not None else (0.0, 0.0, 0.0)
        for cam in self.targets.values():
            cam.idcam.node().clear_tag_states()
        self.scene.remove_node()
        self.scene = self.root.attach_new_node("scene")
        self.nodes, self.order, self.name, self.background = {}, [], name, bg
        for index, n in enumerate(checked):
            self._build(index, n)
        return len(checked)

    def _build(self, index: int, n: dict):
        np_ = self.scene.attach_new_node(n["id"])
        np_.set_tag("nid", str(index))
        body = np_.attach_new_node("body")
        body.attach_new_node(self.geoms[n["shape"]].make_copy())
        sx, sy, sz = (max(s, 1e-4) for s in n["size"])
        body.set_scale(sx, 1.0 if n["shape"] == "card" else sy, sz)
        rec = dict(n, np=np_, body=body, index=index, textnp=None)
        self.nodes[n["id"]] = rec
        self.order.append(n["id"])
        for t in self.targets.values():
            t.idcam.node().set_tag_state(str(index), _id_state(index))
        self._apply(rec, n)

    def _apply(self, rec: dict, u: dict):
        np_ = rec["np"]
        if "pos" in u:
            np_.set_pos(*u["pos"])
        if "hpr" in u:
            np_.set_hpr(*u["hpr"])
        if "color" in u:
            rec["body"].set_color(*u["color"], 1)
        if "visible" in u:
            np_.show() if u["visible"] else np_.hide()
        looks = (rec.get("text"), tuple(rec.get("color") or ()), tuple(rec.get("text_color") or ()))
        for key in ("pos", "hpr", "color", "visible", "text_color", "text"):
            if key in u:
                rec[key] = u[key]
        if rec["textnp"] is None or looks != (
            rec.get("text"),
            tuple(rec.get("color") or ()),
            tuple(rec.get("text_color") or ()),
        ):
            self._text(rec)  # redraw only when the text or its colors really changed

    def _text(self, rec: dict):
        """Draw ``rec['text']`` on the node's front face (local -y) as a mipmapped texture card."""
        if rec["textnp"] is not None:
            tex = rec["textnp"].get_texture()
            rec["textnp"].remove_node()
            rec["textnp"] = None
            if tex is not None:  # free it now: Panda's state cache would keep it alive
                tex.release_all()
                tex.clear_ram_image()
                tex.clear_ram_mipmap_images()
                RenderState.garbage_collect()
        if not rec["text"] or rec["shape"] not in ("box", "card"):
            return
        sx, sy, sz = rec["size"]
        if sx <= 0 or sz <= 0:
            return
        card = text_card(rec["text"], sx, sz, tuple(rec.get("color", (1, 1, 1))), tuple(rec["text_color"]))
        front = -(sy / 2 if rec["shape"] == "box" else 0.0) - 0.002
        card.reparent_to(rec["np"])
        card.set_y(front)
        card.set_depth_offset(1)
        rec["textnp"] = card

    def update(self, updates: list) -> int:
        """Apply node updates (all or nothing). Returns how many were applied."""
        checked = [check_update(u, f"updates[{i}]") for i, u in enumerate(updates)]
        for i, u in enumerate(checked):
            if u["id"] not in self.nodes:
                raise ProtocolError(
                    f"field 'updates[{i}].id': unknown node id {u['id']!r} "
                    f"(scene {self.name!r} has {len(self.nodes)} nodes); nothing was applied"
                )
        for u in checked:
            self._apply(self.nodes[u["id"]], u)
        return len(checked)

    def set_cameras(self, cameras: list) -> None:
        """Set each agent's camera pose, horizontal fov (degrees) and resolution (all or nothing)."""
        checked = [check_camera(c, f"cameras[{i}]") for i, c in enumerate(cameras)]
        for c in checked:
            self.cameras[c["agent"]] = c

    # ------------------------------------------------------------ rendering
    def _target(self, cam: dict) -> _Target:
        key = (cam["width"], cam["height"])
        lru_key = (self.current.handle, *key)
        if key not in self.targets:
            self._make_room(key[0] * key[1])
            t = self.targets[key] = _Target(self, *key)
            if self.gsg is None:
                self.gsg = t.buffer.get_gsg()
            for rec in self.nodes.values():
                t.idcam.node().set_tag_state(str(rec["index"]), _id_state(rec["index"]))
            self._lru[lru_key] = t
        self._lru.move_to_end(lru_key)
        t = self.targets[key]
        t.eye.set_pos_hpr(*cam["pos"], *cam["hpr"])
        h = cam["fov"]
        v = math.degrees(2 * math.atan(math.tan(math.radians(h) / 2) * cam["height"] / cam["width"]))
        t.lens.set_fov(h, v)
        t.lens.set_near_far(0.02, 1000.0)
        return t

    def render(self, agents=("a0",), modalities=("rgb",)) -> dict[str, dict[str, np.ndarray]]:
        """Render each agent's view: ``{agent: {modality: array}}`` (see module docstring)."""
        agents = check_str_list(list(agents), "agents")
        modalities = check_str_list(list(modalities), "modalities", ("rgb", "depth", "seg"))
        for a in agents:
            if a not in self.cameras:
                raise ProtocolError(
                    f"field 'agents': no camera for agent {a!r}; set one with the "
                    f"'camera' op first (known: {sorted(self.cameras)})"
                )
        out: dict[str, dict[str, np.ndarray]] = {}
        for a in agents:
            cam = self.cameras[a]
            t = self._target(cam)
            res: dict[str, np.ndarray] = {}
            if "rgb" in modalities:
                res["rgb"] = np.ascontiguousarray(t.grab(t.cam, (*self.background, 1)))
            if "depth" in modalities or "seg" in modalities:
                img = t.grab(t.idcam, (0, 0, 0, 1)).astype(np.int32) >> _SHIFT
                ids = img[..., 0] | (img[..., 1] << 6) | (img[..., 2] << 12)  # node index + 1
                if "seg" in modalities:
                    lut = np.zeros(len(self.order) + 1, np.int32)
                    lut[1:] = [self.nodes[i]["seg"] for i in self.order]
                    res["seg"] = lut[np.minimum(ids, len(self.order))]
                if "depth" in modalities:
                    res["depth"] = self._depth(t, cam, ids)
            out[a] = {m: res[m] for m in modalities}
        return out

    def _make_room(self, pixels: int) -> None:
        """Free least recently used buffers until one more of ``pixels`` fits the caps."""
        if pixels > self.max_buffer_pixels:
            raise ProtocolError(
                f"a {pixels}-pixel camera exceeds this engine's buffer budget of "
                f"{self.max_buffer_pixels} pixels (--max-buffer-pixels); ask for a smaller width/height"
            )
        while self._lru and (
            len(self._lru) >= self.max_buffers
            or sum(t.width * t.height for t in self._lru.values()) + pixels > self.max_buffer_pixels
        ):
            (handle, w, h), t = self._lru.popitem(last=False)
            self.scenes[handle].targets.pop((w, h), None)
            self._release(t)

    def _take_buffer(self, width: int, height: int) -> _Buffer:
        if self._pool:
            slot = self._pool.pop()
            slot.resize(width, height)
            return slot
        return _Buffer(self.engine, self.pipe, self.gsg, width, height)

    def _release(self, t: _Target) -> None:
        slot = t.free()
        slot.resize(16, 16)  # gives the pixels' memory back
        self._pool.append(slot)

    def _rays(self, cam: dict) -> np.ndarray:
        """Per-pixel ray directions (H*W, 3) float32 in camera space (x right, y forward,
        z up), scaled so the view-axis component is 1: the ray parameter is the z-depth."""
        key = (cam["width"], cam["height"], cam["fov"])
        if self._ray_cache[0] != key:
            w, h = cam["width"], cam["height"]
            tx = math.tan(math.radians(cam["fov"]) / 2)
            tz = tx * h / w
            d = np.empty((h, w, 3), np.float32)
            d[..., 0] = (((np.arange(w) + 0.5) / w * 2 - 1) * tx)[None, :]
            d[..., 1] = 1.0
            d[..., 2] = ((1 - (np.arange(h) + 0.5) / h * 2) * tz)[:, None]
            self._ray_cache = (key, d.reshape(-1, 3))
        return self._ray_cache[1]

    def _depth(self, t: _Target, cam: dict, ids: np.ndarray) -> np.ndarray:
        dirs = self._rays(cam)
        eye = np.array(t.eye.get_mat(self.root), dtype=np.float64).reshape(4, 4)
        flat = ids.reshape(-1).astype(np.uint16 if len(self.order) < 65535 else np.int32)
        order = np.argsort(flat, kind="stable")
        counts = np.bincount(flat, minlength=len(self.order) + 1)
        depth = np.full(flat.shape, np.inf, np.float32)
        start = counts[0]
        for k in np.nonzero(counts[1:])[0] + 1:
            sel = order[start : start + counts[k]]
            start += counts[k]
            if k > len(self.order):
                continue
            rec = self.nodes[self.order[k - 1]]
            depth[sel] = self._hit_t(rec, eye, dirs[sel], strict=False)
        return depth.reshape(ids.shape)

    def _hit_t(self, rec: dict, frame: np.ndarray, dirs: np.ndarray, strict: bool) -> np.ndarray:
        """Ray parameters of rays from frame's origin along dirs (in frame's axes) hitting rec."""
        inv = np.linalg.inv(np.array(rec["body"].get_mat(self.root), dtype=np.float64).reshape(4, 4))
        m = frame @ inv  # frame -> node unit space (row vectors)
        return intersect(rec["shape"], m[3, :3], dirs @ m[:3, :3].astype(dirs.dtype), strict)

    def raycast(self, src, dst) -> dict:
        """First visible node on the segment src -> dst (world meters).

        Returns ``{"hit": id or None, "seg": int (0 = none), "point": [x,y,z] or None,
        "distance": meters from src or None}``."""
        a = np.array(check_vec(src, "from"))
        b = np.array(check_vec(dst, "to"))
        d = (b - a)[None, :]
        frame = np.eye(4)
        frame[3, :3] = a
        best, best_t = None, np.inf
        for nid in self.order:
            rec = self.nodes[nid]
            if not rec.get("visible", True):
                continue
            tt = float(self._hit_t(rec, frame, d, strict=True)[0])
            if tt <= 1.0 and tt < best_t:
                best, best_t = rec, tt
        if best is None:
            return {"hit": None, "seg": 0, "point": None, "distance": None}
        p = a + best_t * (b - a)
        return {
            "hit": best["id"],
            "seg": best["seg"],
            "point": [float(v) for v in p],
            "distance": float(best_t * np.linalg.norm(b - a)),
        }

    def close(self) -> None:
        """Release every buffer; the renderer is unusable afterwards."""
        self._lru.clear()
        self._pool.clear()
        self.scenes.clear()
        self._current = None
        self.engine.remove_all_windows()
