"""The outbox: everything that leaves the system is written here in the transaction of the change, then
delivered by `do_deliver_due_outbox` (a Celery task kicked on commit, and a periodic job that catches the rest).

Delivery claims due rows with `select_for_update(skip_locked=True)` and leases them (next_attempt_at moves
LEASE_SECONDS ahead) in a short transaction, so no transaction stays open across an HTTP call and a worker
that dies mid-send only delays its rows. Failures back off exponentially with jitter; a rate-limit answer
backs off without counting as an attempt; after OA_OUTBOX_MAX_ATTEMPTS a row is `dead` until an
administrator retries it. The row's idempotency key is unique, so enqueueing the same thing twice is a no-op.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from oa.actions.audit import do_record_audit
from oa.models import Notification, NotificationDelivery, OutboxMessage, Person

logger = logging.getLogger(__name__)

LEASE_SECONDS = 300
RATE_LIMIT_DELAY = 60  # first pause after a rate-limit answer; doubles per consecutive one, capped at MAX_DELAY


@dataclass(frozen=True)
class SendResult:
    """What a sender reports for a delivered message. `delivery_state` is what the notification's
    per-channel row becomes (e.g. "sent" for a card, "retired" for the follow-up that retires it)."""

    external_id: str = ""
    result: dict = field(default_factory=dict)
    delivery_state: str = NotificationDelivery.State.SENT


class OutboxSendError(Exception):
    """A failed send. `retryable=False` makes the row dead at once (the platform refused it for good)."""

    def __init__(self, message: str, *, retryable: bool = True, rate_limited: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.rate_limited = rate_limited


@dataclass(frozen=True)
class _Sender:
    send: Callable[[OutboxMessage], SendResult]
    delivery_channel: str | None


_senders: dict[str, _Sender] = {}


def register_outbox_sender(
    channel: str, sender: Callable[[OutboxMessage], SendResult], *, delivery_channel: str | None = None
) -> None:
    """`delivery_channel` names the NotificationDelivery.channel whose state this sender's results update."""
    _senders[channel] = _Sender(sender, delivery_channel)


def retry_delay(attempts: int, *, rng: Callable[[], float] = random.random) -> timedelta:
    """OA_OUTBOX_BASE_DELAY × 2^(attempts-1), capped at OA_OUTBOX_MAX_DELAY, ±20 % jitter."""
    base = min(settings.OA_OUTBOX_BASE_DELAY * 2 ** max(attempts - 1, 0), settings.OA_OUTBOX_MAX_DELAY)
    return timedelta(seconds=base * (0.8 + 0.4 * rng()))


# --- enqueue ---------------------------------------------------------------------------------------------


def do_enqueue_outbox(
    channel: str,
    kind: str,
    idempotency_key: str,
    payload: dict,
    notification: Notification | None = None,
) -> OutboxMessage:
    """Write one message (or return the existing one with that key) and start delivery after commit."""
    existing = OutboxMessage.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():  # a savepoint, so a concurrent duplicate does not break the caller's transaction
            message = OutboxMessage.objects.create(
                channel=channel, kind=kind, idempotency_key=idempotency_key, payload=payload,
                notification=notification, next_attempt_at=timezone.now(),
            )
    except IntegrityError:
        return OutboxMessage.objects.get(idempotency_key=idempotency_key)
    kick_outbox_on_commit(channel)
    return message


def do_queue_delivery(notification: Notification, channel: str) -> NotificationDelivery:
    """The per-channel delivery row of a notification, queued (an existing row is returned as it is)."""
    delivery, _ = NotificationDelivery.objects.get_or_create(
        notification=notification, channel=channel, defaults={"state": NotificationDelivery.State.QUEUED}
    )
    return delivery


def do_cancel_outbox(message: OutboxMessage, reason: str) -> None:
    """Withdraw a message that has not left yet (the work was done elsewhere): dead, marked cancelled so the
    administrator's 立即重试 skips it."""
    message.state = OutboxMessage.State.DEAD
    message.last_error = reason[:300]
    message.result = {**message.result, "cancelled": True}
    message.save(update_fields=["state", "last_error", "result"])


def do_mark_delivery_retired(delivery: NotificationDelivery) -> None:
    delivery.state = NotificationDelivery.State.RETIRED
    delivery.last_error = ""
    delivery.save(update_fields=["state", "last_error", "updated_at"])


def kick_outbox_on_commit(channel: str) -> None:
    if not settings.OA_OUTBOX_KICK:
        return

    def kick() -> None:
        # Never let a broker hiccup surface in the request that enqueued: the periodic job delivers anyway.
        try:
            from oa.tasks import deliver_outbox

            deliver_outbox.delay(channel)
        except Exception:
            logger.exception("outbox kick for %s failed; the periodic job will deliver", channel)

    transaction.on_commit(kick)


# --- deliver ---------------------------------------------------------------------------------------------


def _claim(channels: list[str] | None, limit: int, now: datetime) -> list[OutboxMessage]:
    with transaction.atomic():
        due = OutboxMessage.objects.filter(
            state__in=[OutboxMessage.State.PENDING, OutboxMessage.State.FAILED], next_attempt_at__lte=now
        )
        if channels is not None:
            due = due.filter(channel__in=channels)
        rows = list(due.select_for_update(skip_locked=True).order_by("next_attempt_at", "id")[:limit])
        if rows:
            OutboxMessage.objects.filter(pk__in=[m.pk for m in rows]).update(
                next_attempt_at=now + timedelta(seconds=LEASE_SECONDS)
            )
    return rows


def _delivery(message: OutboxMessage, sender: _Sender) -> NotificationDelivery | None:
    if message.notification_id is None or sender.delivery_channel is None:
        return None
    return (
        NotificationDelivery.objects.select_for_update()
        .filter(notification_id=message.notification_id, channel=sender.delivery_channel)
        .first()
    )


def _record_sent(message: OutboxMessage, sender: _Sender, outcome: SendResult, now: datetime) -> None:
    with transaction.atomic():
        message.state = OutboxMessage.State.SENT
        message.attempts += 1
        message.sent_at = now
        message.last_error = ""
        kept = {k: v for k, v in message.result.items() if k != "rate_limited_streak"}
        message.result = {**kept, **outcome.result}
        message.save(update_fields=["state", "attempts", "sent_at", "last_error", "result"])
        delivery = _delivery(message, sender)
        if delivery is not None:
            delivery.state = outcome.delivery_state
            delivery.attempts += 1
            delivery.last_error = ""
            if outcome.external_id and outcome.delivery_state == NotificationDelivery.State.SENT:
                delivery.external_id = outcome.external_id[:128]
            delivery.save(update_fields=["state", "attempts", "last_error", "external_id", "updated_at"])


def _record_failure(message: OutboxMessage, sender: _Sender, error: OutboxSendError, now: datetime) -> str:
    """Returns the counter to bump: "rate_limited", "retried" or "dead"."""
    text = str(error)[:300]
    with transaction.atomic():
        message.last_error = text
        if error.rate_limited:
            streak = int(message.result.get("rate_limited_streak", 0)) + 1
            message.result = {**message.result, "rate_limited_streak": streak}
            delay = min(RATE_LIMIT_DELAY * 2 ** (streak - 1), settings.OA_OUTBOX_MAX_DELAY)
            message.next_attempt_at = now + timedelta(seconds=delay * (0.8 + 0.4 * random.random()))
            outcome = "rate_limited"
        else:
            message.attempts += 1
            message.result = {k: v for k, v in message.result.items() if k != "rate_limited_streak"}
            if not error.retryable or message.attempts >= settings.OA_OUTBOX_MAX_ATTEMPTS:
                message.state = OutboxMessage.State.DEAD
                outcome = "dead"
            else:
                message.state = OutboxMessage.State.FAILED
                message.next_attempt_at = now + retry_delay(message.attempts)
                outcome = "retried"
        message.save(update_fields=["state", "attempts", "next_attempt_at", "last_error", "result"])
        delivery = _delivery(message, sender)
        if delivery is not None:
            delivery.last_error = text
            if not error.rate_limited:
                delivery.attempts += 1
            # A card that never arrived shows as failed; a failing follow-up leaves the card's "sent" state alone.
            if delivery.state in {NotificationDelivery.State.QUEUED, NotificationDelivery.State.FAILED}:
                delivery.state = NotificationDelivery.State.FAILED
            delivery.save(update_fields=["state", "attempts", "last_error", "updated_at"])
    return outcome


def do_deliver_due_outbox(limit: int = 100, *, channels: list[str] | None = None) -> dict[str, int]:
    """Send what is due. Returns counts: sent, retried, rate_limited, dead, deferred, unknown_channel."""
    counts: Counter[str] = Counter()
    now = timezone.now()
    rate_limited: set[str] = set()
    for message in _claim(channels, limit, now):
        sender = _senders.get(message.channel)
        if sender is None:
            logger.error("outbox #%s: no sender registered for channel %r", message.pk, message.channel)
            counts["unknown_channel"] += 1
            continue
        if message.channel in rate_limited:
            # The platform said "slow down": leave the rest of this batch for later, without an attempt.
            OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=now + timedelta(seconds=RATE_LIMIT_DELAY))
            counts["deferred"] += 1
            continue
        try:
            outcome = sender.send(message)
        except OutboxSendError as exc:
            result = _record_failure(message, sender, exc, timezone.now())
            counts[result] += 1
            if exc.rate_limited:
                rate_limited.add(message.channel)
            logger.warning("outbox #%s %s/%s: %s (%s)", message.pk, message.channel, message.kind, exc, result)
            continue
        except Exception as exc:  # a bug in a sender must not wedge the queue; it is retried like an outage
            logger.exception("outbox #%s: sender crashed", message.pk)
            counts[_record_failure(message, sender, OutboxSendError(f"内部错误：{type(exc).__name__}"), timezone.now())] += 1
            continue
        _record_sent(message, sender, outcome, timezone.now())
        counts["sent"] += 1
    return dict(counts)


# --- administrator actions -----------------------------------------------------------------------------


@transaction.atomic
def do_retry_outbox(actor: Person, message_ids: list[int], *, ip: str | None = None) -> int:
    """"立即重试": failed/dead/pending rows are due now with a fresh attempt budget; audited per row."""
    now = timezone.now()
    rows = list(
        OutboxMessage.objects.select_for_update()
        .filter(pk__in=message_ids)
        .exclude(state=OutboxMessage.State.SENT)
    )
    # Rows withdrawn before sending (the work was done elsewhere) are not resent. Checked in Python: a JSON
    # key lookup in exclude() drops rows without the key on PostgreSQL.
    rows = [m for m in rows if not m.result.get("cancelled")]
    for message in rows:
        before = {"state": message.state, "attempts": message.attempts, "last_error": message.last_error}
        message.state = OutboxMessage.State.PENDING
        message.attempts = 0
        message.next_attempt_at = now
        message.save(update_fields=["state", "attempts", "next_attempt_at"])
        sender = _senders.get(message.channel)
        if message.notification_id is not None and sender is not None and sender.delivery_channel:
            NotificationDelivery.objects.filter(
                notification_id=message.notification_id,
                channel=sender.delivery_channel,
                state=NotificationDelivery.State.FAILED,
            ).update(state=NotificationDelivery.State.QUEUED, updated_at=now)
        do_record_audit(
            actor=actor, action="outbox.retry", obj=message, ip=ip,
            changes={"before": before, "channel": message.channel, "kind": message.kind},
        )
    if rows:
        for channel in {m.channel for m in rows}:
            kick_outbox_on_commit(channel)
    return len(rows)
