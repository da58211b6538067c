"""会议 pages (docs/meetings.md 页面). Thin: parse, call one action or selector, render.

  /meetings/                         我的会议 (?view=week|day&date=YYYY-MM-DD), ICS subscription
  /meetings/rooms/                   会议室 free/busy board (?date=)
  /meetings/new/                     create (conflicts and suggested slots shown on the form)
  /meetings/<id>/                    detail: agenda, RSVP (参加/请假/委派), participants, history
  /meetings/<id>/edit/ …/cancel …/respond …/decide …/materials/ …/console/ …/invite.ics
  /meetings/<id>/units/<unit>/       a unit's contact names its attendees
  /meetings/feed/<token>.ics         a person's calendar feed (the token is the credential; no session)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from meetings import ics
from meetings.actions import (
    SchedulingConflict,
    check_add_material,
    check_cancel_meeting,
    check_create_meeting,
    check_decide_room_booking,
    check_name_unit_attendees,
    check_respond,
    check_update_meeting,
    do_new_calendar_feed,
    feed_digest,
    may_decide_approval,
)
from meetings.forms import DATETIME_FORMAT, MeetingForm, UnitSignupForm, agenda_formset, agenda_inputs
from meetings.guards import meeting_post
from meetings.live_views import live_context
from meetings.minutes import minutes_context
from meetings.models import AgendaItem, AgendaMaterial, CalendarFeed, Invitation, Meeting, MeetingUnit
from meetings.selectors import (
    access_meeting_by_id,
    agency_ids_of,
    invitation_of,
    invitation_rows,
    may_manage_meeting,
    meeting_history,
    my_meetings,
    primary_agency,
    reminders_sent,
    response_counts,
    room_board,
    schedule_warnings,
    signup_stats,
    unit_candidates,
    units_for_contact,
)
from oa.models import Person
from oa.refusals import Refusal

app_name = "meetings"
WEEKDAYS = "一二三四五六日"


def _date(value: str | None) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if value else timezone.localdate()
    except ValueError:
        return timezone.localdate()


@login_required
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    view = "day" if request.GET.get("view") == "day" else "week"
    day = _date(request.GET.get("date"))
    first = day if view == "day" else day - dt.timedelta(days=day.weekday())
    count = 1 if view == "day" else 7
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(first, dt.time(), tzinfo=tz)
    rows = my_meetings(request.user, start, start + dt.timedelta(days=count))
    days = []
    for i in range(count):
        d = first + dt.timedelta(days=i)
        d0 = dt.datetime.combine(d, dt.time(), tzinfo=tz)
        d1 = d0 + dt.timedelta(days=1)
        days.append({"date": d, "weekday": WEEKDAYS[d.weekday()], "today": d == timezone.localdate(),
                     "items": [{"meeting": m, "invitation": inv} for m, inv in rows if m.start < d1 and m.end > d0]})
    step = dt.timedelta(days=count)
    context = {"view": view, "days": days, "first": first, "prev": first - step, "next": first + step,
               "today": timezone.localdate(), "feed_url": request.session.pop("meetings_feed_url", ""),
               "has_feed": CalendarFeed.objects.filter(person=request.user).exists()}
    return render(request, "meetings/mine.html", context)


@login_required
@require_POST
def feed_new(request: HttpRequest) -> HttpResponse:
    token = do_new_calendar_feed(request.user)
    # Shown once, on the next page: only the token's digest is stored.
    request.session["meetings_feed_url"] = request.build_absolute_uri(reverse("meetings:feed", args=[token]))
    messages.success(request, "已生成新的日历订阅地址，旧地址即刻失效。")
    return redirect("meetings:mine")


@require_GET
def feed(request: HttpRequest, token: str) -> HttpResponse:
    row = CalendarFeed.objects.select_related("person").filter(token_sha256=feed_digest(token)).first()
    if row is None or not row.person.is_active:
        raise Http404
    response = HttpResponse(ics.feed_ics(row.person), content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def rooms(request: HttpRequest) -> HttpResponse:
    day = _date(request.GET.get("date"))
    columns, rows = room_board(request.user, day)
    return render(request, "meetings/rooms.html", {
        "day": day, "weekday": WEEKDAYS[day.weekday()], "columns": columns, "rows": rows,
        "prev": day - dt.timedelta(days=1), "next": day + dt.timedelta(days=1), "today": timezone.localdate(),
    })


def _form_page(request, *, form, agenda, meeting=None, conflict=None, error="", status=200, warnings=()):
    suggestions = []
    if conflict is not None:
        suggestions = [{"value": f"{a.isoformat()}|{b.isoformat()}", "start": timezone.localtime(a),
                        "end": timezone.localtime(b)} for a, b in conflict.suggestions]
    return render(request, "meetings/form.html", {
        "form": form, "agenda": agenda, "meeting": meeting, "conflict": conflict, "suggestions": suggestions,
        "error": error, "warnings": warnings,
    }, status=status)


def _initial_from(request: HttpRequest) -> dict:
    """Prefill from the room board (?room=&start=)."""
    initial = {}
    if request.GET.get("room", "").isdigit():
        initial["room"] = int(request.GET["room"])
    try:
        start = dt.datetime.strptime(request.GET.get("start", ""), DATETIME_FORMAT)
        initial["start"] = start
        initial["end"] = start + dt.timedelta(hours=1)
    except ValueError:
        pass
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def new(request: HttpRequest) -> HttpResponse:
    agency = primary_agency(request.user)
    if agency is None:
        raise Refusal("organiser_no_post", "您没有任职单位，不能组织会议。", status=403)
    if request.method == "GET":
        form = MeetingForm(organiser=request.user, agency=agency, initial=_initial_from(request))
        return _form_page(request, form=form, agenda=agenda_formset(organiser=request.user))
    return _save(request, agency=agency, meeting=None)


def _save(request: HttpRequest, *, agency, meeting: Meeting | None) -> HttpResponse:
    organiser = meeting.organiser if meeting else request.user
    form = MeetingForm(request.POST, organiser=organiser, agency=agency)
    agenda = agenda_formset(request.POST, organiser=organiser)
    if not form.is_valid() or not agenda.is_valid():
        return _form_page(request, form=form, agenda=agenda, meeting=meeting, status=400)
    data = form.to_input(agenda_inputs(agenda, form.cleaned_data["start"]))
    try:
        if meeting is None:
            saved = check_create_meeting(request.user, data)
        else:
            saved = check_update_meeting(request.user, meeting, data)
    except SchedulingConflict as exc:
        return _form_page(request, form=form, agenda=agenda, meeting=meeting, conflict=exc, error=exc.message,
                          status=409)
    except Refusal as exc:
        return _form_page(request, form=form, agenda=agenda, meeting=meeting, error=exc.message, status=exc.status)
    for warning in schedule_warnings(saved.start, saved.end):
        messages.warning(request, warning)
    if saved.status == Meeting.Status.PENDING:
        messages.success(request, f"会议已创建，会议室 {saved.room} 需审批，批准后再向参会人员发出邀请。")
    else:
        messages.success(request, "会议已保存，邀请已发出。" if meeting is None else "会议已修改，已通知相关人员。")
    return redirect("meetings:detail", saved.pk)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, meeting_id: int) -> HttpResponse:
    meeting = access_meeting_by_id(request.user, meeting_id)
    if not may_manage_meeting(request.user, meeting):
        raise Refusal("not_organiser", "只有会议组织人或本机关办公室可以修改会议。", status=403)
    if request.method == "POST":
        return _save(request, agency=meeting.agency, meeting=meeting)
    direct = meeting.invitations.filter(unit__isnull=True, delegated_from__isnull=True).exclude(
        response=Invitation.Response.WITHDRAWN)
    units = list(meeting.units.all())
    initial = {
        "title": meeting.title, "start": timezone.localtime(meeting.start), "end": timezone.localtime(meeting.end),
        "mode": meeting.mode, "room": meeting.room_id, "location": meeting.location, "host": meeting.host_id,
        "department": meeting.department_id, "notes": meeting.notes,
        "participants": [i.person_id for i in direct if i.role == Invitation.Role.PARTICIPANT],
        "observers": [i.person_id for i in direct if i.role == Invitation.Role.OBSERVER],
        "units": [u.agency_id for u in units], "quota": units[0].quota if units else None,
        "signup_deadline": timezone.localtime(meeting.signup_deadline) if meeting.signup_deadline else None,
        "reminders": meeting.reminder_offsets,
    }
    agenda_initial = [{"title": a.title, "presenter": a.presenter_id,
                       "start": timezone.localtime(a.start).time() if a.start else None,
                       "end": timezone.localtime(a.end).time() if a.end else None} for a in meeting.agenda.all()]
    form = MeetingForm(organiser=meeting.organiser, agency=meeting.agency, initial=initial)
    return _form_page(request, form=form, meeting=meeting,
                      agenda=agenda_formset(organiser=meeting.organiser, initial=agenda_initial, extra=2))


def _detail_context(request: HttpRequest, meeting: Meeting) -> dict:
    user = request.user
    manage = may_manage_meeting(user, meeting)
    invitation = invitation_of(user, meeting)
    colleagues = []
    if invitation is not None and invitation.attending:
        colleagues = list(Person.objects.filter(is_active=True, appointments__department__agency_id__in=agency_ids_of(user))
                          .exclude(pk=user.pk).exclude(meeting_invitations__meeting=meeting).distinct().order_by("name"))
    rows = invitation_rows(meeting)
    return {
        "meeting": meeting, "manage": manage, "invitation": invitation, "colleagues": colleagues,
        "agenda": list(meeting.agenda.select_related("presenter").prefetch_related("materials")),
        "participants": [r for r in rows if r.role == Invitation.Role.PARTICIPANT],
        "observers": [r for r in rows if r.role == Invitation.Role.OBSERVER],
        "counts": response_counts(meeting), "history": meeting_history(meeting) if manage else [],
        "my_units": units_for_contact(user, meeting), "decide": may_decide_approval(user, meeting),
        "can_reply": invitation is not None and invitation.attending and meeting.status == Meeting.Status.SCHEDULED
        and meeting.end > timezone.now(),
        "Response": Invitation.Response,
        # The platform card's 请假 / 委派 buttons land here with ?reply=…#reply: that form is open.
        "open_reply": request.GET.get("reply", ""),
        **live_context(user, meeting),
        **minutes_context(user, meeting),  # 议定事项 and 纪要 (meetings/minutes.py)
    }


@login_required
@require_GET
def detail(request: HttpRequest, meeting_id: int) -> HttpResponse:
    meeting = access_meeting_by_id(request.user, meeting_id)
    invitation = invitation_of(request.user, meeting)
    if invitation is not None:
        from meetings.actions import invitation_ref
        from oa.actions.work import do_see_work

        do_see_work(request.user, invitation_ref(invitation))
    return render(request, "meetings/detail.html", _detail_context(request, meeting))


def _detail_error(request: HttpRequest, meeting: Meeting, exc: Refusal) -> HttpResponse:
    context = _detail_context(request, meeting)
    context["error"] = exc.message
    return render(request, "meetings/detail.html", context, status=exc.status)


def _act(request: HttpRequest, meeting: Meeting, action: Callable[[], object], done: str | Callable[[], str]) -> HttpResponse:
    """The meeting page's POST forms: run one action; a refusal re-renders the page with its message and status,
    success says `done` and goes back to the page."""
    try:
        action()
    except Refusal as exc:
        return _detail_error(request, meeting, exc)
    messages.success(request, done() if callable(done) else done)
    return redirect("meetings:detail", meeting.pk)


REPLIED = {"accepted": "已回复参加。", "leave": "已请假，组织人会看到事由。"}


@meeting_post
def respond(request: HttpRequest, meeting: Meeting) -> HttpResponse:
    answer = request.POST.get("response", "")
    delegate = None
    if answer == Invitation.Response.DELEGATED and request.POST.get("delegate", "").isdigit():
        delegate = Person.objects.filter(pk=int(request.POST["delegate"])).first()
    return _act(request, meeting,
                lambda: check_respond(request.user, meeting, answer, reason=request.POST.get("reason", ""),
                                      delegate=delegate),
                lambda: f"已委派 {delegate.name} 参会。" if answer == "delegated" and delegate
                else REPLIED.get(answer, "已回复。"))


@meeting_post
def cancel(request: HttpRequest, meeting: Meeting) -> HttpResponse:
    return _act(request, meeting, lambda: check_cancel_meeting(request.user, meeting, request.POST.get("reason", "")),
                "会议已取消，已通知全部参会人员。")


@meeting_post
def decide(request: HttpRequest, meeting: Meeting) -> HttpResponse:
    return _act(request, meeting,
                lambda: check_decide_room_booking(request.user, meeting,
                                                  approve=request.POST.get("decision") == "approve",
                                                  opinion=request.POST.get("opinion", "")),
                "已审批。")


@meeting_post
def material_add(request: HttpRequest, meeting: Meeting, item_id: int) -> HttpResponse:
    item = AgendaItem.objects.filter(meeting=meeting, pk=item_id).first()
    if item is None:
        raise Http404
    return _act(request, meeting, lambda: check_add_material(request.user, item, request.FILES.get("file")),
                "材料已上传。")


@login_required
@require_GET
def material(request: HttpRequest, meeting_id: int, material_id: int) -> FileResponse:
    meeting = access_meeting_by_id(request.user, meeting_id)
    row = AgendaMaterial.objects.filter(item__meeting=meeting, pk=material_id).first()
    if row is None:
        raise Http404
    response = FileResponse(row.file.open("rb"), as_attachment=True, filename=row.name, content_type=row.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def invite_ics(request: HttpRequest, meeting_id: int) -> HttpResponse:
    meeting = access_meeting_by_id(request.user, meeting_id)
    response = HttpResponse(ics.invitation_ics(meeting, request.user), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="meeting-{meeting.pk}.ics"'
    return response


@login_required
@require_GET
def console(request: HttpRequest, meeting_id: int) -> HttpResponse:
    meeting = access_meeting_by_id(request.user, meeting_id)
    if not may_manage_meeting(request.user, meeting):
        raise Http404
    return render(request, "meetings/console.html", {
        "meeting": meeting, "stats": signup_stats(meeting), "counts": response_counts(meeting),
        "rows": invitation_rows(meeting), "reminders": reminders_sent(meeting), "Response": Invitation.Response,
    })


@login_required
@require_http_methods(["GET", "POST"])
def unit_signup(request: HttpRequest, meeting_id: int, unit_id: int) -> HttpResponse:
    meeting = access_meeting_by_id(request.user, meeting_id)
    unit = MeetingUnit.objects.select_related("agency").filter(meeting=meeting, pk=unit_id, contacts=request.user).first()
    if unit is None:
        raise Http404
    candidates = Person.objects.filter(pk__in=[p.pk for p in unit_candidates(unit)]).order_by("name")
    named = list(unit.attendees.exclude(response=Invitation.Response.WITHDRAWN).values_list("person_id", flat=True))
    error, status = "", 200
    if request.method == "POST":
        form = UnitSignupForm(request.POST, candidates=candidates)
        if form.is_valid():
            try:
                check_name_unit_attendees(request.user, unit, list(form.cleaned_data["people"]))
            except Refusal as exc:
                error, status = exc.message, exc.status
            else:
                messages.success(request, "已报名，参会人员会收到会议邀请。")
                return redirect("meetings:detail", meeting.pk)
        else:
            status = 400
    else:
        form = UnitSignupForm(candidates=candidates, initial={"people": named})
    return render(request, "meetings/unit.html", {"meeting": meeting, "unit": unit, "form": form, "error": error},
                  status=status)


urlpatterns = [
    path("", mine, name="mine"),
    path("feed/new", feed_new, name="feed_new"),
    path("feed/<str:token>.ics", feed, name="feed"),
    path("rooms/", rooms, name="rooms"),
    path("new/", new, name="new"),
    path("<int:meeting_id>/", detail, name="detail"),
    path("<int:meeting_id>/edit/", edit, name="edit"),
    path("<int:meeting_id>/respond", respond, name="respond"),
    path("<int:meeting_id>/cancel", cancel, name="cancel"),
    path("<int:meeting_id>/decide", decide, name="decide"),
    path("<int:meeting_id>/agenda/<int:item_id>/materials", material_add, name="material_add"),
    path("<int:meeting_id>/materials/<int:material_id>", material, name="material"),
    path("<int:meeting_id>/invite.ics", invite_ics, name="invite_ics"),
    path("<int:meeting_id>/console/", console, name="console"),
    path("<int:meeting_id>/units/<int:unit_id>/", unit_signup, name="unit"),
]
