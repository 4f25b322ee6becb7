"""A user's model file (egg, bam, or glTF with ``panda3d-gltf``) fitted into an object's box.

The model is loaded once per file, turned by ``hpr``, scaled per axis so its bounds fill the
node's size, centred, and flattened; its triangles are read back so the id pass draws the
very same triangles (exact depth and segmentation, as for built-in models).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from panda3d.core import (
    Filename,
    GeomVertexReader,
    Loader,
    LoaderOptions,
    Material,
    MaterialAttrib,
    NodePath,
)

from embodied.errors import EngineError


@lru_cache(maxsize=32)
def _load(path: str) -> NodePath:
    opts = LoaderOptions(LoaderOptions.LF_no_cache | LoaderOptions.LF_report_errors)
    node = Loader.get_global_ptr().load_sync(Filename.from_os_specific(path), opts)
    if node is None:
        hint = " (glTF needs: pip install panda3d-gltf)" if path.lower().endswith((".gltf", ".glb")) else ""
        raise EngineError(f"could not load model file {path!r}{hint}; supported: .egg, .bam, .gltf/.glb")
    model = NodePath(node)
    _fixed_function_materials(model)
    return model


def _fixed_function_materials(model: NodePath) -> None:
    """PBR materials (glTF) keep their colour in ``base_color``, which only shaders read; give
    the fixed-function pipeline (the software renderer) the same colour as ambient/diffuse."""

    def fixed(state):
        attrib = state.get_attrib(MaterialAttrib)
        mat = attrib.get_material() if attrib is not None else None
        if mat is None or not mat.has_base_color():
            return None
        out = Material(mat)
        out.set_diffuse(mat.get_base_color())
        out.set_ambient(mat.get_base_color())
        return state.set_attrib(MaterialAttrib.make(out))

    for np_ in [model, *model.find_all_matches("**")]:
        node = np_.node()
        new = fixed(node.get_state())
        if new is not None:
            node.set_state(new)
        if hasattr(node, "get_num_geoms"):
            for i in range(node.get_num_geoms()):
                new = fixed(node.get_geom_state(i))
                if new is not None:
                    node.set_geom_state(i, new)


def load_asset(path: str, size, hpr=(0.0, 0.0, 0.0)) -> tuple[NodePath, list[np.ndarray]]:
    """(a fitted copy of the model, its triangles as (3, 3) arrays in the node's frame)."""
    src = _load(path)
    holder = NodePath("asset")
    inst = src.copy_to(holder)
    inst.set_hpr(*hpr)
    lo, hi = inst.get_tight_bounds(holder)
    if lo is None:
        raise EngineError(f"model file {path!r} has no geometry")
    ext = [max(hi[i] - lo[i], 1e-6) for i in range(3)]
    mid = [(hi[i] + lo[i]) / 2 for i in range(3)]
    fit = holder.attach_new_node("fit")
    inst.wrt_reparent_to(fit)
    fit.set_scale(*(size[i] / ext[i] for i in range(3)))
    fit.set_pos(*(-mid[i] * size[i] / ext[i] for i in range(3)))
    holder.flatten_strong()
    tris: list[np.ndarray] = []
    for gnp in holder.find_all_matches("**/+GeomNode"):
        mat = np.array(gnp.get_mat(holder), dtype=np.float64).reshape(4, 4)
        gnode = gnp.node()
        for i in range(gnode.get_num_geoms()):
            geom = gnode.get_geom(i).decompose()
            reader = GeomVertexReader(geom.get_vertex_data(), "vertex")
            verts = []
            while not reader.is_at_end():
                verts.append(tuple(reader.get_data3()))
            verts = np.array(verts, dtype=np.float64).reshape(-1, 3)
            verts = verts @ mat[:3, :3] + mat[3, :3]
            for p in range(geom.get_num_primitives()):
                prim = geom.get_primitive(p)
                idx = [prim.get_vertex(k) for k in range(prim.get_num_vertices())]
                tris += [verts[idx[k : k + 3]] for k in range(0, len(idx) - 2, 3)]
    if not tris:
        raise EngineError(f"model file {path!r} has no triangles")
    return holder, tris
