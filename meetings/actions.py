"""Writes of 会议 (docs/meetings.md). Every change runs in one transaction with its history row, its inbox rows
and its events (sent after commit), so a refusal leaves nothing behind.

Double booking cannot race: a booking locks its room row (SELECT … FOR UPDATE) before it looks for overlaps and
inserts, so two secretaries booking the same room queue on that lock on PostgreSQL; on the embedded SQLite every
write transaction is BEGIN IMMEDIATE (oa.settings), which serialises them the same way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import TypedDict

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from meetings.checkin import roster_changed
from meetings.models import (
    AgendaItem,
    AgendaMaterial,
    CalendarFeed,
    Invitation,
    Meeting,
    MeetingChange,
    MeetingUnit,
    ReminderSent,
    Room,
)
from meetings.selectors import (
    ACTIVE,
    Conflict,
    agency_ids_of,
    may_book_room,
    may_invite_directly,
    may_manage_meeting,
    person_conflicts,
    primary_agency,
    room_conflicts,
    suggest_slots,
    unit_contacts,
)
from meetings.video import schedule_video_room
from oa.actions.work import do_assign_work, do_close_work, do_move_work_items
from oa.events import Event, register_event_type, send_event_on_commit
from oa.models import Agency, Department, Person, WorkItem
from oa.refusals import Refusal
from oa.work import CARD_VIA, CardButton, WorkAction, WorkKind, register_work_kind, register_work_provider

INVITATION_KIND = "meeting_invitation"
SIGNUP_KIND = "meeting_signup"
APPROVAL_KIND = "meeting_approval"
TITLE_MAX = 200
REASON_MAX = 300
MAX_DURATION = dt.timedelta(hours=24)
MAX_REMINDER_MINUTES = 7 * 24 * 60
R = Invitation.Response


# --- events -------------------------------------------------------------------------------------------------


class MeetingChanged(TypedDict):
    """A meeting the recipient is invited to moved, changed place, or was cancelled (SEQUENCE as in its ICS)."""

    meeting_id: int
    start: str
    end: str
    place: str
    sequence: int
    status: str


class MeetingReplied(TypedDict):
    """An invitee answered (参加 / 请假 with reason / 委派 to a colleague); sent to the organiser."""

    meeting_id: int
    invitation_id: int
    person: str
    response: str
    reason: str
    delegate: str


class MeetingReminder(TypedDict):
    meeting_id: int
    start: str
    place: str
    minutes_before: int


class MeetingDecided(TypedDict):
    """The room's approver decided a booking; sent to the organiser."""

    meeting_id: int
    approved: bool
    by: str
    opinion: str


EVENT_TYPES = {
    "meeting.changed": MeetingChanged,
    "meeting.cancelled": MeetingChanged,
    "meeting.replied": MeetingReplied,
    "meeting.reminder": MeetingReminder,
    "meeting.decided": MeetingDecided,
}


def meeting_link(meeting: Meeting) -> str:
    return f"/meetings/{meeting.pk}/"


def _iso(value: dt.datetime) -> str:
    return timezone.localtime(value).isoformat()


def _when(meeting: Meeting) -> str:
    a, b = timezone.localtime(meeting.start), timezone.localtime(meeting.end)
    end = f"{b:%H:%M}" if a.date() == b.date() else f"{b:%m月%d日 %H:%M}"
    return f"{a:%m月%d日 %H:%M}–{end}"


def _changed_event(meeting: Meeting, kind: str = "meeting.changed") -> Event:
    payload: MeetingChanged = {"meeting_id": meeting.pk, "start": _iso(meeting.start), "end": _iso(meeting.end),
                               "place": meeting.place, "sequence": meeting.sequence, "status": meeting.status}
    verb = "会议取消" if kind == "meeting.cancelled" else "会议变更"
    summary = meeting.cancel_reason if kind == "meeting.cancelled" else f"{_when(meeting)} {meeting.place}"
    return Event(kind, f"{verb}：{meeting.title}", summary, meeting_link(meeting), dict(payload))


# --- input --------------------------------------------------------------------------------------------------


@dataclass
class AgendaInput:
    title: str
    presenter: Person | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None


@dataclass
class MeetingInput:
    title: str
    start: dt.datetime
    end: dt.datetime
    mode: str = Meeting.Mode.OFFLINE
    room: Room | None = None
    location: str = ""
    host: Person | None = None
    department: Department | None = None
    notes: str = ""
    participants: list[Person] = field(default_factory=list)
    observers: list[Person] = field(default_factory=list)  # 列席
    units: list[tuple[Agency, int | None]] = field(default_factory=list)  # cross-unit notice: (unit, 名额)
    agenda: list[AgendaInput] = field(default_factory=list)
    reminder_offsets: list[int] | None = None
    signup_deadline: dt.datetime | None = None
    accept_person_conflicts: bool = False  # the organiser saw the people's conflicts and keeps the time


class SchedulingConflict(Refusal):
    """The room or required people are taken; carries what clashes and free slots to offer instead."""

    def __init__(self, code: str, message: str, conflicts: list[Conflict],
                 suggestions: list[tuple[dt.datetime, dt.datetime]]) -> None:
        super().__init__(code, message, status=409)
        self.conflicts = conflicts
        self.suggestions = suggestions


def _clean(data: MeetingInput, organiser: Person, agency: Agency, *, meeting: Meeting | None) -> None:
    """Refuse bad input before anything is written (Chinese messages, stable codes)."""
    data.title = " ".join((data.title or "").split())
    if not data.title:
        raise Refusal("title_required", "请填写会议名称。")
    if len(data.title) > TITLE_MAX:
        raise Refusal("title_too_long", f"会议名称不能超过 {TITLE_MAX} 字。")
    if data.start is None or data.end is None:
        raise Refusal("time_required", "请填写开始时间和结束时间。")
    if data.end <= data.start:
        raise Refusal("end_before_start", "结束时间必须晚于开始时间。")
    if data.end - data.start > MAX_DURATION:
        raise Refusal("meeting_too_long", "一次会议不能超过 24 小时，多日会议请分场次安排。")
    moved = meeting is None or (data.start, data.end) != (meeting.start, meeting.end)
    if moved and data.start < timezone.now():
        raise Refusal("start_in_past", "开始时间已经过去，不能把会议安排在过去。")
    if data.mode not in Meeting.Mode.values:
        raise Refusal("mode_invalid", "会议形式无效。")
    data.location = (data.location or "").strip()[:200]
    if data.mode != Meeting.Mode.ONLINE and data.room is None and not data.location:
        raise Refusal("place_required", "线下或线上线下结合的会议，请选择会议室或填写地点。")
    if data.room is not None:
        if not data.room.is_active:
            raise Refusal("room_inactive", f"会议室 {data.room} 已停用。")
        if (meeting is None or meeting.room_id != data.room.pk) and not may_book_room(organiser, data.room):
            raise Refusal("room_not_bookable", f"您所在的单位不能预约会议室 {data.room}。", status=403)
        if data.mode != Meeting.Mode.OFFLINE and not data.room.video_capable:
            raise Refusal("room_no_video", f"会议室 {data.room} 没有视频会议设备，线上线下结合的会议请另选会议室。")
    if data.department is not None and data.department.agency_id != agency.pk:
        raise Refusal("department_other_agency", "承办部门须是主办机关的部门。")
    seen: set[int] = set()
    for person in [*data.participants, *data.observers]:
        if person.pk in seen:
            raise Refusal("invitee_twice", f"{person.name} 同时出现在参会和列席名单中，请只选一处。")
        seen.add(person.pk)
        if not person.is_active:
            raise Refusal("invitee_inactive", f"{person.name} 的账号已停用，不能邀请。")
        if not may_invite_directly(organiser, person):
            raise Refusal(
                "invitee_out_of_reach",
                f"{person.name} 不在您可直接邀请的范围（仅本单位人员）。跨单位参会请在“参会单位”中选择其单位，"
                "由该单位确定参会人员。", status=403)
    units = [a.pk for a, _ in data.units]
    if len(set(units)) != len(units):
        raise Refusal("unit_twice", "同一参会单位选了两次。")
    for unit_agency, quota in data.units:
        if quota is not None and quota < 1:
            raise Refusal("quota_invalid", f"{unit_agency.short_name} 的名额至少为 1 人。")
        if not unit_contacts(unit_agency):
            raise Refusal("unit_no_contact", f"{unit_agency.short_name} 没有办公室/文书或主要负责人，无法接收会议通知。")
    if data.room is not None:
        expected = len(seen | {organiser.pk} | ({data.host.pk} if data.host else set()))
        expected += sum(q or 1 for _, q in data.units)
        if expected > data.room.capacity:
            raise Refusal("room_over_capacity",
                          f"会议室 {data.room} 最多容纳 {data.room.capacity} 人，本次会议预计 {expected} 人，请另选会议室。")
    offsets = settings.OA_MEETING_REMINDERS if data.reminder_offsets is None else data.reminder_offsets
    if any(not isinstance(o, int) or o < 1 or o > MAX_REMINDER_MINUTES for o in offsets):
        raise Refusal("reminder_invalid", "提醒时间须为开会前 1 分钟到 7 天之间。")
    data.reminder_offsets = sorted(set(offsets), reverse=True)
    for item in data.agenda:
        item.title = " ".join((item.title or "").split())
        if not item.title:
            raise Refusal("agenda_title_required", "议题名称不能为空。")
        if (item.start is None) != (item.end is None):
            raise Refusal("agenda_time_incomplete", f"议题“{item.title}”请同时填写开始和结束时间。")
        if item.start is not None and not (data.start <= item.start < item.end <= data.end):
            raise Refusal("agenda_outside_meeting", f"议题“{item.title}”的时间须在会议时间之内，且结束晚于开始。")
    if data.signup_deadline is not None and data.signup_deadline > data.start:
        raise Refusal("signup_after_start", "报名截止时间不能晚于会议开始时间。")


def _required_ids(data: MeetingInput, organiser: Person) -> set[int]:
    ids = {p.pk for p in data.participants} | {organiser.pk}
    if data.host:
        ids.add(data.host.pk)
    return ids


def _check_conflicts(data: MeetingInput, organiser: Person, *, exclude_id: int | None,
                     people_ids: set[int] | None = None) -> None:
    """Called with the room row locked. The room is never double-booked; people's conflicts may be accepted."""
    room_hits = room_conflicts(data.room, data.start, data.end, exclude_id=exclude_id)
    ids = _required_ids(data, organiser) if people_ids is None else people_ids
    people_hits = [] if data.accept_person_conflicts else person_conflicts(ids, data.start, data.end,
                                                                          exclude_id=exclude_id)
    if not room_hits and not people_hits:
        return
    suggestions = suggest_slots(room=data.room, person_ids=ids, duration=data.end - data.start,
                                after=max(data.start, timezone.now()), exclude_id=exclude_id)
    hits = room_hits + people_hits
    if room_hits:
        raise SchedulingConflict("room_taken", "该时段会议室已被占用：" + "；".join(c.message for c in room_hits) + "。",
                                 hits, suggestions)
    raise SchedulingConflict(
        "participant_conflict",
        _people_heading(people_hits) + "；".join(c.message for c in people_hits) + "。可改到推荐时段，或确认“仍按此时间安排”。",
        hits, suggestions)


def _people_heading(hits: list[Conflict]) -> str:
    kinds = {c.kind for c in hits}
    if kinds == {"leave"}:
        return "以下人员在该时段已请假："
    return "以下人员在该时段另有会议或已请假：" if "leave" in kinds else "以下人员在该时段另有会议："


def _lock_room(room: Room | None) -> None:
    if room is not None:
        Room.objects.select_for_update().filter(pk=room.pk).first()


def _history(meeting: Meeting, by: Person | None, action: str, summary: str, changes: dict | None = None) -> None:
    MeetingChange.objects.create(meeting=meeting, at=timezone.now(), by=by, action=action, summary=summary[:300],
                                 changes=changes or {})


# --- inbox rows ---------------------------------------------------------------------------------------------


def invitation_ref(invitation: Invitation) -> str:
    return f"meeting.invitation:{invitation.pk}"


def unit_ref(unit: MeetingUnit) -> str:
    return f"meeting.unit:{unit.pk}"


def approval_ref(meeting: Meeting) -> str:
    return f"meeting.approval:{meeting.pk}"


def thread_of(meeting: Meeting) -> str:
    return f"meeting:{meeting.pk}"


def _pk_from(ref: str, prefix: str) -> int | None:
    head, _, pk = ref.partition(":")
    return int(pk) if head == prefix and pk.isdigit() else None


def _invitation_note(meeting: Meeting, invitation: Invitation) -> str:
    note = f"{_when(meeting)} {meeting.place}".strip()
    if meeting.mode != Meeting.Mode.OFFLINE:
        note += " · 可视频入会"
    if invitation.delegated_from_id:
        note = f"受 {invitation.delegated_from.person.name} 委派 · {note}"
    return note


def _assign_invitation(meeting: Meeting, invitation: Invitation) -> None:
    do_assign_work(
        kind=INVITATION_KIND, ref=invitation_ref(invitation), box=WorkItem.Box.TODO, owner=invitation.person,
        title=meeting.title, initiator=meeting.organiser, agency=meeting.agency,
        step="列席邀请" if invitation.role == Invitation.Role.OBSERVER else "会议邀请",
        deadline=meeting.start, link=_invitation_link(meeting), note=_invitation_note(meeting, invitation),
        thread=thread_of(meeting),
    )


def _invitation_link(meeting: Meeting) -> str:
    # An online/hybrid meeting's 待办 opens the page at its video card (进入视频会议, meetings.video).
    return meeting_link(meeting) + ("#video" if meeting.mode != Meeting.Mode.OFFLINE else "")


def _assign_signup(meeting: Meeting, unit: MeetingUnit) -> None:
    for contact in unit.contacts.all():
        do_assign_work(
            kind=SIGNUP_KIND, ref=unit_ref(unit), box=WorkItem.Box.TODO, owner=contact, title=meeting.title,
            initiator=meeting.organiser, agency=meeting.agency, step="会议报名",
            deadline=meeting.signup_deadline or meeting.start, link=f"/meetings/{meeting.pk}/units/{unit.pk}/",
            note=f"请确定本单位参会人员{f'（名额 {unit.quota} 人）' if unit.quota else ''} · {_when(meeting)}",
            thread=thread_of(meeting),
        )


def _publish(meeting: Meeting) -> None:
    """The meeting is on: every invitee still expected gets the 待办, every unit its 报名 item."""
    for invitation in meeting.invitations.filter(response=R.PENDING).select_related("person", "delegated_from__person"):
        _assign_invitation(meeting, invitation)
    for unit in meeting.units.filter(named_at__isnull=True):
        _assign_signup(meeting, unit)


def _refresh_open_items(meeting: Meeting) -> None:
    """Time or place moved: the open 待办 rows show the new deadline and note (no second notification)."""
    for invitation in meeting.invitations.filter(response=R.PENDING).select_related("person", "delegated_from__person"):
        if WorkItem.objects.filter(ref=invitation_ref(invitation), state=WorkItem.State.OPEN).exists():
            _assign_invitation(meeting, invitation)


# --- create / change / cancel -------------------------------------------------------------------------------


def _write_agenda(meeting: Meeting, agenda: list[AgendaInput]) -> None:
    keep = list(meeting.agenda.all().order_by("position"))
    for position, item in enumerate(agenda, start=1):
        row = keep[position - 1] if position <= len(keep) else AgendaItem(meeting=meeting, position=position)
        row.title, row.presenter, row.start, row.end = item.title, item.presenter, item.start, item.end
        row.save()
    for row in keep[len(agenda):]:
        if row.materials.exists():
            raise Refusal("agenda_has_materials", f"议题“{row.title}”已有材料，请先删除材料再删除议题。", status=409)
        row.delete()


def _add_units(meeting: Meeting, units: list[tuple[Agency, int | None]]) -> list[MeetingUnit]:
    created = []
    for agency, quota in units:
        unit = MeetingUnit.objects.create(meeting=meeting, agency=agency, quota=quota)
        unit.contacts.set(unit_contacts(agency))
        created.append(unit)
    return created


def check_create_meeting(organiser: Person, data: MeetingInput) -> Meeting:
    agency = primary_agency(organiser)
    if agency is None:
        raise Refusal("organiser_no_post", "您没有任职单位，不能组织会议。", status=403)
    _clean(data, organiser, agency, meeting=None)
    with transaction.atomic():
        _lock_room(data.room)
        _check_conflicts(data, organiser, exclude_id=None)
        pending = data.room is not None and data.room.requires_approval
        meeting = Meeting.objects.create(
            title=data.title, agency=agency, department=data.department, organiser=organiser, host=data.host,
            room=data.room, location=data.location, mode=data.mode, start=data.start, end=data.end,
            notes=data.notes.strip(), reminder_offsets=data.reminder_offsets, signup_deadline=data.signup_deadline,
            status=Meeting.Status.PENDING if pending else Meeting.Status.SCHEDULED,
        )
        for person in data.participants:
            Invitation.objects.create(meeting=meeting, person=person, role=Invitation.Role.PARTICIPANT)
        for person in data.observers:
            Invitation.objects.create(meeting=meeting, person=person, role=Invitation.Role.OBSERVER, required=False)
        _add_units(meeting, data.units)
        _write_agenda(meeting, data.agenda)
        _history(meeting, organiser, "create", f"创建会议：{_when(meeting)} {meeting.place}", {
            "participants": [p.pk for p in data.participants], "observers": [p.pk for p in data.observers],
            "units": [a.pk for a, _ in data.units], "room": data.room.pk if data.room else None,
            "accepted_person_conflicts": data.accept_person_conflicts,
        })
        if pending:
            from meetings.flows import (
                RoomApprovalFlow,  # the approval is a viewflow process (meetings/flows.py)
            )

            RoomApprovalFlow.start.run(
                _meeting=meeting, meeting_id=meeting.pk, approver_id=data.room.approver_id, title=meeting.title,
                initiator_id=organiser.pk, agency_id=agency.pk, deadline=meeting.start.isoformat())
        else:
            _publish(meeting)
        schedule_video_room(meeting)
    return meeting


def check_update_meeting(user: Person, meeting: Meeting, data: MeetingInput) -> Meeting:
    """Change a meeting: people added get invitations, people removed are told, a new time or place raises the
    ICS SEQUENCE and notifies everyone still expected; reminders are re-armed for a new time."""
    if not may_manage_meeting(user, meeting):
        raise Refusal("not_organiser", "只有会议组织人或本机关办公室可以修改会议。", status=403)
    if not meeting.is_active:
        raise Refusal("meeting_closed", f"会议{meeting.get_status_display()}，不能修改。", status=409)
    if meeting.end <= timezone.now():
        raise Refusal("meeting_over", "会议已结束，不能修改。", status=409)
    organiser = meeting.organiser
    _clean(data, organiser, meeting.agency, meeting=meeting)
    if data.room is not None and data.room.pk != meeting.room_id and data.room.requires_approval:
        raise Refusal("approval_room_change", f"会议室 {data.room} 需要审批，请取消本会议后重新预约。", status=409)
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
        _lock_room(data.room)
        current = {i.person_id: i for i in meeting.invitations.select_related("person")}
        wanted = {p.pk: (p, Invitation.Role.PARTICIPANT) for p in data.participants}
        wanted.update({p.pk: (p, Invitation.Role.OBSERVER) for p in data.observers})
        # Already-named unit attendees and delegates stay: the organiser's list covers direct invitations only.
        kept_indirect = {pk for pk, i in current.items() if (i.unit_id or i.delegated_from_id) and i.attending}
        required = {pk for pk, (_, role) in wanted.items() if role == Invitation.Role.PARTICIPANT}
        required |= {organiser.pk} | ({data.host.pk} if data.host else set())
        required |= {pk for pk in kept_indirect if current[pk].required}
        _check_conflicts(data, organiser, exclude_id=meeting.pk, people_ids=required)
        before = {"start": meeting.start, "end": meeting.end, "room": meeting.room_id, "location": meeting.location,
                  "mode": meeting.mode, "title": meeting.title}
        meeting.title, meeting.start, meeting.end = data.title, data.start, data.end
        meeting.room, meeting.location, meeting.mode = data.room, data.location, data.mode
        meeting.host, meeting.department, meeting.notes = data.host, data.department, data.notes.strip()
        meeting.reminder_offsets, meeting.signup_deadline = data.reminder_offsets, data.signup_deadline
        after = {"start": meeting.start, "end": meeting.end, "room": meeting.room_id, "location": meeting.location,
                 "mode": meeting.mode, "title": meeting.title}
        visible_change = before != after
        if visible_change:
            meeting.sequence += 1
        meeting.save()
        added, removed, recast = [], [], []
        for pk, (person, role) in wanted.items():
            invitation = current.get(pk)
            if invitation is None:
                invitation = Invitation.objects.create(meeting=meeting, person=person, role=role,
                                                       required=role == Invitation.Role.PARTICIPANT)
                added.append(invitation)
            elif invitation.response == R.WITHDRAWN:
                invitation.response, invitation.role = R.PENDING, role
                invitation.required = role == Invitation.Role.PARTICIPANT
                invitation.save(update_fields=["response", "role", "required"])
                added.append(invitation)
            elif invitation.role != role:
                invitation.role, invitation.required = role, role == Invitation.Role.PARTICIPANT
                invitation.save(update_fields=["role", "required"])
                recast.append(pk)
        for pk, invitation in current.items():
            if pk not in wanted and pk not in kept_indirect and invitation.response != R.WITHDRAWN \
                    and not invitation.unit_id and not invitation.delegated_from_id:
                invitation.response = R.WITHDRAWN
                invitation.save(update_fields=["response"])
                do_close_work(ref=invitation_ref(invitation), state=WorkItem.State.CANCELLED, by=user,
                              note="已不在参会名单中")
                removed.append(invitation)
        existing_units = {u.agency_id: u for u in meeting.units.all()}
        new_units = [(a, q) for a, q in data.units if a.pk not in existing_units]
        for agency, quota in data.units:
            unit = existing_units.get(agency.pk)
            if unit is not None and unit.quota != quota:
                unit.quota = quota
                unit.save(update_fields=["quota"])
        dropped_units = [u for a, u in existing_units.items() if a not in {x.pk for x, _ in data.units}]
        for unit in dropped_units:
            for invitation in unit.attendees.exclude(response=R.WITHDRAWN):
                do_close_work(ref=invitation_ref(invitation), state=WorkItem.State.CANCELLED, by=user,
                              note="所在单位已不在参会单位中")
                removed.append(invitation)
            do_close_work(ref=unit_ref(unit), state=WorkItem.State.CANCELLED, by=user, note="已不在参会单位中")
            Invitation.objects.filter(unit=unit).exclude(response=R.WITHDRAWN).update(response=R.WITHDRAWN)
            # The unit row goes; its former attendees keep their (withdrawn) rows for the record.
            Invitation.objects.filter(unit=unit).update(unit=None)
            unit.delete()
        created_units = _add_units(meeting, new_units)
        roster_changed(meeting, [i.person_id for i in added + removed] + recast)
        _write_agenda(meeting, data.agenda)
        if visible_change and (before["start"], before["end"]) != (after["start"], after["end"]):
            ReminderSent.objects.filter(invitation__meeting=meeting).delete()  # re-armed for the new time
        _history(meeting, user, "update", "修改会议" + (f"：{_when(meeting)} {meeting.place}" if visible_change else ""), {
            "before": {k: str(v) for k, v in before.items()}, "after": {k: str(v) for k, v in after.items()},
            "added": [i.person_id for i in added], "removed": [i.person_id for i in removed],
            "units_added": [u.agency_id for u in created_units], "units_removed": [u.agency_id for u in dropped_units],
        })
        if meeting.status == Meeting.Status.SCHEDULED:
            for invitation in added:
                _assign_invitation(meeting, invitation)
            for unit in created_units:
                _assign_signup(meeting, unit)
            if visible_change:
                _refresh_open_items(meeting)
                told = set(meeting.invitations.filter(response__in=[R.PENDING, R.ACCEPTED])
                           .exclude(pk__in=[i.pk for i in added]).values_list("person_id", flat=True))
                if meeting.host_id:
                    told.add(meeting.host_id)
                told.discard(user.pk)
                send_event_on_commit(_changed_event(meeting), sorted(told))
            if removed:
                send_event_on_commit(_changed_event(meeting, "meeting.cancelled"),
                                     sorted({i.person_id for i in removed}))
        schedule_video_room(meeting)  # became online/hybrid: a room is made (going offline: the job ends it)
    return meeting


def check_cancel_meeting(user: Person, meeting: Meeting, reason: str) -> Meeting:
    if not may_manage_meeting(user, meeting):
        raise Refusal("not_organiser", "只有会议组织人或本机关办公室可以取消会议。", status=403)
    reason = " ".join((reason or "").split())
    if not reason:
        raise Refusal("cancel_reason_required", "请填写取消原因，它会通知到每位参会人员。")
    if len(reason) > REASON_MAX:
        raise Refusal("reason_too_long", f"取消原因不能超过 {REASON_MAX} 字。")
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
        if not meeting.is_active:
            raise Refusal("meeting_closed", f"会议{meeting.get_status_display()}，无需取消。", status=409)
        meeting.status, meeting.cancel_reason = Meeting.Status.CANCELLED, reason
        meeting.sequence += 1
        meeting.save(update_fields=["status", "cancel_reason", "sequence", "updated_at"])
        invitations = list(meeting.invitations.exclude(response=R.WITHDRAWN))
        for invitation in invitations:
            do_close_work(ref=invitation_ref(invitation), state=WorkItem.State.CANCELLED, by=user, note="会议已取消")
        for unit in meeting.units.all():
            do_close_work(ref=unit_ref(unit), state=WorkItem.State.CANCELLED, by=user, note="会议已取消")
        _cancel_approval(meeting)
        _history(meeting, user, "cancel", f"取消会议：{reason}")
        told = {i.person_id for i in invitations} | ({meeting.host_id} if meeting.host_id else set())
        told.discard(user.pk)
        send_event_on_commit(_changed_event(meeting, "meeting.cancelled"), sorted(told))
    return meeting


# --- room approval ------------------------------------------------------------------------------------------


def _approval_tasks(meeting: Meeting):
    """The open 审批 task(s) of the meeting's RoomApprovalFlow process (meetings/flows.py)."""
    from viewflow.workflow.models import Task
    from viewflow.workflow.status import STATUS

    from meetings.flows import RoomApprovalFlow

    return Task.objects.filter(process__flow_class=RoomApprovalFlow, process__data__meeting_id=meeting.pk,
                               flow_task=RoomApprovalFlow.approve,
                               status__in=[STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED])


def _cancel_approval(meeting: Meeting) -> None:
    """The meeting was cancelled while waiting: the approval process is cancelled, its 待办 withdrawn."""
    from meetings.flows import RoomApprovalFlow

    for task in _approval_tasks(meeting).select_related("process"):
        RoomApprovalFlow.instance.cancel(task.process)
    do_close_work(ref=approval_ref(meeting), state=WorkItem.State.CANCELLED, note="会议已取消")  # pre-flow rows


def may_decide_approval(user: Person, meeting: Meeting) -> bool:
    if meeting.status != Meeting.Status.PENDING:
        return False
    return any(task.owner_id == user.pk for task in _approval_tasks(meeting)) or WorkItem.objects.filter(
        ref=approval_ref(meeting), owner=user, state=WorkItem.State.OPEN).exists()


def check_decide_room_booking(user: Person, meeting: Meeting, *, approve: bool, opinion: str = "") -> Meeting:
    opinion = " ".join((opinion or "").split())[:REASON_MAX]
    if not approve and not opinion:
        raise Refusal("opinion_required", "不同意时请填写理由。")
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
        if not may_decide_approval(user, meeting):
            raise Refusal("not_approver", "该会议室预约不在您的待审批事项中。", status=403)
        meeting.status = Meeting.Status.SCHEDULED if approve else Meeting.Status.REJECTED
        meeting.save(update_fields=["status", "updated_at"])
        task = _approval_tasks(meeting).filter(owner=user).first()
        if task is not None:
            # Complete the viewflow task under its process lock; workflows.inbox closes its 待办 row.
            with task.activation() as activation:
                if activation.task.status == "ASSIGNED":
                    activation.start(None)
                activation.task.data = {**(activation.task.data or {}), "outcome": "agree" if approve else "veto",
                                        "opinion": opinion}
                activation.execute()
        do_close_work(ref=approval_ref(meeting), by=user, note="同意" if approve else f"不同意：{opinion}")
        _history(meeting, user, "approve" if approve else "reject",
                 f"会议室审批{'同意' if approve else '不同意'}{'：' + opinion if opinion else ''}")
        if approve:
            _publish(meeting)
        payload: MeetingDecided = {"meeting_id": meeting.pk, "approved": approve, "by": user.name, "opinion": opinion}
        send_event_on_commit(Event("meeting.decided", f"会议室{'已批准' if approve else '未获批准'}：{meeting.title}",
                                   opinion, meeting_link(meeting), dict(payload)), [meeting.organiser_id])
    return meeting


# --- replies ------------------------------------------------------------------------------------------------


def check_respond(user: Person, meeting: Meeting, response: str, *, reason: str = "",
                  delegate: Person | None = None) -> Invitation:
    """参加 / 请假 (with a reason) / 委派 (to a colleague of the same unit, who is invited in one's place)."""
    if response not in (R.ACCEPTED, R.LEAVE, R.DELEGATED):
        raise Refusal("response_invalid", "回复只能是参加、请假或委派。")
    reason = " ".join((reason or "").split())
    if len(reason) > REASON_MAX:
        raise Refusal("reason_too_long", f"事由不能超过 {REASON_MAX} 字。")
    if response == R.LEAVE and not reason:
        raise Refusal("leave_reason_required", "请假须填写事由，组织人会看到。")
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
        invitation = (Invitation.objects.select_for_update().select_related("person")
                      .filter(meeting=meeting, person=user).first())
        if invitation is None or invitation.response == R.WITHDRAWN:
            raise Refusal("not_invited", "您不在本次会议的邀请名单中。", status=403)
        if meeting.status != Meeting.Status.SCHEDULED:
            raise Refusal("meeting_not_open", f"会议{meeting.get_status_display()}，不能回复。", status=409)
        if meeting.end <= timezone.now():
            raise Refusal("meeting_over", "会议已结束，不能再回复。", status=409)
        if invitation.response == R.DELEGATED:
            raise Refusal("already_delegated", f"您已委派 {invitation.delegate.name} 参会，不能再回复。", status=409)
        new_invitation = None
        if response == R.DELEGATED:
            if delegate is None:
                raise Refusal("delegate_required", "请选择被委派的同事。")
            if delegate.pk == user.pk:
                raise Refusal("delegate_self", "不能委派给自己。")
            if not delegate.is_active:
                raise Refusal("delegate_inactive", f"{delegate.name} 的账号已停用。")
            if not (agency_ids_of(user) & agency_ids_of(delegate)):
                raise Refusal("delegate_out_of_unit", f"{delegate.name} 不是您本单位的同事，只能委派本单位人员参会。",
                              status=403)
            taken = Invitation.objects.filter(meeting=meeting, person=delegate).exclude(response=R.WITHDRAWN).first()
            if taken is not None:
                raise Refusal("delegate_already_invited", f"{delegate.name} 已在本次会议的名单中。", status=409)
            withdrawn = Invitation.objects.filter(meeting=meeting, person=delegate).first()
            if withdrawn is not None:
                withdrawn.delete()  # a former withdrawn row of the delegate makes way for the delegated one
            new_invitation = Invitation.objects.create(
                meeting=meeting, person=delegate, role=invitation.role, required=invitation.required,
                unit=invitation.unit, delegated_from=invitation)
        invitation.response, invitation.reason = response, reason if response != R.ACCEPTED else ""
        invitation.delegate = delegate if response == R.DELEGATED else None
        invitation.responded_at = timezone.now()
        invitation.save(update_fields=["response", "reason", "delegate", "responded_at"])
        label = {R.ACCEPTED: "参加", R.LEAVE: "请假", R.DELEGATED: "委派"}[response]
        roster_changed(meeting, [user.pk] + ([delegate.pk] if new_invitation is not None else []))
        do_close_work(ref=invitation_ref(invitation), by=user, note=label)
        if new_invitation is not None:
            _assign_invitation(meeting, new_invitation)
        detail = reason if response == R.LEAVE else (f"委派 {delegate.name}" if delegate else "")
        _history(meeting, user, f"reply.{response}", f"{user.name} 回复：{label}{'，' + detail if detail else ''}",
                 {"invitation": invitation.pk, "delegate": delegate.pk if delegate else None})
        payload: MeetingReplied = {"meeting_id": meeting.pk, "invitation_id": invitation.pk, "person": user.name,
                                   "response": response, "reason": reason,
                                   "delegate": delegate.name if delegate and response == R.DELEGATED else ""}
        if meeting.organiser_id != user.pk:
            send_event_on_commit(Event("meeting.replied", f"{user.name} {label}：{meeting.title}", detail,
                                       meeting_link(meeting), dict(payload)), [meeting.organiser_id])
    return invitation


# --- cross-unit sign-up -------------------------------------------------------------------------------------


def check_name_unit_attendees(user: Person, unit: MeetingUnit, people: list[Person]) -> list[Invitation]:
    """The unit's contact names (or re-names) its attendees; each gets an invitation. Re-naming withdraws those
    no longer named (they are told) and keeps the replies of those still named."""
    with transaction.atomic():
        unit = MeetingUnit.objects.select_for_update().select_related("meeting", "agency").get(pk=unit.pk)
        meeting = unit.meeting
        if not unit.contacts.filter(pk=user.pk).exists():
            raise Refusal("not_unit_contact", "您不是该单位的报名联系人。", status=403)
        if meeting.status not in ACTIVE:
            raise Refusal("meeting_not_open", f"会议{meeting.get_status_display()}，不能报名。", status=409)
        now = timezone.now()
        if meeting.signup_deadline and now > meeting.signup_deadline:
            raise Refusal("signup_closed", "报名已截止，请直接联系会议组织人。", status=409)
        if meeting.start <= now:
            raise Refusal("meeting_started", "会议已开始，不能再报名。", status=409)
        if not people:
            raise Refusal("attendees_required", "请至少确定一名参会人员。")
        ids = {p.pk for p in people}
        if len(ids) != len(people):
            raise Refusal("attendee_twice", "参会人员有重复。")
        if unit.quota is not None and len(ids) > unit.quota:
            raise Refusal("over_quota", f"本单位名额为 {unit.quota} 人，已选 {len(ids)} 人。")
        for person in people:
            if unit.agency_id not in agency_ids_of(person) or not person.is_active:
                raise Refusal("attendee_other_unit", f"{person.name} 不是{unit.agency.short_name}的在职人员。",
                              status=403)
        if meeting.room is not None:
            others = meeting.invitations.exclude(response=R.WITHDRAWN).exclude(unit=unit).count()
            if others + len(ids) + 1 > meeting.room.capacity:
                raise Refusal("room_over_capacity", f"会议室 {meeting.room} 最多容纳 {meeting.room.capacity} 人，"
                                                    "名单已满，请与组织人联系。", status=409)
        existing = {i.person_id: i for i in Invitation.objects.filter(meeting=meeting, person_id__in=ids)}
        for person in people:
            other = existing.get(person.pk)
            if other is not None and other.unit_id != unit.pk and other.response != R.WITHDRAWN:
                raise Refusal("attendee_already_invited", f"{person.name} 已在本次会议的名单中。", status=409)
        named: list[Invitation] = []
        for person in people:
            invitation = existing.get(person.pk)
            if invitation is None:
                invitation = Invitation.objects.create(meeting=meeting, person=person, unit=unit)
                named.append(invitation)
            elif invitation.response == R.WITHDRAWN:
                invitation.response, invitation.unit = R.PENDING, unit
                invitation.save(update_fields=["response", "unit"])
                named.append(invitation)
        dropped = list(unit.attendees.exclude(person_id__in=ids).exclude(response=R.WITHDRAWN)
                       .filter(delegated_from__isnull=True))
        for invitation in dropped:
            invitation.response = R.WITHDRAWN
            invitation.save(update_fields=["response"])
            do_close_work(ref=invitation_ref(invitation), state=WorkItem.State.CANCELLED, by=user,
                          note="单位已调整参会人员")
        roster_changed(meeting, [i.person_id for i in named + dropped])
        unit.named_at, unit.named_by = now, user
        unit.save(update_fields=["named_at", "named_by"])
        do_close_work(ref=unit_ref(unit), by=user, note=f"已报名 {len(ids)} 人")
        if meeting.status == Meeting.Status.SCHEDULED:
            for invitation in named:
                _assign_invitation(meeting, invitation)
            if dropped:
                send_event_on_commit(_changed_event(meeting, "meeting.cancelled"), [i.person_id for i in dropped])
        _history(meeting, user, "unit.named", f"{unit.agency.short_name} 报名 {len(ids)} 人",
                 {"unit": unit.pk, "people": sorted(ids), "withdrawn": [i.person_id for i in dropped]})
    return named


# --- materials ----------------------------------------------------------------------------------------------


def check_add_material(user: Person, item: AgendaItem, uploaded) -> AgendaMaterial:
    """A file for a 议题: size, type by content (not by name) and readability, as for a 公文's 附件."""
    from documents.actions.attachments import clean_file_name
    from documents.uploads import check_file_type, extract_text, read_upload

    meeting = item.meeting
    if not may_manage_meeting(user, meeting) and item.presenter_id != user.pk:
        raise Refusal("not_allowed", "只有组织人、本机关办公室或该议题的汇报人可以上传材料。", status=403)
    if uploaded is None:
        raise Refusal("file_required", "请选择要上传的文件。")
    name = clean_file_name(getattr(uploaded, "name", ""))
    if not name:
        raise Refusal("file_name_required", "文件缺少文件名。")
    data = read_upload(uploaded)
    kind = check_file_type(data, name)
    extract_text(data, kind)  # proves it opens (pdf_unreadable, docx_unreadable …)
    stored = None
    try:
        with transaction.atomic():
            material = AgendaMaterial(item=item, name=name, content_type=kind.mime, size=len(data),
                                      sha256=hashlib.sha256(data).hexdigest(), uploaded_by=user)
            material.file.save(name, ContentFile(data), save=False)
            stored = material.file.name
            material.save()
            _history(meeting, user, "material.add", f"议题“{item.title}”上传材料 {name}", {"material": material.pk})
    except BaseException:
        if stored:
            material.file.storage.delete(stored)
        raise
    return material


# --- reminders (the periodic job meetings.send_reminders) ---------------------------------------------------


def do_send_due_reminders(now: dt.datetime | None = None) -> int:
    """Remind everyone still expected at a meeting whose reminder offsets have come due. Each (invitation,
    offset) is claimed by inserting its ReminderSent row: the unique constraint makes a second run, or a second
    worker, skip it, so each reminder goes out exactly once. Offsets that came due together (a meeting booked
    an hour ahead has its 1-day reminder already due) send one reminder, the nearest. Returns how many sent."""
    now = now or timezone.now()
    horizon = now + dt.timedelta(minutes=MAX_REMINDER_MINUTES)
    sent = 0
    meetings = Meeting.objects.filter(status=Meeting.Status.SCHEDULED, start__gt=now, start__lte=horizon)
    for meeting in meetings.select_related("room"):
        due = [o for o in meeting.reminder_offsets if meeting.start - dt.timedelta(minutes=o) <= now]
        if not due:
            continue
        invitations = list(meeting.invitations.filter(response__in=[R.PENDING, R.ACCEPTED]))
        done = set(ReminderSent.objects.filter(invitation__in=invitations).values_list("invitation_id",
                                                                                        "offset_minutes"))
        for invitation in invitations:
            new = [o for o in due if (invitation.pk, o) not in done]
            if not new:
                continue
            nearest = min(new)
            try:
                with transaction.atomic():
                    ReminderSent.objects.bulk_create([
                        ReminderSent(invitation=invitation, offset_minutes=o, sent_at=now, notified=o == nearest)
                        for o in new])
                    minutes = max(1, int((meeting.start - now).total_seconds() // 60))
                    payload: MeetingReminder = {"meeting_id": meeting.pk, "start": _iso(meeting.start),
                                                "place": meeting.place, "minutes_before": nearest}
                    item = WorkItem.objects.filter(ref=invitation_ref(invitation), owner_id=invitation.person_id).first()
                    send_event_on_commit(
                        Event("meeting.reminder", f"会议提醒：{meeting.title}",
                              f"{_in_words(minutes)}后开始 · {_when(meeting)} {meeting.place}",
                              meeting_link(meeting), dict(payload)),
                        [invitation.person_id], work_item=item)
            except IntegrityError:
                continue  # another run claimed it first
            sent += 1
    return sent


def _in_words(minutes: int) -> str:
    if minutes >= 1440 and minutes % 1440 == 0:
        return f"{minutes // 1440} 天"
    if minutes >= 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} 小时" + (f" {rest} 分钟" if rest else "")
    return f"{minutes} 分钟"


# --- ICS subscription ---------------------------------------------------------------------------------------


def feed_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def do_new_calendar_feed(user: Person) -> str:
    """A new subscription token (the old URL stops working). Returned once; only its digest is kept."""
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        CalendarFeed.objects.filter(person=user).delete()
        CalendarFeed.objects.create(person=user, token_sha256=feed_digest(token))
    return token


# --- inbox kinds and 工作交接 ---------------------------------------------------------------------------------


ACCEPT = WorkAction(key="accept", label="参加", style="primary")
LEAVE = WorkAction(key="leave", label="请假", style="secondary", needs_opinion=True)


def _invitation_actions(item: WorkItem, user: Person) -> list[WorkAction]:
    return [ACCEPT, LEAVE]  # 委派 needs a colleague picked: it is on the meeting page the item links to


def _perform_invitation(user: Person, item: WorkItem, action_key: str, data: dict) -> None:
    pk = _pk_from(item.ref, "meeting.invitation")
    invitation = Invitation.objects.select_related("meeting").filter(pk=pk).first() if pk else None
    if invitation is None or action_key not in ("accept", "leave"):
        raise ValueError(f"meeting invitation cannot {action_key!r} {item.ref}")
    if data.get("via") == CARD_VIA:
        meeting = invitation.meeting
        if meeting.status == Meeting.Status.CANCELLED:
            raise Refusal("meeting_not_open", "会议已取消，无需回复。", status=409)
        if timezone.now() >= meeting.start:
            # A press on a card read hours ago is stale by now: the page shows what is current (签到, 视频).
            raise Refusal("meeting_started", "会议已开始，卡片上不能再回复，请打开会议页。", status=409)
    check_respond(user, invitation.meeting, R.ACCEPTED if action_key == "accept" else R.LEAVE,
                  reason=str(data.get("opinion") or ""))


def _invitation_card_buttons(item: WorkItem) -> list[CardButton]:
    """粤政易 card (docs/meetings.md 移动平台卡片): 参加 runs on the card; 请假 (a reason) and 委派 (a colleague)
    need input, so they open the meeting page's reply form."""
    page = item.link.split("#", 1)[0]
    return [CardButton("accept", "参加", primary=True),
            CardButton("leave", "请假", link=f"{page}?reply=leave#reply"),
            CardButton("delegate", "委派", link=f"{page}?reply=delegated#reply")]


CARD_ANSWERS = {"参加": "已回复：参加", "请假": "已回复：请假", "委派": "已回复：委派他人参会"}


def _invitation_card_answer(item: WorkItem) -> str:
    """Only the kind of answer, never the 请假 reason (docs/wecom.md: cards carry no opinions)."""
    if item.state == WorkItem.State.CANCELLED:
        return "已撤销：会议已取消" if item.note == "会议已取消" else "已撤销：邀请已变更"
    return CARD_ANSWERS.get(item.note, "已回复")


APPROVE = WorkAction(key="approve", label="同意", style="primary")
REJECT = WorkAction(key="reject", label="不同意", style="danger", needs_opinion=True)


def _perform_approval(user: Person, item: WorkItem, action_key: str, data: dict) -> None:
    meeting = Meeting.objects.filter(pk=_pk_from(item.ref, "meeting.approval") or 0).first()
    if meeting is None or action_key not in ("approve", "reject"):
        raise ValueError(f"meeting approval cannot {action_key!r} {item.ref}")
    check_decide_room_booking(user, meeting, approve=action_key == "approve", opinion=str(data.get("opinion") or ""))


def _no_actions(item: WorkItem, user: Person) -> list[WorkAction]:
    return []  # 报名 names people: done on its page


def _perform_nothing(user: Person, item: WorkItem, action_key: str, data: dict) -> None:
    raise ValueError(f"meeting sign-up has no inbox action {action_key!r}")


class MeetingWorkProvider:
    """工作交接: a leaver's open invitations, sign-up and approval items pass to the successor."""

    kind = INVITATION_KIND
    label = "会议邀请、报名与会议室审批"
    kinds = [INVITATION_KIND, SIGNUP_KIND, APPROVAL_KIND]

    def count_open(self, person: Person) -> int:
        return WorkItem.objects.filter(owner=person, kind__in=self.kinds, state=WorkItem.State.OPEN).count()

    def move_open(self, source: Person, target: Person) -> int:
        with transaction.atomic():
            items = list(WorkItem.objects.filter(owner=source, kind__in=self.kinds, state=WorkItem.State.OPEN))
            for item in items:
                if item.kind == INVITATION_KIND:
                    invitation = Invitation.objects.select_for_update().filter(
                        pk=_pk_from(item.ref, "meeting.invitation") or 0).first()
                    if invitation is None:
                        continue
                    if Invitation.objects.filter(meeting_id=invitation.meeting_id, person=target).exists():
                        # The successor is invited already: the leaver's seat is handed over as a 委派.
                        invitation.response, invitation.delegate = R.DELEGATED, target
                        invitation.responded_at = timezone.now()
                        invitation.save(update_fields=["response", "delegate", "responded_at"])
                        do_close_work(ref=item.ref, owner=source, state=WorkItem.State.CANCELLED, note="工作交接")
                        continue
                    invitation.person = target
                    invitation.save(update_fields=["person"])
                    _history(invitation.meeting, None, "handover", f"工作交接：{source.name} 的邀请转给 {target.name}")
                elif item.kind == SIGNUP_KIND:
                    unit = MeetingUnit.objects.filter(pk=_pk_from(item.ref, "meeting.unit") or 0).first()
                    if unit is not None:
                        unit.contacts.remove(source)
                        unit.contacts.add(target)
            return do_move_work_items(source, target, kinds=self.kinds)


def connect() -> None:
    """From MeetingsConfig.ready(): event types, the three inbox kinds and the handover provider."""
    for event_type, payload in EVENT_TYPES.items():
        register_event_type(event_type, payload)
    register_work_kind(WorkKind(key=INVITATION_KIND, label="会议邀请", icon="calendar",
                                actions=_invitation_actions, perform=_perform_invitation,
                                card_buttons=_invitation_card_buttons, card_answer=_invitation_card_answer))
    register_work_kind(WorkKind(key=SIGNUP_KIND, label="会议报名", icon="calendar",
                                actions=_no_actions, perform=_perform_nothing))
    register_work_kind(WorkKind(key=APPROVAL_KIND, label="会议室审批", icon="calendar",
                                actions=lambda item, user: [APPROVE, REJECT], perform=_perform_approval))
    register_work_provider(MeetingWorkProvider())
