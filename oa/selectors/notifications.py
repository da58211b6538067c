"""Reads of a person's notifications (the event record behind the websocket and /api/notifications)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from oa.models import Notification, Person
from oa.selectors.work import inbox_counts


def notifications_for(person: Person, after_id: int | None = None) -> QuerySet[Notification]:
    """The person's notifications, oldest first; with after_id only those with a larger (newer) id."""
    qs = Notification.objects.filter(recipient=person).order_by("id")
    if after_id is not None:
        qs = qs.filter(id__gt=after_id)
    return qs


def unread_count(person: Person) -> int:
    return Notification.objects.filter(recipient=person, read_at__isnull=True).count()


def last_event_id(person: Person) -> int:
    """The newest event id of the person (0 when none): where a client with no history starts."""
    last = Notification.objects.filter(recipient=person).order_by("-id").values_list("id", flat=True).first()
    return last or 0


def notification_data(notification: Notification) -> dict[str, Any]:
    """The wire shape of one event (websocket "event" message and REST list items)."""
    return {
        "id": notification.pk,
        "event_type": notification.event_type,
        "title": notification.title,
        "summary": notification.summary,
        "link": notification.link,
        "payload": notification.payload,
        "created_at": timezone.localtime(notification.created_at).isoformat(),
        "read": notification.read_at is not None,
    }


def badge_counts(person: Person) -> dict[str, Any]:
    """What every websocket message carries besides the event: unread notifications and open work per box."""
    return {"unread": unread_count(person), "counts": inbox_counts(person)}


def events_after(person: Person, after_id: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
    """Up to `limit` events newer than after_id, oldest first, and whether more remain."""
    rows = list(notifications_for(person, after_id=after_id)[: limit + 1])
    return [notification_data(n) for n in rows[:limit]], len(rows) > limit
