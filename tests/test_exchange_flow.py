# ruff: noqa: F401, F811  (fixtures imported from the other exchange tests are parameters here)
"""The exchange with the real 收文 flow (workflows.actions.receipt, no stand-ins): a package from a peer starts
the ReceiptFlow at 签收 for the receiving agency's 文书; 签收 and 退回 send receipts back to the peer through the
outbox; the peer's 取回 cancels a 收文 still waiting for 签收, and is refused by answer once it is signed."""

from __future__ import annotations

import json
import uuid

import pytest
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from documents.models import IncomingDocument
from integrations.exchange import protocol as P
from oa.actions.outbox import do_deliver_due_outbox
from oa.models import OutboxMessage, WorkItem
from tests.test_exchange_inbound import (
    FINANCE_USCC,
    make_package,
    node,
    peer,
    post_json,
    signed_post,
    withdrawal_body,
)
from tests.test_exchange_outbox import loopback
from workflows.actions.receipt import StepInput, check_perform_receipt_step

pytestmark = pytest.mark.django_db


def sign_task(incoming: IncomingDocument) -> Task:
    return Task.objects.get(process__data__incoming_id=incoming.pk, flow_task__endswith=".sign",
                            status__in=[STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED])


def deliver_package(client) -> IncomingDocument:
    package_id = uuid.uuid4()
    response = signed_post(client, P.PACKAGES, make_package(package_id=package_id))
    assert response.status_code == 200, response.content
    return IncomingDocument.objects.get(package_id=package_id)


def test_sign_sends_a_receipt_to_the_peer(client, cast, loopback):
    incoming = deliver_package(client)
    task = sign_task(incoming)
    assert task.owner == cast.finance05  # 财政局's 文书
    assert WorkItem.objects.filter(owner=cast.finance05, state=WorkItem.State.OPEN, title=incoming.title).exists()

    check_perform_receipt_step(cast.finance05, task, StepInput(decision="sign", copies=3))
    message = OutboxMessage.objects.get(channel="exchange", kind="receipt")
    assert message.payload["peer"] == "jiexi" and message.payload["action"] == "signed"
    assert do_deliver_due_outbox(channels=["exchange"]) == {"sent": 1}
    [request] = loopback.requests
    receipt = P.parse_receipt(json.loads(request["body"]))
    assert request["verified"] and receipt.action == "signed" and receipt.copies == 3
    assert receipt.actor == cast.finance05.get_full_name() and receipt.receiver_uscc == FINANCE_USCC

    # signed: the peer's 取回 is now answered "refused", and nothing changes
    answer = post_json(client, P.WITHDRAWALS, withdrawal_body(incoming.package_id))
    assert answer.status_code == 200 and answer.json()["status"] == "withdraw_refused"
    incoming.refresh_from_db()
    assert incoming.status == IncomingDocument.Status.SIGNED


def test_withdrawal_cancels_the_waiting_incoming(client, cast, peer):
    incoming = deliver_package(client)
    sign_task(incoming)
    answer = post_json(client, P.WITHDRAWALS, withdrawal_body(incoming.package_id))
    assert answer.status_code == 200 and answer.json()["status"] == "withdrawn"
    incoming.refresh_from_db()
    assert incoming.status == IncomingDocument.Status.WITHDRAWN
    assert not Task.objects.filter(process__data__incoming_id=incoming.pk,
                                   status__in=[STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED]).exists()
    assert not WorkItem.objects.filter(owner=cast.finance05, state=WorkItem.State.OPEN, title=incoming.title).exists()
    again = post_json(client, P.WITHDRAWALS, withdrawal_body(incoming.package_id))
    assert again.json()["status"] == "withdrawn"
