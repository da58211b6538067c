"""纸质来文 (a scanned PDF registered by the 文书) and 收文号 allocation (收〔年度〕n号 per agency and year)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from viewflow.workflow.models import Process, Task
from viewflow.workflow.status import STATUS

from documents.actions.incoming import IncomingFields, do_store_incoming_pdf
from documents.models import IncomingDocument, ReceiptNumberSequence
from oa.models import Agency, AuditEntry, WorkItem
from tests.clients import login
from tests.test_attachments import make_pdf
from workflows.actions.distribution import do_accept_incoming
from workflows.actions.receipt import StepInput, check_perform_receipt_step
from workflows.receipt.flows import ReceiptFlow

pytestmark = pytest.mark.django_db

URL = "/flows/incoming/paper/"


@pytest.fixture
def media(settings, tmp_path) -> Path:
    """A media root of this test's own: "nothing stored" is asserted by listing it."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def form(**overrides) -> dict:
    data = {"title": "关于申请拨付防汛物资经费的请示", "doc_number": "曲溪街〔2026〕8号", "sender_name": "揭阳市揭东区曲溪街道办事处",
            "secrecy": "", "urgency": "jiaji", "signed_date": "2026-03-02", "main_recipients": "区财政局",
            "copies": "2", "attachment_note": "经费测算表"}
    data.update(overrides)
    return data


def scan(content: bytes | None = None, name: str = "来文扫描.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, make_pdf(text="关于申请拨付防汛物资经费的请示") if content is None else content,
                              content_type="application/pdf")


def test_paper_incoming_is_signed_and_waits_for_register(cast, media):
    clerk = login(cast.finance05, otp=True)
    page = clerk.get(URL)
    assert page.status_code == 200 and "登记纸质来文" in page.content.decode()
    done = clerk.post(URL, {**form(), "scan": scan()})
    assert done.status_code == 302, done.content.decode()[:2000]
    incoming = IncomingDocument.objects.get(title="关于申请拨付防汛物资经费的请示")
    assert done["Location"] == f"/flows/incoming/{incoming.pk}/"
    assert incoming.source == IncomingDocument.Source.PAPER and incoming.agency.doc_code == "揭东财"
    assert incoming.status == IncomingDocument.Status.SIGNED and incoming.signed_by == cast.finance05
    assert (incoming.doc_number, incoming.urgency, incoming.copies) == ("曲溪街〔2026〕8号", "jiaji", 2)
    assert str(incoming.signed_date) == "2026-03-02" and incoming.created_by == cast.finance05
    assert incoming.pdf.name.startswith("incoming/") and "扫描" not in incoming.pdf.name  # random key
    assert len(incoming.pdf_sha256) == 64 and len(stored_files(media)) == 1
    # it enters the flow at 登记, in the registering clerk's 待办 (no 签收 step: the clerk holds the paper)
    process = Process.objects.get(flow_class=ReceiptFlow, data__incoming_id=incoming.pk)
    assert not Task.objects.filter(process=process, flow_task=ReceiptFlow.sign).exists()
    register = Task.objects.get(process=process, flow_task=ReceiptFlow.register, status=STATUS.ASSIGNED)
    assert register.owner == cast.finance05
    assert WorkItem.objects.filter(ref=f"viewflow.task:{register.pk}", owner=cast.finance05,
                                   state=WorkItem.State.OPEN).exists()
    assert AuditEntry.objects.filter(action="incoming.create", object_id=str(incoming.pk)).exists()
    assert AuditEntry.objects.filter(action="incoming.sign", object_id=str(incoming.pk)).exists()
    # the PDF comes back as an attachment download
    pdf = clerk.get(f"/flows/incoming/{incoming.pk}/pdf")
    assert pdf.status_code == 200 and pdf["Content-Disposition"].startswith("attachment")
    assert b"".join(pdf.streaming_content).startswith(b"%PDF-")


@pytest.mark.parametrize(("upload", "code", "status", "text"), [
    (lambda: scan(b"\x89PNG\r\n\x1a\n" + b"\0" * 64), "type_mismatch", 400, "文件内容与扩展名不符"),
    (lambda: scan(b"just some text\n", name="来文.txt"), "type_not_allowed", 400, "此处不接受"),
    (lambda: scan(b"%PDF-1.7\n this is not a pdf at all"), "pdf_unreadable", 400, "已损坏"),
    (lambda: scan(b""), "file_empty", 400, "文件是空的"),
    (lambda: None, "file_required", 400, "请选择来文扫描件"),
])
def test_paper_refusals_write_nothing(cast, media, upload, code, status, text):
    before = IncomingDocument.objects.count(), Process.objects.count(), AuditEntry.objects.count()
    clerk = login(cast.finance05, otp=True)
    data = form()
    file = upload()
    if file is not None:
        data["scan"] = file
    refused = clerk.post(URL, data)
    assert refused.status_code == status and text in refused.content.decode(), code
    assert (IncomingDocument.objects.count(), Process.objects.count(), AuditEntry.objects.count()) == before
    assert stored_files(media) == []


def test_paper_too_large_is_refused_before_storing(cast, media, settings):
    settings.OA_UPLOAD_MAX_BYTES = 2048
    before = IncomingDocument.objects.count()
    clerk = login(cast.finance05, otp=True)
    refused = clerk.post(URL, {**form(), "scan": scan(make_pdf(text="大文件", pad=4096))})
    assert refused.status_code == 413 and "文件过大" in refused.content.decode()
    assert IncomingDocument.objects.count() == before and stored_files(media) == []


def test_paper_field_errors_and_permission(cast, media):
    clerk = login(cast.finance05, otp=True)
    missing = clerk.post(URL, {**form(title="", sender_name=""), "scan": scan()})
    page = missing.content.decode()
    assert missing.status_code == 400 and "请填写标题" in page and "请填写来文单位" in page
    bad_copies = clerk.post(URL, {**form(copies="0"), "scan": scan()})
    assert bad_copies.status_code == 400 and "份数至少为 1" in bad_copies.content.decode()
    future = clerk.post(URL, {**form(signed_date="2999-01-01"), "scan": scan()})
    assert future.status_code == 400 and "成文日期不能晚于今天" in future.content.decode()
    assert not IncomingDocument.objects.filter(source=IncomingDocument.Source.PAPER).exists()
    assert stored_files(media) == []
    # only a 文书 registers paper: a drafter of the same agency is refused (page and POST)
    drafter = login(cast.finance06)
    assert drafter.get(URL).status_code == 403
    assert drafter.post(URL, {**form(), "scan": scan()}).status_code == 403
    assert stored_files(media) == []


def test_check_register_paper_incoming_refuses_a_non_clerk(cast):
    from django.core.exceptions import PermissionDenied

    from workflows.actions.receipt import check_register_paper_incoming

    fields = IncomingFields(title="来文", sender_name="某单位")
    with pytest.raises(PermissionDenied):
        check_register_paper_incoming(cast.finance06, Agency.objects.get(doc_code="揭东财"), fields, scan())


# --- 收文号 ------------------------------------------------------------------------------------------------------


def arrive(agency: Agency, title: str) -> IncomingDocument:
    """A 收文 as the exchange or 分发 delivers it: the PDF already stored, the flow started at 签收."""
    name = do_store_incoming_pdf(make_pdf(text=title))
    incoming, created = do_accept_incoming(agency=agency, source=IncomingDocument.Source.EXCHANGE,
                                           fields=IncomingFields(title=title, sender_name="揭阳市揭东区审计局"),
                                           package_id=None, pdf_name=name)
    assert created
    return incoming


def sign_and_register(incoming: IncomingDocument, clerk) -> IncomingDocument:
    process = Process.objects.get(flow_class=ReceiptFlow, data__incoming_id=incoming.pk)
    for node, decision in ((ReceiptFlow.sign, "sign"), (ReceiptFlow.register, "register")):
        task = Task.objects.get(process=process, flow_task=node, status=STATUS.ASSIGNED)
        check_perform_receipt_step(clerk, task, StepInput(decision=decision))
    incoming.refresh_from_db()
    return incoming


def test_receipt_numbers_per_agency_and_year(cast, media):
    finance = Agency.objects.get(doc_code="揭东财")
    audit = Agency.objects.get(doc_code="揭东审")
    year = timezone.localdate().year
    start = ReceiptNumberSequence.objects.filter(agency=finance, year=year).values_list("last", flat=True).first() or 0
    first = sign_and_register(arrive(finance, "第一件来文"), cast.finance05)
    second = sign_and_register(arrive(finance, "第二件来文"), cast.finance05)
    other = sign_and_register(arrive(audit, "审计局收到的来文"), cast.audit05)
    assert first.receipt_number == f"收〔{year}〕{start + 1}号" and first.receipt_seq == start + 1
    assert second.receipt_number == f"收〔{year}〕{start + 2}号"
    assert other.receipt_year == year and other.receipt_seq == 1  # another agency counts on its own
    assert first.status == IncomingDocument.Status.REGISTERED and first.registered_by == cast.finance05
    # the list shows the number, sender, 字号, title, status and arrival time
    page = login(cast.finance05, otp=True).get("/flows/incoming/?status=all").content.decode()
    assert first.receipt_number in page and "第二件来文" in page and "揭阳市揭东区审计局" in page
    assert "审计局收到的来文" not in page  # another agency's 收文 is not listed


# --- 非涉密 only (docs/security.md §12): a classified paper 收文 is metadata only ------------------------------


@pytest.mark.parametrize("level", ["mimi", "jimi", "juemi"])
def test_a_classified_paper_incoming_with_a_scan_is_refused_beside_the_scan_and_nothing_is_stored(cast, media, level):
    before = IncomingDocument.objects.count(), Process.objects.count(), AuditEntry.objects.count()
    clerk = login(cast.finance05, otp=True)
    refused = clerk.post(URL, {**form(title="关于某涉密事项的请示", secrecy=level), "scan": scan()})
    page = refused.content.decode()
    assert refused.status_code == 400
    error = page.index('id="id_scan_error"')
    assert page.index('id="id_scan"') < error and "不能上传扫描件" in page[error:error + 400]
    assert 'value="关于某涉密事项的请示"' in page  # the form is kept
    assert (IncomingDocument.objects.count(), Process.objects.count(), AuditEntry.objects.count()) == before
    assert stored_files(media) == []


def test_a_classified_paper_incoming_is_registered_as_metadata_only_and_its_content_never_shown(cast, media):
    clerk = login(cast.finance05, otp=True)
    done = clerk.post(URL, form(title="关于某涉密事项的请示", secrecy="jimi"))  # no scan: not required
    assert done.status_code == 302, done.content.decode()[:2000]
    incoming = IncomingDocument.objects.get(title="关于某涉密事项的请示")
    assert incoming.secrecy == "jimi" and not incoming.pdf and incoming.pdf_sha256 == ""
    assert incoming.status == IncomingDocument.Status.SIGNED and stored_files(media) == []
    start = AuditEntry.objects.get(action="receipt.start", object_id=str(incoming.pk))
    assert start.changes.get("metadata_only") is True
    # the flow runs on the metadata (登记 待办 for the clerk) …
    process = Process.objects.get(flow_class=ReceiptFlow, data__incoming_id=incoming.pk)
    assert Task.objects.filter(process=process, flow_task=ReceiptFlow.register, status=STATUS.ASSIGNED).exists()
    detail = clerk.get(f"/flows/incoming/{incoming.pk}/").content.decode()
    assert "涉密来文" in detail and "在线阅读正文" not in detail
    # … and no content is ever previewed, watermarked or downloaded
    for url in (f"/flows/incoming/{incoming.pk}/pdf", f"/flows/incoming/{incoming.pk}/preview/",
                f"/flows/incoming/{incoming.pk}/preview/1.png"):
        response = clerk.get(url)
        assert response.status_code == 409, url
        assert "非涉密" in response.content.decode(), url
    assert stored_files(media) == []


def test_a_stored_incoming_cannot_be_marked_classified_at_register(cast, media):
    from documents.actions.incoming import do_register_incoming
    from oa.refusals import Refusal

    clerk = login(cast.finance05, otp=True)
    assert clerk.post(URL, {**form(), "scan": scan()}).status_code == 302
    incoming = IncomingDocument.objects.get(title="关于申请拨付防汛物资经费的请示")
    with pytest.raises(Refusal) as refusal:
        do_register_incoming(incoming, actor=cast.finance05, changes={"secrecy": "mimi"})
    assert refusal.value.code == "secrecy_content_stored" and "非涉密" in refusal.value.message
    incoming.refresh_from_db()
    assert incoming.secrecy == "" and incoming.receipt_number == ""
