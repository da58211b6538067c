"""分发 to many agencies in one pass (do_deliver_internal_many): each agency gets exactly what a one-by-one delivery
gives it (one 收文, its ReceiptFlow started at 签收 for the right 文书, the 待办, the same audit entries),
a retry creates nothing, and an agency that cannot receive refuses the whole 分发 (PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import transaction
from viewflow.workflow.models import Process, Task
from viewflow.workflow.status import PROCESS, STATUS

from documents.models import IncomingDocument
from oa.actions.directory import check_upsert_agency
from oa.models import Agency, AuditEntry, WorkItem
from oa.refusals import Refusal
from oa.uscc import make_uscc
from tests.issued import issue_to
from workflows.actions.distribution import do_deliver_internal_many
from workflows.actions.receipt import _office_people
from workflows.models import DistributionRecipient
from workflows.receipt.flows import ReceiptFlow
from workflows.selectors.receipt import receivable_agencies, receiving_office, receiving_offices

pytestmark = pytest.mark.django_db

SENDER = "揭东府办"


def _targets() -> list[Agency]:
    sender = Agency.objects.get(doc_code=SENDER)
    # Every agency of the demo district that can receive, except those whose 收文 the sender itself signs.
    return [a for a in receivable_agencies(Agency.objects.exclude(pk=sender.pk).filter(is_active=True))
            if receiving_office(a).pk != sender.pk]


def _expected_people(agency: Agency) -> tuple[int, int, int]:
    """(office agency, 文书, 核稿人) as the one-agency path (do_start_receipt → _start) picks them."""
    office = receiving_office(agency)
    clerk, reviewer = _office_people(office)
    return office.pk, clerk.pk, reviewer.pk


def test_receiving_offices_answers_as_the_one_agency_lookup(cast):
    agencies = list(Agency.objects.all())
    batch = receiving_offices(agencies)
    assert set(batch) == {a.pk for a in agencies}
    for agency in agencies:
        office = receiving_office(agency)
        got = batch[agency.pk]
        assert got.office.pk == office.pk, agency.name
        try:
            clerk, reviewer = _office_people(office)
        except Refusal:
            assert got.clerk is None, agency.name
        else:
            assert (got.clerk.pk, (got.reviewer or got.clerk).pk) == (clerk.pk, reviewer.pk), agency.name


def test_bulk_distribution_gives_each_agency_one_incoming_one_started_flow_and_its_todo(cast):
    targets = _targets()
    assert len(targets) >= 5
    doc, _ = issue_to(targets)
    rows = list(DistributionRecipient.objects.filter(document=doc).select_related("agency", "incoming"))
    assert {r.agency_id for r in rows} == {a.pk for a in targets}
    for row in rows:
        incoming = row.incoming
        assert incoming is not None and incoming.agency_id == row.agency_id
        assert row.package_id == incoming.package_id
        assert IncomingDocument.objects.filter(agency=row.agency, document=doc).count() == 1
        assert incoming.source == IncomingDocument.Source.INTERNAL
        assert incoming.status == IncomingDocument.Status.PENDING
        processes = Process.objects.filter(flow_class=ReceiptFlow, data__incoming_id=incoming.pk)
        assert processes.count() == 1
        process = processes.get()
        assert process.status == PROCESS.NEW and process.data["incoming_id"] == incoming.pk
        office_id, clerk_id, reviewer_id = _expected_people(row.agency)
        assert (process.data["office_agency_id"], process.data["clerk_id"], process.data["office_id"]) == (
            office_id, clerk_id, reviewer_id)
        open_tasks = Task.objects.filter(process=process, status__in=[STATUS.ASSIGNED, STATUS.STARTED])
        assert [(t.flow_task.name, t.owner_id) for t in open_tasks] == [("sign", clerk_id)]
        sign = open_tasks.get()
        # The 签收 deadline timer is armed as on every step.
        assert Task.objects.filter(process=process, flow_task_type="TIMER", status=STATUS.SCHEDULED).count() == 1
        assert WorkItem.objects.filter(ref=f"viewflow.task:{sign.pk}", owner_id=clerk_id, box=WorkItem.Box.TODO,
                                       state=WorkItem.State.OPEN).count() == 1
        assert incoming.grants.filter(person_id=clerk_id).exists()
        # The same audit entries as one delivery: the 收文 created, then its flow started.
        assert AuditEntry.objects.filter(action="incoming.create", object_id=str(incoming.pk)).count() == 1
        starts = AuditEntry.objects.filter(action="receipt.start", object_id=str(incoming.pk))
        assert [e.changes["process"] for e in starts] == [process.pk]


def test_bulk_redelivery_creates_nothing(cast):
    targets = _targets()[:4]
    doc, _ = issue_to(targets)
    rows = list(DistributionRecipient.objects.filter(document=doc).select_related("agency", "document"))
    before = {r.pk: r.incoming_id for r in rows}
    counts = (IncomingDocument.objects.count(), Process.objects.count(), AuditEntry.objects.count())
    again = do_deliver_internal_many(rows, actor=cast.liuyang)
    assert {r.pk: i.pk for r, i in zip(rows, again, strict=True)} == before
    assert (IncomingDocument.objects.count(), Process.objects.count(), AuditEntry.objects.count()) == counts


def test_an_agency_without_a_clerk_refuses_the_whole_batch(cast):
    targets = _targets()[:3]
    doc, _ = issue_to(targets)
    gov = Agency.objects.get(doc_code="揭东府")
    bare = check_upsert_agency(actor=None, name="揭阳市揭东区无文书测试局", short_name="无文书局", doc_code="揭东无",
                               uscc=make_uscc("114452039C0000001"), kind=Agency.Kind.BUREAU, parent=gov)
    template = DistributionRecipient.objects.filter(document=doc).first()
    counts = (IncomingDocument.objects.count(), Process.objects.count(), AuditEntry.objects.count())
    with pytest.raises(Refusal) as caught, transaction.atomic():
        rows = [DistributionRecipient.objects.create(document=doc, process_id=template.process_id, agency=agency,
                                                     kind="cc", sent_by=cast.liuyang)
                for agency in [bare, *Agency.objects.filter(doc_code__in=["揭东财"]).exclude(
                    pk__in=[a.pk for a in targets])]]
        do_deliver_internal_many(rows, actor=cast.liuyang)
    assert caught.value.code == "no_assignee"
    assert (IncomingDocument.objects.count(), Process.objects.count(), AuditEntry.objects.count()) == counts
    assert not DistributionRecipient.objects.filter(agency=bare).exists()
