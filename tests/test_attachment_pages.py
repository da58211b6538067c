"""附件 are real (GB/T 9704 §7.3.3 附件说明, §7.3.7 附件): the 附件说明 is the uploaded attachments, each attachment
becomes pages of the 正式文件 (label page, then its content in the 版心 with running page numbers), and what is sealed
and exchanged holds them — pdfsig reports the whole document signed and pdftotext finds the attachments' words."""

from __future__ import annotations

import datetime
import io
import subprocess
from pathlib import Path

import pytest
from django.utils import timezone
from docx import Document
from docx.oxml.ns import qn
from reportlab.pdfgen import canvas

from documents.actions.attachments import check_add_attachment
from documents.actions.body import check_save_body
from documents.actions.documents import check_update_document, do_create_document, do_grant_document_access
from documents.actions.numbering import do_allocate_doc_number
from documents.actions.seals import (
    check_create_seal,
    check_stamp_document,
    do_authorise_seal_use,
    do_init_seal_authority,
)
from documents.actions.typeset import check_typeset_document
from documents.checker import check_gbt9704
from documents.models import OfficialDocument, SealAuthority, SealUse
from documents.rendering import AttachmentPage, BodyBlock, DocumentSpec, libreoffice, render_docx
from documents.rendering.merge import Box, merged_digests, place_pages
from documents.rendering.pdf import render_pdf_with_layout
from documents.seals.pdfsig import run_pdfsig
from documents.selectors.seals import verify_pdf
from oa.models import Agency, AuditEntry
from oa.refusals import Refusal
from tests.test_attachments import make_docx, make_ofd, make_pdf, make_png, upload

OFFICE = "揭阳市揭东区人民政府办公室"
BODY = {"blocks": [{"type": "p", "level": 0, "text": "现将检查方案和联系人名单印发给你们，请认真贯彻执行。"}]}
CALC = Path("/usr/lib/libreoffice/program/libsclo.so").exists()  # libreoffice-calc(-nogui) installed


def pdftotext(data: bytes, first: int | None = None, last: int | None = None) -> str:
    args = ["pdftotext", "-enc", "UTF-8", *(["-f", str(first)] if first else []), *(["-l", str(last)] if last else []),
            "-", "-"]
    return subprocess.run(args, input=data, capture_output=True, check=True).stdout.decode()


def pages_of(data: bytes) -> int:
    out = subprocess.run(["pdfinfo", "-"], input=data, capture_output=True, check=True).stdout.decode()
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


def _squash(text: str) -> str:
    return "".join(text.split())


# ---- renderer level: placeholders and merge, no database ---------------------------------------------------------


def _spec(pages: list[AttachmentPage], today: datetime.date) -> DocumentSpec:
    return DocumentSpec(
        issuer_mark=f"{OFFICE}文件", doc_number="揭东府办〔2026〕5号", title="关于印发检查方案的通知",
        main_recipients=["各镇人民政府"], body=[BodyBlock("现将检查方案印发给你们，请认真贯彻执行。")],
        signature=OFFICE, date=today, attachments=[p.title for p in pages], attachment_pages=pages,
        cc=["区委办公室"], printing_org=OFFICE,
    )


def test_pdf_attachment_pages_sit_in_the_type_area_with_running_page_numbers():
    today = timezone.localdate()
    attachment = make_pdf(pages=2, text="检查方案正文")
    spec = _spec([AttachmentPage("检查方案", pdf=attachment, digest="a" * 64)], today)
    rendered = render_pdf_with_layout(spec)
    # 正文 (1) · 附件 title page (2) · the attachment's two pages (3, 4) · the content ends on an even page, so a
    # blank page (5) and the 版记 page (6), neither numbered (§7.5), exactly as after typeset content.
    assert rendered.page_count == pages_of(rendered.data) == 6
    assert "附件" in pdftotext(rendered.data, 2, 2) and "检查方案" in pdftotext(rendered.data, 2, 2)
    for n in (1, 2):
        text = pdftotext(rendered.data, 2 + n, 2 + n)
        assert f"检查方案正文 第{n}页" in text and f"— {2 + n} —" in text  # page numbers continue (§7.5)
    assert not pdftotext(rendered.data, 5, 5).strip()
    assert "抄送：区委办公室" in pdftotext(rendered.data, 6, 6) and "—" not in pdftotext(rendered.data, 6, 6)
    assert merged_digests(rendered.data) == ["a" * 64]
    assert rendered.seal_anchors and rendered.seal_anchors[0].page == 0  # the seal stays on the 正文's page

    # The DOCX carries each attachment page as a picture after the same title page, one page each.
    docx = render_docx(spec)
    assert all(r.passed for r in check_gbt9704(docx)), [r for r in check_gbt9704(docx) if not r.passed]
    pictures = [p for p in Document(io.BytesIO(docx)).paragraphs if p.style.name == "GB AttachmentPicture"]
    assert len(pictures) == 2 and all(p.paragraph_format.page_break_before for p in pictures)
    assert all(len(p._p.findall(".//" + qn("pic:pic"))) == 1 for p in pictures)
    if libreoffice.soffice_available():
        assert pages_of(libreoffice.docx_to_pdf(docx)) == rendered.page_count  # LibreOffice lays it out alike


def test_rotated_and_landscape_pages_fit_the_type_area():
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(842, 595))  # landscape A4
    c.drawString(40, 550, "LANDSCAPE-TOP-LEFT")
    c.showPage()
    c.setPageRotation(90)
    c.drawString(40, 800, "ROTATED-PAGE")
    c.showPage()
    c.save()
    base = io.BytesIO()
    b = canvas.Canvas(base)
    b.showPage()
    b.showPage()
    b.save()
    box = Box(x0=80, top=760, width=440, height=640)
    merged = place_pages(base.getvalue(), [(0, buf.getvalue())], box, ["d" * 64])
    for page, word in ((1, "LANDSCAPE-TOP-LEFT"), (2, "ROTATED-PAGE")):
        bbox = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), "-", "-"], input=merged,
                              capture_output=True, check=True).stdout.decode()
        line = next(line for line in bbox.splitlines() if word in line)
        x_min, y_min, x_max, y_max = (float(line.split(f'{k}="')[1].split('"')[0])
                                      for k in ("xMin", "yMin", "xMax", "yMax"))
        # pdftotext's y grows downwards from the top: the box spans 842-760 = 82 to 82+640 = 722.
        assert 80 - 1 <= x_min and x_max <= 520 + 1 and 82 - 1 <= y_min and y_max <= 722 + 1, (word, line)


# ---- through the actions ----------------------------------------------------------------------------------------


@pytest.fixture
def drafted(cast):
    office = Agency.objects.get(doc_code="揭东府办")
    doc = do_create_document(actor=cast.zhangwei, agency=office, title="关于印发安全生产检查方案的通知",
                             main_recipients=["各镇人民政府"], cc=["区委办公室"])
    check_save_body(cast.zhangwei, doc, BODY, if_match=None)
    check_update_document(cast.zhangwei, doc, {"written_date": timezone.localdate().isoformat()})
    doc.refresh_from_db()
    return doc


def _typeset(doc, cast) -> OfficialDocument:
    do_allocate_doc_number(cast.liuyang, doc, year=timezone.localdate().year)
    return check_typeset_document(cast.liuyang, doc)


def _nothing_typeset(doc) -> None:
    doc.refresh_from_db()
    assert not doc.final_pdf and not doc.final_docx and doc.status != OfficialDocument.Status.TYPESET
    assert not AuditEntry.objects.filter(action="document.typeset", object_id=str(doc.pk)).exists()


def test_note_naming_a_file_never_uploaded_is_refused_and_nothing_typeset(drafted, cast):
    check_add_attachment(cast.zhangwei, drafted, upload("检查方案.pdf", make_pdf()), title="检查方案")
    check_update_document(cast.zhangwei, drafted, {"attachment_note": ["检查方案", "各组联系人名单"]})
    drafted.refresh_from_db()
    with pytest.raises(Refusal) as err:
        _typeset(drafted, cast)
    assert err.value.code == "attachment_note_mismatch"
    assert "“各组联系人名单”没有上传对应的附件文件" in err.value.message
    _nothing_typeset(drafted)

    # The other way round: an uploaded file left out of the 附件说明, and the wrong order, are refused alike.
    OfficialDocument.objects.filter(pk=drafted.pk).update(attachment_note=[])
    with pytest.raises(Refusal) as err:
        check_typeset_document(cast.liuyang, drafted)
    assert err.value.code == "attachment_note_mismatch" and "“检查方案”没有列入附件说明" in err.value.message
    _nothing_typeset(drafted)


def test_uploaded_pdf_and_docx_are_pages_of_the_sealed_pdf(drafted, cast):
    if not libreoffice.soffice_available():
        pytest.skip("LibreOffice (soffice) is not installed; the refusal without it is tested below")
    scheme = check_add_attachment(cast.zhangwei, drafted, upload("方案.pdf", make_pdf(pages=2, text="检查方案正文")),
                                  title="安全生产检查方案")
    names = check_add_attachment(cast.zhangwei, drafted,
                                 upload("名单.docx", make_docx(("各组联系人", "第一组组长王芳"), cell="联系人：张伟")),
                                 title="各组联系人名单")
    doc = _typeset(drafted, cast)
    doc.refresh_from_db()
    assert doc.attachment_note == ["安全生产检查方案", "各组联系人名单"]
    pdf = doc.final_pdf.open("rb").read()
    text = _squash(pdftotext(pdf))
    assert "附件：1.安全生产检查方案2.各组联系人名单" in text  # the 附件说明 is the uploads, in order
    assert "附件1" in text and "附件2" in text
    assert "检查方案正文第1页" in text and "检查方案正文第2页" in text  # the PDF's own pages
    assert "第一组组长王芳" in text and "联系人：张伟" in text  # the DOCX, converted by LibreOffice
    assert merged_digests(pdf) == [scheme.sha256, names.sha256]
    entry = AuditEntry.objects.get(action="document.typeset", object_id=str(doc.pk))
    assert [a["sha256"] for a in entry.changes["attachments"]] == [scheme.sha256, names.sha256]
    docx = doc.final_docx.open("rb").read()
    assert all(r.passed for r in check_gbt9704(docx)), [r for r in check_gbt9704(docx) if not r.passed]
    assert pages_of(libreoffice.docx_to_pdf(docx)) == pages_of(pdf)

    do_init_seal_authority(actor=None, name="揭阳市揭东区电子印章制章者")
    seal = check_create_seal(cast.sunhao, agency=doc.agency)
    do_authorise_seal_use(actor=cast.huangjianhua, document=doc, step_label="用印", step_token="t-att")
    use = check_stamp_document(cast.zhoumin, doc, seal, step_token="t-att", otp_verified=True)
    signed = use.signed_pdf.open("rb").read()
    report = run_pdfsig(signed, (SealAuthority.objects.get().cert_pem,))
    assert [s.valid for s in report.signatures] == [True], report.output
    assert report.signatures[0].total_document_signed, report.output  # the signature covers every page
    signed_text = _squash(pdftotext(signed))
    assert "检查方案正文第2页" in signed_text and "联系人：张伟" in signed_text
    assert pages_of(signed) == pages_of(pdf)
    assert verify_pdf(signed).ok


def test_attachment_changed_after_typesetting_is_not_sealed(drafted, cast):
    check_add_attachment(cast.zhangwei, drafted, upload("方案.pdf", make_pdf(text="检查方案正文")), title="检查方案")
    doc = _typeset(drafted, cast)
    do_grant_document_access(doc, cast.liuyang, can_edit=True)
    check_add_attachment(cast.liuyang, doc, upload("名单.pdf", make_pdf(text="名单")), title="联系人名单")
    do_init_seal_authority(actor=None, name="揭阳市揭东区电子印章制章者")
    seal = check_create_seal(cast.sunhao, agency=doc.agency)
    do_authorise_seal_use(actor=cast.huangjianhua, document=doc, step_label="用印", step_token="t-chg")
    with pytest.raises(Refusal) as err:
        check_stamp_document(cast.zhoumin, doc, seal, step_token="t-chg", otp_verified=True)
    assert err.value.code == "attachments_changed" and "“联系人名单”不在排版文件中" in err.value.message
    assert "重新套红排版" in err.value.message
    assert not SealUse.objects.filter(document=doc).exists()
    doc.refresh_from_db()
    assert doc.status == OfficialDocument.Status.TYPESET


def test_attachment_that_cannot_be_converted_is_refused_and_nothing_typeset(drafted, cast):
    check_add_attachment(cast.zhangwei, drafted, upload("方案.ofd", make_ofd()), title="检查方案")
    with pytest.raises(Refusal) as err:
        _typeset(drafted, cast)
    assert err.value.code == "attachment_unconvertible"
    assert "附件“检查方案”不能并入正式文件" in err.value.message and "PDF 版本" in err.value.message
    _nothing_typeset(drafted)


@pytest.mark.skipif(CALC, reason="LibreOffice Calc is installed: XLSX converts (covered by the DOCX case)")
def test_spreadsheet_without_libreoffice_calc_is_refused_naming_the_file(drafted, cast):
    from tests.test_attachments import make_xlsx

    check_add_attachment(cast.zhangwei, drafted, upload("值班表.xlsx", make_xlsx()), title="值班安排表")
    with pytest.raises(Refusal) as err:
        _typeset(drafted, cast)
    assert err.value.code == "attachment_unconvertible" and "附件“值班安排表”" in err.value.message
    assert "另存为 PDF 后重新上传" in err.value.message
    _nothing_typeset(drafted)


def test_without_libreoffice_office_attachments_are_refused_with_what_to_do(drafted, cast, monkeypatch):
    monkeypatch.setattr(libreoffice, "SOFFICE", "soffice-not-installed-here")
    check_add_attachment(cast.zhangwei, drafted, upload("名单.docx", make_docx()), title="各组联系人名单")
    with pytest.raises(Refusal) as err:
        _typeset(drafted, cast)
    assert err.value.code == "attachment_unconvertible" and "附件“各组联系人名单”" in err.value.message
    assert "未安装 LibreOffice" in err.value.message and "另存为 PDF 后重新上传" in err.value.message
    _nothing_typeset(drafted)


def test_pictures_and_plain_text_become_attachment_pages(drafted, cast, tmp_path):
    check_add_attachment(cast.zhangwei, drafted, upload("现场.png", make_png(size=(300, 200))), title="现场照片")
    check_add_attachment(cast.zhangwei, drafted, upload("要求.txt", "一、按时报送\n二、专人负责\n".encode()),
                         title="报送要求")
    doc = _typeset(drafted, cast)
    pdf = doc.final_pdf.open("rb").read()
    # 正文 · 附件1 title page · the photo · 附件2 with its text as 正文 paragraphs · (版记 on its own page or not).
    text = _squash(pdftotext(pdf))
    assert "附件1" in text and "现场照片" in text and "附件2" in text and "一、按时报送" in text
    (tmp_path / "f.pdf").write_bytes(pdf)
    listed = subprocess.run(["pdfimages", "-list", str(tmp_path / "f.pdf")], capture_output=True, check=True)
    rows = listed.stdout.decode().splitlines()[2:]  # after the header and its rule
    assert [int(r.split()[0]) for r in rows] == [3]  # one picture, on page 3 (after 附件1's title page)
    assert "— 3 —" in pdftotext(pdf, 3, 3)
    assert len(merged_digests(pdf)) == 2
