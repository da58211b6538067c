"""Seal pictures: a generated red round seal, or a checked upload (transparent PNG).

Generated seal (42 mm at 300 dpi = 496 px, drawn at 3× and downsampled for smooth edges): outer ring, a
five-pointed star in the centre, the agency name along the upper arc (characters upright to the radius, like a
carved seal), the seal kind text below the star. Red #E60012-ish at full opacity on a transparent background, so
pyHanko draws it over the 署名 and 成文日期 with the text showing through the gaps.
"""

from __future__ import annotations

import io
import math

from PIL import Image, ImageDraw, ImageFont

from oa.refusals import Refusal

SEAL_MM = 42
DPI = 300
SEAL_PX = round(SEAL_MM / 25.4 * DPI)  # 496
RED = (230, 0, 18, 255)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
UPLOAD_MAX_BYTES = 2 * 1024 * 1024
UPLOAD_MIN_PX, UPLOAD_MAX_PX = 200, 2400
_SUPERSAMPLE = 3


def _font(size: int) -> ImageFont.FreeTypeFont:
    from documents.rendering import geometry as g
    from documents.rendering.fonts import resolve_fonts

    f = resolve_fonts().fonts[g.FONT_SONGTI]  # seals are cut in 宋体 (the stand-in is AR PL UMing CN)
    return ImageFont.truetype(str(f.path), size=size, index=f.subfont_index)


def _star(cx: float, cy: float, r_outer: float) -> list[tuple[float, float]]:
    r_inner = r_outer * math.sin(math.radians(18)) / math.sin(math.radians(126))  # regular pentagram
    points = []
    for i in range(10):
        r = r_outer if i % 2 == 0 else r_inner
        a = math.radians(-90 + i * 36)
        points.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    return points


def _glyph(ch: str, font: ImageFont.FreeTypeFont, size: int) -> Image.Image:
    tile = Image.new("L", (size * 2, size * 2), 0)
    # A thin stroke thickens the light 宋体 strokes to the weight of a carved seal.
    ImageDraw.Draw(tile).text((size, size), ch, font=font, fill=255, anchor="mm", stroke_width=max(1, size // 30),
                              stroke_fill=255)
    return tile


def generate_seal_png(agency_name: str, bottom_text: str = "", *, size_px: int = SEAL_PX) -> bytes:
    """The red round seal as PNG bytes (RGBA, transparent background, ``size_px`` square at 300 dpi)."""
    if not agency_name.strip():
        raise Refusal("seal_name_required", "生成印章图案需要机关名称")
    s = size_px * _SUPERSAMPLE
    c = s / 2
    mask = Image.new("L", (s, s), 0)
    draw = ImageDraw.Draw(mask)
    ring = s * 0.03  # ~1.3 mm at 42 mm
    draw.ellipse((1, 1, s - 2, s - 2), outline=255, width=round(ring))  # Pillow strokes inwards: outer edge = 42 mm
    draw.polygon(_star(c, c, s * 0.19), fill=255)

    # Agency name on the upper arc, centred on 12 o'clock; long names are set tighter and smaller, up to 230°.
    name = agency_name.strip()
    glyph_size = round(s * (0.13 if len(name) <= 12 else 0.11 if len(name) <= 18 else 0.09))
    font = _font(glyph_size)
    radius = c - ring * 1.6 - glyph_size * 0.62
    step = math.degrees(glyph_size * 1.15 / radius)  # a little air between neighbouring characters
    span = min(230.0, step * (len(name) - 1))
    for i, ch in enumerate(name):
        angle = -90 - span / 2 + (span * i / (len(name) - 1) if len(name) > 1 else 0)  # degrees, 0 = 3 o'clock
        tile = _glyph(ch, font, glyph_size).rotate(-(angle + 90), resample=Image.BICUBIC)
        x = c + radius * math.cos(math.radians(angle)) - tile.width / 2
        y = c + radius * math.sin(math.radians(angle)) - tile.height / 2
        mask.paste(255, (round(x), round(y)), tile)

    if bottom_text.strip():
        text = bottom_text.strip()
        bsize = round(s * (0.10 if len(text) <= 5 else 0.08))
        draw.text((c, c + s * 0.29), text, font=_font(bsize), fill=255, anchor="mm", stroke_width=max(1, bsize // 30),
                  stroke_fill=255)

    mask = mask.resize((size_px, size_px), Image.LANCZOS)
    img = Image.new("RGBA", (size_px, size_px), (*RED[:3], 0))
    img.putalpha(mask)
    out = io.BytesIO()
    img.save(out, format="PNG", dpi=(DPI, DPI), optimize=True)
    return out.getvalue()


def check_uploaded_png(data: bytes) -> bytes:
    """Accept an uploaded seal picture only if it is a real, square-ish PNG with a transparent background."""
    if len(data) > UPLOAD_MAX_BYTES:
        raise Refusal("seal_image_too_large", f"印章图片不能超过 {UPLOAD_MAX_BYTES // 1024 // 1024} MB")
    if not data.startswith(PNG_MAGIC):
        raise Refusal("seal_image_not_png", "印章图片必须是 PNG 格式（文件内容不是 PNG）")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            w, h = probe.size  # header only: refuse pixel bombs before decoding
            if not (UPLOAD_MIN_PX <= w <= UPLOAD_MAX_PX and UPLOAD_MIN_PX <= h <= UPLOAD_MAX_PX):
                raise Refusal(
                    "seal_image_size", f"印章图片尺寸须在 {UPLOAD_MIN_PX}–{UPLOAD_MAX_PX} 像素之间（当前 {w}×{h}）"
                )
            if abs(w - h) > 0.05 * max(w, h):
                raise Refusal("seal_image_not_square", f"印章图片须为正方形（当前 {w}×{h}）")
            probe.load()
            img = probe.convert("RGBA") if probe.mode in ("P", "LA", "RGBA", "PA") else None
    except Refusal:
        raise
    except (OSError, ValueError, Image.DecompressionBombError):
        raise Refusal("seal_image_corrupt", "印章图片已损坏，无法读取") from None
    if img is None or "A" not in img.getbands():
        raise Refusal("seal_image_not_transparent", "印章图片必须带透明背景（PNG 透明通道）")
    alpha = img.getchannel("A")
    corners = [alpha.getpixel(p) for p in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1))]
    if max(corners) > 16:
        raise Refusal("seal_image_not_transparent", "印章图片的背景必须透明（四角应为透明像素）")
    _lo, hi = alpha.getextrema()
    if hi < 128:
        raise Refusal("seal_image_empty", "印章图片没有可见的印章图案")
    return data
