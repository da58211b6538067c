"""用印申请 over HTTP as the demo cast (docs/services.md 用印申请): an electronic one stamps the uploaded PDF at the
印章管理员's 用印 step through the 发文 用印 machinery (pdfsig and the 验章 page accept it); a physical one is recorded;
uploads are checked by content; the item's route must end with the 印章管理员."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from reportlab.pdfgen.canvas import Canvas

from documents.models import Seal, SealAuthority
from documents.seals.pdfsig import run_pdfsig
from oa.models import AuditEntry, Department, WorkItem
from oa.refusals import Refusal
from tests.clients import login
from tests.services_helpers import input_names, item, load_services, open_task, todo_of
from workflows.services.actions import ItemFields, check_save_item
from workflows.services.catalogue import parse_route
from workflows.services.models import ApplicationEvent, SealRequest, ServiceApplication

pytestmark = pytest.mark.django_db


@pytest.fixture
def services(cast):
    load_services()


def _pdf(pages: int = 2) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    for n in range(pages):
        canvas.drawString(72, 720, f"page {n + 1}")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _form(**extra) -> dict:
    seal = Seal.objects.get(agency__doc_code="揭东府办")
    return {"mode": "electronic", "seal": str(seal.pk), "document_title": "关于申请专项资金的请示",
            "purpose": "报送区财政局", **extra}


def _step(person, application, decision: str, *, otp: bool = False, status: int = 302):
    client = login(person, otp=otp)
    task = open_task(application, person)
    response = client.post(f"/services/tasks/{task.pk}/", {"form": "decide", "decision": decision})
    assert response.status_code == status, response.content.decode()[:3000]
    return response


def test_electronic_seal_request_stamps_the_uploaded_pdf_and_pdfsig_verifies_it(services, cast):
    zhangwei = login(cast.zhangwei)
    page = zhangwei.get(f"/services/items/{item('seal').pk}/apply").content.decode()
    assert "秘书科" in page  # 部门 from the directory, shown, never asked
    assert input_names(page) == {"csrfmiddlewaretoken", "mode", "seal", "document_title", "copies", "document_pdf",
                                 "page", "purpose"}

    response = zhangwei.post(f"/services/items/{item('seal').pk}/apply",
                             _form(document_pdf=SimpleUploadedFile("请示.pdf", _pdf(), "application/pdf")))
    assert response.status_code == 302, response.content.decode()[:2000]
    application = ServiceApplication.objects.get(item__code="seal")
    request = SealRequest.objects.get(application=application)
    assert request.page == 2 and request.source_sha256 and not request.stamped_pdf  # default: the last page

    # 一门受理 at 机要室 (刘洋), 部门负责人 李娜, then the 印章管理员 周敏 stamps with 2FA.
    assert todo_of(cast.liuyang, application).link == f"/services/tasks/{open_task(application).pk}/"
    _step(cast.liuyang, application, "accept")
    _step(cast.lina, application, "agree")
    keeper_page = login(cast.zhoumin, otp=True).get(f"/services/tasks/{open_task(application, cast.zhoumin).pk}/")
    assert "将盖在第 2 页右下方" in keeper_page.content.decode()
    _step(cast.zhoumin, application, "agree", otp=True)

    application.refresh_from_db()
    request.refresh_from_db()
    assert application.status == ServiceApplication.Status.DONE and "已加盖电子印章" in application.result_note
    assert request.stamped_by == cast.zhoumin and request.pades_signature_sha256
    kinds = list(application.events.values_list("kind", flat=True))
    assert ApplicationEvent.Kind.SEALED in kinds and kinds[-1] == ApplicationEvent.Kind.COMPLETED
    assert AuditEntry.objects.filter(action="seal.use", changes__number=application.number,
                                     actor=cast.zhoumin).exists()

    stamped = zhangwei.get(f"/services/applications/{application.pk}/seal/stamped.pdf")
    assert stamped.status_code == 200 and stamped["Content-Disposition"].startswith("attachment")
    data = b"".join(stamped.streaming_content)
    report = run_pdfsig(data, (SealAuthority.objects.get().cert_pem,))
    assert [s.valid for s in report.signatures] == [True], report.output
    assert report.signatures[0].total_document_signed, report.output
    verified = zhangwei.post("/documents/seals/verify/", {"file": SimpleUploadedFile("x.pdf", data, "application/pdf")})
    assert verified.status_code == 200 and verified.context["report"].ok, verified.context["report"].message
    # The applicant is asked to rate (待阅), like every finished item.
    assert WorkItem.objects.filter(owner=cast.zhangwei, kind="service_rating", state=WorkItem.State.OPEN).exists()
    # Someone outside the application cannot fetch the files.
    assert login(cast.gaojun).get(f"/services/applications/{application.pk}/seal/stamped.pdf").status_code == 404


def test_physical_seal_request_is_recorded_with_its_copies(services, cast):
    zhangwei = login(cast.zhangwei)
    response = zhangwei.post(f"/services/items/{item('seal').pk}/apply", _form(mode="physical", copies="3"))
    assert response.status_code == 302
    application = ServiceApplication.objects.get(item__code="seal")
    _step(cast.liuyang, application, "accept")
    _step(cast.lina, application, "agree")
    _step(cast.zhoumin, application, "agree", otp=True)
    request = SealRequest.objects.get(application=application)
    assert request.copies == 3 and request.stamped_at is not None and not request.source_pdf
    application.refresh_from_db()
    assert application.result_note == f"已用印：{request.seal.name} 3 份"
    assert AuditEntry.objects.filter(action="services.seal_physical", changes__copies=3).exists()


def test_bad_uploads_are_refused_by_content_and_nothing_is_created(services, cast):
    zhangwei = login(cast.zhangwei)
    url = f"/services/items/{item('seal').pk}/apply"
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    renamed = zhangwei.post(url, _form(document_pdf=SimpleUploadedFile("伪装.pdf", png, "application/pdf")))
    assert renamed.status_code == 400
    missing = zhangwei.post(url, _form())
    assert missing.status_code == 400 and "电子用印请上传待盖章的 PDF 文件" in missing.content.decode()
    page = zhangwei.post(url, _form(page="5", document_pdf=SimpleUploadedFile("a.pdf", _pdf(2), "application/pdf")))
    assert page.status_code == 400 and "盖章页须在 1～2 之间" in page.content.decode()
    broken = zhangwei.post(url, _form(document_pdf=SimpleUploadedFile("b.pdf", b"%PDF-1.7\n garbage", "application/pdf")))
    assert broken.status_code == 400 and "无法盖章" in broken.content.decode()
    assert not ServiceApplication.objects.exists() and not SealRequest.objects.exists()


def test_the_seal_item_must_end_with_the_seal_keeper(services, cast):
    office_dept = Department.objects.get(agency__doc_code="揭东府办", name="机要室")
    fields = ItemFields(code="seal2", name="用印申请（二）", handler="seal", department=office_dept, intake_role="clerk",
                        time_limit_days=2, result_type="approval",
                        route=parse_route("部门负责人审批：部门负责人@申请人部门"))
    with pytest.raises(Refusal) as exc:
        check_save_item(cast.sunhao, fields)
    assert exc.value.code == "seal_route_final_keeper"
    fields.route = parse_route("用印：印章管理员@主管机关 | 复核：办公室/文书@主管部门")
    with pytest.raises(Refusal) as exc:
        check_save_item(cast.sunhao, fields)
    assert exc.value.code == "service_route_final_parallel"
