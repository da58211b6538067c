"""PDF preview as page images with the viewer's name and the time burnt into the pixels (no client-side
PDF viewer, so nothing can strip the watermark, and the browser never receives the PDF itself).

poppler renders (``pdfinfo`` for the page list, ``pdftoppm -png -r 96`` per page); Pillow draws a diagonal,
repeated, semi-transparent watermark with a CJK font from ``documents.rendering.fonts``. Clean page images
are cached server-side by content key for a few minutes; the watermark is drawn on every request.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import subprocess
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.db.models.fields.files import FieldFile
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from documents.rendering import geometry as g
from documents.rendering.fonts import resolve_fonts
from oa.refusals import Refusal

DPI = 96
MAX_SIDE_PX = 2400  # a poster-sized page is scaled down, never rendered at 96 dpi into a gigapixel image
POPPLER_TIMEOUT = 30  # seconds per call
CACHE_SECONDS = 600
# Blue-grey at ~28 % opacity: readable over white and over black text, unlike any grey of anti-aliased text.
WATERMARK_RGBA = (20, 80, 160, 72)
WATERMARK_ANGLE = 30  # degrees, counter-clockwise


@dataclass(frozen=True)
class PdfInfo:
    pages: int
    sizes: tuple[tuple[int, int], ...]  # pixel size of each page that will be shown, in order


@dataclass(frozen=True)
class PreviewSource:
    """A stored PDF and a key that changes whenever its content does (sha256, or a never-reused storage name)."""

    key: str
    file: FieldFile
    label: str


def max_pages() -> int:
    return max(1, int(getattr(settings, "OA_PREVIEW_MAX_PAGES", 50)))


def _poppler(args: list[str], data: bytes) -> bytes:
    try:
        result = subprocess.run(args, input=data, capture_output=True, timeout=POPPLER_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise Refusal("preview_timeout", "PDF 页面生成超时，请下载文件查看", status=503) from None
    if result.returncode != 0:
        raise Refusal("pdf_unreadable", "PDF 文件已损坏或设置了打开密码，无法预览", status=422)
    return result.stdout


def _pixels(width_pt: float, height_pt: float) -> tuple[int, int]:
    w, h = width_pt * DPI / 72, height_pt * DPI / 72
    scale = min(1.0, MAX_SIDE_PX / max(w, h, 1))
    return max(1, round(w * scale)), max(1, round(h * scale))


def pdf_info(data: bytes, *, limit: int | None = None) -> PdfInfo:
    """Page count, and the pixel size of the first ``limit`` pages as displayed (rotation applied)."""
    limit = max_pages() if limit is None else limit
    out = _poppler(["pdfinfo", "-f", "1", "-l", str(limit), "-"], data).decode("utf-8", "replace")
    match = re.search(r"^Pages:\s+(\d+)", out, flags=re.M)
    if not match or int(match.group(1)) < 1:
        raise Refusal("pdf_unreadable", "PDF 文件没有可显示的页面", status=422)
    # pdfinfo reports the MediaBox as stored; pdftoppm draws the page turned by its /Rotate, so follow that.
    sizes = {int(num): (float(w), float(h))
             for num, w, h in re.findall(r"^Page\s+(\d+) size:\s+([\d.]+) x ([\d.]+) pts", out, flags=re.M)}
    turned = {int(num) for num, rot in re.findall(r"^Page\s+(\d+) rot:\s+(\d+)", out, flags=re.M)
              if int(rot) % 180 == 90}
    shown = [_pixels(*(sizes[n][::-1] if n in turned else sizes[n])) for n in sorted(sizes)]
    return PdfInfo(pages=int(match.group(1)), sizes=tuple(shown))


def render_page(data: bytes, page: int, size: tuple[int, int]) -> bytes:
    """One page as PNG at 96 dpi (or scaled so its longer side is MAX_SIDE_PX)."""
    args = ["pdftoppm", "-f", str(page), "-l", str(page), "-png", "-singlefile"]
    if max(size) >= MAX_SIDE_PX:
        args += ["-scale-to", str(MAX_SIDE_PX)]
    else:
        args += ["-r", str(DPI)]
    png = _poppler([*args, "-"], data)
    if not png.startswith(b"\x89PNG"):
        raise Refusal("pdf_unreadable", "PDF 页面无法生成图像", status=422)
    return png


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont:
    font = resolve_fonts().fonts[g.FONT_HEITI]
    return ImageFont.truetype(str(font.path), size=size, index=font.subfont_index)


def watermark_text(viewer, when: datetime | None = None) -> str:
    """"姓名 2026-11-27 10:32" in Asia/Shanghai (the site's TIME_ZONE)."""
    moment = timezone.localtime(when or timezone.now())
    return f"{viewer.get_full_name()} {moment:%Y-%m-%d %H:%M}"


def burn_watermark(png: bytes, text: str) -> bytes:
    """Tile ``text`` diagonally over the whole page, semi-transparent, into the pixels themselves."""
    with Image.open(io.BytesIO(png)) as img:
        page = img.convert("RGBA")
    width, height = page.size
    font = _font(max(14, min(48, width // 30)))
    left, top, right, bottom = font.getbbox(text)
    text_w, text_h = right - left, bottom - top
    # Draw on a square large enough to cover the page after rotation, then cut the page-sized middle out.
    side = int(math.hypot(width, height)) + 2 * text_w
    layer = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    step_x, step_y = text_w + max(60, text_w // 2), text_h * 5
    for row, y in enumerate(range(0, side, step_y)):
        offset = (row % 2) * (step_x // 2)  # brick pattern: no clean column to crop away
        for x in range(-offset, side, step_x):
            draw.text((x - left, y - top), text, font=font, fill=WATERMARK_RGBA)
    layer = layer.rotate(WATERMARK_ANGLE, resample=Image.Resampling.BICUBIC)
    x0, y0 = (side - width) // 2, (side - height) // 2
    page.alpha_composite(layer.crop((x0, y0, x0 + width, y0 + height)))
    out = io.BytesIO()
    page.convert("RGB").save(out, format="PNG", compress_level=6)
    return out.getvalue()


def _read(file: FieldFile) -> bytes:
    with file.open("rb") as fh:
        return fh.read()


def _cached(key: str, compute):
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, CACHE_SECONDS)
    return value


def _key(source: PreviewSource, part: str) -> str:
    # Hashed: storage names may hold spaces or be long, which some cache backends refuse as keys.
    return f"oa:preview:{hashlib.sha256(source.key.encode()).hexdigest()}:{part}"


def source_info(source: PreviewSource) -> PdfInfo:
    return _cached(_key(source, f"info:{max_pages()}"), lambda: pdf_info(_read(source.file)))


def source_fonts(source: PreviewSource) -> str:
    """Which faces the PDF is set in (stand-ins named), for the line under the preview."""
    from documents.rendering.fonts import pdf_font_report

    return _cached(_key(source, "fonts"), lambda: pdf_font_report(_read(source.file)).summary())


def watermarked_page(source: PreviewSource, page: int, viewer, when: datetime | None = None) -> bytes:
    """Page ``page`` (1-based) of ``source`` as PNG with the viewer's watermark."""
    info = source_info(source)
    if page < 1 or page > info.pages:
        raise Refusal("page_not_found", f"页码超出范围（共 {info.pages} 页）", status=404)
    if page > len(info.sizes):
        raise Refusal("page_over_limit", f"预览最多显示前 {len(info.sizes)} 页，其余页面请下载后查看", status=404)
    size = info.sizes[page - 1]
    clean = _cached(_key(source, f"page:{page}"), lambda: render_page(_read(source.file), page, size))
    return burn_watermark(clean, watermark_text(viewer, when))
