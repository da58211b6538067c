"""Writes to the WorkItem table (the inbox), for every kind of work.

A kind's own actions (or, for viewflow tasks, the receiver in workflows/inbox.py) call `do_assign_work` when
work reaches a person and `do_close_work` when it is finished or withdrawn, in the same transaction as the
change they mirror. Events go out through oa.events after commit.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from oa.actions.notifications import do_mark_read
from oa.events import (
    make_work_assigned,
    make_work_completed,
    push_counts_on_commit,
    retire_notifications,
    send_event_on_commit,
)
from oa.models import Agency, Person, WorkItem
from oa.refusals import Refusal
from oa.selectors.notifications import notifications_for
from oa.selectors.work import work_item_actions
from oa.work import work_kind
from oa.work_counts import invalidate_counts

State = WorkItem.State
Box = WorkItem.Box


_FOREIGN_KEYS = {"on_behalf_of", "initiator", "agency"}


def _current(item: WorkItem, name: str):
    # Foreign keys compare by id: reading the related object would cost a query per field.
    return getattr(item, f"{name}_id") if name in _FOREIGN_KEYS else getattr(item, name)


def _comparable(value):
    return value.pk if hasattr(value, "_meta") else value


def do_assign_work(
    *,
    kind: str,
    ref: str,
    box: str,
    owner: Person,
    title: str,
    on_behalf_of: Person | None = None,
    initiator: Person | None = None,
    agency: Agency | None = None,
    doc_number: str = "",
    step: str = "",
    urgency: int = WorkItem.Urgency.NORMAL,
    deadline: dt.datetime | None = None,
    link: str = "",
    note: str = "",
    thread: str = "",
    notify: bool = True,
    new_ref: bool = False,
) -> WorkItem:
    """Upsert the open item of (ref, owner, box). A new (or re-opened) 待办/待阅 notifies its owner.

    `thread` names the whole piece of work the item is a step of (a flow's process); 已办 lists one row per
    thread. Without it the item is its own thread.

    `link` defaults to the workbench's item page /work/<id>/. Called again for the same work it refreshes
    the denormalised fields (e.g. 委托 was applied, the 文号 was assigned) without a second notification.

    ``new_ref``: the ref names a row inserted just now (a viewflow task's first save: its id comes fresh from the
    sequence), so no item of it can exist and the locked lookup is skipped.
    """
    fields = {
        "kind": kind,
        "title": title[:300] or "（无标题）",
        "on_behalf_of": on_behalf_of if on_behalf_of and on_behalf_of.pk != owner.pk else None,
        "initiator": initiator,
        "agency": agency,
        "doc_number": doc_number[:64],
        "step": step[:100],
        "urgency": int(urgency),
        "deadline": deadline,
        "note": note[:300],
        "outcome": "",
        "thread": (thread or ref)[:100],
    }
    with transaction.atomic(savepoint=False):  # no savepoint: nothing here is caught and retried
        item = None if new_ref else WorkItem.objects.select_for_update().filter(ref=ref, owner=owner, box=box).first()
        arrived = item is None or item.state != State.OPEN
        if item is None:
            item = WorkItem(ref=ref, owner=owner, box=box, link=link or "/", **fields)
            item.save()
            if not link:
                item.link = f"/work/{item.pk}/"
                item.save(update_fields=["link"])
        else:
            changed = [name for name, value in fields.items() if _current(item, name) != _comparable(value)]
            for name in changed:
                setattr(item, name, fields[name])
            if arrived:
                # Work that comes back (退回, re-assigned to a former holder) is new work again.
                item.state, item.completed_at, item.opened_at = State.OPEN, None, None
                item.created_at = timezone.now()
                changed += ["state", "completed_at", "opened_at", "created_at"]
            if link and link != item.link:
                item.link = link
                changed.append("link")
            if changed:
                item.save(update_fields=[*{f: None for f in changed}])
        if arrived:
            if notify and box in (Box.TODO, Box.TOREAD):
                send_event_on_commit(make_work_assigned(item), [owner.pk], work_item=item)
            else:
                push_counts_on_commit([owner.pk])
    return item


def do_close_work(
    *,
    ref: str,
    state: str = State.DONE,
    box: str | None = None,
    owner: Person | None = None,
    exclude_owner_id: int | None = None,
    by: Person | None = None,
    outcome: str = "",
    note: str = "",
) -> list[WorkItem]:
    """Finish (done) or withdraw (cancelled) the open items of `ref`: their notifications are retired on every
    channel and the owners' counts refresh. An initiator's 我发起 item is told with a work.completed event.
    `outcome` ("returned") and `note` say how done work ended when it was not plainly 办结 (已办 shows them)."""
    if state not in (State.DONE, State.CANCELLED):
        raise ValueError(f"bad closing state {state!r}")
    with transaction.atomic(savepoint=False):  # no savepoint: nothing here is caught and retried
        items = WorkItem.objects.select_for_update().filter(ref=ref, state=State.OPEN)
        if box is not None:
            items = items.filter(box=box)
        if owner is not None:
            items = items.filter(owner=owner)
        if exclude_owner_id is not None:
            items = items.exclude(owner_id=exclude_owner_id)
        closed = list(items.order_by("id"))
        if not closed:
            return []
        now = timezone.now()
        invalidate_counts(i.owner_id for i in closed)  # before the events: their counts must be the new ones
        WorkItem.objects.filter(pk__in=[i.pk for i in closed]).update(state=state, completed_at=now, outcome=outcome,
                                                                      note=note[:300])
        for item in closed:
            item.state, item.completed_at, item.outcome, item.note = state, now, outcome, note[:300]
            if item.box == Box.INITIATED:
                send_event_on_commit(make_work_completed(item, by=by), [item.owner_id], work_item=item)
            else:
                retire_notifications(item)
        push_counts_on_commit(i.owner_id for i in closed)
    return closed


def do_open_work_item(user: Person, item: WorkItem) -> WorkItem:
    """First time the owner opens the item: stamp opened_at once (later opens change nothing)."""
    if item.owner_id == user.pk and item.opened_at is None:
        now = timezone.now()
        if WorkItem.objects.filter(pk=item.pk, opened_at__isnull=True).update(opened_at=now):
            item.opened_at = now
    return item


def do_see_work_item(user: Person, item: WorkItem) -> None:
    """The owner has the work in front of them (its item page or its own step page): stamp opened_at once and
    read its notifications, so the bell and the person's other tabs update."""
    if item.owner_id != user.pk:
        return
    do_open_work_item(user, item)
    unread = list(notifications_for(user).filter(work_item=item, read_at__isnull=True).values_list("pk", flat=True))
    if unread:
        do_mark_read(user, unread)


def do_see_work(user: Person, ref: str) -> None:
    """The owner opened the page where the work of ``ref`` is done (a flow step page, reached from the inbox row,
    a notification or a mobile card without passing the item page): the same as opening its open 待办."""
    for item in WorkItem.objects.filter(ref=ref, owner=user, box=Box.TODO, state=State.OPEN):
        do_see_work_item(user, item)


def check_perform_work_action(user: Person, item: WorkItem, action_key: str, data: dict) -> WorkItem:
    """Dispatch one action on an item the user already loaded through access_work_item_by_id."""
    kind = work_kind(item.kind)
    if kind is None:
        raise Refusal("unknown_kind", "该类工作暂不支持在此办理。", status=400)
    if item.state != State.OPEN:
        raise Refusal("work_closed", "该事项已办结或已撤销，无需重复办理。", status=409)
    allowed = {a.key: a for a in work_item_actions(item, user)}
    if action_key not in allowed:
        if item.owner_id != user.pk:
            raise PermissionDenied("您不是该事项的办理人，不能办理。")
        raise Refusal("action_unavailable", "该事项当前不能执行此操作。", status=400)
    action = allowed[action_key]
    opinion = str(data.get("opinion") or "").strip()
    if action.needs_opinion and not opinion:
        raise Refusal("opinion_required", "请填写办理意见。", status=400)
    with transaction.atomic():
        kind.perform(user, item, action_key, {**data, "opinion": opinion})
    item.refresh_from_db()
    return item


def do_move_work_items(source: Person, target: Person, *, kinds: list[str]) -> int:
    """工作交接: the open 待办/待阅 items of `source` change owner with the work they mirror.

    Where `target` already holds a row for the same work (unique ref/owner/box), that row is re-opened and the
    leaver's is cancelled instead. Notifications of the leaver are retired; both people's counts refresh.
    """
    with transaction.atomic():
        items = list(
            WorkItem.objects.select_for_update()
            .filter(owner=source, state=State.OPEN, box__in=[Box.TODO, Box.TOREAD], kind__in=kinds)
            .order_by("id")
        )
        if not items:
            return 0
        taken = set(
            WorkItem.objects.filter(owner=target, ref__in=[i.ref for i in items]).values_list("ref", "box")
        )
        invalidate_counts([source.pk, target.pk])
        movable = [i for i in items if (i.ref, i.box) not in taken]
        clashing = [i for i in items if (i.ref, i.box) in taken]
        WorkItem.objects.filter(pk__in=[i.pk for i in movable]).update(owner=target)
        for item in clashing:
            WorkItem.objects.filter(owner=target, ref=item.ref, box=item.box).update(
                state=State.OPEN, completed_at=None, on_behalf_of=item.on_behalf_of
            )
            WorkItem.objects.filter(pk=item.pk).update(state=State.CANCELLED, completed_at=timezone.now())
        for item in items:
            retire_notifications(item)
        push_counts_on_commit([source.pk, target.pk])
    return len(items)
