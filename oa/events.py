"""Events after commit: the only way to push something to a person (DESIGN.md "Events after commit").

`send_event_on_commit()` writes one Notification per recipient (its id is the monotonic event id) and a web
NotificationDelivery in the caller's transaction, lets every registered channel (e.g. the mobile platform)
enqueue its outbox rows in that same transaction, and only after commit hands the websocket consumers the
whole client frame through the channel layer: the event, the recipient's badges as the transaction saw them
and the id of the recipient's previous event. A consumer writes that frame to its sockets without touching the
database, and rereads the database only when `prev_id` shows it missed something (a dropped message, events
committed before its hello). The database stays the record: replay after a reconnect reads it.

Broadcast-shaped notices (an announcement to a whole agency or the district) are not personal events: one
message goes to one group (`agency.<id>` or `district`) that every socket of those people joined
(`broadcast_on_commit`); the record is the notice's own table (e.g. Announcement), not a Notification per head.

Payloads are typed per event type (TypedDicts below, listed in docs/events.md) and built by the `make_*`
helpers. Titles and summaries are metadata only — callers must never pass document body text: it may
travel to a phone platform.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.utils import timezone

from oa.models import Notification, NotificationDelivery, Person, WorkItem
from oa.selectors.notifications import badges_for, notification_data
from oa.work_counts import bump_unread, invalidate_unread

logger = logging.getLogger(__name__)

TITLE_MAX = 200
SUMMARY_MAX = 200
LINK_MAX = 500


def user_group(user_id: int) -> str:
    """Channel-layer group of one person's sockets (ASCII only: group names reject anything else)."""
    return f"user.{int(user_id)}"


def agency_group(agency_id: int) -> str:
    """Group of the sockets of everybody serving in one agency (主职或兼职): broadcast notices to that agency."""
    return f"agency.{int(agency_id)}"


DISTRICT_GROUP = "district"  # every socket: district-wide notices


@dataclass(frozen=True)
class Event:
    type: str  # "work.assigned", "work.urged", … (EVENT_TYPES)
    title: str  # short, shown in the toast / card title
    summary: str = ""  # metadata only, NEVER document body text (it may travel to a phone platform)
    link: str = ""  # absolute path in this site, e.g. "/work/42/"
    payload: dict = field(default_factory=dict)  # typed per event type, see EVENT_TYPES and docs/events.md


# --- typed payloads ------------------------------------------------------------------------------------


class WorkAssigned(TypedDict):
    """A new 待办/待阅 item arrived for the recipient."""

    work_item_id: int
    kind: str  # work-kind registry key, e.g. "flow_task"
    box: str  # "todo" | "toread" | "initiated"
    urgency: int  # 0 普通, 1 加急, 2 特急
    deadline: str | None  # ISO 8601 with offset, or None
    doc_number: str  # 文号, may be ""
    step: str  # 环节, may be ""
    on_behalf_of: int | None  # 委托: person id the recipient acts for
    on_behalf_of_name: str  # that person's name, "" when not delegated


class WorkUrged(TypedDict):
    """Someone 催办'd an open item of the recipient."""

    work_item_id: int
    count: int  # how many times this item has been urged so far
    by: str  # name of the person who urged


class WorkReturned(TypedDict):
    """An item came back to the recipient (退回)."""

    work_item_id: int
    by: str
    step: str  # the step it was returned to
    reason: str  # the returner's reason (what the receiver must fix); "" when none was given


class WorkCompleted(TypedDict):
    """Work the recipient follows (e.g. something they initiated) finished."""

    work_item_id: int
    state: str  # "done" | "cancelled"
    by: str


class WorkRetired(TypedDict):
    """The recipient's item was finished or withdrawn elsewhere; clients drop its toast/badge."""

    work_item_id: int
    state: str  # "done" | "cancelled"


class AnnouncementChanged(TypedDict):
    """A 通知公告 was published or withdrawn (a broadcast: see broadcast_on_commit); clients refresh the tile."""

    announcement_id: int
    agency: str  # the publishing agency's name
    district_wide: bool
    pinned: bool


EVENT_TYPES: dict[str, type] = {
    "work.assigned": WorkAssigned,
    "work.urged": WorkUrged,
    "work.returned": WorkReturned,
    "work.completed": WorkCompleted,
    "work.retired": WorkRetired,
    "announcement.published": AnnouncementChanged,
    "announcement.withdrawn": AnnouncementChanged,
}


def register_event_type(event_type: str, payload_type: type) -> None:
    """Apps add their own event types (meetings, 督办, …); each must also get a row in docs/events.md."""
    EVENT_TYPES[event_type] = payload_type


def validate_payload(event: Event) -> None:
    payload_type = EVENT_TYPES.get(event.type)
    if payload_type is None:
        raise ValueError(f"未登记的事件类型：{event.type}（见 oa.events.EVENT_TYPES 与 docs/events.md）")
    keys = set(event.payload)
    missing = payload_type.__required_keys__ - keys
    extra = keys - set(payload_type.__annotations__)
    if missing or extra:
        problems = [f"缺少 {', '.join(sorted(missing))}"] if missing else []
        problems += [f"多余 {', '.join(sorted(extra))}"] if extra else []
        raise ValueError(f"事件 {event.type} 的数据字段不符：{'；'.join(problems)}")
    json.dumps(event.payload)  # raises TypeError for anything a client could not receive


def _clip(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _deadline(item: WorkItem) -> str | None:
    return timezone.localtime(item.deadline).isoformat() if item.deadline else None


def work_item_link(item: WorkItem) -> str:
    return f"/work/{item.pk}/"  # the workbench's item page (url name "work_item")


def _work_summary(item: WorkItem) -> str:
    """Metadata only: step, urgency, 文号, deadline, 委托 — never the document's text."""
    parts = []
    if item.step:
        parts.append(item.step)
    if item.urgency:
        parts.append(WorkItem.Urgency(item.urgency).label)
    if item.doc_number:
        parts.append(item.doc_number)
    if item.deadline:
        parts.append("期限 " + timezone.localtime(item.deadline).strftime("%m-%d %H:%M"))
    if item.on_behalf_of_id:
        parts.append(f"代{_name(item.on_behalf_of)}办理")
    return " · ".join(parts)


def _name(person: Person | None) -> str:
    if person is None:
        return ""
    return person.name or person.username


def make_work_assigned(item: WorkItem) -> Event:
    prefix = WorkItem.Box(item.box).label
    payload: WorkAssigned = {
        "work_item_id": item.pk,
        "kind": item.kind,
        "box": item.box,
        "urgency": int(item.urgency),
        "deadline": _deadline(item),
        "doc_number": item.doc_number,
        "step": item.step,
        "on_behalf_of": item.on_behalf_of_id,
        "on_behalf_of_name": _name(item.on_behalf_of) if item.on_behalf_of_id else "",
    }
    return Event(
        "work.assigned", f"{prefix}：{item.title}", _work_summary(item), work_item_link(item), dict(payload)
    )


def make_work_urged(item: WorkItem, *, count: int, by: Person | None) -> Event:
    """``by`` None: the system urged an overdue step."""
    payload: WorkUrged = {"work_item_id": item.pk, "count": count, "by": _name(by) or "系统"}
    return Event(
        "work.urged",
        f"催办：{item.title}",
        f"{_name(by) or '系统（已超期）'} 第 {count} 次催办",
        work_item_link(item),
        dict(payload),
    )


def make_work_returned(item: WorkItem, *, by: Person, reason: str = "") -> Event:
    """"被 李娜 退回：理由" — the same words the 待办 row and the step page show (workflows.selectors.routing). The
    reason is the returner's own words, not document text; the phone card never carries it (integrations.wecom)."""
    reason = " ".join((reason or "").split())
    payload: WorkReturned = {"work_item_id": item.pk, "by": _name(by), "step": item.step, "reason": reason}
    who = f"被 {_name(by)} 退回" if _name(by) else "被退回"
    summary = f"{who}：{reason}" if reason else f"{who}至「{item.step}」" if item.step else who
    return Event("work.returned", f"退回：{item.title}", summary, work_item_link(item), dict(payload))


def make_work_completed(item: WorkItem, *, by: Person | None = None) -> Event:
    payload: WorkCompleted = {"work_item_id": item.pk, "state": item.state, "by": _name(by)}
    label = WorkItem.State(item.state).label
    return Event("work.completed", f"{label}：{item.title}", _name(by), work_item_link(item), dict(payload))


def make_work_retired(item: WorkItem) -> Event:
    payload: WorkRetired = {"work_item_id": item.pk, "state": item.state}
    label = WorkItem.State(item.state).label
    return Event("work.retired", f"{label}：{item.title}", "", work_item_link(item), dict(payload))


def make_announcement_changed(announcement, event_type: str = "announcement.published") -> Event:
    """Title and agency only — the body stays on the announcement page."""
    payload: AnnouncementChanged = {
        "announcement_id": announcement.pk,
        "agency": announcement.agency.name,
        "district_wide": announcement.district_wide,
        "pinned": announcement.pinned,
    }
    label = "通知公告" if event_type == "announcement.published" else "通知公告已撤回"
    return Event(event_type, f"{label}：{announcement.title}", announcement.agency.name,
                 f"/announcements/{announcement.pk}/", dict(payload))


def broadcast_announcement_on_commit(announcement, event_type: str = "announcement.published") -> None:
    """To the district's group when district-wide, else to the publishing agency's group."""
    broadcast_on_commit(make_announcement_changed(announcement, event_type),
                        agency_ids=[announcement.agency_id], district=announcement.district_wide)


# --- channels beyond the web (the mobile platform registers one) ----------------------------------------


class DeliveryChannel(Protocol):
    name: str

    def enqueue(self, notifications: Sequence[Notification], event: Event) -> None:
        """Called inside the sender's transaction: write outbox rows, never do network I/O here."""

    def retire(self, notifications: Sequence[Notification]) -> None:
        """The work behind these notifications finished elsewhere: update or withdraw what was pushed."""


_channels: dict[str, DeliveryChannel] = {}


def register_channel(channel: DeliveryChannel) -> None:
    """Register (or replace, by name) a delivery channel; app `ready()` calls this."""
    _channels[channel.name] = channel


def unregister_channel(name: str) -> None:
    _channels.pop(name, None)


def registered_channels() -> list[DeliveryChannel]:
    return list(_channels.values())


# --- sending -------------------------------------------------------------------------------------------

# Advisory-lock namespace for "notifications of one recipient" (PostgreSQL only; see _lock_recipients).
_LOCK_NAMESPACE = 0x4F41_0000_0000


def _lock_recipients(user_ids: list[int]) -> None:
    """Make each recipient's event ids commit in id order.

    A client resumes from the highest id it has seen. If transaction A took id 10 and B took id 11 for the
    same person and B committed first, the client would see 11 and then skip 10 forever. Holding a
    per-recipient transaction lock from the insert to the commit prevents that. SQLite already serialises
    writers (transaction_mode IMMEDIATE). Locks are taken in ascending id order to avoid deadlocks between
    two multi-recipient sends.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(%s + x)) FROM unnest(%s::bigint[]) AS x",
            [_LOCK_NAMESPACE, sorted(user_ids)],
        )


def send_event_on_commit(
    event: Event, user_ids: Iterable[int], *, work_item: WorkItem | None = None
) -> list[Notification]:
    """Persist the event for each recipient now; deliver it over the channel layer after commit.

    Rolls back with the caller's transaction (then nothing is delivered). Returns the Notification rows.
    """
    validate_payload(event)
    link = event.link or ""
    if link and (not link.startswith("/") or link.startswith("//") or len(link) > LINK_MAX):
        raise ValueError(f"事件链接必须是本站的绝对路径：{link!r}")
    recipients = list(dict.fromkeys(int(uid) for uid in user_ids))  # dedupe, keep order
    if not recipients:
        return []
    title = _clip(event.title, TITLE_MAX)
    summary = _clip(event.summary, SUMMARY_MAX)
    with transaction.atomic():
        _lock_recipients(recipients)
        notifications = Notification.objects.bulk_create(
            [
                Notification(
                    recipient_id=uid,
                    event_type=event.type,
                    title=title,
                    summary=summary,
                    link=link,
                    payload=event.payload,
                    work_item=work_item,
                )
                for uid in recipients
            ]
        )
        NotificationDelivery.objects.bulk_create(
            [
                NotificationDelivery(
                    notification=n,
                    channel=NotificationDelivery.Channel.WEB,
                    state=NotificationDelivery.State.PENDING,
                )
                for n in notifications
            ]
        )
        invalidate_unread(recipients, after_commit=False)  # bulk_create sends no post_save; 2nd bump after commit (_AfterCommit)
        for channel in registered_channels():
            channel.enqueue(notifications, event)
        # One query for all recipients, inside the transaction (so the badges include this event and its work
        # item) and under the per-recipient lock (so prev_id is exact).
        state = badges_for(recipients, prev_before=min(n.pk for n in notifications))
        messages = [(user_group(n.recipient_id), _event_message(n, state[n.recipient_id])) for n in notifications]
    # Queued once the event's savepoint is released (a failure above raised before this): with the other sends of
    # this transaction level, one channel-layer call after commit.
    _after_commit(lambda batch: batch.add_events(recipients, messages))
    return notifications


class _AfterCommit:
    """What one transaction level hands the channel layer after commit: its events' messages (in the order they
    were sent), then the counts of the people whose counts changed without an event, read after commit. One
    on_commit callback and one channel-layer call (a thread hop each) however many events and pushes a step
    makes; messages to one person keep their order (_send_messages)."""

    def __init__(self) -> None:
        self.bump: dict[int, None] = {}  # unread generation bumped after commit (oa.work_counts)
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.counts: dict[int, None] = {}
        self.sent = False  # run already (the test client's on_commit capture may leave it queued): join no more

    def add_events(self, recipients: list[int], messages: list[tuple[str, dict[str, Any]]]) -> None:
        self.bump.update(dict.fromkeys(recipients))
        self.messages.extend(messages)

    def add_counts(self, recipients: list[int]) -> None:
        self.bump.update(dict.fromkeys(recipients))  # do_mark_read / retire_notifications left it to this push
        self.counts.update(dict.fromkeys(recipients))

    def __call__(self) -> None:
        self.sent = True
        if self.bump:
            _bump_unread_after_commit(list(self.bump))
        messages = list(self.messages)
        if self.counts:
            messages += _counts_messages(list(self.counts))
        if messages:
            _group_send_all(messages)


def _after_commit(fill: Callable[[_AfterCommit], None]) -> None:
    """Add to the after-commit send of the current transaction level: the one queued under exactly the savepoints
    open now (a rollback drops what was added with the writes it came with, never more), else a new one. Outside
    a transaction it is sent at once."""
    if not connection.in_atomic_block:
        batch = _AfterCommit()
        fill(batch)
        batch()
        return
    here = set(connection.savepoint_ids)
    for sids, callback, _robust in connection.run_on_commit:
        if isinstance(callback, _AfterCommit) and sids == here and not callback.sent:
            fill(callback)
            return
    batch = _AfterCommit()
    fill(batch)
    transaction.on_commit(batch, robust=True)


def _bump_unread_after_commit(recipients: list[int]) -> None:
    # The second generation bump of the cached unread counts (oa.work_counts): a reader that counted from the
    # snapshot before this commit stored its number under a generation nobody trusts any more.
    try:
        bump_unread(recipients)
    except Exception:  # the cache down: its entries expire (OA_COUNTS_CACHE_SECONDS) and the push still goes
        logger.exception("未读数缓存失效失败")


def _event_message(notification: Notification, state: dict[str, Any]) -> dict[str, Any]:
    """The channel-layer message for one recipient: the client frame, already encoded (every socket of the
    person writes the same text), with the id and prev_id the consumer checks before writing it."""
    frame = {"type": "event", **notification_data(notification), "unread": state["unread"],
             "counts": state["counts"]}
    return {"type": "oa.event", "id": notification.pk, "prev_id": state["prev_id"],
            "frame": json.dumps(frame, ensure_ascii=False)}


def push_counts_on_commit(user_ids: Iterable[int]) -> None:
    """After commit, send these people's sockets their unread and inbox counts (no new event). The counts are
    read once for all of them, after commit, and travel in the message: no socket reads the database.

    Joins the after-commit send of this transaction level (_after_commit): a step that closes a 待办, retires its
    notifications and assigns the next one reads the counts once and makes one channel-layer call."""
    recipients = list(dict.fromkeys(int(uid) for uid in user_ids))
    if recipients:
        _after_commit(lambda batch: batch.add_counts(recipients))


def _counts_messages(recipients: list[int]) -> list[tuple[str, dict[str, Any]]]:
    try:
        badges = badges_for(recipients)
    except Exception:
        logger.exception("读取计数失败（客户端下次收到事件或重连时会更新）")
        return []
    frames = {uid: json.dumps({"type": "counts", **b}, ensure_ascii=False) for uid, b in badges.items()}
    return [(user_group(uid), {"type": "oa.counts", "frame": frame}) for uid, frame in frames.items()]


class Broadcast(TypedDict):
    """What every socket of a broadcast group receives (docs/events.md "广播")."""

    event_type: str
    title: str
    summary: str
    link: str
    payload: dict


def broadcast_on_commit(event: Event, *, agency_ids: Iterable[int] = (), district: bool = False) -> None:
    """After commit, one message per group — to the sockets of everybody in these agencies, or (district) of
    everybody — instead of one personal event per head. Nothing is written: the notice's own table is the
    record (a page load lists it), so these are not replayed after a reconnect and do not count as unread."""
    validate_payload(event)
    link = event.link or ""
    if link and (not link.startswith("/") or link.startswith("//") or len(link) > LINK_MAX):
        raise ValueError(f"事件链接必须是本站的绝对路径：{link!r}")
    groups = [DISTRICT_GROUP] if district else [agency_group(a) for a in dict.fromkeys(agency_ids)]
    if not groups:
        return
    body: Broadcast = {
        "event_type": event.type,
        "title": _clip(event.title, TITLE_MAX),
        "summary": _clip(event.summary, SUMMARY_MAX),
        "link": link,
        "payload": event.payload,
    }
    frame = json.dumps({"type": "broadcast", **body}, ensure_ascii=False)
    messages = [(group, {"type": "oa.broadcast", "frame": frame}) for group in groups]
    transaction.on_commit(lambda: _group_send_all(messages), robust=True)


def group_message_on_commit(group: str, message: dict[str, Any]) -> None:
    """After commit, one message to the sockets of an app's own broadcast-shaped group (e.g. one meeting's
    roster, ``meeting.<id>``): one channel-layer group message per change whatever the audience.
    Nothing is written: the app's tables are the record and its sockets resync from them on (re)connect."""
    if group.startswith("user."):
        raise ValueError(f"group_message_on_commit is for app groups, not {group!r}")
    transaction.on_commit(lambda: _group_send_all([(group, message)]), robust=True)


def retire_notifications(work_item: WorkItem) -> None:
    """The work item was finished elsewhere: its unread web notifications become read (delivery state
    "retired", which tells an administrator they were closed rather than read), every registered channel
    retires what it pushed, and the recipients' counts refresh after commit.

    No savepoint: it runs inside the write that closes the work item (oa.actions.work), and a failure here fails
    that write; nothing catches it and carries on."""
    with transaction.atomic(savepoint=False):
        notifications = list(Notification.objects.filter(work_item=work_item).order_by("id"))
        if not notifications:
            return
        unread = [n.pk for n in notifications if n.read_at is None]
        if unread:
            Notification.objects.filter(pk__in=unread).update(read_at=timezone.now())
            # push_counts_on_commit below does the after-commit bump
            invalidate_unread((n.recipient_id for n in notifications if n.read_at is None), after_commit=False)
        NotificationDelivery.objects.filter(
            notification__in=notifications,
            channel=NotificationDelivery.Channel.WEB,
            state__in=[NotificationDelivery.State.PENDING, NotificationDelivery.State.DELIVERED],
        ).update(state=NotificationDelivery.State.RETIRED)
        for channel in registered_channels():
            channel.retire(notifications)
        if unread:
            unread_ids = set(unread)
            push_counts_on_commit(n.recipient_id for n in notifications if n.pk in unread_ids)


def _group_send_all(messages: list[tuple[str, dict[str, Any]]]) -> None:
    """Runs after commit. A failure only costs latency: clients resync from the database."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(_send_messages)(layer, messages)
    except Exception:
        logger.exception("事件推送到通道层失败（客户端重连后会从数据库补齐）")


async def _send_messages(layer, messages: list[tuple[str, dict[str, Any]]]) -> None:
    # Concurrent in waves: a 1,000-recipient event should not wait for 1,000 sequential Redis round trips,
    # nor take more connections at once than the Redis pool allows (it raises instead of waiting). A wave holds
    # at most one message per group, so the messages to one group (a person's event, then their counts) arrive
    # in the order given.
    pending = list(messages)
    while pending:
        wave: list[tuple[str, dict[str, Any]]] = []
        rest: list[tuple[str, dict[str, Any]]] = []
        seen: set[str] = set()
        for group, message in pending:
            (wave if len(wave) < 50 and group not in seen else rest).append((group, message))
            seen.add(group)
        await asyncio.gather(*(layer.group_send(group, message) for group, message in wave))
        pending = rest
