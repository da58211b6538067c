"""Reads of a person's notifications (the event record behind the websocket and /api/notifications)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from oa.models import Appointment, Notification, Person, WorkItem
from oa.selectors.work import inbox_counts
from oa.work_counts import cached_unread


def notifications_for(person: Person, after_id: int | None = None) -> QuerySet[Notification]:
    """The person's notifications, oldest first; with after_id only those with a larger (newer) id."""
    qs = Notification.objects.filter(recipient=person).order_by("id")
    if after_id is not None:
        qs = qs.filter(id__gt=after_id)
    return qs


def unread_count(person: Person) -> int:
    """Unread notifications (the bell), kept per person in the cache (oa.work_counts.cached_unread) and
    recounted after any write to the person's notifications."""
    if person.pk is None:
        return 0
    return cached_unread(person.pk, lambda: count_unread(person))


def count_unread(person: Person) -> int:
    """unread_count straight from the table (the cache's source and the tests' oracle)."""
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


def _count_of(qs: QuerySet) -> Subquery:
    """A correlated COUNT(*) as a scalar subquery (0 when no row)."""
    counted = qs.order_by().annotate(_g=Value(1)).values("_g").annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def badges_for(person_ids: list[int], *, prev_before: int | None = None) -> dict[int, dict[str, Any]]:
    """badge_counts() of many people in one query: {person id: {"unread": u, "counts": {...}}}, walking per
    person the (recipient, read_at) and WorkItem inbox indexes, however many people there are.

    With ``prev_before``, each entry also has ``prev_id``: the person's newest event id below it (0 if none).
    send_event_on_commit asks for it inside its transaction, under the per-recipient lock, so it is exact: the
    consumer forwards an event only when ``prev_id`` is the last id it sent and rereads the database otherwise.
    """
    mine = Notification.objects.filter(recipient=OuterRef("pk"))
    open_work = WorkItem.objects.filter(owner=OuterRef("pk"), state=WorkItem.State.OPEN)
    boxes = WorkItem.Box.values
    annotations: dict[str, Any] = {
        "unread_n": _count_of(mine.filter(read_at__isnull=True)),
        **{f"box_{box}": _count_of(open_work.filter(box=box)) for box in boxes},
    }
    if prev_before is not None:
        newest_below = mine.filter(id__lt=prev_before).order_by("-id").values("id")[:1]
        annotations["prev_id"] = Coalesce(Subquery(newest_below), 0)
    result: dict[int, dict[str, Any]] = {}
    for row in Person.objects.filter(pk__in=person_ids).annotate(**annotations).values("pk", *annotations):
        entry = {"unread": row["unread_n"], "counts": {box: row[f"box_{box}"] for box in boxes}}
        if prev_before is not None:
            entry["prev_id"] = row["prev_id"]
        result[row["pk"]] = entry
    return result


def agency_ids_of(person: Person) -> list[int]:
    """The agencies the person serves in (主职或兼职): their sockets join each agency's broadcast group."""
    return sorted(
        set(Appointment.objects.filter(person=person).values_list("department__agency_id", flat=True))
    )
