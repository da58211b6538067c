"""Reads of 会议 (docs/meetings.md): access, lists, conflicts, free slots, the room board, sign-up statistics."""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from meetings.models import Invitation, Meeting, MeetingChange, MeetingUnit, ReminderSent, Room
from oa.models import Agency, Department, Person, Role
from oa.selectors.calendar import WorkCalendar

ACTIVE = (Meeting.Status.PENDING, Meeting.Status.SCHEDULED)
ATTENDING = (Invitation.Response.PENDING, Invitation.Response.ACCEPTED)
# 区政府 and 区府办 convene the whole district: their people may invite anyone directly (docs/meetings.md 邀请范围).
DISTRICT_WIDE_KINDS = (Agency.Kind.GOVERNMENT, Agency.Kind.OFFICE)


# --- who is who ---------------------------------------------------------------------------------------------


def agency_ids_of(person: Person) -> set[int]:
    return set(person.appointments.values_list("department__agency_id", flat=True))


def department_ids_of(person: Person) -> set[int]:
    return set(person.appointments.values_list("department_id", flat=True))


def primary_agency(person: Person) -> Agency | None:
    appointment = person.appointments.select_related("department__agency").order_by("-is_primary", "pk").first()
    return appointment.department.agency if appointment else None


def is_meeting_secretary(person: Person, agency_id: int) -> bool:
    """办公室/文书 of the organising agency: they run its meetings (secretary console)."""
    return person.role_assignments.filter(role=Role.CLERK, agency_id=agency_id).exists()


def may_invite_directly(organiser: Person, person: Person) -> bool:
    """The organiser's reach: people of their own agencies; anyone when they serve 区政府/区府办. Others are
    reached through their unit (a cross-unit notice), whose contact names who comes."""
    mine = agency_ids_of(organiser)
    if Agency.objects.filter(pk__in=mine, kind__in=DISTRICT_WIDE_KINDS).exists():
        return True
    return bool(mine & agency_ids_of(person))


def unit_contacts(agency: Agency) -> list[Person]:
    """Who names a unit's attendees: its 办公室/文书, else its principal."""
    for role in (Role.CLERK, Role.PRINCIPAL):
        people = list(Person.objects.filter(is_active=True, role_assignments__role=role,
                                            role_assignments__agency=agency).distinct().order_by("pk"))
        if people:
            return people
    return []


# --- access -------------------------------------------------------------------------------------------------


def meetings_visible_to(user: Person) -> QuerySet[Meeting]:
    """Organiser, 主持人, invitees (also those who delegated or were withdrawn), unit contacts, the room's approver
    and the organising agency's 办公室/文书."""
    if not user.is_authenticated:
        return Meeting.objects.none()
    clerk_agencies = user.role_assignments.filter(role=Role.CLERK).values("agency_id")
    return Meeting.objects.filter(
        Q(organiser=user) | Q(host=user) | Q(invitations__person=user) | Q(units__contacts=user)
        | Q(room__approver=user) | Q(agency_id__in=clerk_agencies)
    ).distinct()


def access_meeting_by_id(user: Person, meeting_id: int) -> Meeting:
    """The only way to load a meeting for a user: 404 whether it is missing or merely not theirs."""
    meeting = (
        meetings_visible_to(user).select_related("room", "organiser", "host", "agency", "department")
        .filter(pk=meeting_id).first()
    )
    if meeting is None:
        raise Http404
    return meeting


def may_manage_meeting(user: Person, meeting: Meeting) -> bool:
    """Change, cancel, upload materials, see the console: the organiser and the organising agency's 文书."""
    return meeting.organiser_id == user.pk or is_meeting_secretary(user, meeting.agency_id)


def invitation_of(user: Person, meeting: Meeting) -> Invitation | None:
    return Invitation.objects.filter(meeting=meeting, person=user).select_related("delegate").first()


def rooms_bookable_by(person: Person) -> QuerySet[Room]:
    agencies, departments = agency_ids_of(person), department_ids_of(person)
    open_to_all = Q(bookable_agencies__isnull=True, bookable_departments__isnull=True)
    return (
        Room.objects.filter(is_active=True)
        .filter(open_to_all | Q(bookable_agencies__in=agencies) | Q(bookable_departments__in=departments))
        .distinct().order_by("sort_order", "building", "name", "id")
    )


def may_book_room(person: Person, room: Room) -> bool:
    return rooms_bookable_by(person).filter(pk=room.pk).exists()


# --- conflicts ----------------------------------------------------------------------------------------------


def overlapping(start: dt.datetime, end: dt.datetime) -> Q:
    """Half-open intervals: [start, end) meets [a, b) when a < end and b > start; touching is not overlapping."""
    return Q(start__lt=end, end__gt=start)


@dataclass(frozen=True)
class Conflict:
    kind: str  # "room" | "person" (another meeting) | "leave" (approved 零跑动 leave)
    meeting: Meeting | None
    person: Person | None = None
    leave: tuple[dt.date, dt.date] | None = None  # first and last day away, for kind "leave"

    @property
    def message(self) -> str:
        if self.kind == "leave":
            first, last = self.leave
            days = f"{first:%m-%d}" if first == last else f"{first:%m-%d}至{last:%m-%d}"
            return f"{self.person.name} 该时段已请假（{days}）"
        when = f"{timezone.localtime(self.meeting.start):%m-%d %H:%M}–{timezone.localtime(self.meeting.end):%H:%M}"
        if self.kind == "room":
            return f"会议室 {self.meeting.room} 在 {when} 已被“{self.meeting.title}”占用"
        return f"{self.person.name} 在 {when} 已有会议“{self.meeting.title}”"


def room_conflicts(room: Room | None, start: dt.datetime, end: dt.datetime, *,
                   exclude_id: int | None = None) -> list[Conflict]:
    if room is None:
        return []
    qs = Meeting.objects.filter(room=room, status__in=ACTIVE).filter(overlapping(start, end)).select_related("room")
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    return [Conflict("room", m) for m in qs.order_by("start")]


def _local_days(start: dt.datetime, end: dt.datetime) -> tuple[dt.date, dt.date]:
    """The Beijing calendar days [start, end) touches (a meeting ending at midnight does not touch the next day)."""
    return timezone.localtime(start).date(), timezone.localtime(end - dt.timedelta(microseconds=1)).date()


def leave_spans(person_ids: Iterable[int], start: dt.datetime,
                end: dt.datetime) -> dict[int, list[tuple[dt.date, dt.date]]]:
    """Approved 零跑动 leave (workflows.services: until 销假, the days actually away) touching [start, end).
    Pending, rejected and cancelled leave is not leave: those people are expected."""
    from workflows.services.selectors import leave_busy  # the 零跑动 app's read; it knows no meeting

    first, last = _local_days(start, end)
    return leave_busy(person_ids, first, last)


def leave_conflicts(person_ids: Iterable[int], start: dt.datetime, end: dt.datetime) -> list[Conflict]:
    ids = list(set(person_ids))
    if not ids:
        return []
    spans = leave_spans(ids, start, end)
    if not spans:
        return []
    people = {p.pk: p for p in Person.objects.filter(pk__in=spans)}
    return [Conflict("leave", None, people[pid], span)
            for pid in sorted(spans, key=lambda pk: people[pk].name) for span in spans[pid]]


def person_conflicts(person_ids: Iterable[int], start: dt.datetime, end: dt.datetime, *,
                     exclude_id: int | None = None) -> list[Conflict]:
    """Required people's approved leave, then their other meetings they are still expected at (not 请假/委派)
    overlapping [start, end)."""
    ids = list(set(person_ids))
    if not ids:
        return []
    on_leave = leave_conflicts(ids, start, end)
    qs = (
        Invitation.objects.filter(person_id__in=ids, required=True, response__in=ATTENDING,
                                  meeting__status__in=ACTIVE)
        .filter(meeting__start__lt=end, meeting__end__gt=start)
        .select_related("meeting", "person").order_by("meeting__start", "person_id")
    )
    if exclude_id:
        qs = qs.exclude(meeting_id=exclude_id)
    return on_leave + [Conflict("person", inv.meeting, inv.person) for inv in qs]


def busy_intervals(room: Room | None, person_ids: Iterable[int], start: dt.datetime, end: dt.datetime, *,
                   exclude_id: int | None = None) -> list[tuple[dt.datetime, dt.datetime]]:
    """Every interval in [start, end) when the room or a required person is taken (a meeting, or a whole day of
    approved leave): three queries."""
    spans: list[tuple[dt.datetime, dt.datetime]] = []
    if room is not None:
        qs = Meeting.objects.filter(room=room, status__in=ACTIVE).filter(overlapping(start, end))
        if exclude_id:
            qs = qs.exclude(pk=exclude_id)
        spans += list(qs.values_list("start", "end"))
    ids = list(set(person_ids))
    if ids:
        qs = Invitation.objects.filter(person_id__in=ids, required=True, response__in=ATTENDING,
                                       meeting__status__in=ACTIVE, meeting__start__lt=end, meeting__end__gt=start)
        if exclude_id:
            qs = qs.exclude(meeting_id=exclude_id)
        spans += list(qs.values_list("meeting__start", "meeting__end"))
        tz = timezone.get_current_timezone()
        for days in leave_spans(ids, start, end).values():
            for first, last in days:
                spans.append((dt.datetime.combine(first, dt.time(), tzinfo=tz),
                              dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz)))
    return sorted(spans)


def work_windows() -> list[tuple[dt.time, dt.time]]:
    """OA_MEETING_WORK_HOURS, e.g. "08:30-12:00,14:30-17:30" → [(08:30, 12:00), (14:30, 17:30)]."""
    windows = []
    for part in str(settings.OA_MEETING_WORK_HOURS).split(","):
        a, _, b = part.strip().partition("-")
        windows.append((dt.time.fromisoformat(a.strip()), dt.time.fromisoformat(b.strip())))
    return windows


def within_working_hours(start: dt.datetime, end: dt.datetime, calendar: WorkCalendar | None = None) -> bool:
    """Inside one working window of one working day (调休 上班 days included, 放假 days excluded)."""
    calendar = calendar or WorkCalendar()
    a, b = timezone.localtime(start), timezone.localtime(end)
    if a.date() != b.date() or not calendar.is_working_day(a.date()):
        return False
    windows = work_windows()
    if any(w0 <= a.time() and b.time() <= w1 for w0, w1 in windows):
        return True
    # A meeting longer than any one window may span the lunch break of its day.
    return windows[0][0] <= a.time() and b.time() <= windows[-1][1] and (b - a) > max(
        _span(w) for w in windows)


def _span(window: tuple[dt.time, dt.time]) -> dt.timedelta:
    day = dt.date(2000, 1, 3)
    return dt.datetime.combine(day, window[1]) - dt.datetime.combine(day, window[0])


def schedule_warnings(start: dt.datetime, end: dt.datetime) -> list[str]:
    """Not refusals: 应急 meetings happen at night and on holidays. The form says so and carries on."""
    calendar = WorkCalendar()
    a = timezone.localtime(start)
    if not calendar.is_working_day(a.date()):
        return [f"{a:%Y年%-m月%-d日}不是工作日（节假日或周末），请确认确需在此时开会。"]
    if not within_working_hours(start, end, calendar):
        return ["会议时间不在工作时间内（" + "、".join(f"{w0:%H:%M}–{w1:%H:%M}" for w0, w1 in work_windows()) + "）。"]
    return []


SLOT_STEP = dt.timedelta(minutes=30)


def suggest_slots(*, room: Room | None, person_ids: Iterable[int], duration: dt.timedelta, after: dt.datetime,
                  limit: int = 5, days: int = 14, exclude_id: int | None = None) -> list[tuple[dt.datetime, dt.datetime]]:
    """Free slots of `duration` on working days (calendar), inside working hours, where the room and every
    required person are free, from `after` (rounded up to the half hour) over the next `days` days."""
    calendar = WorkCalendar()
    tz = timezone.get_current_timezone()
    local = timezone.localtime(after)
    horizon = local + dt.timedelta(days=days)
    busy = busy_intervals(room, person_ids, after, horizon, exclude_id=exclude_id)
    windows = work_windows()
    if duration > max(_span(w) for w in windows):
        windows = [(windows[0][0], windows[-1][1])]  # a long meeting takes the whole working day
    # Busy spans merged into disjoint sorted intervals: a slot clashes iff the last span starting before the
    # slot's end still runs past its start (one bisect instead of a scan of every span; bench/meetings.py).
    merged: list[list[dt.datetime]] = []
    for b0, b1 in busy:
        if merged and b0 <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b1)
        else:
            merged.append([b0, b1])
    span_starts = [m[0] for m in merged]

    def clashes(a: dt.datetime, b: dt.datetime) -> bool:
        i = bisect.bisect_left(span_starts, b) - 1
        return i >= 0 and merged[i][1] > a

    found: list[tuple[dt.datetime, dt.datetime]] = []
    day = local.date()
    while day <= horizon.date() and len(found) < limit:
        if calendar.is_working_day(day):
            for w0, w1 in windows:
                slot = dt.datetime.combine(day, w0, tzinfo=tz)
                window_end = dt.datetime.combine(day, w1, tzinfo=tz)
                while slot + duration <= window_end and len(found) < limit:
                    end = slot + duration
                    if slot >= after and not clashes(slot, end):
                        found.append((slot, end))
                        slot = end  # the next suggestion starts where this one ends: distinct choices
                    else:
                        slot += SLOT_STEP
        day += dt.timedelta(days=1)
    return found


# --- lists and boards ---------------------------------------------------------------------------------------


def my_meetings(user: Person, start: dt.datetime, end: dt.datetime) -> list[tuple[Meeting, Invitation | None]]:
    """Meetings in [start, end) the user attends, organises or hosts, with the user's own invitation."""
    meetings = list(
        Meeting.objects.filter(Q(organiser=user) | Q(host=user) | Q(invitations__person=user))
        .filter(overlapping(start, end)).exclude(status=Meeting.Status.REJECTED)
        .select_related("room").distinct().order_by("start", "id")
    )
    invitations = {i.meeting_id: i for i in Invitation.objects.filter(person=user, meeting__in=meetings)}
    return [(m, invitations.get(m.pk)) for m in meetings]


def room_board(user: Person, day: dt.date) -> tuple[list[dt.datetime], list[dict]]:
    """The free/busy grid of one day: half-hour columns over working hours, one row per bookable room. A busy
    cell names the meeting only when the user may see it; otherwise it says 已占用."""
    tz = timezone.get_current_timezone()
    windows = work_windows()
    first = dt.datetime.combine(day, min(w[0] for w in windows), tzinfo=tz).replace(minute=0)
    last = dt.datetime.combine(day, max(w[1] for w in windows), tzinfo=tz)
    columns = []
    t = first
    while t < last:
        columns.append(t)
        t += SLOT_STEP
    rooms = list(rooms_bookable_by(user))
    taken = list(
        Meeting.objects.filter(room__in=rooms, status__in=ACTIVE).filter(overlapping(first, last)).order_by("start")
    )
    visible = set(meetings_visible_to(user).filter(pk__in=[m.pk for m in taken]).values_list("pk", flat=True))
    rows = []
    for room in rooms:
        cells = []
        for col in columns:
            col_end = col + SLOT_STEP
            meeting = next((m for m in taken if m.room_id == room.pk and m.start < col_end and m.end > col), None)
            cells.append({"start": col, "meeting": meeting, "visible": meeting is not None and meeting.pk in visible})
        rows.append({"room": room, "cells": cells})
    return columns, rows


# --- the organiser's and secretary's view -------------------------------------------------------------------


def invitation_rows(meeting: Meeting) -> list[Invitation]:
    return list(meeting.invitations.select_related("person", "delegate", "unit__agency").order_by("role", "id"))


def response_counts(meeting: Meeting) -> dict[str, int]:
    counts = dict(meeting.invitations.values_list("response").annotate(n=Count("id")))
    return {key: counts.get(key, 0) for key in Invitation.Response.values}


def signup_stats(meeting: Meeting) -> list[dict]:
    """Per invited unit: named or not, how many attendees, how many replied 参加/请假/委派."""
    units = list(meeting.units.select_related("agency", "named_by").prefetch_related("contacts"))
    rows = []
    for unit in units:
        counts = dict(
            Invitation.objects.filter(unit=unit).values_list("response").annotate(n=Count("id"))
        )
        named = sum(counts.values()) - counts.get(Invitation.Response.WITHDRAWN, 0)
        rows.append({"unit": unit, "named": named, "accepted": counts.get(Invitation.Response.ACCEPTED, 0),
                     "leave": counts.get(Invitation.Response.LEAVE, 0),
                     "delegated": counts.get(Invitation.Response.DELEGATED, 0),
                     "pending": counts.get(Invitation.Response.PENDING, 0)})
    return rows


def reminders_sent(meeting: Meeting) -> list[ReminderSent]:
    return list(ReminderSent.objects.filter(invitation__meeting=meeting, notified=True)
                .select_related("invitation__person").order_by("sent_at", "id"))


def meeting_history(meeting: Meeting) -> list[MeetingChange]:
    return list(meeting.changes.select_related("by").order_by("at", "id"))


def units_for_contact(user: Person, meeting: Meeting) -> list[MeetingUnit]:
    return list(meeting.units.filter(contacts=user).select_related("agency"))


def unit_candidates(unit: MeetingUnit) -> list[Person]:
    """Whom a unit's contact may name: the active people of that unit."""
    return list(Person.objects.filter(is_active=True, appointments__department__agency=unit.agency)
                .distinct().order_by("name"))


def reachable_people(organiser: Person) -> QuerySet[Person]:
    """People the organiser may invite directly (the form's choices)."""
    qs = Person.objects.filter(is_active=True, appointments__isnull=False)
    mine = agency_ids_of(organiser)
    if not Agency.objects.filter(pk__in=mine, kind__in=DISTRICT_WIDE_KINDS).exists():
        qs = qs.filter(appointments__department__agency_id__in=mine)
    return qs.distinct().order_by("name")


def departments_of_agency(agency: Agency) -> QuerySet[Department]:
    return Department.objects.filter(agency=agency, is_active=True).order_by("sort_order", "id")
