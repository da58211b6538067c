"""Inbox reads over the denormalised WorkItem table (one indexed query per box).

Boxes as the UI and the API name them (`box` parameter):
todo 待办 (todo, open) · toread 待阅 (toread, open) · done 已办 (todo, done) · read 已阅 (toread, done) ·
initiated 我发起 (initiated, any state).

已办 shows one row per piece of work (WorkItem.thread: a flow's process), the last step the person did in it:
one person often handles several steps of one 公文 (审核, 核稿, 签发), and a list of each of them is noise.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from oa.models import Person, WorkItem
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
