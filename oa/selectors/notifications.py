"""Reads of a person's notifications (the event record behind the websocket and /api/notifications)."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import QuerySet
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


def _badges_sql(with_prev: bool, vendor: str, n_ids: int) -> str:
    """The SELECT of badges_for as text: built from the models' metadata, cached (it is read on every event and
    every counts push; the ORM spent more time composing the six correlated subqueries than PostgreSQL running
    them)."""
    key = (with_prev, vendor, n_ids if vendor != "postgresql" else 0)
    sql = _BADGES_SQL.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        person, notification, work = (quote(m._meta.db_table) for m in (Person, Notification, WorkItem))
        n_recipient, n_read, n_id = (quote(Notification._meta.get_field(f).column)
                                     for f in ("recipient", "read_at", "id"))
        w_owner, w_state, w_box = (quote(WorkItem._meta.get_field(f).column) for f in ("owner", "state", "box"))
        p_id = quote(Person._meta.pk.column)
        # Every name below comes from the models' metadata; every value is a parameter.
        unread = f"n.{n_recipient} = p.{p_id} AND n.{n_read} IS NULL"
        columns = [f"(SELECT COUNT(*) FROM {notification} n WHERE {unread})"]  # noqa: S608
        in_box = f"w.{w_owner} = p.{p_id} AND w.{w_state} = %s AND w.{w_box} = %s"
        columns += [f"(SELECT COUNT(*) FROM {work} w WHERE {in_box})" for _ in WorkItem.Box.values]  # noqa: S608
        if with_prev:
            below = f"n.{n_recipient} = p.{p_id} AND n.{n_id} < %s ORDER BY n.{n_id} DESC LIMIT 1"
            columns.append(f"COALESCE((SELECT n.{n_id} FROM {notification} n WHERE {below}), 0)")  # noqa: S608
        where = "= ANY(%s)" if vendor == "postgresql" else f"IN ({', '.join(['%s'] * n_ids)})"
        sql = f"SELECT p.{p_id}, {', '.join(columns)} FROM {person} p WHERE p.{p_id} {where}"  # noqa: S608
        if vendor == "postgresql" or n_ids <= 32:  # a few shapes only: not one per broadcast size
            _BADGES_SQL[key] = sql
    return sql


_BADGES_SQL: dict[tuple[bool, str, int], str] = {}


def badges_for(person_ids: list[int], *, prev_before: int | None = None) -> dict[int, dict[str, Any]]:
    """badge_counts() of many people in one query: {person id: {"unread": u, "counts": {...}}}, walking per
    person the (recipient, read_at) and WorkItem inbox indexes, however many people there are.

    With ``prev_before``, each entry also has ``prev_id``: the person's newest event id below it (0 if none).
    send_event_on_commit asks for it inside its transaction, under the per-recipient lock, so it is exact: the
    consumer forwards an event only when ``prev_id`` is the last id it sent and rereads the database otherwise.
    """
    ids = [int(pk) for pk in dict.fromkeys(person_ids)]
    if not ids:
        return {}
    boxes = WorkItem.Box.values
    params: list[Any] = []
    for box in boxes:
        params += [WorkItem.State.OPEN.value, box]
    if prev_before is not None:
        params.append(int(prev_before))
    with_prev = prev_before is not None
    sql = _badges_sql(with_prev, connection.vendor, len(ids))
    params += [ids] if connection.vendor == "postgresql" else ids
    result: dict[int, dict[str, Any]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            entry: dict[str, Any] = {"unread": row[1], "counts": dict(zip(boxes, row[2:2 + len(boxes)], strict=True))}
            if with_prev:
                entry["prev_id"] = row[2 + len(boxes)]
            result[row[0]] = entry
    return result


def agency_ids_of(person: Person) -> list[int]:
    """The agencies the person serves in (主职或兼职): their sockets join each agency's broadcast group."""
    return sorted(
        set(Appointment.objects.filter(person=person).values_list("department__agency_id", flat=True))
    )
