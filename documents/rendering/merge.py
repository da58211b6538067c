"""Uploaded 附件 as pages of the 正式文件 (GB/T 9704 §7.3.7): PDF pages placed into the 版心 of the rendered PDF,
and page pictures for the DOCX.

The PDF renderer leaves one placeholder page per attachment page (with its running page number, §7.5); here each
attachment page is imported as a Form XObject (pyHanko's writer: vector content, fonts and text stay, so
``pdftotext`` finds the attachment's words in the sealed file) and drawn scaled into the 版心 of its placeholder.
No extra dependency: pyHanko is already there for the seals; pypdf/pikepdf are not installed.
"""

from __future__ import annotations

import io
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import copy_into_new_writer

# The PDF Info entry naming the uploaded files merged into this PDF (SHA-256, in 附件 order): 用印 compares it with
# the attachments the record holds now, so a PDF typeset before an attachment changed is never sealed.
INFO_KEY = "/OAAttachmentsSHA256"
PAGE_PICTURE_DPI = 150
PDFTOPPM_TIMEOUT_S = 120


class AttachmentPdfError(ValueError):
    """An attachment's PDF cannot be read or placed; the message is Chinese and names no file (the caller does)."""


def _reader(data: bytes) -> PdfFileReader:
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
    except (PdfError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise AttachmentPdfError(f"PDF 文件已损坏，无法读取（{exc.__class__.__name__}）") from None
    if reader.encrypted:
        raise AttachmentPdfError("PDF 文件设置了密码或加密，无法并入正式文件")
    return reader


def pdf_page_count(data: bytes) -> int:
    """Pages of an attachment PDF; AttachmentPdfError when it cannot be read or has none."""
    reader = _reader(data)
    try:
        count = int(reader.root["/Pages"]["/Count"])
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise AttachmentPdfError(f"PDF 文件页面结构已损坏（{exc.__class__.__name__}）") from None
    if count < 1:
        raise AttachmentPdfError("PDF 文件没有页面")
    return count


@dataclass(frozen=True)
class Box:
    """Where attachment pages go on a placeholder page: PDF user space, origin bottom-left, in points."""

    x0: float
    top: float
    width: float
    height: float


def _inherited(page: generic.DictionaryObject, key: str):
    node = page
    while node is not None:
        if key in node:
            return node[key]
        node = node.get("/Parent")
        node = node.get_object() if node is not None else None
    return None


def _matrix(src: tuple[float, float, float, float], rotate: int, box: Box) -> tuple[float, ...]:
    """cm operands mapping the source page box (x0, y0, w, h), shown with /Rotate, into ``box``: scaled to fit,
    centred horizontally, top-aligned."""
    x0, y0, w, h = src
    dw, dh = (w, h) if rotate in (0, 180) else (h, w)
    s = min(box.width / dw, box.height / dh)
    X = box.x0 + (box.width - dw * s) / 2
    Y = box.top - dh * s
    if rotate == 90:
        return 0, -s, s, 0, X - s * y0, Y + s * (w + x0)
    if rotate == 180:
        return -s, 0, 0, -s, X + s * (w + x0), Y + s * (h + y0)
    if rotate == 270:
        return 0, s, -s, 0, X + s * (h + y0), Y - s * x0
    return s, 0, 0, s, X - s * x0, Y - s * y0


def place_pages(base: bytes, placements: list[tuple[int, bytes]], box: Box, digests: list[str]) -> bytes:
    """``base`` with every page of each attachment PDF drawn into ``box`` on consecutive placeholder pages.

    ``placements`` are (0-based index of the first placeholder page, attachment PDF). ``digests`` (SHA-256 of
    the uploaded files) are recorded under INFO_KEY.
    """
    writer = copy_into_new_writer(PdfFileReader(io.BytesIO(base)), {"stream_xrefs": False})
    serial = 0
    for first, data in placements:
        reader = _reader(data)
        for i in range(pdf_page_count(data)):
            try:
                page_ref, _ = reader.find_page_for_modification(i)
                page = page_ref.get_object()
                media = [float(v) for v in _inherited(page, "/MediaBox")]
                crop = _inherited(page, "/CropBox")
                crop = [float(v) for v in crop] if crop is not None else media
                rotate = int(_inherited(page, "/Rotate") or 0) % 360
                xobj_ref = writer.import_page_as_xobject(reader, i)
            except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
                raise AttachmentPdfError(f"PDF 第{i + 1}页无法读取（{exc.__class__.__name__}）") from None
            llx, lly = min(crop[0], crop[2]), min(crop[1], crop[3])
            w, h = abs(crop[2] - crop[0]), abs(crop[3] - crop[1])
            if w < 1 or h < 1:
                raise AttachmentPdfError(f"PDF 第{i + 1}页尺寸无效")
            xobj = xobj_ref.get_object()
            xobj[pdf_name("/BBox")] = generic.ArrayObject(generic.FloatObject(v) for v in (llx, lly, llx + w, lly + h))
            serial += 1
            name = f"/OAAttachment{serial}"
            ops = " ".join(f"{v:.4f}" for v in _matrix((llx, lly, w, h), rotate, box))
            stream = generic.StreamObject(stream_data=f"q {ops} cm {name} Do Q".encode("ascii"))
            writer.add_stream_to_page(
                first + i, writer.add_object(stream),
                resources=generic.DictionaryObject({
                    pdf_name("/XObject"): generic.DictionaryObject({pdf_name(name): xobj_ref}),
                }),
            )
    info = writer._info.get_object() if writer._info is not None else None
    if info is None:
        info = generic.DictionaryObject()
        writer.set_info(info)
    info[pdf_name(INFO_KEY)] = generic.TextStringObject(",".join(digests))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def merged_digests(pdf: bytes) -> list[str]:
    """The SHA-256 list place_pages recorded (latest revision), [] when the PDF merged no attachment."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        info = reader.trailer_view.get("/Info")
        value = info.get_object().get(INFO_KEY) if info is not None else None
    except (PdfError, ValueError, KeyError, TypeError):
        return []
    return [d for d in str(value).split(",") if d] if value is not None else []


def page_pictures(pdf: bytes, dpi: int = PAGE_PICTURE_DPI) -> list[bytes]:
    """One JPEG per page (poppler ``pdftoppm``), for the DOCX, which cannot hold PDF pages."""
    with tempfile.TemporaryDirectory(prefix="oa-att-") as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(pdf)
        try:
            result = subprocess.run(
                ["pdftoppm", "-jpeg", "-jpegopt", "quality=85", "-r", str(dpi), str(src), str(Path(tmp) / "p")],
                capture_output=True, timeout=PDFTOPPM_TIMEOUT_S, check=False,
            )
        except FileNotFoundError:
            raise AttachmentPdfError("未找到 pdftoppm（poppler-utils），无法生成附件页图像") from None
        except subprocess.TimeoutExpired:
            raise AttachmentPdfError("附件页图像生成超时") from None
        pages = sorted(Path(tmp).glob("p-*.jpg"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        if result.returncode != 0 or not pages:
            raise AttachmentPdfError("附件页图像生成失败")
        return [p.read_bytes() for p in pages]
