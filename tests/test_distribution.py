"""分发 inside one deployment (发文 → the receiver's 收文 in the same transaction), the sender's 分发情况 view,
receipts (签收/退回 reach the sender) and 取回 before 签收 (PostgreSQL)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from documents.models import IncomingDocument
from documents.selectors.archive import sha256_hex
from oa.models import Agency, AuditEntry, Notification, WorkItem
from oa.refusals import Refusal
from tests.clients import login
from tests.issued import issue_to
from workflows.actions.distribution import (
    RETURNED,
    SIGNED,
    WITHDRAWN,
    check_withdraw_distribution,
    do_apply_receipt,
    do_deliver_internal,
    do_report_receipt,
)
from workflows.models import DistributionRecipient
from workflows.selectors.distribution import final_pdf_field

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance():
    return Agency.objects.get(doc_code="揭东财")


@pytest.fixture
def distributed(cast, finance):
    doc, _ = issue_to([finance, Agency.objects.get(doc_code="揭东教")])
    return doc


def test_distribute_creates_each_receivers_incoming(cast, finance, distributed):
    doc = distributed
    row = DistributionRecipient.objects.get(document=doc, agency=finance)
    incoming = row.incoming
    assert incoming is not None and incoming.agency == finance
    assert incoming.source == IncomingDocument.Source.INTERNAL and incoming.status == IncomingDocument.Status.PENDING
    assert incoming.title == doc.title and incoming.doc_number == doc.doc_number
    assert incoming.sender_name == doc.agency.name and incoming.sender_uscc == doc.agency.uscc
    assert incoming.doc_type == "函" and incoming.metadata["核心元数据"]["公文标识"] == str(doc.identifier)
    assert incoming.main_recipients == "揭阳市揭东区财政局、揭阳市揭东区教育局"  # as on paper, not a list repr
    # The receiver gets the stamped PDF itself, hash recorded at delivery.
    pdf = final_pdf_field(doc)
    assert incoming.pdf.name == pdf.name
    with incoming.pdf.open("rb") as fh:
        assert sha256_hex(fh.read()) == incoming.pdf_sha256
    assert IncomingDocument.objects.filter(document=doc).count() == 2
    # 签收 lands in the receiving clerk's 待办 (财政局 文书 = finance05).
    assert WorkItem.objects.filter(owner=cast.finance05, box=WorkItem.Box.TODO, state=WorkItem.State.OPEN,
                                   title__contains=doc.title).exists()
    assert AuditEntry.objects.filter(action="incoming.create", object_id=str(incoming.pk)).exists()


def test_delivering_twice_yields_one_incoming(cast, finance, distributed):
    row = DistributionRecipient.objects.get(document=distributed, agency=finance)
    again = do_deliver_internal(row, actor=cast.liuyang)
    assert again.pk == row.incoming_id
    assert IncomingDocument.objects.filter(agency=finance, document=distributed).count() == 1


def test_receipts_reach_the_sender_and_late_ones_change_nothing(cast, finance, distributed):
    row = DistributionRecipient.objects.get(document=distributed, agency=finance)
    do_report_receipt(row.incoming, SIGNED, actor_name="曾静", copies=2)
    row.refresh_from_db()
    assert (row.status, row.status_by, row.copies) == (DistributionRecipient.Status.SIGNED, "曾静", 2)
    assert row.status_at is not None
    note = Notification.objects.filter(recipient=cast.liuyang, event_type="distribution.receipt").latest("id")
    assert "区财政局" in note.title or "财政局" in note.title
    # 初审 may still return it after 签收, with the reason the sender sees.
    do_report_receipt(row.incoming, RETURNED, actor_name="曾静", reason="不属于本机关职权范围")
    row.refresh_from_db()
    assert row.status == DistributionRecipient.Status.RETURNED and row.reason == "不属于本机关职权范围"
    # A receipt that no longer fits (a 取回 ack after 退回) is ignored, not an error.
    assert do_apply_receipt(row, WITHDRAWN, actor_name="x") is False
    row.refresh_from_db()
    assert row.status == DistributionRecipient.Status.RETURNED
    assert AuditEntry.objects.filter(action="distribution.receipt", object_id=str(distributed.pk)).count() == 2


def test_withdraw_before_signing(cast, finance, distributed):
    row = DistributionRecipient.objects.get(document=distributed, agency=finance)
    row = check_withdraw_distribution(cast.liuyang, row, reason="文号有误，重新印发")
    assert row.status == DistributionRecipient.Status.WITHDRAWN
    incoming = IncomingDocument.objects.get(pk=row.incoming_id)
    assert incoming.status == IncomingDocument.Status.WITHDRAWN
    # The receiving clerk's 签收 item is gone from 待办.
    assert not WorkItem.objects.filter(owner=cast.finance05, state=WorkItem.State.OPEN,
                                       title__contains=distributed.title).exists()
    assert AuditEntry.objects.filter(action="distribution.withdraw", object_id=str(distributed.pk)).exists()
    with pytest.raises(Refusal) as err:
        check_withdraw_distribution(cast.liuyang, row)
    assert err.value.code == "withdraw_not_pending"


def test_withdraw_refusals(cast, finance, distributed):
    row = DistributionRecipient.objects.get(document=distributed, agency=finance)
    with pytest.raises(PermissionDenied):
        check_withdraw_distribution(cast.zhangwei, row)  # the drafter is not the office's 文书
    do_report_receipt(row.incoming, SIGNED, actor_name="曾静")
    with pytest.raises(Refusal) as err:
        check_withdraw_distribution(cast.liuyang, row)
    assert err.value.code == "withdraw_not_pending"
    row.refresh_from_db()
    assert row.status == DistributionRecipient.Status.SIGNED


def test_distribution_page_api_and_withdraw_over_http(cast, finance, distributed):
    doc = distributed
    clerk = login(cast.liuyang)
    page = clerk.get(f"/flows/distribution/{doc.pk}/")
    html = page.content.decode()
    assert page.status_code == 200 and "区财政局" in html and "待签收" in html and "取回" in html
    api = clerk.get(f"/api/flows/distribution/{doc.pk}")
    assert api.status_code == 200
    by_agency = {r["agency_uscc"]: r for r in api.json()["recipients"]}
    assert by_agency[finance.uscc]["status"] == "pending"
    row = DistributionRecipient.objects.get(document=doc, agency=finance)
    done = clerk.post(f"/flows/distribution/recipients/{row.pk}/withdraw", {"reason": "重新印发"})
    assert done.status_code == 302
    row.refresh_from_db()
    assert row.status == DistributionRecipient.Status.WITHDRAWN
    again = clerk.post(f"/api/flows/distribution/recipients/{row.pk}/withdraw", {"reason": ""},
                       content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "withdraw_not_pending"
    after = clerk.get(f"/flows/distribution/{doc.pk}/").content.decode()
    assert "已取回" in after
    # Someone of another agency does not learn the document exists.
    outsider = login(cast.finance06)
    assert outsider.get(f"/flows/distribution/{doc.pk}/").status_code == 404
    assert outsider.post(f"/flows/distribution/recipients/{row.pk}/withdraw").status_code == 404


def test_register_page_shows_the_received_dates_in_date_inputs(cast, finance, distributed):
    """<input type="date"> only accepts YYYY-MM-DD: a localized “2026年11月27日” would show an empty field."""
    from viewflow.workflow.models import Task
    from viewflow.workflow.status import STATUS

    from workflows.actions.receipt import StepInput, check_perform_receipt_step, receipt_process

    incoming = DistributionRecipient.objects.get(document=distributed, agency=finance).incoming
    process = receipt_process(incoming)
    sign = next(t for t in Task.objects.filter(process=process, status=STATUS.ASSIGNED) if t.flow_task.name == "sign")
    check_perform_receipt_step(cast.finance05, sign, StepInput(decision="sign", copies=1))
    register = next(t for t in Task.objects.filter(process=process, status=STATUS.ASSIGNED)
                    if t.flow_task.name == "register")
    html = login(cast.finance05, otp=True).get(f"/flows/receipt/tasks/{register.pk}/").content.decode()
    assert f'type="date" name="signed_date" value="{distributed.written_date.isoformat()}"' in html


def test_handover_of_an_open_receipt_step_lets_the_successor_see_the_incoming(cast, finance, distributed):
    from oa.actions.delegation import check_handover

    incoming = DistributionRecipient.objects.get(document=distributed, agency=finance).incoming
    successor = cast.finance06  # 财政局 科员: no office role, so only a grant lets them see a 收文
    assert login(successor).get(f"/flows/incoming/{incoming.pk}/").status_code == 404
    check_handover(actor=cast.sunhao, source=cast.finance05, target=successor, reason="调任")
    assert WorkItem.objects.filter(owner=successor, state=WorkItem.State.OPEN, title=distributed.title).exists()
    assert login(successor).get(f"/flows/incoming/{incoming.pk}/").status_code == 200
