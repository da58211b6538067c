"""会议室预约 (docs/services.md 会议室预约), the 零跑动 办理类型 ``room``: the meetings app's rooms, its conflict checks
and its booking action. It lives in meetings/ (registered from MeetingsConfig.ready) because meetings already
depends on workflows/: workflows/ importing meetings would close a cycle (tests/test_architecture.py).

Nothing here decides whether a room is free: on submission the meetings selectors answer (``rooms_bookable_by``,
``room_conflicts``, half-open intervals), and at 办结 the approved application is booked through
``meetings.actions.check_create_meeting``, which locks the room row and checks again — so a slot taken while the
application waited refuses the final approval (409) and nothing is written; the approver then 退回补正.
A room that has its own 审批人 in meetings/ still waits for that person after the booking (its rule, not ours).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from meetings.actions import MeetingInput, check_create_meeting
from meetings.models import Meeting
from meetings.selectors import room_conflicts, rooms_bookable_by
from oa.models import Person
from oa.refusals import Refusal
from workflows.services.handlers import ServiceHandler, register_handler
from workflows.services.items import demo_affairs
from workflows.services.items.affairs_models import RoomRequest
from workflows.services.items.common import clean_text, datetime_field, refuse_bad_span, when

LONGEST = dt.timedelta(hours=24)


def form_fields(item, applicant, amending: bool) -> dict[str, forms.Field]:
    rooms = rooms_bookable_by(applicant) if applicant is not None else []
    return {
        "room": forms.TypedChoiceField(label="会议室", coerce=int, choices=[("", "请选择")] + [
            (r.pk, f"{r}（{r.capacity} 人{'，可视频' if r.video_capable else ''}）") for r in rooms]),
        "title": forms.CharField(label="会议名称", max_length=100),
        "start": datetime_field("开始时间"),
        "end": datetime_field("结束时间"),
        "attendees": forms.IntegerField(label="参会人数", min_value=1, max_value=1000),
        "purpose": forms.CharField(label="会议说明", max_length=500, required=False),
    }


def check(applicant: Person, item, extra: dict, application_id: int | None) -> dict[str, Any]:
    room = rooms_bookable_by(applicant).filter(pk=extra.get("room")).first() if extra.get("room") else None
    if room is None:
        raise Refusal("room_invalid", "请选择您可以预约的会议室。")
    title = clean_text(extra.get("title"), "会议名称", required=True, limit=100)
    start, end = extra.get("start"), extra.get("end")
    refuse_bad_span(start, end, longest=LONGEST, what="会议")
    attendees = extra.get("attendees")
    if not attendees or attendees < 1:
        raise Refusal("room_attendees_invalid", "请填写参会人数。")
    if attendees > room.capacity:
        raise Refusal("room_over_capacity", f"会议室 {room} 最多容纳 {room.capacity} 人，本次 {attendees} 人，请另选会议室。")
    conflicts = room_conflicts(room, start, end)
    if conflicts:
        raise Refusal("room_taken", "该时段会议室已被占用：" + "；".join(c.message for c in conflicts) + "。", status=409)
    return {"room_id": room.pk, "room": str(room), "title": title, "start": start.isoformat(), "end": end.isoformat(),
            "when": when(start, end), "attendees": attendees,
            "purpose": clean_text(extra.get("purpose"), "会议说明", required=False)}


def _store(application, extra: dict) -> None:
    form = application.form
    RoomRequest.objects.update_or_create(application=application, defaults={
        "room_id": form["room_id"], "title": form["title"], "start": dt.datetime.fromisoformat(form["start"]),
        "end": dt.datetime.fromisoformat(form["end"]), "attendees": form["attendees"]})


def finish(application) -> str:
    """Book through meetings' own action (room row locked, conflicts checked again); a clash refuses the step."""
    request = RoomRequest.objects.select_for_update().select_related("room").get(application=application)
    meeting = check_create_meeting(application.applicant, MeetingInput(
        title=request.title, start=request.start, end=request.end, mode=Meeting.Mode.OFFLINE, room=request.room,
        notes=application.form.get("purpose", ""), accept_person_conflicts=True))
    request.meeting = meeting
    request.save(update_fields=["meeting"])
    if meeting.status == Meeting.Status.PENDING:
        return f"已提交预约 {request.room} {when(request.start, request.end)}，待会议室管理员确认"
    return f"已预约 {request.room} {when(request.start, request.end)}（会议“{request.title}”已排入会议安排）"


def approver_notes(application) -> list[str]:
    request = RoomRequest.objects.filter(application=application).select_related("room").first()
    if request is None:
        return []
    conflicts = room_conflicts(request.room, request.start, request.end)
    if conflicts:
        return ["该时段会议室现已被占用：" + "；".join(c.message for c in conflicts) + "。同意将被拒绝，请退回补正。"]
    return [f"{request.room} 在 {when(request.start, request.end)} 目前空闲。"]


def record(application, user=None) -> RoomRequest | None:
    return RoomRequest.objects.filter(application=application).select_related("room", "meeting").first()


HANDLER = register_handler(ServiceHandler(
    key="room", label="会议室预约", fields=form_fields, clean=check, on_submit=_store, on_resubmit=_store,
    labels={"room": "会议室", "title": "会议名称", "when": "时间", "attendees": "参会人数", "purpose": "会议说明"},
    refusal_fields={"room_invalid": "room", "room_over_capacity": "attendees", "room_attendees_invalid": "attendees",
                    "room_taken": "start", "time_required": "start", "end_before_start": "end",
                    "start_in_past": "start", "span_too_long": "end", "field_required": "title",
                    "field_too_long": "title"},
    finish=finish, approver_notes=approver_notes, template="services/items/room.html", record=record,
    demo=demo_affairs.DEMO["room"],
))
