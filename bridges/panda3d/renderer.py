"""In-process Panda3D renderer: scene nodes in, RGB / depth / segmentation arrays out.

No ZeroMQ here (see :mod:`embodied.bridges.panda3d.server`). Headless: it drives a
``GraphicsEngine`` with an offscreen buffer directly (no ShowBase, no X server, no audio).

Backends: ``"software"`` (Panda3D's tinydisplay CPU rasteriser, deterministic pixels),
``"gl"`` (p3headlessgl / EGL; fails with EngineError when unavailable), ``"auto"`` (gl, then
software). World frame: Panda3D's (x east, y north, z up; meters; hpr in degrees).

Nodes are drawn from models (:mod:`.models`, ``embodied/models.yaml``): a node's ``model``
names its parts; its ``state`` poses hinged or sliding parts, recolours lights and shows or
hides parts. A node without a model is its primitive ``shape``. Static parts of a node are
baked into one mesh per material, each moving part group into one more (docs/rendering.md).

Outputs of :meth:`Renderer.render` (row 0 = top of the image, C-contiguous):
  * ``rgb``   uint8   (H, W, 3), textured, lit by an ambient and two directional lights.
  * ``depth`` float32 (H, W), meters along the camera's view axis (z-depth), ``inf`` for void.
  * ``seg``   int32   (H, W), the node's ``seg`` value (all parts of a node), 0 for void.

Depth and seg come from one extra flat pass of the *same triangles* in which every polygon
carries its own face id (24 bits of flat vertex colour, which tinydisplay draws exactly). Seg is a
table lookup face id -> seg. Depth is exact for the drawn polygon: each face's plane, moved
into camera space once per frame, gives 1/depth as an affine function of the pixel centre
(tinydisplay cannot read back its z-buffer). Text cards are drawn 3 mm in front of their
face; depth there is the face's.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
from embodied.bridges.panda3d import geometry as G
from embodied.bridges.panda3d.decode import decode
from embodied.bridges.panda3d.models import Model, load_models
from embodied.bridges.panda3d.nodes import NodeBuilder, split_look
from panda3d.core import (
    AmbientLight,
    AuxBitplaneAttrib,
    Camera,
    CullBinEnums,
    CullBinManager,
    Datagram,
    DirectionalLight,
    FrameBufferProperties,
    GraphicsEngine,
    GraphicsOutput,
    GraphicsPipe,
    GraphicsPipeSelection,
    GraphicsThreadingModel,
    LightAttrib,
    NodePath,
    PerspectiveLens,
    RenderState,
    ShadeModelAttrib,
    Texture,
    TextureAttrib,
    Vec3,
    WindowProperties,
    loadPrcFileData,
)

from embodied.errors import EngineError, ProtocolError
from embodied.protocol import (
    MODALITIES,
    check_cameras,
    check_node,
    check_render_agents,
    check_str_list,
    check_update,
    check_update_ids,
    check_vec,
)

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
transform-cache 0
""",
)
# transform-cache 0: Panda3D keeps every composed TransformState in a global cache that nothing
# collects without ShowBase; each new camera pose added ~24 entries, so an engine's memory grew
# without bound over a long run (+34 MB in 20,000 steps). Uncached composition is also faster.

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
# Render threads a scene's buffers can be drawn by (Panda3D threading models): "" is the thread
# calling render_frame, "render1" a Panda3D thread of its own (Renderer(threads=2)).
LANES = ("", "render1")
# What the roots of a scene drawn by render thread 1 carry, so that none of its render states is
# one that thread 0 draws with (tinydisplay ignores this attribute; see Renderer._spread).
LANE_MARK = AuxBitplaneAttrib.make(0)
# With render threads, may the two threads draw a batch's scenes at the same time? Not for now: a
# race remains (tests/bridges/test_render_threads.py found a depth frame differing from one
# thread's when they overlapped after the merged rooms' per-eye face sets landed), so the threads
# draw one after the other (docs/performance.md, "Rendering a batch on two threads").
OVERLAP = False
DEFAULT_SCENE = "default"
VOID = (0, 0, 0, 0)  # the id pass's clear colour: face id 0
LIGHT_KINDS = ("light:ambient", "light:directional")  # nodes of these kinds light the scene
DEFAULT_RIG = (  # ambient, a key light from above, a fill from the other side (docs/rendering.md)
    {"kind": "light:ambient", "color": (0.5, 0.5, 0.5), "hpr": (0, 0, 0)},
    {"kind": "light:directional", "color": (0.6, 0.6, 0.6), "hpr": (30, -55, 0)},
    {"kind": "light:directional", "color": (0.25, 0.25, 0.25), "hpr": (-150, -20, 0)},
)


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


def _make_buffer(engine, pipe, width, height, gsg=None, lane: str = ""):
    """An offscreen buffer drawn by render thread ``lane`` ("": the thread calling render_frame)."""
    engine.set_threading_model(GraphicsThreadingModel(lane))
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


_CV2: list = []
_U8 = np.dtype(np.uint8)  # (a dtype object: numpy converts the type np.uint8 on every call)


def _cv2():
    """OpenCV if it imports (imported on the first frame, not at engine start), else None."""
    if not _CV2:
        try:
            import cv2
        except ImportError:  # optional: the numpy path below gives the same pixels
            cv2 = None
        _CV2.append(cv2)
    return _CV2[0]


class _Buffer:
    """An offscreen buffer with its RAM texture and display region. Panda3D never gives back the
    memory of a removed buffer, so buffers are pooled and resized (which does free memory)."""

    def __init__(self, engine, pipe, gsg, width: int, height: int, lane: int = 0):
        self.lane = lane
        self.buffer = _make_buffer(engine, pipe, width, height, gsg, LANES[lane])
        if self.buffer is None:
            raise EngineError(f"could not open a {width}x{height} offscreen buffer")
        self.tex = Texture()
        self.buffer.add_render_texture(self.tex, GraphicsOutput.RTM_copy_ram, GraphicsOutput.RTP_color)
        self.buffer.set_clear_color_active(True)
        self.region = self.buffer.make_display_region()
        self.buffer.set_active(False)
        self.drawn_by = self.clear = None  # what _Target.arm last set on the region and buffer

    def resize(self, width: int, height: int) -> None:
        if (self.buffer.get_x_size(), self.buffer.get_y_size()) != (width, height):
            self.buffer.set_size(width, height)


class _Target:
    """One offscreen buffer (per resolution) with an rgb camera and an id-pass camera; with render
    threads, one buffer per render thread that drew it (``slots``, made when first needed):
    ``slot`` (and ``buffer``, ``tex``, ``region``) is the one in use (:meth:`use`)."""

    def __init__(self, renderer: Renderer, width: int, height: int):
        self.width, self.height = width, height
        self.slots: list[_Buffer | None] = [None] * renderer.threads
        self.slot = self.slots[0] = renderer._take_buffer(width, height, 0)
        self.buffer, self.tex, self.region = self.slot.buffer, self.slot.tex, self.slot.region
        self.lens = PerspectiveLens()
        self.lens.set_near_far(0.02, 1000.0)
        self.pose = None  # what the eye was last set to
        self.eye = renderer.world.attach_new_node("eye")
        cam = Camera("rgb", self.lens)
        cam.set_scene(renderer.root)
        self.cam = self.eye.attach_new_node(cam)
        idcam = Camera("id", self.lens)
        idcam.set_scene(renderer.id_root)
        self.idcam = self.eye.attach_new_node(idcam)
        self.key = None
        self.lru: tuple = ()  # its key in the renderer's LRU order of targets (Renderer._target)
        self.xs = self.zs = None
        self.outputs: list[np.ndarray] = []  # depth/seg arrays to recycle once dropped (decode.recycled)
        self.fov = None  # the lens's horizontal fov

    def use(self, slot: _Buffer) -> None:
        """Draw into ``slot`` (one of ``slots``) from now on."""
        self.slot = self.slots[slot.lane] = slot
        self.buffer, self.tex, self.region = slot.buffer, slot.tex, slot.region

    def live(self) -> list[_Buffer]:
        """The buffers it has (one per render thread that drew it)."""
        return [slot for slot in self.slots if slot is not None]

    def free(self) -> list[_Buffer]:
        """Drop the cameras and hand back the buffers (the target is unusable afterwards)."""
        self.eye.remove_node()
        slots = self.live()
        for slot in slots:
            slot.region.set_camera(NodePath())
            slot.drawn_by = slot.clear = None
            slot.tex.clear_ram_image()
        self.slots, self.slot = [], None
        return slots

    def arm(self, camera_np, clear) -> None:
        """Make the next ``render_frame`` draw ``camera_np``'s view into this buffer."""
        slot = self.slot
        if camera_np is not slot.drawn_by:  # (the rgb and id passes take turns on one region)
            slot.region.set_camera(camera_np)
            slot.drawn_by = camera_np
        if clear != slot.clear:
            slot.buffer.set_clear_color(clear)
            slot.clear = clear
        slot.buffer.set_active(True)

    def rgb(self, view: bool = False, out: np.ndarray | None = None) -> np.ndarray:
        """The frame, row 0 at the top: a C-contiguous copy, or (``view``) possibly a view with
        negative row stride into the converted image (for a caller that copies it anyway), or
        written into ``out`` (a C-contiguous (H, W, 3) uint8 array, e.g. a slot of the engine's
        shared-memory ring: no array of its own, no copy after) and returned.

        With OpenCV importable (the ``unreal``, ``rl`` and ``test`` extras bring it) the BGRA
        frame is converted and flipped in one SIMD pass, ~3x faster than Panda3D's
        ``get_ram_image_as("RGB")`` (a conversion copy) plus a numpy flip; same pixels."""
        cv2 = _CV2[0] if _CV2 else _cv2()
        tex = self.tex
        comps = tex.get_num_components()
        if cv2 is not None and comps in (3, 4):
            src = np.ndarray((self.height, self.width, comps), _U8, tex.get_ram_image())
            code = cv2.COLOR_BGRA2RGB if comps == 4 else cv2.COLOR_BGR2RGB
            if out is not None:  # (dst passed by position: OpenCV's keyword parsing costs more)
                got = cv2.cvtColor(src, code, out)
                if got is out:  # (cv2 wrote in place, as it does for a matching array)
                    return cv2.flip(out, 0, out)
                np.copyto(out, got[::-1])
                return out
            img = cv2.cvtColor(src, code)
            return cv2.flip(img, 0, dst=img) if img.flags.c_contiguous else img[::-1].copy()
        img = np.frombuffer(self.tex.get_ram_image_as("RGB"), np.uint8)
        img = img.reshape(self.height, self.width, 3)[::-1]
        if out is not None:
            np.copyto(out, img)
            return out
        return img if view else np.ascontiguousarray(img)

    def pixel_rays(self, cam: dict):
        """Camera-space x (per column) and z (per row, top first) of each pixel centre's ray at
        view-axis distance 1."""
        key = (cam["width"], cam["height"], cam["fov"])
        if key != self.key:
            w, h = cam["width"], cam["height"]
            tx = math.tan(math.radians(cam["fov"]) / 2)
            tz = tx * h / w
            self.xs = (((np.arange(w) + 0.5) / w * 2 - 1) * tx).astype(np.float32)
            self.zs = ((1 - (np.arange(h) + 0.5) / h * 2) * tz).astype(np.float32)
            self.key = key
        return self.xs, self.zs


class _Scene:
    """One scene held by the engine: its own roots (lit rgb graph, flat id graph), cameras,
    offscreen targets, and the face tables of its id pass."""

    def __init__(self, handle: str):
        self.handle = handle
        self.world = NodePath("world")
        self.root = self.world.attach_new_node("render")
        self.id_root = self.world.attach_new_node("ids")
        self.id_root.set_state(
            RenderState.make(
                LightAttrib.make_all_off(),
                TextureAttrib.make_off(),
                ShadeModelAttrib.make(ShadeModelAttrib.M_flat),
            )
        )
        self.scene = self.root.attach_new_node("scene")
        self.id_scene = self.id_root.attach_new_node("scene")
        self.targets: dict[tuple[int, int], _Target] = {}
        self.cameras: dict[str, dict] = {}
        self.nodes: dict[str, dict] = {}
        self.order: list[str] = []
        self.background = (0.0, 0.0, 0.0)
        self.gates: dict = {}  # merged rooms' faces picked by the eye's place (Renderer.merge_structure)
        self.clear = (0.0, 0.0, 0.0, 1)  # the rgb pass's clear colour: the background, opaque
        self.name = ""
        self.lane = 0  # the render thread whose render states the roots carry (Renderer._spread)
        self.fresh = True  # changed since last drawn: drawn by one thread at a time (Renderer._frame)
        self.reset_faces()

    def reset_faces(self) -> None:
        self.face_seg = np.zeros(1024, np.int32)  # face id -> seg
        self.planes = np.zeros((1024, 4), np.float64)  # world-space face planes; row 0 = void
        self.n_faces = 1
        self.dirty: set[str] = set()  # nodes whose planes must be recomputed


def _scene_attr(name: str) -> property:
    """A Renderer attribute that belongs to the scene in use (see :meth:`Renderer.use`)."""

    def get(self):
        return getattr(self.current, name)

    def set(self, value):
        setattr(self.current, name, value)

    return property(get, set, doc=f"``{name}`` of the scene in use")


class Renderer(NodeBuilder):
    """Renders scenes of modelled objects and primitives (see the module docstring).

    The renderer holds several scenes, each named by a handle, each with its own root node,
    cameras and offscreen buffers; :meth:`use` picks the one that ``load_scene``, ``update``,
    ``set_cameras``, ``render`` and ``raycast`` act on (in-process users who never call it get
    one scene, ``"default"``). Offscreen buffers are capped engine-wide (``max_buffers``,
    ``max_buffer_pixels``): the least recently used one is freed and rebuilt when needed.

    Raises ProtocolError for invalid nodes, updates, cameras or unknown ids (nothing is
    applied from a failing call), EngineError when no backend can be opened or a model
    file is invalid. ``models``: a YAML file overriding the built-in models (default:
    ``$EMBODIED_MODELS``).
    """

    root = _scene_attr("root")
    world = _scene_attr("world")
    id_root = _scene_attr("id_root")
    scene = _scene_attr("scene")
    id_scene = _scene_attr("id_scene")
    targets = _scene_attr("targets")
    cameras = _scene_attr("cameras")
    nodes = _scene_attr("nodes")
    order = _scene_attr("order")
    background = _scene_attr("background")
    name = _scene_attr("name")
    face_seg = _scene_attr("face_seg")
    planes = _scene_attr("planes")
    n_faces = _scene_attr("n_faces")

    def __init__(
        self,
        renderer: str = "software",
        max_buffers: int = MAX_BUFFERS,
        max_buffer_pixels: int = MAX_BUFFER_PIXELS,
        models: str | None = None,
        threads: int = 1,
    ):
        self.backend, self.pipe, self.engine, self.driver = _open_pipe(renderer)
        # scenes are spread over this many render threads (software renderer only)
        self.threads = max(1, min(int(threads), len(LANES))) if self.backend == "software" else 1
        if self.threads > 1:
            self.engine.set_auto_flip(True)  # (a buffer is flipped by the thread that drew it)
        self.models: dict[str, Model] = load_models(models)
        self.max_buffers, self.max_buffer_pixels = max(1, max_buffers), max_buffer_pixels
        self._host = _make_buffer(self.engine, self.pipe, 16, 16)  # keeps the shared GSG alive
        self.gsg = None
        if self._host is not None:
            self._host.set_active(False)
            self.gsg = self._host.get_gsg()
        self.scenes: dict[str, _Scene] = {}
        self._current: _Scene | None = None
        self._lru: OrderedDict[tuple[str, int, int], _Target] = OrderedDict()  # every live target
        self._pools: list[list[_Buffer]] = [[] for _ in range(self.threads)]  # freed buffers, per lane
        self._gsgs = [self.gsg] + [None] * (self.threads - 1)  # per lane: its buffers' GSG

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
        self._lights_off(sc)
        sc.world.remove_node()
        sc.nodes.clear()
        del self.scenes[handle]
        self._current = None
        RenderState.garbage_collect()

    @staticmethod
    def _lights_off(sc: _Scene) -> None:
        """Break the reference cycles of a scene's lights: a node lit by a light below the scene's
        own root holds that light's path, which holds the root, so ``remove_node`` alone never freed
        a closed scene (about 2 MB of geometry and states per load and close)."""
        for rec in sc.nodes.values():
            rec["np"].clear_light()
        sc.root.clear_light()
        for lnp in getattr(sc, "lights", []):
            lnp.remove_node()
        sc.lights = []

    def buffer_count(self) -> int:
        """Offscreen buffers in use (a target drawn by both render threads has two)."""
        return sum(len(t.live()) for t in self._lru.values())

    def _lights(self, lights: list | None = None):
        """(Re)light the scene in use: ``lights`` are light nodes (kind ``light:ambient`` or
        ``light:directional``, colour = intensity, hpr = direction). Those without ``region``
        light the whole scene (none: the default rig); those with ``region`` [x0, y0, x1, y1]
        (a room's light) light the nodes whose position lies in it, instead."""
        sc = self.current
        for old in getattr(sc, "lights", []):
            self.root.clear_light(old)
            old.remove_node()
        sc.lights = []
        lights = lights or []
        scene_wide = [n for n in lights if not n.get("region")] or DEFAULT_RIG
        sc.rig = self._rig(scene_wide, on_root=True)
        regions: dict[tuple, list] = {}
        for n in lights:
            if n.get("region"):
                regions.setdefault(tuple(n["region"]), []).append(n)
        sc.regions = [(box, self._rig(group, on_root=False)) for box, group in regions.items()]
        sc.lighting = (sc.rig, sc.regions)  # what meshes bake (G.BakedMesh.shade)

    def _rig(self, lights: list, on_root: bool) -> tuple:
        """Panda3D lights for ``lights`` (they light what is not baked: text cards, user assets)
        and the rig baked into vertex colours: (ambient rgb, directions (k, 3), colours (k, 3), lights)."""
        ambient, dirs, colors, nps = np.zeros(3), [], [], []
        for spec in lights:
            is_ambient = spec["kind"] == "light:ambient"
            lnp = self.root.attach_new_node(
                AmbientLight("ambient") if is_ambient else DirectionalLight("sun")
            )
            lnp.node().set_color((*spec["color"], 1))
            lnp.set_hpr(*spec["hpr"])
            if on_root:
                self.root.set_light(lnp)
            self.current.lights.append(lnp)
            nps.append(lnp)
            if is_ambient:
                ambient += spec["color"]
            else:
                dirs.append(tuple(self.root.get_relative_vector(lnp, Vec3(0, 1, 0))))
                colors.append(spec["color"])
        return ambient, np.array(dirs, float).reshape(-1, 3), np.array(colors, float).reshape(-1, 3), nps

    def _rig_at(self, pos) -> tuple:
        """The light rig of a node at ``pos``: its room's (a region light's), else the scene's."""
        sc = self.current
        x, y = pos[0], pos[1]
        for (x0, y0, x1, y1), rig in sc.regions:
            if x0 <= x <= x1 and y0 <= y <= y1:
                return rig
        return sc.rig

    def _alloc(self, count: int) -> int:
        first = self.n_faces
        if first + count > G.MAX_FACES:
            raise ProtocolError(
                f"field 'nodes': the scene needs more than {G.MAX_FACES} faces; use fewer or simpler models"
            )
        while first + count > len(self.face_seg):
            self.face_seg = np.concatenate([self.face_seg, np.zeros_like(self.face_seg)])
            self.planes = np.concatenate([self.planes, np.zeros_like(self.planes)])
        self.n_faces += count
        return first

    # ------------------------------------------------------------ scene
    def load_scene(self, nodes: list, name: str = "", background=None) -> int:
        """Replace the whole scene. Returns the node count."""
        if len(nodes) >= MAX_NODES:
            raise ProtocolError(f"field 'nodes': {len(nodes)} nodes; at most {MAX_NODES - 1} per scene")
        checked = []
        for i, raw in enumerate(nodes):
            base, look = split_look(raw, f"nodes[{i}]", update=False)
            n = check_node(base, f"nodes[{i}]")
            n.update({"model": "", "state": {}, "material": "", "look_seed": 0, **look})
            if n["model"] and n["model"] not in self.models:
                raise ProtocolError(
                    f"field 'nodes[{i}].model': unknown model {n['model']!r}; known: {sorted(self.models)}"
                )
            checked.append(n)
        ids = set()
        for i, n in enumerate(checked):
            if n["id"] in ids:
                raise ProtocolError(f"field 'nodes[{i}].id': duplicate node id {n['id']!r}")
            ids.add(n["id"])
        lights = [n for n in checked if n["kind"] in LIGHT_KINDS]
        checked = [n for n in checked if n["kind"] not in LIGHT_KINDS]
        bg = check_vec(background, "background") if background is not None else (0.0, 0.0, 0.0)
        self.scene.remove_node()
        self.id_scene.remove_node()
        self.scene = self.root.attach_new_node("scene")
        self.id_scene = self.id_root.attach_new_node("scene")
        self.nodes, self.order, self.name, self.background = {}, [], name, bg
        self.current.clear = (*bg, 1)
        self.current.fresh = True
        self.current.reset_faces()
        self._lights(lights)
        for index, n in enumerate(checked):
            self._build(index, n)
        self._merge_structure()
        return len(checked) + len(lights)

    def update(self, updates: list) -> int:
        """Apply node updates (all or nothing). Returns how many were applied."""
        checked = []
        for i, raw in enumerate(updates):
            base, look = split_look(raw, f"updates[{i}]", update=True)
            if isinstance(raw, dict):
                extra = set(raw) & {"model", "material", "look_seed", "region"}
                if extra:
                    raise ProtocolError(
                        f"field 'updates[{i}].{sorted(extra)[0]}': not updatable; set it in load_scene"
                    )
            u = check_update(base, f"updates[{i}]")
            u.update(look)
            checked.append(u)
        check_update_ids(checked, self.nodes, scene=self.name)
        if checked:
            self.current.fresh = True
        for u in checked:
            self._unmerge(u)
            self._apply(self.nodes[u["id"]], u)
        return len(checked)

    def set_cameras(self, cameras: list, checked: bool = False) -> None:
        """Set each agent's camera pose, horizontal fov (degrees) and resolution (all or nothing).
        ``checked``: the cameras already passed ``check_camera`` (the server validates each request once)."""
        known = self.current.cameras
        for c in cameras if checked else check_cameras(cameras):
            known[c["agent"]] = c

    # ------------------------------------------------------------ rendering
    def _target(self, cam: dict, sc: _Scene) -> _Target:
        """Scene ``sc``'s (the current scene's) target of ``cam``'s size, made the most recently
        used, its eye and lens set to ``cam``."""
        key = (cam["width"], cam["height"])
        t = sc.targets.get(key)
        if t is None:
            self._make_room(key[0] * key[1])
            t = sc.targets[key] = _Target(self, *key)
            t.lru = (sc.handle, *key)
            self.gsg = self._gsgs[0]
            self._lru[t.lru] = t
        self._lru.move_to_end(t.lru)
        pose = (*cam["pos"], *cam["hpr"])
        if pose != t.pose:  # a camera that did not move costs nothing
            t.eye.set_pos_hpr(*pose)
            t.pose = pose
        h = cam["fov"]
        if t.fov != h:  # (the lens stays as it is while the fov does)
            v = math.degrees(2 * math.atan(math.tan(math.radians(h) / 2) * cam["height"] / cam["width"]))
            t.lens.set_fov(h, v)
            t.fov = h
        return t

    def render(
        self,
        agents=("a0",),
        modalities=("rgb",),
        checked: bool = False,
        views: bool = False,
        into: dict[str, dict[str, np.ndarray]] | None = None,
    ) -> dict[str, dict[str, np.ndarray]]:
        """Render each agent's view: ``{agent: {modality: array}}`` (see module docstring).
        ``checked``: agents and modalities were validated already (the server does it once per
        request). ``views``: rgb may be a read-only view with rows in reverse memory order, valid
        until the next render (the engine server copies it straight into its reply). ``into``:
        per agent, ``{modality: array}`` its frames are written into (the engine's shared-memory
        ring: rgb is read back and depth/seg decoded straight into the reply, docs/protocol.md
        "Local fast path"); a modality it does not name gets an array of its own."""
        sc = self.current
        if not checked:
            agents = check_render_agents(list(agents), sc.cameras)
            modalities = check_str_list(list(modalities), "modalities", MODALITIES)
        return {a: self._view(sc, a, modalities, views, into.get(a) if into else None) for a in agents}

    def render_posed(self, sc: _Scene, cameras: list[dict], agents, modalities, into: list | None) -> list:
        """:meth:`render` of scene ``sc`` for a request checked before (the engine's compact
        requests, docs/protocol.md "Local fast path"): ``sc`` made the current scene, its
        ``cameras`` set as :meth:`set_cameras` does (checked), every agent's frames drawn
        (``views``) and returned flat, in (agent, modality) order; ``into``: per agent (in
        order), ``{modality: array}`` or None, as :meth:`render` takes it."""
        self._current = sc
        known = sc.cameras
        for c in cameras:
            known[c["agent"]] = c
        frames: list = []
        for j, a in enumerate(agents):
            res = self._view(sc, a, modalities, True, into[j] if into else None)
            frames += map(res.__getitem__, modalities)
        return frames

    def _view(self, sc: _Scene, a: str, modalities, views: bool, dest: dict | None) -> dict:
        """Agent ``a``'s frames of scene ``sc`` (the current scene; ``a`` has a camera):
        ``{modality: array}`` in the order of ``modalities``; ``views`` and ``dest`` (this
        agent's ``{modality: array}``) as :meth:`render` takes them."""
        cam = sc.cameras[a]
        t = self._target(cam, sc)
        if t.slot.lane:  # (one view: drawn by this thread)
            t.use(t.slots[0])
        if sc.lane:
            self._mark(sc, 0)
        gates = sc.gates
        if gates:
            for gate in gates.values():  # merged rooms seen from the eye's place
                gate.pick(cam["pos"])
        res: dict[str, np.ndarray] = {}
        if "rgb" in modalities:
            t.arm(t.cam, sc.clear)
            self._frame([t])
            res["rgb"] = t.rgb(views, dest.get("rgb") if dest else None)
        if "depth" in modalities or "seg" in modalities:
            t.arm(t.idcam, VOID)
            self._frame([t])
            self._decode(t, cam, "seg" in modalities, "depth" in modalities, res, dest)
        return res if len(modalities) == 1 else {m: res[m] for m in modalities}

    def render_scenes(
        self,
        parts: list[tuple[str, list[str]]],
        modalities=("rgb",),
        views: bool = False,
        into: list[dict[str, dict[str, np.ndarray]] | None] | None = None,
    ) -> list[dict[str, dict[str, np.ndarray]]]:
        """:meth:`render` for several scenes at once: ``parts`` is ``[(handle, agents)]``, each
        scene once, already checked (known handles, agents with cameras, known modalities); one
        ``{agent: {modality: array}}`` per part, the arrays :meth:`render` gives scene by scene.
        ``into``: per part, what :meth:`render` takes as ``into`` (or None).

        Each scene draws into its own offscreen buffer, so the first agent of every scene is
        drawn in ONE Panda3D frame (then the second agents, ...), and the id pass (depth, seg)
        in one more: the frame's fixed cost (begin/end frame, the engine's window loop, a
        Python call) is paid once per batch (docs/performance.md, "Batched envs"). A batch
        larger than the buffer caps (``max_buffers``, ``max_buffer_pixels``) takes more frames."""
        outs: list[dict[str, dict[str, np.ndarray]]] = [{} for _ in parts]
        scenes, cap_n, cap_px = self.scenes, self.max_buffers, self.max_buffer_pixels
        for k in range(max(len(agents) for _, agents in parts)):
            jobs: list[tuple] = []
            pixels = 0
            for n, (handle, agents) in enumerate(parts):
                if k >= len(agents):
                    continue
                sc = self._current = scenes[handle]
                agent = agents[k]
                cam = sc.cameras[agent]
                size = cam["width"] * cam["height"]
                if jobs and (len(jobs) >= cap_n or pixels + size > cap_px):
                    self._draw_jobs(jobs, modalities, views)  # (the next target could evict one)
                    jobs, pixels = [], 0
                    self._current = sc
                t = self._target(cam, sc)
                gates = sc.gates
                if gates:
                    for gate in gates.values():  # merged rooms seen from the eye's place
                        gate.pick(cam["pos"])
                dest = into[n] if into else None
                jobs.append((outs[n], sc, agent, cam, t, dest.get(agent) if dest else None))
                pixels += size
            self._draw_jobs(jobs, modalities, views)
        return outs

    def _draw_jobs(self, jobs: list[tuple], modalities, views: bool) -> None:
        """Draw ``jobs`` (output dict, scene, agent, camera, target, ``{modality: destination
        array}`` or None): all rgb views in one frame, then all id passes in one more; each job's
        arrays go into its output dict."""
        want_rgb = "rgb" in modalities
        want_seg, want_depth = "seg" in modalities, "depth" in modalities
        rgbs: list = []
        targets = [job[4] for job in jobs]
        serial = False
        if self.threads > 1:
            self._spread(jobs)
            serial = not OVERLAP or any(job[1].fresh for job in jobs)
        if want_rgb:
            for job in jobs:
                t = job[4]
                t.arm(t.cam, job[1].clear)
            self._frame(targets, serial)
            rgbs = [job[4].rgb(views, job[5].get("rgb") if job[5] else None) for job in jobs]
        if want_seg or want_depth:
            for t in targets:
                t.arm(t.idcam, VOID)
            self._frame(targets, serial)
        if serial:
            for job in jobs:
                job[1].fresh = False
        for n, (out, sc, agent, cam, t, dest) in enumerate(jobs):
            res: dict[str, np.ndarray] = {"rgb": rgbs[n]} if want_rgb else {}
            if want_seg or want_depth:
                self._current = sc
                self._decode(t, cam, want_seg, want_depth, res, dest)
            out[agent] = res if len(modalities) == 1 else {m: res[m] for m in modalities}

    def _spread(self, jobs: list[tuple]) -> None:
        """Give every other job's target (the first, third, ...) of a batch of two or more to the
        render thread (lane 1) and the others to this thread (lane 0); a target that has no
        buffer of its lane yet gets one unless the buffer caps would evict another target (it
        stays where it is then). A frame is the same whichever buffer it is drawn into.

        Panda3D keeps caches inside each render state (its munged forms, per graphics state
        guardian) that it reads and writes while drawing without a lock, and equal states are
        one shared object: two threads drawing with the same state at once corrupted them
        (a few pixels of a frame missing, rarely). So the roots of a scene drawn by thread 1
        carry ``LANE_MARK``: every state that thread draws with differs from every state
        thread 0 draws with (docs/performance.md, "Batched envs")."""
        for i, job in enumerate(jobs):
            t, sc = job[4], job[1]
            lane = (i + 1) % 2 if len(jobs) > 1 else 0
            slot = t.slots[lane]
            if slot is None and self._has_room(t.width * t.height):
                slot = self._take_buffer(t.width, t.height, lane)
            if slot is None:
                slot = t.slots[0]
            if slot is not t.slot:
                t.use(slot)
            if sc.lane != slot.lane:
                self._mark(sc, slot.lane)

    @staticmethod
    def _mark(sc: _Scene, lane: int) -> None:
        """Make ``sc``'s roots carry the render states of render thread ``lane`` (see _spread)."""
        for root in (sc.root, sc.id_root):
            if lane:
                root.set_attrib(LANE_MARK)
            else:
                root.clear_attrib(AuxBitplaneAttrib)
        sc.lane = lane
        sc.fresh = True

    def _frame(self, targets: list[_Target], serial: bool = False) -> None:
        """Draw the armed ``targets`` (:meth:`_Target.arm`) in one Panda3D frame and disarm them.

        With render threads (``threads=2``) the targets of lane 1 are drawn by Panda3D's render
        thread while this thread draws those of lane 0: ``render_frame`` draws the buffers of
        this thread first and only then starts the render threads on what was set before it,
        so the first call starts the thread on its buffers alone, the second draws ours and
        then waits for the thread's frame to be done (docs/performance.md, "Batched envs")."""
        engine = self.engine
        try:
            if self.threads == 1:
                engine.render_frame()
                return
            ours = [t for t in targets if t.slot.lane == 0]
            if len(ours) == len(targets):
                engine.render_frame()
                return
            for t in ours:
                t.buffer.set_active(False)
            engine.render_frame()  # the render thread starts on its buffers
            if serial:  # (it draws alone: render_frame waits for it first)
                for t in targets:
                    t.buffer.set_active(False)
                engine.render_frame()
            for t in targets:
                t.buffer.set_active(t.slot.lane == 0)
            # ours (if any) drawn here meanwhile; then the thread's frame is waited for (the thread
            # goes on to an empty frame: sync_frame does not wait with auto-flip)
            engine.render_frame()
        finally:
            for t in targets:
                t.buffer.set_active(False)

    def _has_room(self, pixels: int) -> bool:
        """One more buffer of ``pixels`` fits the caps without freeing any."""
        targets = self._lru.values()
        return (
            self.buffer_count() < self.max_buffers
            and sum(len(t.live()) * t.width * t.height for t in targets) + pixels <= self.max_buffer_pixels
        )

    def _make_room(self, pixels: int) -> None:
        """Free least recently used targets until one more buffer of ``pixels`` fits the caps."""
        if pixels > self.max_buffer_pixels:
            raise ProtocolError(
                f"a {pixels}-pixel camera exceeds this engine's buffer budget of "
                f"{self.max_buffer_pixels} pixels (--max-buffer-pixels); ask for a smaller width/height"
            )
        while self._lru and not self._has_room(pixels):
            (handle, w, h), t = self._lru.popitem(last=False)
            self.scenes[handle].targets.pop((w, h), None)
            self._release(t)

    def _take_buffer(self, width: int, height: int, lane: int = 0) -> _Buffer:
        pool = self._pools[lane]
        if pool:
            slot = pool.pop()
            slot.resize(width, height)
            return slot
        slot = _Buffer(self.engine, self.pipe, self._gsgs[lane], width, height, lane)
        if self._gsgs[lane] is None:  # (a render thread's buffers share one GSG of that thread)
            self._gsgs[lane] = slot.buffer.get_gsg()
        return slot

    def _release(self, t: _Target) -> None:
        for slot in t.free():
            slot.resize(16, 16)  # gives the pixels' memory back
            self._pools[slot.lane].append(slot)

    def _world_planes(self) -> np.ndarray:
        sc = self.current
        for nid in sc.dirty:
            rec = self.nodes.get(nid)
            if rec is None:
                continue
            for g in rec["groups"]:
                m = np.array(g.idn.get_mat(self.id_root), dtype=np.float64).reshape(4, 4)
                sc.planes[g.first : g.first + len(g.planes)] = g.planes @ np.linalg.inv(m).T
        sc.dirty.clear()
        return sc.planes[: sc.n_faces]

    def _decode(
        self, t: _Target, cam: dict, want_seg: bool, want_depth: bool, res: dict, dest: dict | None = None
    ) -> None:
        """Seg and exact z-depth from the id pass's face ids (:mod:`.decode`: compiled with
        numba when it imports, else numpy; the same arrays). The frame is read as tinydisplay
        copied it (rows bottom-up): no flip, no copy. ``dest``: ``{modality: array}`` the compiled
        decoder writes into (the engine's shared-memory ring slot), else arrays of the target's pool."""
        if t.tex.get_num_components() == 4:
            buf = np.frombuffer(t.tex.get_ram_image(), np.uint32)
        else:  # a GL buffer may hand back 3-byte RGB: widen it, alpha (255) masked off
            buf = np.frombuffer(t.tex.get_ram_image_as("BGRA"), np.uint32) & 0xFFFFFF
        planes, eye = self._camera_planes(t) if want_depth else (None, None)
        xs, zs = t.pixel_rays(cam)
        seg, depth = decode(
            buf,
            t.height,
            t.width,
            self.n_faces,
            self.face_seg,
            planes,
            xs,
            zs,
            want_seg,
            want_depth,
            t.outputs,
            eye,
            dest,
        )
        if want_seg:
            res["seg"] = seg
        if want_depth:
            res["depth"] = depth

    def _camera_planes(self, t: _Target) -> tuple[np.ndarray, np.ndarray]:
        """The world's face planes, float64 (n, 4), and the matrix that moves them into camera
        space (x right, y forward, z up): ``planes @ eye.T`` (:func:`.decode.camera_planes`)."""
        planes = self._world_planes()
        dg = Datagram()  # the eye's matrix as its 16 floats (np.array(LMatrix4f) is 2x slower)
        t.eye.get_mat(self.world).write_datagram_fixed(dg)
        raw = dg.get_message()
        eye = np.frombuffer(raw, "<f4" if len(raw) == 64 else "<f8").astype(np.float64).reshape(4, 4)
        return planes, eye

    def _hit_t(self, rec: dict, frame: np.ndarray, dirs: np.ndarray, strict: bool) -> np.ndarray:
        """Ray parameters of rays from frame's origin along dirs (in frame's axes) hitting rec's hull."""
        node = np.array(rec["np"].get_mat(self.root), dtype=np.float64).reshape(4, 4)
        size = np.diag([*(max(s, 1e-4) for s in rec["size"]), 1.0])
        if rec["shape"] == "card":
            size[1, 1] = 1.0
        inv = np.linalg.inv(size @ node)
        m = frame @ inv  # frame -> node unit space (row vectors)
        return G.intersect(rec["shape"], m[3, :3], dirs @ m[:3, :3].astype(dirs.dtype), strict)

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
        for pool in self._pools:
            pool.clear()
        self.scenes.clear()
        self._current = None
        self.engine.remove_all_windows()
