"""Writes on notifications: read marks and the web channel's delivery state."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from oa.events import push_counts_on_commit
from oa.models import Notification, NotificationDelivery, Person
from oa.work_counts import invalidate_unread

WEB = NotificationDelivery.Channel.WEB
State = NotificationDelivery.State


def do_mark_read(person: Person, ids: Iterable[int] | None = None) -> int:
    """Mark the person's unread notifications read (all of them when ids is None); returns how many changed.

    Ids of other people's notifications are ignored, not an error: a client cannot learn whether they exist.
    The person's other sockets get fresh counts after commit.
    """
    with transaction.atomic():
        qs = Notification.objects.filter(recipient=person, read_at__isnull=True)
        if ids is not None:
            qs = qs.filter(pk__in=[int(i) for i in ids])
        changed = list(qs.values_list("pk", flat=True))
        if not changed:
            return 0
        Notification.objects.filter(pk__in=changed).update(read_at=timezone.now())
        invalidate_unread([person.pk], after_commit=False)  # push_counts_on_commit below bumps after commit
        NotificationDelivery.objects.filter(
            notification_id__in=changed, channel=WEB, state__in=[State.PENDING, State.DELIVERED]
        ).update(state=State.READ)
        push_counts_on_commit([person.pk])
    return len(changed)


def do_mark_delivered(person: Person, ids: Iterable[int]) -> int:
    """The web channel handed these notifications to one of the person's open sockets."""
    return NotificationDelivery.objects.filter(
        notification__recipient=person, notification_id__in=list(ids), channel=WEB, state=State.PENDING
    ).update(state=State.DELIVERED)
