"""Pages of 议定事项 and 纪要 (meetings/minutes.py): thin — parse, call one action, redirect to the meeting page."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path

from meetings.guards import meeting_post
from meetings.minutes import (
    DecisionInput,
    check_delete_decision,
    check_draft_minutes,
    check_record_decision,
    check_send_minutes,
)
from meetings.models import AgendaItem, Decision, Meeting
from oa.models import Agency
from oa.refusals import Refusal


def _back(meeting_id: int, anchor: str) -> HttpResponse:
    response = redirect("meetings:detail", meeting_id)
    response["Location"] += f"#{anchor}"
    return response


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise Refusal("number_invalid", "请填写正整数。")
    return int(value)


@meeting_post
def decision_add(request: HttpRequest, meeting: Meeting) -> HttpResponse:
    try:
        item_id = _int(request.POST.get("agenda_item"))
        unit_id = _int(request.POST.get("owner_unit"))
        raw_date = (request.POST.get("deadline") or "").strip()
        try:
            deadline = dt.date.fromisoformat(raw_date) if raw_date else None
        except ValueError:
            raise Refusal("date_invalid", "完成时限的日期格式不正确。") from None
        data = DecisionInput(
            text=request.POST.get("text", ""),
            owner_unit=Agency.objects.filter(pk=unit_id).first() if unit_id else None,
            agenda_item=AgendaItem.objects.filter(meeting=meeting, pk=item_id).first() if item_id else None,
            deadline=deadline, working_days=_int(request.POST.get("working_days")))
        if item_id and data.agenda_item is None:
            raise Refusal("agenda_other_meeting", "所选议题不属于本次会议。")
        check_record_decision(request.user, meeting, data)
    except Refusal as exc:
        messages.error(request, exc.message)
        return _back(meeting.pk, "decisions")
    messages.success(request, "议定事项已记录。")
    return _back(meeting.pk, "decisions")


@meeting_post
def decision_delete(request: HttpRequest, meeting: Meeting, decision_id: int) -> HttpResponse:
    decision = Decision.objects.filter(meeting=meeting, pk=decision_id).first()
    if decision is None:
        raise Http404
    try:
        check_delete_decision(request.user, decision)
    except Refusal as exc:
        messages.error(request, exc.message)
    return _back(meeting.pk, "decisions")


@meeting_post
def minutes_draft(request: HttpRequest, meeting: Meeting) -> HttpResponse:
    try:
        minutes = check_draft_minutes(request.user, meeting)
    except Refusal as exc:
        messages.error(request, exc.message)
        return _back(meeting.pk, "minutes")
    messages.success(request, "纪要已起草，可在公文中修改正文和要素后送审。")
    return redirect("documents:detail", minutes.document_id)


@meeting_post
def minutes_send(request: HttpRequest, meeting: Meeting) -> HttpResponse:
    try:
        check_send_minutes(request.user, meeting)
    except Refusal as exc:
        messages.error(request, exc.message)
        return _back(meeting.pk, "minutes")
    messages.success(request, "纪要已送审，进入发文流程。")
    return _back(meeting.pk, "minutes")


urlpatterns = [
    path("<int:meeting_id>/decisions/", decision_add, name="decision_add"),
    path("<int:meeting_id>/decisions/<int:decision_id>/delete", decision_delete, name="decision_delete"),
    path("<int:meeting_id>/minutes/draft", minutes_draft, name="minutes_draft"),
    path("<int:meeting_id>/minutes/send", minutes_send, name="minutes_send"),
]
