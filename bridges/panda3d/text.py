"""Text for notes, keypads, screens and signs: Pillow draws it, Panda3D shows it as a texture.

The built-in Panda3D font's thin glyphs alias away in the software rasteriser at 224² (an "l"
vanishes, "EXIT" reads "EX.I"). An opaque texture drawn here with thickened strokes and
mipmapped keeps every glyph legible from reading distance. Deterministic: the same text and
size give the same pixels.
"""

from __future__ import annotations

from functools import lru_cache

from panda3d.core import CardMaker, NodePath, SamplerState, Texture
from PIL import Image, ImageDraw, ImageFont

PX_PER_M = 480  # texture resolution, pixels per meter of face
MARGIN = 0.08  # fraction of the face left blank around the text


@lru_cache(maxsize=64)
def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: a small bitmap font
        return ImageFont.load_default()


def _wrap(draw: ImageDraw.ImageDraw, words: list[str], font, width: int, stroke: int) -> list[str] | None:
    lines, cur = [], ""
    for word in words:
        trial = f"{cur} {word}".strip()
        if draw.textlength(trial, font=font) + 2 * stroke <= width:
            cur = trial
        elif not cur:
            return None  # one word wider than the face at this size
        else:
            lines.append(cur)
            cur = word
    return [*lines, cur]


def text_image(text: str, width_m: float, height_m: float, bg: tuple, fg: tuple) -> Image.Image:
    """An RGB image of ``text`` centered on a face ``width_m`` x ``height_m`` meters, largest size that fits."""
    w = max(32, min(1024, int(width_m * PX_PER_M)))
    h = max(16, min(1024, int(height_m * PX_PER_M)))
    img = Image.new("RGB", (w, h), tuple(round(c * 255) for c in bg))
    draw = ImageDraw.Draw(img)
    words = text.split()
    inner_w, inner_h = int(w * (1 - 2 * MARGIN)), int(h * (1 - 2 * MARGIN))
    chosen = None
    lo, hi = 6, max(7, inner_h)
    while lo <= hi:  # the largest font size whose wrapped text fits
        size = (lo + hi) // 2
        font, stroke = _font(size), max(1, size // 28)
        lines = _wrap(draw, words, font, inner_w, stroke)
        line_h = int(size * 1.15)
        if lines is not None and line_h * len(lines) <= inner_h:
            chosen, lo = (font, stroke, lines, line_h), size + 1
        else:
            hi = size - 1
    if chosen is None:
        chosen = (_font(6), 1, [text], 7)
    font, stroke, lines, line_h = chosen
    ink = tuple(round(c * 255) for c in fg)
    top = (h - line_h * len(lines)) / 2
    for i, line in enumerate(lines):
        draw.text(
            (w / 2, top + line_h * (i + 0.5)),
            line,
            font=font,
            fill=ink,
            anchor="mm",
            stroke_width=stroke,
            stroke_fill=ink,
        )
    return img


def _pow2(n: int) -> int:
    """The nearest power of two to ``n`` (at least 16, at most 1024)."""
    p = 16
    while p < 1024 and p * 1.5 < n:
        p *= 2
    return p


def text_card(text: str, width_m: float, height_m: float, bg: tuple, fg: tuple) -> NodePath:
    """A card in the local XZ plane (front faces -y) showing ``text``, centered at the origin."""
    cm = CardMaker("text")
    cm.set_frame(-width_m / 2, width_m / 2, -height_m / 2, height_m / 2)
    card = NodePath(cm.generate())
    card.set_texture(_texture(text, round(width_m, 4), round(height_m, 4), tuple(bg), tuple(fg)))
    return card


def _texture(text: str, width_m: float, height_m: float, bg: tuple, fg: tuple) -> Texture:
    """One texture per distinct look, shared and reused (a keypad cycles through a few displays)."""
    img = text_image(text, width_m, height_m, bg, fg)
    # the software rasteriser takes power-of-two textures only
    img = img.resize((_pow2(img.width), _pow2(img.height)), Image.LANCZOS).transpose(Image.FLIP_TOP_BOTTOM)
    tex = Texture("text")
    tex.setup_2d_texture(img.width, img.height, Texture.T_unsigned_byte, Texture.F_rgb)
    tex.set_ram_image_as(img.tobytes(), "RGB")
    tex.set_minfilter(SamplerState.FT_linear_mipmap_linear)
    tex.set_magfilter(SamplerState.FT_linear)
    tex.set_wrap_u(SamplerState.WM_clamp)
    tex.set_wrap_v(SamplerState.WM_clamp)
    return tex
