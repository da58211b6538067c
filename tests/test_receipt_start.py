"""分发's receivers' flows started by a job after commit (workflows.actions.receipt_start), driven by hand here
(OA_RECEIPT_START_EAGER off): the 分发 transaction leaves 送达中 收文 and outbox messages only; the job starts each
flow once — run twice, two workers, a crash between two agencies and its retry, an agency failing alone — the
receiver sees nothing and can do nothing before its flow exists, and the sender's 分发情况 shows the progress."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.utils import timezone
from viewflow.workflow.models import Process, Task
from viewflow.workflow.status import PROCESS, STATUS

from documents.models import IncomingDocument
from documents.selectors.incoming import access_incoming_by_id, incoming_visible_to
from oa.models import Agency, AuditEntry, OutboxMessage, WorkItem
from oa.scheduling import registered_jobs
from tests.clients import login
from tests.issued import issue_to
from workflows.actions import receipt as receipt_actions
from workflows.actions import receipt_start
from workflows.actions.distribution import check_withdraw_distribution
from workflows.models import DistributionRecipient
from workflows.receipt.flows import ReceiptFlow
from workflows.selectors.distribution import distribution_summary
from workflows.selectors.receipt import receivable_agencies, receiving_office

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _job_by_hand(settings):
    settings.OA_RECEIPT_START_EAGER = False
    settings.OA_OUTBOX_KICK = False


def _targets() -> list[Agency]:
    sender = Agency.objects.get(doc_code="揭东府办")
    return [a for a in receivable_agencies(Agency.objects.exclude(pk=sender.pk).filter(is_active=True))
            if receiving_office(a).pk != sender.pk]


def _incomings(doc) -> list[IncomingDocument]:
    return list(IncomingDocument.objects.filter(document=doc).order_by("pk"))


def _flows(incoming: IncomingDocument) -> int:
    return Process.objects.filter(flow_class=ReceiptFlow, data__incoming_id=incoming.pk).count()


def _messages():
    return OutboxMessage.objects.filter(channel=receipt_start.CHANNEL)


def _make_due() -> None:
    """What time (the back-off, or a dead worker's lease running out) does."""
    _messages().exclude(state=OutboxMessage.State.SENT).update(next_attempt_at=timezone.now())


def _assert_started_once(doc) -> None:
    for incoming in _incomings(doc):
        assert incoming.status == IncomingDocument.Status.PENDING, incoming.agency.name
        assert _flows(incoming) == 1, incoming.agency.name
        assert AuditEntry.objects.filter(action="incoming.create", object_id=str(incoming.pk)).count() == 1
        assert AuditEntry.objects.filter(action="receipt.start", object_id=str(incoming.pk)).count() == 1
        process = Process.objects.get(flow_class=ReceiptFlow, data__incoming_id=incoming.pk)
        sign = Task.objects.get(process=process, flow_task=ReceiptFlow.sign, status=STATUS.ASSIGNED)
        assert WorkItem.objects.filter(ref=f"viewflow.task:{sign.pk}", owner_id=sign.owner_id,
                                       box=WorkItem.Box.TODO, state=WorkItem.State.OPEN).count() == 1


def test_distribution_leaves_delivering_incomings_and_batched_jobs_then_the_job_starts_each_flow(cast, monkeypatch):
    monkeypatch.setattr(receipt_start, "BATCH", 4)
    targets = _targets()
    assert len(targets) > 2 * receipt_start.BATCH  # three batches, the last one short
    doc, _ = issue_to(targets)
    incomings = _incomings(doc)
    assert len(incomings) == len(targets)
    assert {i.status for i in incomings} == {IncomingDocument.Status.DELIVERING}
    assert not any(_flows(i) for i in incomings)
    assert not AuditEntry.objects.filter(action__in=["incoming.create", "receipt.start"],
                                         object_id__in=[str(i.pk) for i in incomings]).exists()
    messages = list(_messages())
    assert len(messages) == -(-len(targets) // receipt_start.BATCH)
    assert sorted(pk for m in messages for pk in m.payload["incoming"]) == [i.pk for i in incomings]
    # The links are there already: the sender's rows point at the receivers' 收文.
    assert {r.incoming_id for r in DistributionRecipient.objects.filter(document=doc)} == {i.pk for i in incomings}

    counts = receipt_start.do_start_due_receipts()
    assert counts == {"sent": len(messages)}
    _assert_started_once(doc)
    assert {m.state for m in _messages()} == {OutboxMessage.State.SENT}
    assert sum(m.result["started"] for m in _messages()) == len(targets)


def test_the_job_run_twice_starts_one_flow_per_incoming(cast):
    targets = _targets()[:4]
    doc, _ = issue_to(targets)
    message = _messages().get()
    receipt_start.start_receipts_message(message)
    audit = AuditEntry.objects.count()
    again = receipt_start.start_receipts_message(message)  # a retried delivery of the same message
    assert again.result == {"started": 0, "skipped": len(targets)}
    assert AuditEntry.objects.count() == audit
    _assert_started_once(doc)
    # And one 收文 started directly (取回's path, a second worker) is a no-op once started.
    assert receipt_start.do_start_delivered_receipt(_incomings(doc)[0]) is None
    _assert_started_once(doc)


class _ProcessDied(BaseException):
    """Not an Exception: nothing catches it, as if the worker had been killed between two agencies."""


def test_a_crash_between_two_agencies_then_the_retry_starts_every_agency_exactly_once(cast, monkeypatch):
    monkeypatch.setattr(receipt_start, "BATCH", 4)
    targets = _targets()
    assert len(targets) > 2 * receipt_start.BATCH
    doc, _ = issue_to(targets)
    first, second, *_ = list(_messages())
    real = receipt_actions.do_start_receipt
    calls = []

    def dies_in_the_second_batch(incoming, **kw):
        if len(calls) == receipt_start.BATCH + 2:
            raise _ProcessDied
        calls.append(incoming.pk)
        return real(incoming, **kw)

    monkeypatch.setattr(receipt_actions, "do_start_receipt", dies_in_the_second_batch)
    with pytest.raises(_ProcessDied):
        receipt_start.do_start_due_receipts()
    monkeypatch.setattr(receipt_actions, "do_start_receipt", real)
    # The first batch committed; the second rolled back whole (its two started agencies too); the rest waits.
    started = [i for i in _incomings(doc) if i.status == IncomingDocument.Status.PENDING]
    assert [i.pk for i in started] == first.payload["incoming"] == calls[:receipt_start.BATCH]
    assert all(_flows(i) == 1 for i in started)
    waiting = [i for i in _incomings(doc) if i.status == IncomingDocument.Status.DELIVERING]
    assert len(waiting) == len(targets) - receipt_start.BATCH and not any(_flows(i) for i in waiting)
    assert not AuditEntry.objects.filter(action="receipt.start", object_id__in=[str(i.pk) for i in waiting]).exists()
    # Nothing is lost: the unfinished messages are still there (leased by the dead worker, not sent).
    second.refresh_from_db()
    assert second.state == OutboxMessage.State.PENDING
    assert _messages().exclude(state=OutboxMessage.State.SENT).count() == len(_messages()) - 1
    summary = distribution_summary(cast.liuyang, doc.pk)
    assert summary["delivery"] == {"total": len(targets), "delivered": receipt_start.BATCH,
                                   "delivering": len(targets) - receipt_start.BATCH}
    # Their lease runs out; the periodic job delivers them again.
    assert receipt_start.do_start_due_receipts() == {}  # still leased
    _make_due()
    assert receipt_start.do_start_due_receipts() == {"sent": len(_messages()) - 1}
    _assert_started_once(doc)
    second.refresh_from_db()
    assert second.result["started"] == receipt_start.BATCH and second.result["skipped"] == 0


def test_an_agency_failing_alone_does_not_hold_up_the_others_and_is_retried(cast, monkeypatch):
    targets = _targets()[:4]
    doc, _ = issue_to(targets)
    broken = _incomings(doc)[1]
    real = receipt_actions.do_start_receipt

    def fails_for_one(incoming, **kw):
        if incoming.pk == broken.pk:
            raise RuntimeError("数据库连接中断")
        return real(incoming, **kw)

    monkeypatch.setattr(receipt_actions, "do_start_receipt", fails_for_one)
    assert receipt_start.do_start_due_receipts() == {"retried": 1}
    message = _messages().get()
    assert message.state == OutboxMessage.State.FAILED and broken.agency.name in message.last_error
    assert [i.status for i in _incomings(doc)].count(IncomingDocument.Status.DELIVERING) == 1
    broken.refresh_from_db()
    assert broken.status == IncomingDocument.Status.DELIVERING and _flows(broken) == 0
    monkeypatch.setattr(receipt_actions, "do_start_receipt", real)
    _make_due()
    assert receipt_start.do_start_due_receipts() == {"sent": 1}
    _assert_started_once(doc)


def test_the_receiver_cannot_see_or_act_before_its_flow_exists(cast):
    finance = Agency.objects.get(doc_code="揭东财")
    doc, _ = issue_to([finance])
    incoming = IncomingDocument.objects.get(document=doc, agency=finance)
    clerk = cast.finance05  # 财政局 文书: sees every 收文 of the agency once it is there
    assert incoming.status == IncomingDocument.Status.DELIVERING
    assert not incoming_visible_to(clerk).filter(pk=incoming.pk).exists()
    with pytest.raises(Http404):
        access_incoming_by_id(clerk, incoming.pk)
    assert not WorkItem.objects.filter(owner=clerk, title__contains=doc.title).exists()
    assert not Task.objects.filter(process__data__incoming_id=incoming.pk).exists()
    browser = login(clerk, otp=True)
    assert browser.get(f"/flows/incoming/{incoming.pk}/").status_code == 404
    assert doc.title not in browser.get("/flows/incoming/?status=all").content.decode()

    receipt_start.do_start_due_receipts()
    assert browser.get(f"/flows/incoming/{incoming.pk}/").status_code == 200
    assert doc.title in browser.get("/flows/incoming/?status=pending").content.decode()
    assert WorkItem.objects.filter(owner=clerk, box=WorkItem.Box.TODO, state=WorkItem.State.OPEN,
                                   title__contains=doc.title).exists()


def test_withdraw_while_delivering_withdraws_a_started_flow_and_the_job_skips_it(cast):
    finance, education = Agency.objects.get(doc_code="揭东财"), Agency.objects.get(doc_code="揭东教")
    doc, _ = issue_to([finance, education])
    row = DistributionRecipient.objects.get(document=doc, agency=finance)
    check_withdraw_distribution(cast.liuyang, row, reason="发错了")
    row.refresh_from_db()
    incoming = row.incoming
    assert row.status == DistributionRecipient.Status.WITHDRAWN
    assert incoming.status == IncomingDocument.Status.WITHDRAWN
    process = Process.objects.get(flow_class=ReceiptFlow, data__incoming_id=incoming.pk)
    assert process.status == PROCESS.CANCELED
    assert [e.action for e in AuditEntry.objects.filter(object_id=str(incoming.pk), action__startswith="incoming.")
            .order_by("pk")] == ["incoming.create", "incoming.withdraw"]
    receipt_start.do_start_due_receipts()
    assert _flows(incoming) == 1  # not started again
    other = IncomingDocument.objects.get(document=doc, agency=education)
    assert other.status == IncomingDocument.Status.PENDING and _flows(other) == 1


def test_distribution_page_and_api_show_the_delivery_progress(cast):
    targets = _targets()[:3]
    doc, _ = issue_to(targets)
    clerk = login(cast.liuyang)
    html = clerk.get(f"/flows/distribution/{doc.pk}/").content.decode()
    assert "送达进度" in html and 'max="3" value="0"' in html and "送达中 <strong>3</strong> 个" in html
    api = clerk.get(f"/api/flows/distribution/{doc.pk}").json()
    assert api["delivery"] == {"total": 3, "delivered": 0, "delivering": 3}
    assert {r["delivering"] for r in api["recipients"]} == {True}
    assert html.count('<span class="badge badge-neutral">送达中</span>') == 3

    receipt_start.do_start_due_receipts()
    html = clerk.get(f"/flows/distribution/{doc.pk}/").content.decode()
    assert 'max="3" value="3"' in html and "全部已送达" in html
    assert '<span class="badge badge-neutral">送达中</span>' not in html
    api = clerk.get(f"/api/flows/distribution/{doc.pk}").json()
    assert api["delivery"] == {"total": 3, "delivered": 3, "delivering": 0}
    assert {r["delivering"] for r in api["recipients"]} == {False}


def test_the_periodic_job_is_registered():
    assert "workflows.receipt_starts" in registered_jobs()
