"""Inbox reads over the denormalised WorkItem table (one indexed query per box).

Boxes as the UI and the API name them (`box` parameter):
todo 待办 (todo, open) · toread 待阅 (toread, open) · done 已办 (todo, done) · read 已阅 (toread, done) ·
initiated 我发起 (initiated, any state).

已办 shows one row per piece of work (WorkItem.thread: a flow's process), the last step the person did in it:
one person often handles several steps of one 公文 (审核, 核稿, 签发), and a list of each of them is noise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from oa.models import Person, WorkItem
from oa.rawsql import aware, fast_cursor
from oa.work import WorkAction, work_kind
from oa.work_counts import cached_counts

Box = WorkItem.Box
State = WorkItem.State


@dataclass(frozen=True)
class InboxBox:
    key: str
    label: str
    box: str
    state: str | None  # None: any state


BOXES: dict[str, InboxBox] = {
    b.key: b
    for b in (
        InboxBox("todo", "待办", Box.TODO, State.OPEN),
        InboxBox("toread", "待阅", Box.TOREAD, State.OPEN),
        InboxBox("done", "已办", Box.TODO, State.DONE),
        InboxBox("read", "已阅", Box.TOREAD, State.DONE),
        InboxBox("initiated", "我发起", Box.INITIATED, None),
    )
}

# Open work first: 特急 before 加急 before 普通, then the nearest deadline (none last), then the newest arrival.
OPEN_ORDER = (F("urgency").desc(), F("deadline").asc(nulls_last=True), F("created_at").desc(), F("id").desc())
# Finished work is history: most recently finished first.
DONE_ORDER = (F("completed_at").desc(nulls_last=True), F("id").desc())


def inbox(
    person: Person,
    box: str = "todo",
    *,
    kind: str | None = None,
    urgency: int | None = None,
    overdue: bool | None = None,
    agency_id: int | None = None,
    q: str | None = None,
) -> QuerySet[WorkItem]:
    """One person's items in one box, over every registered kind.

    Every filter narrows a query that starts with (owner, box, state), the leading columns of
    workitem_inbox_idx, so a search scans only this person's own rows in that box: a few hundred, not the
    whole table. That is why title/文号 search is a plain icontains and not a trigram index.
    """
    spec = BOXES.get(box)
    if spec is None:
        raise ValueError(f"unknown box {box!r}")
    # Through the person's own related manager: every row gets `owner` = this very object, with no join and no
    # 20 more Person instances per page (the hot path of 待办, docs/performance.md).
    items = person.work_items.filter(box=spec.box)
    if spec.state is not None:
        items = items.filter(state=spec.state)
    if kind:
        items = items.filter(kind=kind)
    if urgency is not None:
        items = items.filter(urgency=urgency)
    if overdue is not None:
        late = Q(state=State.OPEN, deadline__lt=timezone.now())
        items = items.filter(late) if overdue else items.exclude(late)
    if agency_id is not None:
        items = items.filter(agency_id=agency_id)
    q = (q or "").strip()
    if q:
        items = items.filter(Q(title__icontains=q) | Q(doc_number__icontains=q))
    if box == "done":
        items = items.filter(~Exists(_later_done(person)))
    order = DONE_ORDER if spec.state == State.DONE else OPEN_ORDER
    return items.select_related("on_behalf_of", "initiator", "agency").only(*_LIST_FIELDS).order_by(*order)


# What a list row shows of the people and the agency it joins (templates, WorkItemSerializer): fewer columns to
# compile, fetch and load than whole Person rows. Anything else on them would cost a query per row.
_LIST_FIELDS = (
    *(f.attname for f in WorkItem._meta.concrete_fields),
    "on_behalf_of__username", "on_behalf_of__name",
    "initiator__username", "initiator__name",
    "agency__name", "agency__short_name",
)


def _later_done(person: Person) -> QuerySet[WorkItem]:
    """A done item of the same thread finished after the outer one (the outer row is not the last step)."""
    return (
        WorkItem.objects.filter(owner=person, box=Box.TODO, state=State.DONE, thread=OuterRef("thread"))
        .exclude(thread="")  # a row written without a thread stands alone
        .filter(Q(completed_at__gt=OuterRef("completed_at"))
                | Q(completed_at=OuterRef("completed_at"), id__gt=OuterRef("id")))
    )


def inbox_counts(person: Person) -> dict[str, int]:
    """Open items per box: {"todo": n, "toread": n, "initiated": n} (from the cached box_counts)."""
    counts = box_counts(person)
    return {box: counts[box] for box in WorkItem.Box.values}


def box_counts(person: Person) -> dict[str, int]:
    """All five boxes: todo/toread/initiated count open items, done/read finished ones (done: pieces of work,
    one per thread, as 已办 lists them). Kept per person in the cache (oa.work_counts) and recomputed with one
    grouped query after any write to the person's rows."""
    if person.pk is None:
        return dict.fromkeys(BOXES, 0)
    return cached_counts(person.pk, lambda: count_boxes(person))


def count_boxes(person: Person) -> dict[str, int]:
    """box_counts straight from the table, one grouped query (the cache's source and the tests' oracle)."""
    rows = (WorkItem.objects.filter(owner=person).values("box", "state")
            .annotate(n=Count("id"), threads=Count("thread", distinct=True, filter=~Q(thread=""))
                      + Count("id", filter=Q(thread=""))))
    counts = dict.fromkeys(BOXES, 0)
    for row in rows:
        box, state, n = row["box"], row["state"], row["n"]
        if state == State.OPEN:
            counts[box] += n
        elif state == State.DONE and box == Box.TODO:
            counts["done"] += row["threads"]
        elif state == State.DONE and box == Box.TOREAD:
            counts["read"] += n
    return counts


def unfiltered_box_count(person: Person, box: str) -> int | None:
    """How many rows inbox(person, box) lists with no filter, from the cached counts (None for 我发起, whose list
    holds every state while its count holds open items only). Pages and the API use it as the paginator's total
    instead of a COUNT per request."""
    if box not in ("todo", "toread", "done", "read"):
        return None
    return box_counts(person)[box]


# --- the lean 待办 list (oa.api.lean): fixed SQL, tuples, no model instances ---------------------------------
#
# inbox() with no filter, as rows: the same WHERE, ORDER BY and joins, written once as SQL text (compiling the ORM
# query took a third of an API request's CPU, docs/performance.md "待办 API"). tests/test_api_lean.py holds the
# two to the same rows in the same order for every box (and the table names to the models').


class InboxRow(NamedTuple):
    id: int
    kind: str
    box: str
    state: str
    title: str
    doc_number: str
    step: str
    urgency: int
    deadline: dt.datetime | None
    on_behalf_of_id: int | None
    on_behalf_of_username: str | None
    on_behalf_of_name: str | None
    initiator_id: int | None
    initiator_username: str | None
    initiator_name: str | None
    agency_id: int | None
    agency_name: str | None
    link: str
    created_at: dt.datetime
    opened_at: dt.datetime | None
    completed_at: dt.datetime | None
    note: str
    outcome: str


_ROWS_SELECT = (
    'SELECT w."id", w."kind", w."box", w."state", w."title", w."doc_number", w."step", w."urgency", w."deadline", '
    'w."on_behalf_of_id", b."username", b."name", w."initiator_id", i."username", i."name", w."agency_id", a."name", '
    'w."link", w."created_at", w."opened_at", w."completed_at", w."note", w."outcome" '
    'FROM "oa_workitem" w LEFT OUTER JOIN "oa_person" b ON b."id" = w."on_behalf_of_id" '
    'LEFT OUTER JOIN "oa_person" i ON i."id" = w."initiator_id" LEFT OUTER JOIN "oa_agency" a ON a."id" = w."agency_id" '
    'WHERE w."owner_id" = %s AND w."box" = %s'
)
_OPEN_ORDER_SQL = ' ORDER BY w."urgency" DESC, w."deadline" ASC NULLS LAST, w."created_at" DESC, w."id" DESC'
_DONE_ORDER_SQL = ' ORDER BY w."completed_at" DESC NULLS LAST, w."id" DESC'
# _later_done: a done item of the same thread finished after this one.
_NOT_LATER_DONE_SQL = (
    ' AND NOT EXISTS (SELECT 1 FROM "oa_workitem" u WHERE u."box" = %s AND u."owner_id" = %s AND u."state" = %s'
    ' AND u."thread" = w."thread" AND NOT (u."thread" = \'\')'
    ' AND (u."completed_at" > w."completed_at" OR (u."completed_at" = w."completed_at" AND u."id" > w."id")))'
)
_LIMIT_SQL = " LIMIT %s OFFSET %s"
_DATETIME_COLUMNS = (8, 18, 19, 20)


def _rows_sql(box: str) -> tuple[str, tuple]:
    """(SQL up to LIMIT, its parameters after the owner id) for one box."""
    spec = BOXES[box]
    sql, params = _ROWS_SELECT, (spec.box,)
    if spec.state is not None:
        sql, params = sql + ' AND w."state" = %s', (*params, spec.state)
    if box == "done":
        sql, params = sql + _NOT_LATER_DONE_SQL, (*params, Box.TODO, None, State.DONE)  # None: the owner id
    return sql + (_DONE_ORDER_SQL if spec.state == State.DONE else _OPEN_ORDER_SQL) + _LIMIT_SQL, params


_ROWS = {box: _rows_sql(box) for box in BOXES}


def inbox_rows(person_id: int, box: str, *, limit: int, offset: int = 0) -> list[InboxRow]:
    """Rows `offset`…`offset + limit` of inbox(person, box) unfiltered, as InboxRow tuples: the person's own
    items only (owner = person_id, the access rule of every list)."""
    sql, rest = _ROWS[box]
    params = [person_id, *(person_id if p is None else p for p in rest), limit, offset]
    with fast_cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if rows and connection.vendor != "postgresql":
        rows = [tuple(aware(v) if n in _DATETIME_COLUMNS else v for n, v in enumerate(r)) for r in rows]
    return [InboxRow._make(r) for r in rows]


_INITIATED_COUNT_SQL = 'SELECT COUNT(*) FROM "oa_workitem" w WHERE w."owner_id" = %s AND w."box" = %s'


def inbox_total(person_id: int, box: str) -> int:
    """How many rows inbox(person, box) lists unfiltered: the cached count (unfiltered_box_count), or for
    我发起 (every state, while its cached count holds open items only) one COUNT."""
    if box in ("todo", "toread", "done", "read"):
        return cached_counts(person_id, lambda: count_boxes(Person(pk=person_id)))[box]
    with fast_cursor() as cursor:
        cursor.execute(_INITIATED_COUNT_SQL, [person_id, BOXES[box].box])
        return cursor.fetchone()[0]


def work_items_visible_to(person: Person) -> QuerySet[WorkItem]:
    """A person sees their own items and the ones somebody did on their behalf (委托: "李娜 代 王芳 办理")."""
    return WorkItem.objects.filter(Q(owner=person) | Q(on_behalf_of=person))


def access_work_item_by_id(user: Person, item_id: int) -> WorkItem:
    """The item, or Http404 whether it is missing or someone else's (no existence leak)."""
    item = (
        work_items_visible_to(user)
        .select_related("owner", "on_behalf_of", "initiator", "agency")
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        raise Http404("工作事项不存在或无权访问。")
    return item


def work_item_actions(item: WorkItem, user: Person) -> list[WorkAction]:
    """What `user` may do with `item` now, as its kind says. Only the owner of open work acts."""
    kind = work_kind(item.kind)
    if kind is None or item.state != State.OPEN or item.owner_id != user.pk:
        return []
    return kind.actions(item, user)


def recent_open_items(person: Person, box: str, limit: int) -> list[WorkItem]:
    """The newest open items of one box (the 工作台 lists): newest arrival first, at most ``limit``."""
    return list(
        WorkItem.objects.filter(owner=person, box=box, state=State.OPEN)
        .select_related("on_behalf_of", "agency")
        .order_by("-created_at", "-id")[:limit]
    )
