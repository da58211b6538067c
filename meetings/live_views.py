"""会议现场 pages (docs/meetings.md 签到 / 实时名单 / 视频会议). Thin: parse, call one action or selector, render.

  /meetings/<id>/screen/             room screen: rotating QR + live roster (organiser, 文书, 主持人), full-screen
  /meetings/<id>/screen/qr.json      the current QR (SVG data URI) and how long it lasts
  /meetings/checkin/<token>          a phone opened the QR: checked, then one tap on 确认签到 (POST …/checkin/confirm)
  /meetings/<id>/checkin/manual      POST: the secretary checks someone in
  /meetings/<id>/agenda/current      POST: the 主持人 moves to a 议题
  /meetings/<id>/video/join|kick|end POST: a join token (invitees only), kick, end and destroy the room
"""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from meetings.checkin import (
    STEP_SECONDS,
    agenda_state,
    check_confirm_checkin,
    check_manual_checkin,
    check_scan,
    check_set_current_item,
    make_token,
    may_run_meeting,
    roster,
    seconds_left,
)
from meetings.guards import meeting_post
from meetings.models import Meeting
from meetings.selectors import access_meeting_by_id
from meetings.video import (
    check_confirm_video_joined,
    check_end_video,
    check_join_video,
    check_kick_video,
    video_state,
)
from oa.models import Person
from oa.refusals import Refusal


def live_context(user: Person, meeting) -> dict:
    """What the meeting page adds for the live parts (video card, current 议题, links for those who run it)."""
    return {"video": video_state(meeting), "run": may_run_meeting(user, meeting),
            "agenda_live": agenda_state(meeting), "ws_path": f"/ws/meetings/{meeting.pk}/"}


def _screen_meeting(request: HttpRequest, meeting_id: int):
    meeting = access_meeting_by_id(request.user, meeting_id)
    if not may_run_meeting(request.user, meeting):
        raise Http404
    return meeting


@login_required
@require_GET
def screen(request: HttpRequest, meeting_id: int) -> HttpResponse:
    meeting = _screen_meeting(request, meeting_id)
    return render(request, "meetings/screen.html", {
        "meeting": meeting, "roster": roster(meeting), "agenda_live": agenda_state(meeting),
        "ws_path": f"/ws/meetings/{meeting.pk}/", "qr_path": reverse("meetings:screen_qr", args=[meeting.pk]),
    })


def qr_svg(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@login_required
@require_GET
def screen_qr(request: HttpRequest, meeting_id: int) -> JsonResponse:
    meeting = _screen_meeting(request, meeting_id)
    url = request.build_absolute_uri(reverse("meetings:checkin", args=[make_token(meeting.pk)]))
    response = JsonResponse({"url": url, "qr": qr_svg(url), "step": STEP_SECONDS, "refresh_in": seconds_left()})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def checkin(request: HttpRequest, token: str) -> HttpResponse:
    try:
        meeting, proof = check_scan(request.user, token)
    except Refusal as exc:
        return render(request, "meetings/checkin.html", {"error": exc.message}, status=exc.status)
    return render(request, "meetings/checkin.html", {"meeting": meeting, "proof": proof})


@login_required
@require_POST
def checkin_confirm(request: HttpRequest) -> HttpResponse:
    try:
        row = check_confirm_checkin(request.user, request.POST.get("proof", ""))
    except Refusal as exc:
        return render(request, "meetings/checkin.html", {"error": exc.message}, status=exc.status)
    return render(request, "meetings/checkin.html", {"meeting": row.meeting, "done": row})


def _back(request: HttpRequest, meeting_id: int) -> HttpResponse:
    target = request.POST.get("next", "")
    if target == "screen":
        return redirect("meetings:screen", meeting_id)
    return redirect(reverse("meetings:detail", args=[meeting_id]) + ("#live" if target == "live" else ""))


@meeting_post
def manual_checkin(request: HttpRequest, meeting: Meeting) -> HttpResponse:
    raw = request.POST.get("person", "")
    person = Person.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
    try:
        row = check_manual_checkin(request.user, meeting, person)
    except Refusal as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已为 {row.person.name} 签到（{row.get_status_display()}）。")
    return _back(request, meeting.pk)


@meeting_post
def set_current(request: HttpRequest, meeting: Meeting) -> HttpResponse:
    raw = request.POST.get("item", "")
    try:
        check_set_current_item(request.user, meeting, int(raw) if raw.isdigit() else None)
    except Refusal as exc:
        messages.error(request, exc.message)
    return _back(request, meeting.pk)


@meeting_post
def video_join(request: HttpRequest, meeting: Meeting) -> HttpResponse:
    try:
        info = check_join_video(request.user, meeting)
    except Refusal as exc:
        messages.error(request, exc.message)
        return redirect(reverse("meetings:detail", args=[meeting.pk]) + "#video")
    if info.provider != "janus":
        return redirect(info.url)  # Jitsi / BBB: their own page, signed for this person
    response = render(request, "meetings/video.html", {
        "meeting": meeting, "video_join": info.client_config(), "run": may_run_meeting(request.user, meeting),
        "joined_url": reverse("meetings:video_joined", args=[meeting.pk])})
    response["Cache-Control"] = "no-store"  # the page carries a personal token
    return response


@meeting_post
def video_joined(request: HttpRequest, meeting: Meeting) -> JsonResponse:
    """The join page's report that the browser entered the room: the server reads the room's list to decide."""
    return JsonResponse({"present": check_confirm_video_joined(request.user, meeting)})


@meeting_post
def video_kick(request: HttpRequest, meeting: Meeting) -> HttpResponse:
    raw = request.POST.get("person", "")
    person = Person.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
    try:
        check_kick_video(request.user, meeting, person)
    except Refusal as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已将 {person.name} 移出视频会议。")
    return redirect(reverse("meetings:detail", args=[meeting.pk]) + "#video")


@meeting_post
def video_end(request: HttpRequest, meeting: Meeting) -> HttpResponse:
    try:
        check_end_video(request.user, meeting)
    except Refusal as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "视频会议已结束，房间已销毁。")
    return redirect(reverse("meetings:detail", args=[meeting.pk]) + "#video")


urlpatterns = [
    path("checkin/confirm", checkin_confirm, name="checkin_confirm"),
    path("checkin/<str:token>", checkin, name="checkin"),
    path("<int:meeting_id>/screen/", screen, name="screen"),
    path("<int:meeting_id>/screen/qr.json", screen_qr, name="screen_qr"),
    path("<int:meeting_id>/checkin/manual", manual_checkin, name="manual_checkin"),
    path("<int:meeting_id>/agenda/current", set_current, name="set_current"),
    path("<int:meeting_id>/video/join", video_join, name="video_join"),
    path("<int:meeting_id>/video/joined", video_joined, name="video_joined"),
    path("<int:meeting_id>/video/kick", video_kick, name="video_kick"),
    path("<int:meeting_id>/video/end", video_end, name="video_end"),
]
