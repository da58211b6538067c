"""限时查阅 over HTTP as the demo cast with the test clock (docs/services.md 干部人事档案查阅, 公文借阅): prefill with no
input for what the directory holds, the route, the grant, every read audited, expiry by the scheduler exactly once,
reads refused afterwards (also before the scheduler has run), bad input refused with nothing created."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.files.base import ContentFile

from oa.models import AuditEntry, Notification, WorkItem
from oa.refusals import Refusal
from oa.scheduling import autodiscover, registered_jobs, run_job
from tests.clients import login
from tests.services_helpers import input_names, item, load_services, open_task
from workflows.services.actions import ApplicationInput, check_submit_application
from workflows.services.items.records import AccessGrant, PersonnelFile
from workflows.services.models import ApplicationEvent, ServiceApplication

pytestmark = pytest.mark.django_db
BEIJING = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def clock(cast, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 2, 9, 0, tzinfo=BEIJING), tick=False)  # a Monday
    load_services()
    autodiscover()
    return time_machine


def _client(person, otp: bool = False):
    client = login(person, otp=otp)
    client.person = person
    return client


def _decide(client, application, decision: str = "agree") -> None:
    task = open_task(application, client.person)
    response = client.post(f"/services/tasks/{task.pk}/", {"form": "decide", "decision": decision})
    assert response.status_code == 302, response.content.decode()[:2000]


def _apply(client, code: str, data: dict) -> ServiceApplication:
    response = client.post(f"/services/items/{item(code).pk}/apply", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return ServiceApplication.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[-1]))


def _expire_job() -> str:
    assert "services.expire_access" in registered_jobs()
    return run_job("services.expire_access")


def test_personnel_archive_access_is_granted_audited_and_expires_by_itself(clock, cast):
    lina, xuli, wangfang, zhangwei = (_client(cast.lina), _client(cast.xuli), _client(cast.wangfang, otp=True),
                                      _client(cast.zhangwei))
    code = "personnel_archive"
    # Only leaders may apply (the item's data); 张伟 is told why.
    refused = zhangwei.get(f"/services/items/{item(code).pk}/apply")
    assert refused.status_code == 403 and "只面向部门负责人、主要负责人、分管领导" in refused.content.decode()

    page = lina.get(f"/services/items/{item(code).pk}/apply").content.decode()
    assert "李娜" in page and "秘书科" in page and "科长" in page  # 通讯录, shown not asked
    assert input_names(page) == {"csrfmiddlewaretoken", "target", "days", "purpose"}
    own = PersonnelFile.objects.get(person=cast.lina)
    assert own.file_number not in page and PersonnelFile.objects.get(person=cast.zhangwei).file_number in page
    before = ServiceApplication.objects.count()
    with pytest.raises(Refusal) as exc:  # … and refused if asked for anyway
        check_submit_application(cast.lina, item(code), ApplicationInput(extra={
            "target": own.pk, "days": 2, "purpose": "自查"}))
    assert exc.value.code == "archive_own_file" and "不得查阅本人的档案" in exc.value.message
    target = PersonnelFile.objects.get(person=cast.zhangwei)
    no_reason = lina.post(f"/services/items/{item(code).pk}/apply", {"target": target.pk, "days": 2, "purpose": ""})
    assert no_reason.status_code == 400
    too_long = lina.post(f"/services/items/{item(code).pk}/apply", {"target": target.pk, "days": 9, "purpose": "考察"})
    assert too_long.status_code == 400
    assert ServiceApplication.objects.count() == before

    application = _apply(lina, code, {"target": target.pk, "days": 2, "purpose": "干部考察"})
    assert application.prefill["post"]["value"] == "科长" and application.form["file_number"] == target.file_number
    again = lina.post(f"/services/items/{item(code).pk}/apply", {"target": target.pk, "days": 1, "purpose": "再看"})
    assert again.status_code == 409 and "正在办理中" in again.content.decode()
    _decide(xuli, application, "accept")  # 一门受理: 综合科
    assert open_task(application).owner == cast.wangfang  # 分管领导审批 (route data)
    _decide(wangfang, application)

    application.refresh_from_db()
    assert application.status == ServiceApplication.Status.DONE
    grant = AccessGrant.objects.get(application=application)
    assert grant.reader == cast.lina and grant.personnel_file == target and grant.state == "active"
    # 2 working days from Monday 3/2: due at the end of Wednesday 3/4.
    assert grant.valid_until == dt.datetime(2026, 3, 4, 18, 0, tzinfo=BEIJING)
    todo = WorkItem.objects.get(owner=cast.lina, kind="service_access", state=WorkItem.State.OPEN)
    assert todo.link == f"/services/access/{grant.pk}/"
    assert Notification.objects.filter(recipient=cast.lina, event_type="work.assigned", title__contains="限时查阅").exists()
    detail = lina.get(f"/services/applications/{application.pk}/").content.decode()
    assert "2026年3月4日 18:00" in detail and "授予查阅权限" in detail

    read = lina.get(todo.link)
    assert read.status_code == 200 and "2023—2025 年度考核均为称职" in read.content.decode()
    lina.get(todo.link)
    assert AuditEntry.objects.filter(action="services.access_read", actor=cast.lina).count() == 2
    assert AccessGrant.objects.get(pk=grant.pk).reads == 2
    assert zhangwei.get(todo.link).status_code == 404  # only the reader: no existence leak

    # Still valid at 17:59 on the last day; the scheduler leaves it alone.
    clock.move_to(dt.datetime(2026, 3, 4, 17, 59, tzinfo=BEIJING), tick=False)
    lina = _client(cast.lina)  # sessions time out when idle: a new day, a new login
    assert _expire_job() == "expired=0" and lina.get(todo.link).status_code == 200
    # Past its time the read is refused even before the scheduler runs, and the refusal is audited …
    clock.move_to(dt.datetime(2026, 3, 4, 18, 1, tzinfo=BEIJING), tick=False)
    late = lina.get(todo.link)
    assert late.status_code == 410 and "届满" in late.content.decode() and "考核材料" not in late.content.decode()
    assert AuditEntry.objects.filter(action="services.access_refused", actor=cast.lina).count() == 1
    # … then the scheduler expires it, exactly once.
    assert _expire_job() == "expired=1"
    assert _expire_job() == "expired=0"
    grant.refresh_from_db()
    assert grant.state == AccessGrant.State.EXPIRED and grant.expired_at is not None
    assert application.events.filter(kind=ApplicationEvent.Kind.ACCESS_EXPIRED).count() == 1
    assert AuditEntry.objects.filter(action="services.access_expire").count() == 1
    assert WorkItem.objects.get(pk=todo.pk).state == WorkItem.State.DONE
    assert Notification.objects.filter(recipient=cast.lina, event_type="services.notice",
                                       title__contains="查阅期限已到").count() == 1
    assert lina.get(todo.link).status_code == 410
    # A new application is possible once the old grant has gone.
    assert lina.post(f"/services/items/{item(code).pk}/apply",
                     {"target": target.pk, "days": 1, "purpose": "补充考察"}).status_code == 302


def _archived_document(cast):
    from documents.actions.archive import check_archive_document
    from documents.actions.numbering import do_allocate_doc_number
    from documents.models import OfficialDocument
    from tests.test_archive import pdf_bytes
    from tests.test_search import make_document, p

    doc = make_document(cast.wujing, title="关于2025年度督查工作情况的报告", department="督查室",
                        body=[p("现将督查工作情况报告如下。")], seal_required=False)
    do_allocate_doc_number(cast.liuyang, doc, year=2026)
    doc.refresh_from_db()
    doc.final_pdf.save("final.pdf", ContentFile(pdf_bytes("final report")), save=False)
    doc.status = OfficialDocument.Status.TYPESET
    doc.save(update_fields=["final_pdf", "status"])
    check_archive_document(cast.liuyang, doc, retention="10y")
    doc.refresh_from_db()
    assert doc.status == OfficialDocument.Status.ARCHIVED and doc.doc_number
    return doc


def test_archived_document_lending_reads_are_audited_and_refused_after_expiry(clock, cast):
    doc = _archived_document(cast)
    zhangwei, liuyang, lina = _client(cast.zhangwei), _client(cast.liuyang), _client(cast.lina)
    code = "doc_lending"
    assert zhangwei.get(f"/documents/{doc.pk}/").status_code == 404  # not his department's: he must borrow it

    page = zhangwei.get(f"/services/items/{item(code).pk}/apply").content.decode()
    assert input_names(page) == {"csrfmiddlewaretoken", "doc_number", "days", "purpose"}
    before = ServiceApplication.objects.count()
    unknown = zhangwei.post(f"/services/items/{item(code).pk}/apply",
                            {"doc_number": "揭东府办〔2026〕999号", "days": 3, "purpose": "参考"})
    assert unknown.status_code == 400 and "没有文号为“揭东府办〔2026〕999号”的已归档公文" in unknown.content.decode()
    assert ServiceApplication.objects.count() == before

    application = _apply(zhangwei, code, {"doc_number": doc.doc_number, "days": 1, "purpose": "起草年度报告参考"})
    assert application.form["title"] == doc.title
    _decide(liuyang, application, "accept")  # 机要室 受理
    _decide(lina, application)  # 部门负责人审核 (申请人部门)
    grant = AccessGrant.objects.get(application=application)
    assert grant.document == doc and grant.valid_until == dt.datetime(2026, 3, 3, 18, 0, tzinfo=BEIJING)

    read = zhangwei.get(f"/services/access/{grant.pk}/")
    assert read.status_code == 200 and doc.title in read.content.decode()
    pdf = zhangwei.get(f"/services/access/{grant.pk}/document.pdf")
    assert pdf.status_code == 200 and pdf["Content-Disposition"].startswith("attachment")
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    parts = list(AuditEntry.objects.filter(action="services.access_read").values_list("changes__part", flat=True))
    assert parts == ["公文要素", "正式文件PDF"]
    assert zhangwei.get(f"/documents/{doc.pk}/").status_code == 404  # the loan is not a standing permission

    clock.move_to(dt.datetime(2026, 3, 3, 18, 30, tzinfo=BEIJING), tick=False)
    zhangwei = _client(cast.zhangwei)
    assert _expire_job() == "expired=1"
    assert zhangwei.get(f"/services/access/{grant.pk}/").status_code == 410
    assert zhangwei.get(f"/services/access/{grant.pk}/document.pdf").status_code == 410
    assert AuditEntry.objects.filter(action="services.access_refused").count() == 2
