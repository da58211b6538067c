"""Import a 正文 from an uploaded .docx: paragraphs and tables into the structured body format (documents.body).

The file is untrusted. It is checked in this order before python-docx ever sees it: size, magic bytes (a ZIP),
the ZIP's declared sizes and ratios (documents.uploads), the presence of word/document.xml, then every member is
actually decompressed with a cap (headers can lie). Each refusal has its own code and Chinese message.
"""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings

from documents.body import EDGE_SPACE, ORDINAL_PATTERNS, detect_ordinal, normalize_body
from documents.uploads import ZIP_MAX_EXPANDED_BYTES, check_zip_safety, read_member
from oa.refusals import Refusal

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
ZIP_MAGIC = b"PK\x03\x04"

# What a non-.docx file usually is, so the message can say so (the extension is never trusted).
_SNIFF = (
    (b"\x89PNG\r\n\x1a\n", "PNG 图片"),
    (b"\xff\xd8\xff", "JPEG 图片"),
    (b"GIF8", "GIF 图片"),
    (b"%PDF-", "PDF 文件"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "旧版 Word（.doc）或其他 Office 97–2003 文件，请在 Word 中另存为 .docx"),
    (b"{\\rtf", "RTF 文件"),
    (b"Rar!", "RAR 压缩包"),
    (b"7z\xbc\xaf\x27\x1c", "7z 压缩包"),
)

# Heading styles (Word's built-in English and Chinese names, and our own renderer's) → level.
_HEADING_STYLES = {
    **{f"heading {n}": n for n in range(1, 5)},
    **{f"标题 {n}": n for n in range(1, 5)},
    **{f"gb heading {n}": n for n in range(1, 5)},
}
# Paragraph styles of our own GB/T 9704 renderer (documents.rendering.docx) that are not 正文: when a file
# uses our body style, only body and heading paragraphs are taken (the red header, 署名 and 版记 are not).
_OUR_BODY_STYLE = "gb body"


def max_upload_bytes() -> int:
    return int(getattr(settings, "OA_UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES) or DEFAULT_MAX_BYTES)


def check_docx_bytes(data: bytes) -> None:
    """Refuse anything that is not a sane .docx before a parser opens it."""
    limit = max_upload_bytes()
    if len(data) > limit:
        raise Refusal("file_too_large",
                            f"文件大小 {len(data) / 1048576:.1f} MB，超过 {limit / 1048576:.0f} MB 的上限", status=413)
    if not data:
        raise Refusal("file_empty", "上传的文件是空的")
    if not data.startswith(ZIP_MAGIC):
        for magic, what in _SNIFF:
            if data.startswith(magic):
                raise Refusal("not_docx", f"文件内容实际是{what}，不是 Word 文档（.docx）")
        raise Refusal("not_docx", "文件内容不是 Word 文档（.docx），请上传用 Word 或 WPS 保存的 .docx 文件")
    archive = check_zip_safety(data)
    names = set(archive.namelist())
    if "word/document.xml" not in names or "[Content_Types].xml" not in names:
        raise Refusal("not_docx", "压缩包里没有 Word 正文（word/document.xml），不是 .docx 文档")
    # Decompress every member for real, with one budget for the whole file: catches lying headers and
    # truncated or corrupted members (CRC) with a clear message instead of a parser traceback.
    budget = ZIP_MAX_EXPANDED_BYTES
    for info in archive.infolist():
        if info.is_dir():
            continue
        budget -= len(read_member(archive, info.filename, limit=budget))


def _clean_text(text: str) -> str:
    return text.replace("\t", " ").strip(EDGE_SPACE)


def _paragraph_blocks(text: str, style: str) -> list[dict[str, Any]]:
    """One Word paragraph → blocks. Soft line breaks become separate paragraphs (each 自然段 is one block)."""
    lines = [_clean_text(line) for line in text.replace("\r", "\n").split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        return []
    first = lines[0]
    level = 0
    found = detect_ordinal(first)
    if found:
        # The ordinal typed in the text says the level best; it is then generated again on rendering.
        level = found[0]
        first = ORDINAL_PATTERNS[level].sub("", first, count=1).strip(EDGE_SPACE)
    elif style in _HEADING_STYLES:
        level = _HEADING_STYLES[style]
    blocks = [{"type": "p", "level": level, "text": first}] if first else []
    blocks += [{"type": "p", "level": 0, "text": line} for line in lines[1:]]
    return blocks


def _table_block(table) -> dict[str, Any] | None:
    rows = [[_clean_text(cell.text.replace("\n", " ")) for cell in row.cells] for row in table.rows]
    rows = [row for row in rows if row]
    if not rows:
        return None
    width = max(len(row) for row in rows)
    return {"type": "table", "rows": [row + [""] * (width - len(row)) for row in rows], "header": True}


def _is_our_colophon(table) -> bool:
    return any((p.style.name or "").lower() == "gb colophon" for row in table.rows for cell in row.cells
               for p in cell.paragraphs if p.style is not None)


def parse_docx_body(data: bytes) -> dict[str, Any]:
    """The 正文 of an uploaded .docx as {"blocks": [...]}, validated; Refusal for anything unsafe or broken."""
    check_docx_bytes(data)
    import docx  # python-docx, imported late: only after the checks above
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        items = list(document.iter_inner_content())
        styles = [(item.style.name or "").lower() if item.style is not None else "" for item in items]
        ours = _OUR_BODY_STYLE in styles
        blocks: list[dict[str, Any]] = []
        for item, style in zip(items, styles, strict=True):
            if isinstance(item, Table):
                if ours and _is_our_colophon(item):
                    continue  # our renderer's 版记 (抄送, 印发) is a table too
                if (table := _table_block(item)) is not None:
                    blocks.append(table)
            elif not ours or style == _OUR_BODY_STYLE or style.startswith("gb heading"):
                blocks += _paragraph_blocks(item.text, style)
    except Refusal:
        raise
    except Exception:
        # Untrusted input into a parser: any failure is "this file is broken", never a server error.
        raise Refusal("bad_docx", "无法读取该 Word 文档：文件内部结构已损坏或不完整") from None
    if not blocks:
        raise Refusal("docx_empty", "文档中没有可导入的正文段落或表格")
    return normalize_body({"blocks": blocks})
