"""Upload safety shared by every file a person hands us (attachments, .docx bodies, scans)."""

from __future__ import annotations

import io
import re
import subprocess
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from lxml import etree

from oa.refusals import Refusal

# A .docx is a ZIP; these bound what opening one may cost (zip bombs: tiny file, huge expansion).
ZIP_MAX_MEMBERS = 2000
ZIP_MAX_EXPANDED_BYTES = 200 * 1024 * 1024
ZIP_MAX_RATIO = 100  # expanded / compressed, per member and overall


def check_zip_safety(data: bytes) -> zipfile.ZipFile:
    """Open ``data`` as a ZIP only if its declared sizes are sane; raise Refusal otherwise.

    Declared sizes can lie, so readers must still read members with a cap (see ``read_member``).
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise Refusal("bad_zip", "文件已损坏或不是有效的压缩格式（.docx）") from None
    if len(infos) > ZIP_MAX_MEMBERS:
        raise Refusal("zip_too_many_members", f"文件内部条目过多（超过{ZIP_MAX_MEMBERS}个），已拒绝")
    total = sum(i.file_size for i in infos)
    if total > ZIP_MAX_EXPANDED_BYTES:
        raise Refusal("zip_too_large", "文件解压后过大，疑似压缩炸弹，已拒绝")
    packed = max(1, sum(i.compress_size for i in infos))
    if total / packed > ZIP_MAX_RATIO or any(
        i.file_size > 1024 * 1024 and i.file_size / max(1, i.compress_size) > ZIP_MAX_RATIO for i in infos
    ):
        raise Refusal("zip_ratio", "文件压缩比异常，疑似压缩炸弹，已拒绝")
    return archive


def read_member(archive: zipfile.ZipFile, name: str, limit: int = ZIP_MAX_EXPANDED_BYTES) -> bytes:
    """Read one member, refusing to expand past ``limit`` whatever its header claims."""
    try:
        with archive.open(name) as fh:
            data = fh.read(limit + 1)
    except KeyError:
        raise Refusal("zip_member_missing", f"文件缺少必要部分：{name}") from None
    except (zipfile.BadZipFile, OSError, ValueError):
        raise Refusal("bad_zip", "文件已损坏，无法读取") from None
    if len(data) > limit:
        raise Refusal("zip_too_large", "文件解压后过大，疑似压缩炸弹，已拒绝")
    return data


# ---- Attachments: size, type by content, text for search ------------------------------------------------

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
TEXT_MAX_CHARS = 300_000  # what search needs; the file itself keeps everything
PDFTOTEXT_TIMEOUT = 30  # seconds; a PDF that takes longer is pathological
PDFTOTEXT_MAX_PAGES = 500
IMAGE_MAX_PIXELS = 100_000_000  # an A3 page scanned at 600 dpi is ~ 70 M pixels


@dataclass(frozen=True)
class FileKind:
    key: str
    label: str  # shown to people
    mime: str
    extensions: tuple[str, ...]


KINDS: dict[str, FileKind] = {
    k.key: k
    for k in (
        FileKind("pdf", "PDF 文件", "application/pdf", (".pdf",)),
        FileKind("ofd", "OFD 版式文件", "application/ofd", (".ofd",)),
        FileKind("docx", "Word 文档（DOCX）",
                 "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",)),
        FileKind("xlsx", "Excel 表格（XLSX）",
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",)),
        FileKind("pptx", "演示文稿（PPTX）",
                 "application/vnd.openxmlformats-officedocument.presentationml.presentation", (".pptx",)),
        FileKind("png", "PNG 图片", "image/png", (".png",)),
        FileKind("jpeg", "JPEG 图片", "image/jpeg", (".jpg", ".jpeg")),
        FileKind("tiff", "TIFF 图片", "image/tiff", (".tif", ".tiff")),
        FileKind("text", "纯文本（UTF-8）", "text/plain; charset=utf-8", (".txt", ".csv")),
    )
}
KIND_BY_MIME = {k.mime: k for k in KINDS.values()}
ALLOWED_TYPES_TEXT = "PDF、OFD、DOCX、XLSX、PPTX、PNG、JPEG、TIFF、UTF-8 纯文本（TXT/CSV）"

# Recognised but refused: named in the error so people know what to do instead.
_REFUSED_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "Windows 可执行程序"),
    (b"\x7fELF", "可执行程序"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "旧版 Office/WPS 文件（.doc/.xls/.wps），请另存为 DOCX、XLSX 或 PDF 后上传"),
    (b"Rar!", "RAR 压缩包"),
    (b"7z\xbc\xaf\x27\x1c", "7z 压缩包"),
    (b"\x1f\x8b", "gzip 压缩包"),
    (b"GIF8", "GIF 图片"),
    (b"{\\rtf", "RTF 文档，请另存为 DOCX 或 PDF 后上传"),
)


def kind_for_mime(mime: str) -> FileKind | None:
    return KIND_BY_MIME.get(mime)


def upload_limit() -> int:
    from django.conf import settings

    return int(getattr(settings, "OA_UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES))


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} 字节"


def read_upload(uploaded, max_bytes: int | None = None) -> bytes:
    """The bytes of an uploaded file, refusing empty and oversize files before reading them whole.

    ``uploaded.size`` is checked first (Django has already spooled a large upload to a temporary file, never
    to memory); the read is capped as well, in case the reported size is wrong.
    """
    limit = upload_limit() if max_bytes is None else max_bytes
    size = getattr(uploaded, "size", None)
    if size == 0:
        raise Refusal("file_empty", "文件是空的（0 字节），请检查后重新选择")
    if size is not None and size > limit:
        raise Refusal("file_too_large", f"文件过大（{human_size(size)}），单个文件不能超过 {human_size(limit)}",
                            status=413)
    if hasattr(uploaded, "seek"):
        uploaded.seek(0)
    data = uploaded.read(limit + 1)
    if not data:
        raise Refusal("file_empty", "文件是空的（0 字节），请检查后重新选择")
    if len(data) > limit:
        raise Refusal("file_too_large", f"文件过大，单个文件不能超过 {human_size(limit)}", status=413)
    return data


class MaxSizeUploadHandler(FileUploadHandler):
    """First upload handler of a request: stops receiving a file once it passes the limit.

    The multipart parser then drops that file and reads (but does not keep) the rest of the body; the view
    sees ``request.oa_upload_too_large`` and answers file_too_large. Without it Django would spool the whole
    oversize file to disk before the view could say no.
    """

    def __init__(self, request=None, max_bytes: int | None = None) -> None:
        super().__init__(request)
        self.max_bytes = upload_limit() if max_bytes is None else max_bytes

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.max_bytes:
            if self.request is not None:
                self.request.oa_upload_too_large = True
            raise StopUpload(connection_reset=False)
        return raw_data  # hand the chunk on to Django's own handlers

    def file_complete(self, file_size: int) -> None:
        return None


def _mismatch(filename: str, found: FileKind) -> Refusal:
    ext = PurePosixPath(filename).suffix.lower() or "（无扩展名）"
    return Refusal(
        "type_mismatch", f"文件内容与扩展名不符：扩展名为 {ext}，内容却是{found.label}。请确认文件后重新上传"
    )


def _sniff_zip(data: bytes) -> FileKind:
    archive = check_zip_safety(data)
    names = set(archive.namelist())
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise Refusal("macro_refused", "文件包含宏（VBA），出于安全原因不予接收，请另存为不含宏的文件")
    ooxml = "[Content_Types].xml" in names
    if ooxml and "word/document.xml" in names:
        return KINDS["docx"]
    if ooxml and "xl/workbook.xml" in names:
        return KINDS["xlsx"]
    if ooxml and "ppt/presentation.xml" in names:
        return KINDS["pptx"]
    if "OFD.xml" in names:
        return KINDS["ofd"]
    raise Refusal("unsupported_type", f"不支持普通压缩包，仅允许上传 {ALLOWED_TYPES_TEXT}")


def _is_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    # Control characters other than tab/newline/form feed mean binary data that merely happens to decode.
    return not re.search(r"[\x00-\x08\x0b\x0e-\x1f\x7f]", text)


def sniff_type(data: bytes) -> FileKind:
    """What ``data`` is, by its bytes alone; Refusal when it is nothing we accept."""
    if data.startswith(b"%PDF-"):
        return KINDS["pdf"]
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return KINDS["png"]
    if data.startswith(b"\xff\xd8\xff"):
        return KINDS["jpeg"]
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return KINDS["tiff"]
    if data.startswith(b"PK\x03\x04"):
        return _sniff_zip(data)
    for magic, what in _REFUSED_MAGIC:
        if data.startswith(magic):
            raise Refusal("unsupported_type", f"不支持的文件类型：{what}。仅允许上传 {ALLOWED_TYPES_TEXT}")
    if _is_text(data):
        return KINDS["text"]
    raise Refusal("unsupported_type", f"无法识别的文件类型，仅允许上传 {ALLOWED_TYPES_TEXT}")


def check_file_type(data: bytes, filename: str, allowed: frozenset[str] | None = None) -> FileKind:
    """Content decides the type; the extension must agree with it (a PNG named .pdf is refused)."""
    kind = sniff_type(data)
    if PurePosixPath(filename).suffix.lower() not in kind.extensions:
        raise _mismatch(filename, kind)
    if allowed is not None and kind.key not in allowed:
        names = "、".join(KINDS[k].label for k in KINDS if k in allowed)
        raise Refusal("type_not_allowed", f"此处不接受{kind.label}，仅允许：{names}")
    if kind.key in ("png", "jpeg", "tiff"):
        _check_image(data, kind)
    return kind


def _check_image(data: bytes, kind: FileKind) -> None:
    from PIL import Image

    try:
        with warnings.catch_warnings():
            # Our own pixel limit below decides; Pillow still raises DecompressionBombError far beyond it.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size  # from the header: nothing is decoded yet
                if width * height > IMAGE_MAX_PIXELS:
                    raise Refusal("image_too_large", "图片像素尺寸过大（超过 1 亿像素），已拒绝")
                image.verify()
    except Refusal:
        raise
    except Image.DecompressionBombError:
        raise Refusal("image_too_large", "图片像素尺寸过大（超过 1 亿像素），已拒绝") from None
    except Exception:  # Pillow raises many types for damaged files
        raise Refusal("image_damaged", f"{kind.label}已损坏，无法读取") from None


def _cap(text: str) -> str:
    text = re.sub(r"[ \t\f\v]+", " ", text)
    text = re.sub(r"\n\s*\n+", "\n", text).strip()
    return text[:TEXT_MAX_CHARS]


def _xml_text(archive: zipfile.ZipFile, members: list[str], tags: frozenset[str]) -> str:
    # No DTDs, no entity expansion, no network: members of an uploaded ZIP are hostile until proven otherwise.
    # (A parser per call: lxml parsers must not be shared between threads.)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    parts: list[str] = []
    total = 0
    for name in members:
        try:
            root = etree.fromstring(read_member(archive, name, limit=50 * 1024 * 1024), parser)
        except etree.XMLSyntaxError:
            continue
        for el in root.iter():
            if isinstance(el.tag, str) and el.tag.rsplit("}", 1)[-1] in tags and el.text:
                parts.append(el.text)
                total += len(el.text)
        parts.append("\n")
        if total > TEXT_MAX_CHARS:
            break
    return "".join(parts)


def _natural(name: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def extract_text(data: bytes, kind: FileKind) -> str:
    """Plain text for search (Attachment.text). Images carry none (no OCR). Refuses unreadable documents."""
    if kind.key == "pdf":
        try:
            result = subprocess.run(
                ["pdftotext", "-enc", "UTF-8", "-q", "-l", str(PDFTOTEXT_MAX_PAGES), "-", "-"],
                input=data, capture_output=True, timeout=PDFTOTEXT_TIMEOUT, check=False,
            )
        except subprocess.TimeoutExpired:
            raise Refusal("pdf_timeout", "PDF 文件解析超时，文件可能已损坏或结构异常") from None
        if result.returncode != 0:
            raise Refusal("pdf_unreadable", "PDF 文件已损坏或设置了打开密码，无法读取")
        return _cap(result.stdout.decode("utf-8", "replace"))
    if kind.key == "docx":
        import docx

        check_zip_safety(data)
        try:
            document = docx.Document(io.BytesIO(data))
        except Exception:  # python-docx/lxml raise many types for damaged packages
            raise Refusal("docx_unreadable", "Word 文档（DOCX）已损坏，无法读取") from None
        lines = [p.text for p in document.paragraphs]
        for table in document.tables:
            for row in table.rows:
                lines.append(" ".join(cell.text for cell in row.cells))
        return _cap("\n".join(lines))
    if kind.key in ("xlsx", "pptx", "ofd"):
        archive = check_zip_safety(data)
        names = archive.namelist()
        if kind.key == "xlsx":
            members, tags = [n for n in names if n == "xl/sharedStrings.xml"], frozenset({"t"})
        elif kind.key == "pptx":
            members = sorted((n for n in names if re.fullmatch(r"ppt/slides/slide\d+\.xml", n)), key=_natural)
            tags = frozenset({"t"})
        else:
            members = sorted((n for n in names if n.endswith("/Content.xml")), key=_natural)
            tags = frozenset({"TextCode"})
        return _cap(_xml_text(archive, members, tags))
    if kind.key == "text":
        return _cap(data.decode("utf-8-sig"))
    return ""
