"""正文 import from .docx: headings from ordinals and styles, tables, our own renderer's output; and bad files —
a zip bomb, a PNG named .docx, a truncated file, a ZIP without word/document.xml, an oversize file — each refused
with its own code before python-docx opens it, and nothing stored."""

from __future__ import annotations

import datetime
import io
import zipfile

import docx
import pytest

from documents.actions.body import check_import_body, check_save_body
from documents.actions.documents import do_create_document
from documents.body import normalize_body
from documents.docx_import import parse_docx_body
from documents.models import BodyVersion, OfficialDocument
from documents.rendering.docx import render_docx
from documents.rendering.spec import BodyBlock, DocumentSpec
from oa.models import Agency, AuditEntry
from oa.refusals import Refusal

pytestmark = pytest.mark.django_db

OFFICE = "揭阳市揭东区人民政府办公室"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


def sample_docx() -> bytes:
    """A Word file as people write them: typed ordinals, a built-in heading style, full-width indents, a table."""
    d = docx.Document()
    d.add_paragraph("一、总体要求")
    d.add_paragraph("\u3000\u3000各镇人民政府、各街道办事处要高度重视。")
    d.add_paragraph("（一）加强组织领导。成立工作专班。")
    d.add_paragraph("1.明确责任分工")
    d.add_paragraph("（2）落实值班制度")
    d.add_paragraph("")
    d.add_heading("保障措施", level=1)
    d.add_paragraph("经费1.5万元由区财政保障。")
    table = d.add_table(rows=2, cols=3)
    for r, row in enumerate([["单位", "人数", "备注"], ["区府办", "3", ""]]):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    d.add_paragraph("第一行\n第二行")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _draft(cast) -> OfficialDocument:
    return do_create_document(actor=cast.zhangwei, agency=Agency.objects.get(name=OFFICE), title="关于安全生产的通知")


def test_parse_detects_levels_strips_ordinals_and_keeps_tables():
    content = parse_docx_body(sample_docx())
    assert content["blocks"] == [
        {"type": "p", "level": 1, "text": "总体要求"},
        {"type": "p", "level": 0, "text": "各镇人民政府、各街道办事处要高度重视。"},
        {"type": "p", "level": 2, "text": "加强组织领导。成立工作专班。"},
        {"type": "p", "level": 3, "text": "明确责任分工"},
        {"type": "p", "level": 4, "text": "落实值班制度"},
        {"type": "p", "level": 1, "text": "保障措施"},  # from the Heading 1 style
        {"type": "p", "level": 0, "text": "经费1.5万元由区财政保障。"},
        {"type": "table", "rows": [["单位", "人数", "备注"], ["区府办", "3", ""]], "header": True},
        {"type": "p", "level": 0, "text": "第一行"},  # a soft line break makes two paragraphs
        {"type": "p", "level": 0, "text": "第二行"},
    ]
    assert normalize_body(content) == content


def test_our_own_rendered_docx_round_trips_to_its_body():
    body = [BodyBlock("总体要求", 1), BodyBlock("各单位要高度重视。"), BodyBlock("工作措施", 2),
            BodyBlock("措施一"), BodyBlock("保障", 1)]
    spec = DocumentSpec(
        issuer_mark=f"{OFFICE}文件", doc_number="揭东府办〔2026〕5号", title="关于安全生产的通知",
        main_recipients=["各镇人民政府"], body=body, signature=OFFICE, date=datetime.date(2026, 11, 27),
        cc=["区委办公室"], printing_org=OFFICE,
    )
    content = parse_docx_body(render_docx(spec))
    # The red header, title, 主送, 署名, 日期 and 版记 are not 正文; the generated ordinals are stripped again.
    assert content["blocks"] == [
        {"type": "p", "level": 1, "text": "总体要求"},
        {"type": "p", "level": 0, "text": "各单位要高度重视。"},
        {"type": "p", "level": 2, "text": "工作措施"},
        {"type": "p", "level": 0, "text": "措施一"},
        {"type": "p", "level": 1, "text": "保障"},  # printed as "二、保障"
    ]


def test_import_creates_an_import_version_and_audits(cast):
    doc = _draft(cast)
    check_save_body(cast.zhangwei, doc, {"blocks": [{"type": "p", "level": 0, "text": "旧稿。"}]}, if_match=0)
    data = sample_docx()
    version = check_import_body(cast.zhangwei, doc, data, filename="通知.docx", if_match=1)
    assert version.number == 2 and version.kind == BodyVersion.Kind.IMPORT and version.parent.number == 1
    assert version.content["blocks"][0] == {"type": "p", "level": 1, "text": "总体要求"}
    doc.refresh_from_db()
    assert doc.current_body_id == version.pk
    entry = AuditEntry.objects.filter(action="document.body_import", object_id=str(doc.pk)).get()
    assert entry.changes["filename"] == "通知.docx" and entry.changes["size"] == len(data)
    assert entry.changes["version"] == 2


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


BIG_XML = b"<a>" + b"x" * (4 * 1024 * 1024) + b"</a>"


def _lying_sizes(data: bytes) -> bytes:
    """A ZIP whose headers understate word/document.xml's expanded size (declared 1 KB, real 4 MB): it passes
    the declared-size checks, so only reading with a cap (and the CRC) catches it."""
    out = bytearray(data)
    real = len(BIG_XML).to_bytes(4, "little")
    fake = (1024).to_bytes(4, "little")
    # The uncompressed size sits at offset 22 of the local header and 24 of the central directory entry.
    patched = 0
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        pos = out.find(sig)
        while pos != -1:
            if out[pos + offset:pos + offset + 4] == real:
                out[pos + offset:pos + offset + 4] = fake
                patched += 1
            pos = out.find(sig, pos + 4)
    assert patched == 2  # local header and central directory both lie
    lying = zipfile.ZipFile(io.BytesIO(bytes(out)))
    assert lying.getinfo("word/document.xml").file_size == 1024
    return bytes(out)


ZIP_BOMB = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"\x00" * (20 * 1024 * 1024)})


@pytest.mark.parametrize(
    ("name", "data", "code", "words"),
    [
        ("zip bomb", ZIP_BOMB, "zip_ratio", ["压缩炸弹"]),
        ("png renamed", PNG, "not_docx", ["PNG 图片"]),
        ("old .doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "not_docx", [".doc", "另存为 .docx"]),
        ("truncated", sample_docx()[:3000], "bad_zip", ["损坏"]),
        ("zip, not word", _zip({"readme.txt": "你好".encode()}), "not_docx", ["word/document.xml"]),
        ("lying header", _lying_sizes(_zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": BIG_XML})),
         "bad_zip", ["损坏"]),
        ("broken xml", _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document"}),
         "bad_docx", ["损坏"]),
        ("empty", b"", "file_empty", ["空"]),
    ],
)
def test_bad_files_are_refused_and_nothing_is_stored(cast, name, data, code, words):
    doc = _draft(cast)
    with pytest.raises(Refusal) as err:
        check_import_body(cast.zhangwei, doc, data, filename="正文.docx", if_match=0)
    assert err.value.code == code, (name, err.value.message)
    for word in words:
        assert word in err.value.message
    doc.refresh_from_db()
    assert doc.current_body is None and not BodyVersion.objects.filter(document=doc).exists()
    assert not AuditEntry.objects.filter(action="document.body_import", object_id=str(doc.pk)).exists()


def test_oversize_file_is_refused_by_the_setting(cast, settings):
    settings.OA_UPLOAD_MAX_BYTES = 10_000
    data = sample_docx()
    assert len(data) > 10_000
    with pytest.raises(Refusal) as err:
        parse_docx_body(data)
    assert err.value.code == "file_too_large" and err.value.status == 413


def test_a_docx_without_body_text_is_refused():
    d = docx.Document()
    d.add_paragraph("   ")
    buf = io.BytesIO()
    d.save(buf)
    with pytest.raises(Refusal) as err:
        parse_docx_body(buf.getvalue())
    assert err.value.code == "docx_empty"


def test_import_needs_edit_permission_before_the_file_is_read(cast):
    doc = _draft(cast)
    with pytest.raises(Refusal) as err:
        check_import_body(cast.lina, doc, PNG, filename="x.docx", if_match=0)
    assert err.value.code == "not_editable"  # not "not_docx": the file of someone who may not edit is not parsed
