"""iCalendar (RFC 5545 / RFC 5546) for 会议: one invitation as METHOD REQUEST or CANCEL, and a person's feed.

The UID is the meeting's own UUID (stable across changes); SEQUENCE is Meeting.sequence, raised by every change
people see, so calendar clients replace the event instead of adding a second one. Times carry TZID Asia/Shanghai
with its VTIMEZONE.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from meetings.models import Invitation, Meeting
from oa.models import Person

PRODID = "-//揭东区一网协同办公平台//会议//ZH"
FEED_PAST = dt.timedelta(days=60)
FEED_FUTURE = dt.timedelta(days=366)


def meeting_uid(meeting: Meeting) -> str:
    return f"meeting-{meeting.uid}@oa"


def _address(person: Person) -> vCalAddress:
    address = vCalAddress(f"mailto:{person.email}" if person.email else f"urn:oa:person:{person.pk}")
    address.params["CN"] = vText(person.name or person.username)
    return address


PARTSTAT = {
    Invitation.Response.PENDING: "NEEDS-ACTION",
    Invitation.Response.ACCEPTED: "ACCEPTED",
    Invitation.Response.LEAVE: "DECLINED",
    Invitation.Response.DELEGATED: "DELEGATED",
}


def _event(meeting: Meeting, *, cancelled: bool, with_attendees: bool) -> Event:
    tz = timezone.get_current_timezone()
    event = Event()
    event.add("uid", meeting_uid(meeting))
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", timezone.now().astimezone(dt.UTC))
    event.add("dtstart", meeting.start.astimezone(tz))
    event.add("dtend", meeting.end.astimezone(tz))
    event.add("summary", meeting.title)
    if meeting.place:
        event.add("location", meeting.place)
    base = settings.OA_PUBLIC_BASE_URL
    if base:
        event.add("url", f"{base}/meetings/{meeting.pk}/")
    event.add("status", "CANCELLED" if cancelled else ("TENTATIVE" if meeting.status == Meeting.Status.PENDING
                                                         else "CONFIRMED"))
    event.add("organizer", _address(meeting.organiser))
    if with_attendees:
        for invitation in meeting.invitations.select_related("person").exclude(response=Invitation.Response.WITHDRAWN):
            attendee = _address(invitation.person)
            attendee.params["ROLE"] = vText("REQ-PARTICIPANT" if invitation.required else "OPT-PARTICIPANT")
            attendee.params["PARTSTAT"] = vText(PARTSTAT.get(invitation.response, "NEEDS-ACTION"))
            event.add("attendee", attendee, encode=0)
    return event


def _calendar(method: str | None) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    return cal


def invitation_ics(meeting: Meeting, person: Person) -> bytes:
    """The attachment of one invitation: REQUEST while the person is expected, CANCEL once the meeting is
    cancelled or rejected or the person was taken off the list."""
    invitation = Invitation.objects.filter(meeting=meeting, person=person).first()
    cancelled = not meeting.is_active or (invitation is not None and invitation.response == Invitation.Response.WITHDRAWN)
    cal = _calendar("CANCEL" if cancelled else "REQUEST")
    cal.add_component(_event(meeting, cancelled=cancelled, with_attendees=True))
    cal.add_missing_timezones()
    return cal.to_ical()


def feed_ics(person: Person) -> bytes:
    """The person's subscription: meetings they organise, host or are invited to, from two months back."""
    from django.db.models import Q

    now = timezone.now()
    meetings = (
        Meeting.objects.filter(Q(organiser=person) | Q(host=person) | Q(invitations__person=person))
        .filter(end__gte=now - FEED_PAST, start__lte=now + FEED_FUTURE)
        .select_related("room", "organiser").distinct().order_by("start")
    )
    withdrawn = set(Invitation.objects.filter(person=person, response__in=[
        Invitation.Response.WITHDRAWN, Invitation.Response.DELEGATED]).values_list("meeting_id", flat=True))
    cal = _calendar("PUBLISH")
    cal.add("x-wr-calname", "我的会议")
    for meeting in meetings:
        cancelled = not meeting.is_active or (meeting.pk in withdrawn and meeting.organiser_id != person.pk)
        cal.add_component(_event(meeting, cancelled=cancelled, with_attendees=False))
    cal.add_missing_timezones()
    return cal.to_ical()
