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
    items = WorkItem.objects.filter(owner=person, box=spec.box)
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
    return items.select_related("owner", "on_behalf_of", "initiator", "agency").order_by(*order)


def _later_done(person: Person) -> QuerySet[WorkItem]:
    """A done item of the same thread finished after the outer one (the outer row is not the last step)."""
    return (
        WorkItem.objects.filter(owner=person, box=Box.TODO, state=State.DONE, thread=OuterRef("thread"))
        .exclude(thread="")  # a row written without a thread stands alone
        .filter(Q(completed_at__gt=OuterRef("completed_at"))
                | Q(completed_at=OuterRef("completed_at"), id__gt=OuterRef("id")))
    )


def inbox_counts(person: Person) -> dict[str, int]:
    """Open items per box: {"todo": n, "toread": n, "initiated": n}."""
    rows = (
        WorkItem.objects.filter(owner=person, state=WorkItem.State.OPEN)
        .values("box")
        .annotate(n=Count("id"))
    )
    counts = {box: 0 for box in WorkItem.Box.values}
    counts.update({row["box"]: row["n"] for row in rows})
    return counts


def box_counts(person: Person) -> dict[str, int]:
    """All five boxes in one grouped query: todo/toread/initiated count open items, done/read finished ones
    (done: pieces of work, one per thread, as 已办 lists them)."""
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
