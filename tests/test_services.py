"""零跑动 services over HTTP as the demo cast (docs/services.md): 在职证明 end to end with a sealed certificate that
pdfsig and the 验章 page accept and whose QR address opens its verification; prefill from the directory and HR with
no input for a prefilled field; 收入证明 through a route step; 补正 and resubmission; a parallel 协作联办 stage."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from viewflow.workflow.models import Process
from viewflow.workflow.status import PROCESS

from documents.models import SealAuthority
from documents.seals.pdfsig import run_pdfsig
from oa.models import AuditEntry, Notification, WorkItem
from tests.clients import login
from tests.services_helpers import input_names, item, load_services, open_task, pdftotext, todo_of
from workflows.services.models import ApplicationEvent, ServiceApplication, ServiceCertificate

pytestmark = pytest.mark.django_db
BASE = "https://oa.jiedong.example"


@pytest.fixture
def services(cast):
    load_services()


def _apply(client, code: str, data: dict) -> ServiceApplication:
    response = client.post(f"/services/items/{item(code).pk}/apply", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return ServiceApplication.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[-1]))


def _decide(client, application, decision: str, opinion: str = "", status: int = 302):
    task = open_task(application, client.person)
    response = client.post(f"/services/tasks/{task.pk}/", {"form": "decide", "decision": decision, "opinion": opinion})
    assert response.status_code == status, response.content.decode()[:3000]
    if status == 302:
        assert response["Location"] == f"/services/applications/{application.pk}/"
    return response


def _client(person):
    client = login(person)
    client.person = person
    return client


@override_settings(OA_PUBLIC_BASE_URL=BASE)
def test_employment_certificate_end_to_end_sealed_verified_and_qr_opens_the_verification(services, cast):
    zhangwei, xuli = _client(cast.zhangwei), _client(cast.xuli)
    page = zhangwei.get("/services/?q=在职")
    assert "在职证明开具" in page.content.decode()
    guide = zhangwei.get(f"/services/items/{item('employment_cert').pk}/").content.decode()
    assert "办事指南" in guide and "人事数据自动获取，无需提交" in guide

    form = zhangwei.get(f"/services/items/{item('employment_cert').pk}/apply")
    html = form.content.decode()
    # 三不提交: what the directory and HR hold is shown, never asked.
    assert "2016年7月1日" in html and "一级科员" in html and "秘书科" in html
    assert input_names(html) == {"csrfmiddlewaretoken", "purpose"}

    application = _apply(zhangwei, "employment_cert", {"purpose": "办理子女入学"})
    assert application.prefill["hire_date"] == {"label": "入职日期", "value": "2016年7月1日", "source": "hr"}
    assert application.prefill["post"]["value"] == "科员"
    # 一门受理: the 主管部门's desk (综合科 徐丽) has it in 待办, linked to the step page.
    todo = todo_of(cast.xuli, application)
    assert todo.link == f"/services/tasks/{open_task(application).pk}/"
    assert Notification.objects.filter(recipient=cast.xuli, event_type="work.assigned").exists()

    step = xuli.get(todo.link)
    assert step.status_code == 200 and "办理子女入学" in step.content.decode()
    _decide(xuli, application, "accept", "核对无误。")  # 即办件: 受理即办结

    application.refresh_from_db()
    assert application.status == ServiceApplication.Status.DONE
    assert Process.objects.get(pk=application.process_id).status == PROCESS.DONE
    assert Notification.objects.filter(recipient=cast.zhangwei, event_type="work.assigned",
                                       title__contains="在职证明开具已办结，请评价").exists()
    assert list(application.events.values_list("kind", flat=True)) == [
        ApplicationEvent.Kind.SUBMITTED, ApplicationEvent.Kind.ACCEPTED, ApplicationEvent.Kind.COMPLETED]
    assert AuditEntry.objects.filter(action="seal.use", changes__number=application.number).exists()

    pdf = zhangwei.get(f"/services/applications/{application.pk}/certificate.pdf")
    assert pdf.status_code == 200 and pdf["Content-Disposition"].startswith("attachment")
    data = b"".join(pdf.streaming_content)
    report = run_pdfsig(data, (SealAuthority.objects.get().cert_pem,))
    assert [s.valid for s in report.signatures] == [True], report.output
    assert report.signatures[0].total_document_signed, report.output

    text = "".join(pdftotext(data).split())
    assert "在职证明" in text and "张伟同志" in text and "2016年7月1日入职" in text and "办理子女入学" in text
    certificate = ServiceCertificate.objects.get(application=application)
    url = f"{BASE}/services/certificates/{certificate.public_id}/verify"
    assert url in text  # printed under the QR code, which carries the same address

    # The QR address opens the 验章 report of this certificate …
    opened = zhangwei.get(url.removeprefix(BASE))
    assert opened.status_code == 200 and opened.context["report"].ok, opened.context["report"].message
    # … and the 验章 page itself, given the downloaded file, says the same (SES found by its signature value).
    from django.core.files.uploadedfile import SimpleUploadedFile

    uploaded = zhangwei.post("/documents/seals/verify/", {"file": SimpleUploadedFile("在职证明.pdf", data,
                                                                                        "application/pdf")})
    assert uploaded.status_code == 200 and uploaded.context["report"].ok, uploaded.context["report"].message
    tampered = data.replace(b"%%EOF", b"%%EOF\n% x\n", 1) + b"\n"
    again = zhangwei.post("/documents/seals/verify/", {"file": SimpleUploadedFile("x.pdf", tampered, "application/pdf")})
    assert not again.context["report"].ok

    # 好差评 waits in the applicant's 待阅 (its own work kind) and is visible to the 主管部门 (综合科's head 徐丽).
    rating = WorkItem.objects.get(owner=cast.zhangwei, kind="service_rating", state=WorkItem.State.OPEN)
    assert rating.box == WorkItem.Box.TOREAD and rating.link == f"/services/applications/{application.pk}/"
    low = zhangwei.post(f"/services/applications/{application.pk}/", {"form": "rate", "rating": "2", "comment": ""})
    assert low.status_code == 400 and "请填写评价意见" in low.content.decode()
    rated = zhangwei.post(f"/services/applications/{application.pk}/", {"form": "rate", "rating": "5", "comment": "很快"})
    assert rated.status_code == 302
    rating.refresh_from_db()
    assert rating.state == WorkItem.State.DONE
    assert "很快" in xuli.get("/services/ratings/").content.decode()
    twice = zhangwei.post(f"/services/applications/{application.pk}/", {"form": "rate", "rating": "1", "comment": "x"})
    assert twice.status_code == 409 and "已评价过" in twice.content.decode()


def test_income_certificate_goes_through_the_applicants_department_head(services, cast):
    zhangwei, xuli, lina = _client(cast.zhangwei), _client(cast.xuli), _client(cast.lina)
    html = zhangwei.get(f"/services/items/{item('income_cert').pk}/apply").content.decode()
    assert "96,000.00 元" in html and "三档" in html
    assert input_names(html) == {"csrfmiddlewaretoken", "purpose"}
    application = _apply(zhangwei, "income_cert", {"purpose": "申请住房贷款"})
    _decide(xuli, application, "accept")
    assert open_task(application).owner == cast.lina  # 部门负责人审核@申请人部门: 秘书科 李娜
    _decide(lina, application, "agree", "同意。")
    application.refresh_from_db()
    assert application.status == ServiceApplication.Status.DONE
    data = application.certificate.pdf.open("rb").read()
    assert "收入档次为三档" in "".join(pdftotext(data).split())


def test_return_for_amendment_and_resubmission_goes_back_to_the_step_that_asked(services, cast):
    zhangwei, xuli, lina = _client(cast.zhangwei), _client(cast.xuli), _client(cast.lina)
    application = _apply(zhangwei, "income_cert", {"purpose": "贷款"})
    _decide(xuli, application, "accept")
    task = open_task(application, cast.lina)
    refused = lina.post(f"/services/tasks/{task.pk}/", {"form": "return", "reason": ""})
    assert refused.status_code == 400 and "需补正的内容" in refused.content.decode()
    lina.post(f"/services/tasks/{task.pk}/", {"form": "return", "reason": "请写明贷款银行"})
    application.refresh_from_db()
    assert application.status == ServiceApplication.Status.AMENDING and application.amend_count == 1
    amend = open_task(application)
    assert amend.owner == cast.zhangwei and amend.flow_task.name == "amend"
    item_ = todo_of(cast.zhangwei, application)
    assert "请写明贷款银行" in item_.note
    page = zhangwei.get(f"/services/tasks/{amend.pk}/").content.decode()
    assert "请写明贷款银行" in page and "贷款" in page
    assert input_names(page) == {"csrfmiddlewaretoken", "form", "purpose"}  # still nothing the system knows
    zhangwei.post(f"/services/tasks/{amend.pk}/", {"form": "amend", "purpose": "向揭东农商银行申请住房贷款"})
    application.refresh_from_db()
    assert application.form["purpose"] == "向揭东农商银行申请住房贷款"
    # Jump-back: straight to 李娜's step again, not through 受理 once more.
    back = open_task(application)
    assert back.owner == cast.lina and back.flow_task.name == "approve"
    _decide(lina, application, "agree")
    application.refresh_from_db()
    assert application.status == ServiceApplication.Status.DONE and application.amend_count == 1
    kinds = list(application.events.values_list("kind", flat=True))
    assert kinds.count(ApplicationEvent.Kind.RETURNED) == 1 and ApplicationEvent.Kind.RESUBMITTED in kinds


def test_not_eligible_applicant_is_refused_with_nothing_created(services, cast):
    outsider = _client(cast.tanglei)  # 政数局: the catalogue items are 区府办's own
    before = ServiceApplication.objects.count()
    guide = outsider.get(f"/services/items/{item('employment_cert').pk}/").content.decode()
    assert "您不能申请" in guide
    response = outsider.post(f"/services/items/{item('employment_cert').pk}/apply", {"purpose": "x"})
    assert response.status_code == 403 and "只面向揭阳市揭东区人民政府办公室的工作人员" in response.content.decode()
    assert ServiceApplication.objects.count() == before


def test_prefill_missing_from_hr_is_not_asked_but_refused(services, cast):
    from integrations.hr.models import HrRecord

    HrRecord.objects.filter(person=cast.zhangwei).delete()
    client = _client(cast.zhangwei)
    response = client.get(f"/services/items/{item('employment_cert').pk}/apply")
    assert response.status_code == 409 and "请联系人事部门补录" in response.content.decode()
    assert "purpose" not in input_names(response.content.decode())


def test_rejection_ends_the_application_with_the_reason(services, cast):
    zhangwei, xuli = _client(cast.zhangwei), _client(cast.xuli)
    application = _apply(zhangwei, "employment_cert", {"purpose": "x"})
    _decide(xuli, application, "reject", "", status=400)  # a reason is required
    _decide(xuli, application, "reject", "申请人已调离")
    application.refresh_from_db()
    assert application.status == ServiceApplication.Status.REJECTED and application.result_note == "申请人已调离"
    assert not ServiceCertificate.objects.filter(application=application).exists()
    assert WorkItem.objects.filter(owner=cast.xuli, state=WorkItem.State.OPEN,
                                   thread=f"viewflow.process:{application.process_id}").count() == 0


def test_step_page_is_not_for_strangers(services, cast):
    application = _apply(_client(cast.zhangwei), "employment_cert", {"purpose": "x"})
    task = open_task(application)
    assert _client(cast.gaojun).get(f"/services/tasks/{task.pk}/").status_code == 404
    assert _client(cast.gaojun).get(f"/services/applications/{application.pk}/").status_code == 404
    assert re.search("受理", _client(cast.xuli).get(f"/services/tasks/{task.pk}/").content.decode())
