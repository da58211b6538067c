"""Starting the receivers' ReceiptFlows of a 分发 after it commits, through the outbox.

分发 to many agencies (workflows.actions.distribution.do_deliver_internal_many) writes, in the sender's
transaction, only the 收文 rows (status 送达中), the DistributionRecipient links and one outbox message per
batch of BATCH 收文 on the ``receipt_start`` channel. After commit the message is delivered like any outbox
message (oa.actions.outbox: kicked on commit — a Celery task, inline in embedded mode — and the periodic job
``workflows.receipt_starts`` catches the rest, leased, retried with back-off, 立即重试 by an administrator):
its "send" starts the flows here.

A batch is one transaction (one commit per BATCH agencies, not per agency) and each 收文 in it a savepoint,
under the 收文's row lock and only while it is 送达中: the same audit entries (``incoming.create``,
``receipt.start``), 签收 task, deadline timer, 待办 and event as a one-by-one delivery, and the 收文 becomes
待签收. A retried message, two workers on one message, or a crash between two agencies (the batch rolls back, the
message stays and is delivered again when its lease runs out) never start a second flow for the same 收文; an
agency that fails alone (e.g. its 文书 was removed meanwhile) rolls back to its savepoint and does not hold up the
others, and the message is retried for it.

Until its flow exists a 送达中 收文 is invisible to the receiver (documents.selectors.incoming) and the sender's
分发情况 counts it as 送达中 (workflows.selectors.distribution).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from viewflow.workflow.models import Process

from documents.actions.incoming import do_record_incoming_created
from documents.models import IncomingDocument
from oa.actions.outbox import OutboxSendError, SendResult, do_deliver_due_outbox, do_enqueue_outbox
from oa.models import OutboxMessage
from workflows.selectors.receipt import ReceivingOffice, receiving_offices

logger = logging.getLogger(__name__)

CHANNEL = "receipt_start"
KIND = "start"
BATCH = 10  # 收文 per outbox message: one worker claims a batch; several workers share a large 分发


def do_schedule_receipt_starts(incomings: list[IncomingDocument]) -> list[OutboxMessage]:
    """In the 分发 transaction: one outbox message per BATCH 送达中 收文 (keyed by the first 收文's id, so the same
    batch is never queued twice). With OA_RECEIPT_START_EAGER (the test settings) they are delivered at once, in
    this transaction, by the same delivery path the job takes."""
    ids = [i.pk for i in incomings if i.status == IncomingDocument.Status.DELIVERING]
    messages = [do_enqueue_outbox(CHANNEL, KIND, f"receipt.start:{batch[0]}", {"incoming": batch})
                for batch in (ids[n:n + BATCH] for n in range(0, len(ids), BATCH))]
    if messages and settings.OA_RECEIPT_START_EAGER:
        do_deliver_due_outbox(limit=len(messages), channels=[CHANNEL])
    return messages


def do_start_delivered_receipt(incoming: IncomingDocument, *,
                               office_people: ReceivingOffice | None = None) -> Process | None:
    """Start the ReceiptFlow of one 送达中 收文 and make it 待签收, in one transaction (a savepoint inside the
    job's batch). None (nothing done) when it is not 送达中 any more: started already, or 取回 before it arrived.

    The conditional UPDATE is the claim: it takes the row lock, and a second claimer of the same 收文 (another
    worker, a retried message, 取回) waits for it and then finds the row no longer 送达中 — one flow per 收文."""
    from workflows.actions.receipt import do_start_receipt

    with transaction.atomic():
        claimed = (IncomingDocument.objects.filter(pk=incoming.pk, status=IncomingDocument.Status.DELIVERING)
                   .update(status=IncomingDocument.Status.PENDING))
        if not claimed:
            return None
        incoming.status = IncomingDocument.Status.PENDING
        do_record_incoming_created(incoming, actor=incoming.created_by)
        return do_start_receipt(incoming, office_people=office_people)


def start_receipts_message(message: OutboxMessage) -> SendResult:
    """The outbox sender of the ``receipt_start`` channel: start every 收文 of the batch that is still 送达中."""
    ids = [int(pk) for pk in message.payload.get("incoming", [])]
    waiting = list(IncomingDocument.objects.filter(pk__in=ids, status=IncomingDocument.Status.DELIVERING)
                   .select_related("agency", "created_by").order_by("pk"))
    offices = receiving_offices(list({i.agency_id: i.agency for i in waiting}.values())) if waiting else {}
    started, failed = 0, []
    with transaction.atomic():  # one commit for the batch; each 收文 a savepoint (do_start_delivered_receipt)
        for incoming in waiting:
            try:
                if do_start_delivered_receipt(incoming, office_people=offices.get(incoming.agency_id)) is not None:
                    started += 1
            except Exception as exc:  # one agency must not hold up the others; the message is retried for it
                logger.exception("收文 #%s: 收文流程启动失败", incoming.pk)
                failed.append(f"{incoming.agency.name}：{getattr(exc, 'message', None) or type(exc).__name__}")
    if failed:
        raise OutboxSendError(f"{len(failed)} 个收文未能启动收文流程（{'；'.join(failed)}）"[:300])
    return SendResult(result={"started": started, "skipped": len(ids) - started})


def do_start_due_receipts(limit: int = 100) -> dict[str, int]:
    """Deliver the due ``receipt_start`` messages now (the periodic job; tests and the bench drain with it)."""
    return do_deliver_due_outbox(limit=limit, channels=[CHANNEL])
