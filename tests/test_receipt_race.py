"""收文 on PostgreSQL: concurrent 登记 gives distinct 收文号; 签收 racing the sender's 取回 ends one way, never both."""

from __future__ import annotations

import pytest
from django.db import connection  # noqa: F401 - read by the skipif string
from django.utils import timezone
from viewflow.workflow.models import Process, Task
from viewflow.workflow.status import STATUS

from documents.models import IncomingDocument
from oa.models import Agency, Person
from tests.races import run_at_once
from tests.test_receipt_paper import arrive
from workflows.actions.receipt import StepInput, check_perform_receipt_step, do_withdraw_incoming
from workflows.receipt.flows import ReceiptFlow

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SQLite ignores select_for_update"),
]


def _task(incoming: IncomingDocument, node) -> Task:
    process = Process.objects.get(flow_class=ReceiptFlow, data__incoming_id=incoming.pk)
    return Task.objects.get(process=process, flow_task=node, status=STATUS.ASSIGNED)


def test_concurrent_register_gives_distinct_numbers(demo_tx, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    finance = Agency.objects.get(doc_code="揭东财")
    clerk = Person.objects.get(username="finance05")
    arrived = [arrive(finance, f"并发登记来文{i}") for i in range(4)]
    for incoming in arrived:
        check_perform_receipt_step(clerk, _task(incoming, ReceiptFlow.sign), StepInput(decision="sign"))
    tasks = [_task(incoming, ReceiptFlow.register) for incoming in arrived]
    outcomes = run_at_once([
        lambda t=task: check_perform_receipt_step(clerk, Task.objects.get(pk=t.pk), StepInput(decision="register"))
        for task in tasks])
    assert outcomes == ["ok"] * 4
    year = timezone.localdate().year
    numbers = sorted(IncomingDocument.objects.filter(pk__in=[i.pk for i in arrived]).values_list("receipt_seq",
                                                                                               flat=True))
    assert numbers == [1, 2, 3, 4]
    assert set(IncomingDocument.objects.filter(pk__in=[i.pk for i in arrived]).values_list(
        "receipt_number", flat=True)) == {f"收〔{year}〕{n}号" for n in range(1, 5)}


def test_sign_racing_withdraw_ends_one_way(demo_tx, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    finance = Agency.objects.get(doc_code="揭东财")
    clerk = Person.objects.get(username="finance05")
    incoming = arrive(finance, "签收与取回同时发生")
    sign = _task(incoming, ReceiptFlow.sign)
    withdrawn: list[bool] = []
    outcomes = run_at_once([
        lambda: check_perform_receipt_step(clerk, Task.objects.get(pk=sign.pk), StepInput(decision="sign")),
        lambda: withdrawn.append(do_withdraw_incoming(IncomingDocument.objects.get(pk=incoming.pk))),
    ])
    incoming.refresh_from_db()
    sign.refresh_from_db()
    if withdrawn == [True]:
        assert incoming.status == IncomingDocument.Status.WITHDRAWN and sign.status == STATUS.CANCELED
        assert "work_closed" in outcomes and incoming.signed_by is None
    else:
        assert withdrawn == [False] and outcomes == ["ok", "ok"]
        assert incoming.status == IncomingDocument.Status.SIGNED and sign.status == STATUS.DONE
