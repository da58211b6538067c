"""传阅 (circulation) with read tracking the reader cannot switch off (docs/circulation.md).

One CirculationRead row per 收文 and reader records 送达 (delivered_at), 首次/最近打开 and 打开次数 (stamped by the 收文
detail page on every GET), 阅知 (an explicit act with an optional comment) and 催阅. The reader's 待阅 item is a
WorkItem in box TOREAD (kind "circulation"); 阅知 closes it, so it moves to 已阅.

Locks: each writer locks the 收文 or its circulation rows; audit appends never wait on a lock (oa.actions.audit takes
a free chain), so the audit log adds no edge to the lock graph.
"""

from __future__ import annotations

import dataclasses

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from documents.actions.incoming import do_grant_incoming_access
from documents.models import IncomingDocument
from documents.selectors.incoming import is_incoming_office
from oa.actions.audit import do_record_audit
from oa.actions.work import do_assign_work, do_close_work
from oa.events import make_work_urged, send_event_on_commit
from oa.models import Person, WorkItem
from oa.refusals import Refusal
from oa.work import WorkAction, WorkKind, register_work_kind
from workflows.actions.opinions import refuse_control_chars_in
from workflows.models import CirculationRead
from workflows.selectors.circulation import COMMENT_MAX, incoming_detail_url, may_urge_circulation

KIND = "circulation"
STEP = "传阅"
NOTE_MAX = 500  # CirculationRead.note max_length
URGENCY = {"teji": WorkItem.Urgency.VERY_URGENT, "jiaji": WorkItem.Urgency.URGENT}


def circulation_ref(row: CirculationRead) -> str:
    return f"{KIND}:{row.pk}"


def row_id_from_ref(ref: str) -> int | None:
    prefix, _, pk = ref.partition(":")
    return int(pk) if prefix == KIND and pk.isdigit() else None


def _names(people) -> list[str]:
    return [p.get_full_name() for p in people]


# --- 送阅 ------------------------------------------------------------------------------------------------------


def do_circulate(incoming: IncomingDocument, readers: list[Person], *, by: Person, note: str = "") -> list[CirculationRead]:
    """Send the 收文 to `readers` for reading. Returns the rows created now: a reader already on the list keeps
    their row (and its times) and is not delivered twice. Each new reader gets access to the 收文 and a 待阅 item
    (whose work.assigned event is the delivery notice). The caller decided who may send to whom."""
    note = (note or "").strip()[:NOTE_MAX]
    wanted: dict[int, Person] = {}
    for person in readers:
        wanted.setdefault(person.pk, person)
    with transaction.atomic():
        # Serialises senders of the same 收文: the unique (incoming, reader) never races.
        IncomingDocument.objects.select_for_update().filter(pk=incoming.pk).first()
        existing = set(
            CirculationRead.objects.filter(incoming=incoming, reader_id__in=wanted).values_list("reader_id", flat=True)
        )
        now = timezone.now()
        link = incoming_detail_url(incoming)
        created: list[CirculationRead] = []
        for pk, reader in wanted.items():
            if pk in existing:
                continue
            row = CirculationRead.objects.create(
                incoming=incoming, reader=reader, sent_by=by, note=note, delivered_at=now
            )
            do_grant_incoming_access(incoming, reader, reason="传阅")
            do_assign_work(
                kind=KIND, ref=circulation_ref(row), box=WorkItem.Box.TOREAD, owner=reader,
                title=incoming.title, initiator=by, agency=incoming.agency,
                doc_number=incoming.doc_number or incoming.receipt_number, step=STEP,
                urgency=URGENCY.get(incoming.urgency, WorkItem.Urgency.NORMAL), link=link,
            )
            created.append(row)
        if created:
            do_record_audit(actor=by, action="circulation.send", obj=incoming, changes={
                "readers": [r.reader_id for r in created], "names": _names(r.reader for r in created),
                "skipped": sorted(existing), "note": note,
            })
    return created


# --- 打开 (every GET of the 收文 detail page) -----------------------------------------------------------------


def _count_opening(row_id: int, now) -> None:
    # F(): two tabs opening at once both count (no read-modify-write); Greatest(): a request that took its time
    # before writing cannot move 最近打开 backwards.
    CirculationRead.objects.filter(pk=row_id).update(
        open_count=F("open_count") + 1,
        last_opened_at=Greatest(Coalesce(F("last_opened_at"), Value(now)), Value(now)),
    )


def do_mark_circulation_opened(incoming: IncomingDocument, user: Person) -> None:
    """A reader on the list opened the 收文: first_opened_at once, last_opened_at and open_count every time.
    Anyone else: nothing. There is no setting to turn this off (docs/circulation.md 为什么不能关闭)."""
    if not user.is_authenticated:
        return
    row = (
        CirculationRead.objects.filter(incoming=incoming, reader=user)
        .only("pk", "first_opened_at").first()
    )
    if row is None:
        return
    if row.first_opened_at is not None:
        _count_opening(row.pk, timezone.now())
        return
    with transaction.atomic():
        CirculationRead.objects.select_for_update().filter(pk=row.pk).first()
        now = timezone.now()  # taken under the lock: the first opening is never later than a counted one
        first = CirculationRead.objects.filter(pk=row.pk, first_opened_at__isnull=True).update(first_opened_at=now)
        _count_opening(row.pk, now)
        if first:
            # The first opening is the legally interesting moment: it goes into the hash chain as well.
            WorkItem.objects.filter(
                ref=circulation_ref(row), owner=user, box=WorkItem.Box.TOREAD, opened_at__isnull=True
            ).update(opened_at=now)
            do_record_audit(actor=user, action="circulation.open", obj=incoming,
                            changes={"row": row.pk, "first_opened_at": now})


# --- 阅知 ------------------------------------------------------------------------------------------------------


def _clean_comment(comment: str) -> str:
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise Refusal("comment_too_long", f"阅知意见不能超过 {COMMENT_MAX} 字（现有 {len(comment)} 字）。", status=400)
    refuse_control_chars_in(comment, "阅知意见")
    return comment


def check_acknowledge_circulation(user: Person, incoming: IncomingDocument, *, comment: str = "",
                                  ip: str | None = None) -> CirculationRead:
    """阅知 by a reader on the list, once. Stamps 打开 too when the reader never opened the page (阅知 from the
    workbench), closes the 待阅 item (→ 已阅) and is audited with the comment."""
    comment = _clean_comment(comment)
    with transaction.atomic():
        row = CirculationRead.objects.select_for_update().filter(incoming=incoming, reader=user).first()
        if row is None:
            raise PermissionDenied("您不在本文的传阅名单中，不能阅知。")
        if row.acknowledged_at is not None:
            local = timezone.localtime(row.acknowledged_at)
            raise Refusal("already_acknowledged", f"您已于 {local:%Y-%m-%d %H:%M} 阅知本文，不能重复阅知。", status=409)
        now = timezone.now()
        implicit_open = row.first_opened_at is None
        row.acknowledged_at, row.comment = now, comment
        fields = ["acknowledged_at", "comment"]
        if implicit_open:
            row.first_opened_at = row.last_opened_at = now
            row.open_count = 1
            fields += ["first_opened_at", "last_opened_at", "open_count"]
        row.save(update_fields=fields)
        do_close_work(ref=circulation_ref(row), box=WorkItem.Box.TOREAD, owner=user, state=WorkItem.State.DONE, by=user)
        do_record_audit(actor=user, action="circulation.acknowledge", obj=incoming, ip=ip, changes={
            "row": row.pk, "comment": comment, "opened_on_acknowledge": implicit_open,
        })
    return row


# --- 催阅 ------------------------------------------------------------------------------------------------------


def check_urge_circulation(user: Person, incoming: IncomingDocument, reader_ids: list[int] | None = None, *,
                           ip: str | None = None) -> int:
    """催阅: remind the readers who have not 阅知 yet (all of them, or those in `reader_ids`). Returns how many."""
    if not may_urge_circulation(user, incoming):
        raise PermissionDenied("只有送阅人或本机关文书可以催阅。")
    with transaction.atomic():
        rows = CirculationRead.objects.select_for_update().filter(incoming=incoming, acknowledged_at__isnull=True)
        if not is_incoming_office(user, incoming):
            rows = rows.filter(sent_by=user)
        if reader_ids is not None:
            rows = rows.filter(reader_id__in=list(reader_ids))
        rows = list(rows.exclude(reader=user).select_related("reader").order_by("delivered_at", "id"))
        if not rows:
            raise Refusal("nothing_to_urge", "没有需要催阅的人员：所选人员都已阅知，或不在您送阅的名单中。", status=409)
        now = timezone.now()
        items = {
            i.ref: i for i in WorkItem.objects.filter(
                ref__in=[circulation_ref(r) for r in rows], box=WorkItem.Box.TOREAD, state=WorkItem.State.OPEN)
        }
        for row in rows:
            CirculationRead.objects.filter(pk=row.pk).update(urge_count=F("urge_count") + 1, last_urged_at=now)
            row.urge_count += 1
            row.last_urged_at = now
            item = items.get(circulation_ref(row))
            if item is not None:
                event = make_work_urged(item, count=row.urge_count, by=user)
                # Same event type as 催办 (clients already handle it); the words say 催阅.
                event = dataclasses.replace(event, title=f"催阅：{item.title}",
                                            summary=f"{user.get_full_name()} 第 {row.urge_count} 次催阅")
                send_event_on_commit(event, [row.reader_id], work_item=item)
        do_record_audit(actor=user, action="circulation.urge", obj=incoming, ip=ip, changes={
            "readers": [r.reader_id for r in rows], "names": _names(r.reader for r in rows),
            "counts": {str(r.reader_id): r.urge_count for r in rows},
        })
    return len(rows)


# --- the inbox work kind (阅知 from the workbench and /api/work/<id>/actions/acknowledge) --------------------


def acknowledge_from_work_item(user: Person, item: WorkItem, action_key: str, data: dict) -> None:
    row_id = row_id_from_ref(item.ref)
    row = CirculationRead.objects.select_related("incoming").filter(pk=row_id).first() if row_id else None
    if row is None or action_key != "acknowledge":
        raise ValueError(f"circulation cannot {action_key!r} {item.ref}")
    check_acknowledge_circulation(user, row.incoming, comment=str(data.get("opinion") or ""), ip=data.get("ip"))


ACKNOWLEDGE = WorkAction(key="acknowledge", label="阅知", style="primary", needs_opinion=False)


def circulation_work_actions(item: WorkItem, user: Person) -> list[WorkAction]:
    # 待阅 only; the owner check and the open state are oa.selectors.work.work_item_actions'.
    return [ACKNOWLEDGE] if item.box == WorkItem.Box.TOREAD else []


def register_circulation_kind() -> None:
    """传阅 items in the inbox, with 阅知 as their workbench action (workflows.views.circulation.connect)."""
    register_work_kind(WorkKind(key=KIND, label="传阅", icon="toread", actions=circulation_work_actions,
                                perform=acknowledge_from_work_item))
