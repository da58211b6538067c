"""会议 (docs/meetings.md): conflicts, free slots on the working-day calendar, cross-unit sign-up, RSVP, reminders,
ICS, refusals and access. Times come from time-machine (a fixed Beijing instant), never from the wall clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from icalendar import Calendar

from meetings.actions import (
    INVITATION_KIND,
    SIGNUP_KIND,
    AgendaInput,
    MeetingInput,
    MeetingWorkProvider,
    SchedulingConflict,
    check_add_material,
    check_cancel_meeting,
    check_create_meeting,
    check_decide_room_booking,
    check_name_unit_attendees,
    check_respond,
    check_update_meeting,
    do_new_calendar_feed,
    invitation_ref,
)
from meetings.ics import invitation_ics, meeting_uid
from meetings.models import Invitation, Meeting, MeetingChange, ReminderSent, Room
from meetings.selectors import (
    access_meeting_by_id,
    schedule_warnings,
    signup_stats,
    suggest_slots,
)
from oa.models import Agency, Notification, WorkItem
from oa.refusals import Refusal
from oa.scheduling import run_job
from tests.clients import login

BJ = ZoneInfo("Asia/Shanghai")


def at(y, m, d, hh=9, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=BJ)


# 2026-03-02 is a Monday, an ordinary working week.
NOW = at(2026, 3, 2, 8, 0)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def office(db):
    return Agency.objects.get(short_name="区府办")


@pytest.fixture
def room(office):
    return Room.objects.create(name="第一会议室", building="区府大楼", capacity=10, owner_agency=office,
                               video_capable=True)


def meeting_input(start, end, **kw) -> MeetingInput:
    kw.setdefault("title", "周例会")
    return MeetingInput(start=start, end=end, **kw)


def notices(person, event_type):
    return list(Notification.objects.filter(recipient=person, event_type=event_type).order_by("id"))


def open_item(person, kind=INVITATION_KIND):
    return WorkItem.objects.filter(owner=person, kind=kind, state=WorkItem.State.OPEN).first()


# --- conflicts ---------------------------------------------------------------------------------------------


def test_touching_intervals_are_not_conflicts(cast, clock, room):
    check_create_meeting(cast.zhangwei, meeting_input(at(2026, 3, 3, 9), at(2026, 3, 3, 10), room=room))
    later = check_create_meeting(cast.lina, meeting_input(at(2026, 3, 3, 10), at(2026, 3, 3, 11), room=room))
    earlier = check_create_meeting(cast.lina, meeting_input(at(2026, 3, 3, 8), at(2026, 3, 3, 9), room=room,
                                                            title="早会"))
    assert later.status == earlier.status == Meeting.Status.SCHEDULED


def test_double_booking_refused_with_free_slots_and_nothing_written(cast, clock, room):
    check_create_meeting(cast.zhangwei, meeting_input(at(2026, 3, 3, 9), at(2026, 3, 3, 10), room=room))
    before = Meeting.objects.count(), MeetingChange.objects.count(), WorkItem.objects.count()
    with pytest.raises(SchedulingConflict) as caught:
        check_create_meeting(cast.lina, meeting_input(at(2026, 3, 3, 9, 30), at(2026, 3, 3, 10, 30), room=room,
                                                      participants=[cast.xuli]))
    exc = caught.value
    assert exc.code == "room_taken" and exc.status == 409
    assert "会议室 区府大楼 第一会议室" in exc.message and "周例会" in exc.message
    assert (Meeting.objects.count(), MeetingChange.objects.count(), WorkItem.objects.count()) == before
    assert exc.suggestions, "free slots are offered"
    for a, b in exc.suggestions:
        assert b - a == dt.timedelta(hours=1)
        assert not (a < at(2026, 3, 3, 10) and b > at(2026, 3, 3, 9)), "a suggestion never overlaps the booking"
        assert a >= at(2026, 3, 3, 9, 30)
    assert exc.suggestions[0] == (at(2026, 3, 3, 10), at(2026, 3, 3, 11))


def test_people_conflicts_refused_unless_accepted(cast, clock, room):
    check_create_meeting(cast.zhangwei, meeting_input(at(2026, 3, 3, 9), at(2026, 3, 3, 10), participants=[cast.xuli],
                                                      location="三楼"))
    with pytest.raises(SchedulingConflict) as caught:
        check_create_meeting(cast.lina, meeting_input(at(2026, 3, 3, 9, 30), at(2026, 3, 3, 11), room=room,
                                                      participants=[cast.xuli]))
    assert caught.value.code == "participant_conflict" and "徐丽" in caught.value.message
    m = check_create_meeting(cast.lina, meeting_input(at(2026, 3, 3, 9, 30), at(2026, 3, 3, 11), room=room,
                                                      participants=[cast.xuli], accept_person_conflicts=True))
    assert m.changes.get().changes["accepted_person_conflicts"] is True


def test_a_person_on_leave_from_a_meeting_is_not_in_conflict(cast, clock):
    first = check_create_meeting(cast.zhangwei, meeting_input(at(2026, 3, 3, 9), at(2026, 3, 3, 10),
                                                              participants=[cast.xuli], location="三楼"))
    check_respond(cast.xuli, first, Invitation.Response.LEAVE, reason="下乡调研")
    check_create_meeting(cast.lina, meeting_input(at(2026, 3, 3, 9), at(2026, 3, 3, 10), participants=[cast.xuli],
                                                  location="二楼"))


def test_across_midnight(cast, clock, room):
    night = check_create_meeting(cast.zhangwei, meeting_input(at(2026, 3, 3, 23), at(2026, 3, 4, 1), room=room,
                                                              title="防汛值守调度会"))
    assert night.end - night.start == dt.timedelta(hours=2)
    with pytest.raises(SchedulingConflict):
        check_create_meeting(cast.lina, meeting_input(at(2026, 3, 4, 0, 30), at(2026, 3, 4, 1, 30), room=room))
    check_create_meeting(cast.lina, meeting_input(at(2026, 3, 4, 1), at(2026, 3, 4, 2), room=room))
    assert schedule_warnings(night.start, night.end) == ["会议时间不在工作时间内（08:30–12:00、14:30–17:30）。"]


def test_free_slots_skip_the_spring_festival_and_use_the_adjusted_saturday(cast, time_machine, room):
    # 2026: 2月14日（周六）调休上班, 2月15日–23日 春节放假 (oa/calendar_data/2026.txt).
    time_machine.move_to(at(2026, 2, 13, 18), tick=False)
    slots = suggest_slots(room=room, person_ids=[cast.zhangwei.pk], duration=dt.timedelta(hours=1),
                          after=at(2026, 2, 13, 18), limit=8)
    days = [timezone_date(a) for a, _ in slots]
    assert days[0] == dt.date(2026, 2, 14), "the 调休 Saturday is a working day"
    assert all(not dt.date(2026, 2, 15) <= d <= dt.date(2026, 2, 23) for d in days), "no slot in the holiday"
    assert dt.date(2026, 2, 24) in days
    assert slots[0] == (at(2026, 2, 14, 8, 30), at(2026, 2, 14, 9, 30))
    assert all(a.astimezone(BJ).time() >= dt.time(8, 30) and b.astimezone(BJ).time() <= dt.time(17, 30)
               for a, b in slots)
    assert "不是工作日" in schedule_warnings(at(2026, 2, 16, 9), at(2026, 2, 16, 10))[0]
    assert schedule_warnings(at(2026, 2, 14, 9), at(2026, 2, 14, 10)) == []
    assert "不是工作日" in schedule_warnings(at(2026, 2, 21, 9), at(2026, 2, 21, 10))[0]  # a plain 春节 Saturday


def timezone_date(value: dt.datetime) -> dt.date:
    return value.astimezone(BJ).date()


# --- bad input ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "end", "code", "words"), [
    (at(2026, 3, 3, 10), at(2026, 3, 3, 9), "end_before_start", "结束时间必须晚于开始时间"),
    (at(2026, 3, 3, 10), at(2026, 3, 3, 10), "end_before_start", "结束时间必须晚于开始时间"),
    (at(2026, 3, 1, 10), at(2026, 3, 1, 11), "start_in_past", "开始时间已经过去"),
    (at(2026, 3, 3, 9), at(2026, 3, 4, 10), "meeting_too_long", "不能超过 24 小时"),
])
def test_bad_times_refused(cast, clock, room, start, end, code, words):
    with pytest.raises(Refusal) as caught:
        check_create_meeting(cast.zhangwei, meeting_input(start, end, room=room))
    assert caught.value.code == code and words in caught.value.message
    assert not Meeting.objects.exists()


def test_room_over_capacity(cast, clock, office):
    small = Room.objects.create(name="小会议室", building="区府大楼", capacity=3, owner_agency=office)
    with pytest.raises(Refusal) as caught:
        check_create_meeting(cast.zhangwei, meeting_input(at(2026, 3, 3, 9), at(2026, 3, 3, 10), room=small,
                                                          participants=[cast.lina, cast.xuli, cast.wangfang]))
    assert caught.value.code == "room_over_capacity"
    assert "最多容纳 3 人，本次会议预计 4 人" in caught.value.message
    assert not Meeting.objects.exists() and not WorkItem.objects.filter(kind=INVITATION_KIND).exists()


def test_invitation_outside_the_organisers_reach(cast, clock):
    finance_staff, edu_staff = cast.finance06, cast.edu06
    with pytest.raises(Refusal) as caught:
        check_create_meeting(finance_staff, meeting_input(at(2026, 3, 3, 9), at(2026, 3, 3, 10), location="三楼",
                                                          participants=[cast.finance04, edu_staff]))
    assert caught.value.code == "invitee_out_of_reach" and caught.value.status == 403
    assert "不在您可直接邀请的范围" in caught.value.message
    assert edu_staff.name in caught.value.message
    assert not Meeting.objects.exists() and not WorkItem.objects.filter(kind=INVITATION_KIND).exists()
    # 区府办 convenes the district: its people may invite anyone directly.
    check_create_meeting(cast.zhangwei, meeting_input(at(2026, 3, 3, 9), at(2026, 3, 3, 10), location="三楼",
                                                      participants=[edu_staff]))


def test_room_not_bookable_by_other_agencies(cast, clock, office):
    private = Room.objects.create(name="党组会议室", building="区府大楼", capacity=12, owner_agency=office)
    private.bookable_agencies.add(office)
    with pytest.raises(Refusal) as caught:
        check_create_meeting(cast.finance06, meeting_input(at(2026, 3, 3, 9), at(2026, 3, 3, 10), room=private))
    assert caught.value.code == "room_not_bookable"
    check_create_meeting(cast.zhangwei, meeting_input(at(2026, 3, 3, 9), at(2026, 3, 3, 10), room=private))


def test_agenda_item_outside_the_meeting_refused(cast, clock, room):
    with pytest.raises(Refusal) as caught:
        check_create_meeting(cast.zhangwei, meeting_input(
            at(2026, 3, 3, 9), at(2026, 3, 3, 10), room=room,
            agenda=[AgendaInput("预算执行情况", cast.lina, at(2026, 3, 3, 9, 30), at(2026, 3, 3, 10, 30))]))
    assert caught.value.code == "agenda_outside_meeting"
    assert not Meeting.objects.exists()


# --- invitations, RSVP, delegation ---------------------------------------------------------------------------


def test_invitations_are_work_items_and_replies_reach_the_organiser(cast, clock, room):
    m = check_create_meeting(cast.zhangwei, meeting_input(
        at(2026, 3, 3, 9), at(2026, 3, 3, 10), room=room, participants=[cast.lina, cast.xuli],
        observers=[cast.wujing], host=cast.wangfang,
        agenda=[AgendaInput("一季度工作安排", cast.lina, at(2026, 3, 3, 9), at(2026, 3, 3, 9, 30))]))
    item = open_item(cast.lina)
    assert item.box == WorkItem.Box.TODO and item.link == f"/meetings/{m.pk}/" and item.deadline == m.start
    assert item.step == "会议邀请" and open_item(cast.wujing).step == "列席邀请"
    assert notices(cast.lina, "work.assigned")[-1].work_item_id == item.pk

    with pytest.raises(Refusal) as caught:
        check_respond(cast.lina, m, Invitation.Response.LEAVE, reason=" ")
    assert caught.value.code == "leave_reason_required"
    check_respond(cast.lina, m, Invitation.Response.LEAVE, reason="到市里参加培训")
    inv = Invitation.objects.get(meeting=m, person=cast.lina)
    assert inv.response == "leave" and inv.reason == "到市里参加培训"
    assert WorkItem.objects.get(pk=item.pk).state == WorkItem.State.DONE
    replied = notices(cast.zhangwei, "meeting.replied")[-1]
    assert replied.payload["reason"] == "到市里参加培训" and replied.payload["person"] == "李娜"


def test_delegation_to_a_colleague(cast, clock, room):
    m = check_create_meeting(cast.zhangwei, meeting_input(at(2026, 3, 3, 9), at(2026, 3, 3, 10), room=room,
                                                          participants=[cast.xuli]))
    with pytest.raises(Refusal) as caught:
        check_respond(cast.xuli, m, Invitation.Response.DELEGATED, delegate=cast.edu06)
    assert caught.value.code == "delegate_out_of_unit"
    with pytest.raises(Refusal) as caught:
        check_respond(cast.xuli, m, Invitation.Response.DELEGATED, delegate=cast.xuli)
    assert caught.value.code == "delegate_self"
    check_respond(cast.xuli, m, Invitation.Response.DELEGATED, delegate=cast.gaojun, reason="另有公务")
    original = Invitation.objects.get(meeting=m, person=cast.xuli)
    stand_in = Invitation.objects.get(meeting=m, person=cast.gaojun)
    assert original.response == "delegated" and original.delegate == cast.gaojun
    assert stand_in.delegated_from == original and stand_in.response == "pending" and stand_in.required
    assert open_item(cast.xuli) is None
    assert "受 徐丽 委派" in open_item(cast.gaojun).note
    assert notices(cast.zhangwei, "meeting.replied")[-1].payload["delegate"] == "高军"
    with pytest.raises(Refusal) as caught:
        check_respond(cast.xuli, m, Invitation.Response.ACCEPTED)
    assert caught.value.code == "already_delegated"
    # The stand-in answers from the inbox like any invitee.
    from oa.actions.work import check_perform_work_action

    check_perform_work_action(cast.gaojun, open_item(cast.gaojun), "accept", {})
    assert Invitation.objects.get(pk=stand_in.pk).response == "accepted"


def test_cross_unit_notice_two_units_name_attendees(cast, clock, room):
    finance, edu = Agency.objects.get(short_name="区财政局"), Agency.objects.get(short_name="区教育局")
    m = check_create_meeting(cast.zhangwei, meeting_input(
        at(2026, 3, 5, 14, 30), at(2026, 3, 5, 16), room=room, title="全区预算编制工作会",
        units=[(finance, 2), (edu, 2)], signup_deadline=at(2026, 3, 4, 17)))
    finance_clerk, edu_clerk = cast.finance05, cast.edu05  # the 文书 of each bureau
    assert open_item(finance_clerk, SIGNUP_KIND).link == f"/meetings/{m.pk}/units/{m.units.get(agency=finance).pk}/"
    finance_unit, edu_unit = m.units.get(agency=finance), m.units.get(agency=edu)

    with pytest.raises(Refusal) as caught:
        check_name_unit_attendees(finance_clerk, finance_unit, [cast.finance01, cast.finance02, cast.finance03])
    assert caught.value.code == "over_quota"
    with pytest.raises(Refusal) as caught:
        check_name_unit_attendees(finance_clerk, finance_unit, [cast.edu01])
    assert caught.value.code == "attendee_other_unit"
    with pytest.raises(Refusal) as caught:
        check_name_unit_attendees(edu_clerk, finance_unit, [cast.finance01])
    assert caught.value.code == "not_unit_contact"

    check_name_unit_attendees(finance_clerk, finance_unit, [cast.finance01, cast.finance04])
    check_name_unit_attendees(edu_clerk, edu_unit, [cast.edu02])
    assert open_item(finance_clerk, SIGNUP_KIND) is None
    assert open_item(cast.finance01).title == "全区预算编制工作会"
    check_respond(cast.finance01, m, Invitation.Response.ACCEPTED)
    check_respond(cast.edu02, m, Invitation.Response.LEAVE, reason="迎检")
    stats = {s["unit"].agency.short_name: s for s in signup_stats(m)}
    assert (stats["区财政局"]["named"], stats["区财政局"]["accepted"], stats["区财政局"]["pending"]) == (2, 1, 1)
    assert (stats["区教育局"]["named"], stats["区教育局"]["leave"]) == (1, 1)
    # Re-naming withdraws the one no longer named, who is told.
    check_name_unit_attendees(finance_clerk, finance_unit, [cast.finance01])
    assert Invitation.objects.get(meeting=m, person=cast.finance04).response == "withdrawn"
    assert open_item(cast.finance04) is None
    assert notices(cast.finance04, "meeting.cancelled")
    # The organiser's console shows it; a named attendee cannot see the console.
    organiser = login(cast.zhangwei)
    page = organiser.get(f"/meetings/{m.pk}/console/")
    assert page.status_code == 200 and "区财政局" in page.content.decode() and "已报名" in page.content.decode()
    assert login(cast.finance01, otp=True).get(f"/meetings/{m.pk}/console/").status_code == 404


# --- changes, cancellation, approval, handover ---------------------------------------------------------------


def test_change_and_cancel_notify_and_keep_history(cast, clock, room):
    m = check_create_meeting(cast.zhangwei, meeting_input(at(2026, 3, 3, 9), at(2026, 3, 3, 10), room=room,
                                                          participants=[cast.lina, cast.xuli]))
    data = meeting_input(at(2026, 3, 3, 15), at(2026, 3, 3, 16), room=room, participants=[cast.lina, cast.gaojun])
    m = check_update_meeting(cast.zhangwei, m, data)
    assert m.sequence == 1
    assert notices(cast.lina, "meeting.changed")[-1].payload["sequence"] == 1
    assert open_item(cast.lina).deadline == at(2026, 3, 3, 15)
    assert Invitation.objects.get(meeting=m, person=cast.xuli).response == "withdrawn"
    assert notices(cast.xuli, "meeting.cancelled") and open_item(cast.xuli) is None
    assert open_item(cast.gaojun) is not None and not notices(cast.gaojun, "meeting.changed")
    with pytest.raises(Refusal) as caught:
        check_cancel_meeting(cast.zhangwei, m, "")
    assert caught.value.code == "cancel_reason_required"
    with pytest.raises(Refusal) as caught:
        check_cancel_meeting(cast.lina, m, "改期")
    assert caught.value.code == "not_organiser"
    check_cancel_meeting(cast.zhangwei, m, "领导另有安排")
    m.refresh_from_db()
    assert m.status == "cancelled" and m.sequence == 2
    assert notices(cast.gaojun, "meeting.cancelled")[-1].summary == "领导另有安排"
    assert open_item(cast.lina) is None
    assert WorkItem.objects.get(ref=invitation_ref(Invitation.objects.get(meeting=m, person=cast.lina)),
                                owner=cast.lina).state == WorkItem.State.CANCELLED
    assert [c.action for c in m.changes.order_by("id")] == ["create", "update", "cancel"]
    # The room is free again.
    check_create_meeting(cast.lina, meeting_input(at(2026, 3, 3, 15), at(2026, 3, 3, 16), room=room))


def test_room_approval(cast, clock, office):
    hall = Room.objects.create(name="常务会议室", building="区府大楼", capacity=30, owner_agency=office,
                               approver=cast.liuyang)
    m = check_create_meeting(cast.zhangwei, meeting_input(at(2026, 3, 3, 9), at(2026, 3, 3, 10), room=hall,
                                                          participants=[cast.lina]))
    assert m.status == "pending" and open_item(cast.lina) is None
    with pytest.raises(SchedulingConflict):  # a pending booking holds the room
        check_create_meeting(cast.xuli, meeting_input(at(2026, 3, 3, 9), at(2026, 3, 3, 10), room=hall))
    with pytest.raises(Refusal) as caught:
        check_decide_room_booking(cast.lina, m, approve=True)
    assert caught.value.code == "not_approver"
    check_decide_room_booking(cast.liuyang, m, approve=True)
    m.refresh_from_db()
    assert m.status == "scheduled" and open_item(cast.lina) is not None
    assert notices(cast.zhangwei, "meeting.decided")[-1].payload["approved"] is True


def test_handover_moves_open_invitations(cast, clock, room):
    m = check_create_meeting(cast.zhangwei, meeting_input(at(2026, 3, 3, 9), at(2026, 3, 3, 10), room=room,
                                                          participants=[cast.xuli]))
    provider = MeetingWorkProvider()
    assert provider.count_open(cast.xuli) == 1
    provider.move_open(cast.xuli, cast.gaojun)
    assert Invitation.objects.get(meeting=m).person == cast.gaojun
    assert open_item(cast.gaojun) is not None and open_item(cast.xuli) is None
    check_respond(cast.gaojun, m, Invitation.Response.ACCEPTED)


# --- reminders ---------------------------------------------------------------------------------------------


def test_reminders_fire_exactly_once_per_offset(cast, time_machine, room):
    time_machine.move_to(NOW, tick=False)
    m = check_create_meeting(cast.zhangwei, meeting_input(at(2026, 3, 5, 9), at(2026, 3, 5, 10), room=room,
                                                          participants=[cast.lina, cast.xuli],
                                                          reminder_offsets=[1440, 30]))
    check_respond(cast.xuli, m, Invitation.Response.LEAVE, reason="出差")
    run_job("meetings.send_reminders")
    assert not notices(cast.lina, "meeting.reminder"), "nothing due two days ahead"
    time_machine.move_to(at(2026, 3, 4, 9, 1), tick=False)
    run_job("meetings.send_reminders")
    run_job("meetings.send_reminders")
    reminders = notices(cast.lina, "meeting.reminder")
    assert len(reminders) == 1 and reminders[0].payload["minutes_before"] == 1440
    assert not notices(cast.xuli, "meeting.reminder"), "no reminder for someone on leave"
    time_machine.move_to(at(2026, 3, 5, 8, 40), tick=False)
    from oa.scheduling import Scheduler

    Scheduler(clock=lambda: 0.0).tick()  # the embedded scheduler loop runs it like any job
    run_job("meetings.send_reminders")
    reminders = notices(cast.lina, "meeting.reminder")
    assert [r.payload["minutes_before"] for r in reminders] == [1440, 30]
    assert ReminderSent.objects.filter(invitation__meeting=m).count() == 2
    assert login(cast.zhangwei).get(f"/meetings/{m.pk}/console/").content.decode().count("会前 30 分钟的提醒") == 1


def test_a_late_booking_sends_one_reminder_not_two(cast, time_machine, room):
    time_machine.move_to(at(2026, 3, 5, 8, 50), tick=False)
    check_create_meeting(cast.zhangwei, meeting_input(at(2026, 3, 5, 9), at(2026, 3, 5, 10), room=room,
                                                      participants=[cast.lina], reminder_offsets=[1440, 30]))
    run_job("meetings.send_reminders")
    assert [n.payload["minutes_before"] for n in notices(cast.lina, "meeting.reminder")] == [30]


# --- ICS ---------------------------------------------------------------------------------------------------


def test_ics_request_then_cancel_parsed_back(cast, clock, room):
    m = check_create_meeting(cast.zhangwei, meeting_input(at(2026, 3, 3, 9), at(2026, 3, 3, 10), room=room,
                                                          participants=[cast.lina], title="安全生产“大排查”部署会"))
    cal = Calendar.from_ical(invitation_ics(m, cast.lina))
    assert str(cal["METHOD"]) == "REQUEST"
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    (event,) = cal.walk("VEVENT")
    assert str(event["UID"]) == meeting_uid(m) and int(event["SEQUENCE"]) == 0
    assert str(event["SUMMARY"]) == "安全生产“大排查”部署会"
    assert event.decoded("DTSTART") == at(2026, 3, 3, 9) and event["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert event.decoded("DTEND") == at(2026, 3, 3, 10)
    found = event.get("ATTENDEE")
    found = found if isinstance(found, list) else [found]
    attendees = {str(a.params["CN"]): str(a.params["PARTSTAT"]) for a in found}
    assert attendees.get("李娜") == "NEEDS-ACTION"

    m = check_update_meeting(cast.zhangwei, m, meeting_input(at(2026, 3, 3, 14, 30), at(2026, 3, 3, 15, 30),
                                                             room=room, participants=[cast.lina]))
    (event,) = Calendar.from_ical(invitation_ics(m, cast.lina)).walk("VEVENT")
    assert str(event["UID"]) == meeting_uid(m) and int(event["SEQUENCE"]) == 1
    assert event.decoded("DTSTART") == at(2026, 3, 3, 14, 30)

    check_cancel_meeting(cast.zhangwei, m, "改期另行通知")
    m.refresh_from_db()
    cal = Calendar.from_ical(invitation_ics(m, cast.lina))
    (event,) = cal.walk("VEVENT")
    assert str(cal["METHOD"]) == "CANCEL" and str(event["STATUS"]) == "CANCELLED" and int(event["SEQUENCE"]) == 2


def test_ics_feed_is_token_protected(cast, clock, room, client):
    m = check_create_meeting(cast.zhangwei, meeting_input(at(2026, 3, 3, 9), at(2026, 3, 3, 10), room=room,
                                                          participants=[cast.lina]))
    token = do_new_calendar_feed(cast.lina)
    response = client.get(f"/meetings/feed/{token}.ics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    (event,) = Calendar.from_ical(response.content).walk("VEVENT")
    assert str(event["UID"]) == meeting_uid(m)
    assert client.get("/meetings/feed/not-a-token.ics").status_code == 404
    renewed = do_new_calendar_feed(cast.lina)
    assert client.get(f"/meetings/feed/{token}.ics").status_code == 404, "the old URL stops working"
    assert client.get(f"/meetings/feed/{renewed}.ics").status_code == 200


# --- access and pages --------------------------------------------------------------------------------------


def test_access_rules(cast, clock, room):
    m = check_create_meeting(cast.zhangwei, meeting_input(at(2026, 3, 3, 9), at(2026, 3, 3, 10), room=room,
                                                          participants=[cast.lina]))
    assert access_meeting_by_id(cast.lina, m.pk) == m
    assert access_meeting_by_id(cast.liuyang, m.pk) == m  # 区府办 文书: the organising agency's secretary
    from django.http import Http404

    with pytest.raises(Http404):
        access_meeting_by_id(cast.edu06, m.pk)
    outsider = login(cast.edu06)
    for url in (f"/meetings/{m.pk}/", f"/meetings/{m.pk}/invite.ics", f"/meetings/{m.pk}/console/",
                f"/meetings/{m.pk}/edit/"):
        assert outsider.get(url).status_code == 404, url
    assert outsider.get(f"/meetings/{m.pk + 999}/").status_code == 404
    assert login(cast.lina).get(f"/meetings/{m.pk}/edit/").status_code == 403
    # The room board shows the booking to everyone, but names it only to those who may see the meeting.
    board = outsider.get("/meetings/rooms/?date=2026-03-03").content.decode()
    assert "周例会" not in board and "已被预约" in board
    assert "周例会" in login(cast.lina).get("/meetings/rooms/?date=2026-03-03").content.decode()


def test_pages_create_conflict_and_rsvp_over_http(cast, clock, room):
    check_create_meeting(cast.lina, meeting_input(at(2026, 3, 3, 9), at(2026, 3, 3, 10), room=room))
    browser = login(cast.zhangwei)
    assert browser.get("/meetings/new/").status_code == 200
    form = {"title": "专题会", "start": "2026-03-03T09:30", "end": "2026-03-03T10:30", "mode": "offline",
            "room": room.pk, "participants": [cast.xuli.pk], "reminders": ["30"],
            "agenda-TOTAL_FORMS": "1", "agenda-INITIAL_FORMS": "0", "agenda-0-title": "汇报", "agenda-0-start": "09:30",
            "agenda-0-end": "10:00", "agenda-0-presenter": cast.xuli.pk}
    page = browser.post("/meetings/new/", form)
    assert page.status_code == 409
    html = page.content.decode()
    assert "推荐空闲时段" in html and "已被“周例会”占用" in html
    assert Meeting.objects.filter(title="专题会").count() == 0
    form["slot"] = f"{at(2026, 3, 3, 10).isoformat()}|{at(2026, 3, 3, 11).isoformat()}"
    form["agenda-0-start"], form["agenda-0-end"] = "10:00", "10:30"
    page = browser.post("/meetings/new/", form)
    assert page.status_code == 302
    m = Meeting.objects.get(title="专题会")
    assert (m.start, m.end) == (at(2026, 3, 3, 10), at(2026, 3, 3, 11))
    assert m.agenda.get().presenter == cast.xuli and m.reminder_offsets == [30]
    invitee = login(cast.xuli)
    assert "参加" in invitee.get(f"/meetings/{m.pk}/").content.decode()
    page = invitee.post(f"/meetings/{m.pk}/respond", {"response": "leave", "reason": ""})
    assert page.status_code == 400 and "请假须填写事由" in page.content.decode()
    assert invitee.post(f"/meetings/{m.pk}/respond", {"response": "accepted"}).status_code == 302
    assert Invitation.objects.get(meeting=m, person=cast.xuli).response == "accepted"
    week = invitee.get("/meetings/?date=2026-03-03").content.decode()
    assert "专题会" in week and "参加" in week
    assert invitee.get("/meetings/?view=day&date=2026-03-03").status_code == 200


def test_agenda_material_checked_by_content(cast, clock, room):
    m = check_create_meeting(cast.zhangwei, meeting_input(at(2026, 3, 3, 9), at(2026, 3, 3, 10), room=room,
                                                          participants=[cast.lina],
                                                          agenda=[AgendaInput("预算", cast.lina)]))
    item = m.agenda.get()
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    with pytest.raises(Refusal):
        check_add_material(cast.lina, item, SimpleUploadedFile("预算说明.pdf", png))
    with pytest.raises(Refusal) as caught:
        check_add_material(cast.xuli, item, SimpleUploadedFile("a.txt", "文本".encode()))
    assert caught.value.code == "not_allowed"
    material = check_add_material(cast.lina, item, SimpleUploadedFile("要点.txt", "一、预算执行\n".encode()))
    assert material.content_type.startswith("text/plain") and material.size > 0
    response = login(cast.lina).get(f"/meetings/{m.pk}/materials/{material.pk}")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert login(cast.edu06).get(f"/meetings/{m.pk}/materials/{material.pk}").status_code == 404


def test_room_approval_runs_on_viewflow_with_its_todo_actions(cast, clock, office):
    """The approval is a RoomApprovalFlow process (meetings/flows.py): its task is the approver's 待办 with
    同意/不同意; 不同意 needs a reason; cancelling the meeting cancels the process."""
    from viewflow.workflow.models import Process, Task
    from viewflow.workflow.status import PROCESS, STATUS

    from meetings.flows import RoomApprovalFlow
    from oa.actions.work import check_perform_work_action, work_item_actions

    hall = Room.objects.create(name="常务会议室", building="区府大楼", capacity=30, owner_agency=office,
                               approver=cast.liuyang)
    m = check_create_meeting(cast.zhangwei, meeting_input(at(2026, 3, 3, 9), at(2026, 3, 3, 10), room=hall,
                                                          participants=[cast.lina]))
    process = Process.objects.get(flow_class=RoomApprovalFlow, data__meeting_id=m.pk)
    assert process.artifact == m and process.status == PROCESS.NEW
    task = Task.objects.get(process=process, flow_task=RoomApprovalFlow.approve)
    assert task.owner == cast.liuyang and task.status == STATUS.ASSIGNED
    item = WorkItem.objects.get(owner=cast.liuyang, ref=f"viewflow.task:{task.pk}", state=WorkItem.State.OPEN)
    assert item.link == f"/meetings/{m.pk}/" and item.title == m.title
    assert [a.label for a in work_item_actions(item, cast.liuyang)] == ["同意", "不同意"]
    with pytest.raises(Refusal) as caught:
        check_perform_work_action(cast.liuyang, item, "reject", {"opinion": ""})
    assert caught.value.code == "opinion_required"
    check_perform_work_action(cast.liuyang, item, "reject", {"opinion": "该时段另有接待"})
    m.refresh_from_db()
    process.refresh_from_db()
    task.refresh_from_db()
    assert m.status == "rejected" and process.status == PROCESS.DONE and task.status == STATUS.DONE
    assert task.data["outcome"] == "veto" and task.data["opinion"] == "该时段另有接待"
    assert WorkItem.objects.get(pk=item.pk).state == WorkItem.State.DONE
    assert notices(cast.zhangwei, "meeting.decided")[-1].payload["approved"] is False
    assert open_item(cast.lina) is None, "no invitation for a rejected booking"
    # A pending booking cancelled by the organiser cancels its approval process and withdraws the 待办.
    m2 = check_create_meeting(cast.zhangwei, meeting_input(at(2026, 3, 4, 9), at(2026, 3, 4, 10), room=hall))
    p2 = Process.objects.get(flow_class=RoomApprovalFlow, data__meeting_id=m2.pk)
    t2 = Task.objects.get(process=p2, flow_task=RoomApprovalFlow.approve)
    check_cancel_meeting(cast.zhangwei, m2, "改期")
    p2.refresh_from_db()
    assert p2.status == PROCESS.CANCELED
    assert WorkItem.objects.get(ref=f"viewflow.task:{t2.pk}", owner=cast.liuyang).state == WorkItem.State.CANCELLED


# --- approved 零跑动 leave (workflows.services.selectors.leave_busy) ---------------------------------------------


def _leave(person, first: dt.date, last: dt.date, state: str, returned_on: dt.date | None = None):
    """A 请休假 record as the 零跑动 flow leaves it (its approval is tested in tests/test_services_leave.py)."""
    from tests.services_helpers import item, load_services
    from workflows.services.models import LeaveRecord, ServiceApplication

    if not ServiceApplication.objects.exists():
        load_services()
    appointment = person.appointments.select_related("department").first()
    application = ServiceApplication.objects.create(
        item=item("leave"), number=f"QJ-{person.pk}-{first:%m%d}-{state}", applicant=person,
        agency_id=appointment.department.agency_id, department=appointment.department, submitted_at=NOW,
        deadline=NOW + dt.timedelta(days=3))
    return LeaveRecord.objects.create(application=application, person=person, kind=LeaveRecord.Kind.ANNUAL,
                                      start=first, end=last, working_days=(last - first).days + 1, state=state,
                                      returned_on=returned_on)


def test_a_participant_on_approved_leave_conflicts_and_the_message_says_so(cast, clock, room):
    from workflows.services.models import LeaveRecord

    _leave(cast.zhangwei, dt.date(2026, 3, 4), dt.date(2026, 3, 5), LeaveRecord.State.APPROVED)
    before = Meeting.objects.count()
    with pytest.raises(SchedulingConflict) as caught:
        check_create_meeting(cast.lina, meeting_input(at(2026, 3, 5, 15), at(2026, 3, 5, 16), room=room,
                                                      participants=[cast.zhangwei, cast.xuli]))
    exc = caught.value
    assert exc.code == "participant_conflict" and Meeting.objects.count() == before
    assert "以下人员在该时段已请假：张伟 该时段已请假（03-04至03-05）" in exc.message
    assert [c.kind for c in exc.conflicts] == ["leave"] and exc.conflicts[0].person == cast.zhangwei
    # Free slots skip the leave days: the first one is the next working morning after the leave.
    assert exc.suggestions[0] == (at(2026, 3, 6, 8, 30), at(2026, 3, 6, 9, 30))
    assert all(timezone_date(a) not in (dt.date(2026, 3, 4), dt.date(2026, 3, 5)) for a, _ in exc.suggestions)
    # The organiser may still keep the time, like any people conflict.
    kept = check_create_meeting(cast.lina, meeting_input(at(2026, 3, 5, 15), at(2026, 3, 5, 16), room=room,
                                                         participants=[cast.zhangwei], accept_person_conflicts=True))
    assert kept.status == Meeting.Status.SCHEDULED


def test_pending_rejected_and_cancelled_leave_do_not_conflict(cast, clock, room):
    from workflows.services.models import LeaveRecord

    _leave(cast.zhangwei, dt.date(2026, 3, 4), dt.date(2026, 3, 4), LeaveRecord.State.PENDING)
    _leave(cast.xuli, dt.date(2026, 3, 4), dt.date(2026, 3, 4), LeaveRecord.State.REJECTED)
    # 销假 on the first day: approved for 3/4–3/6 but back on 3/4, so not away at all.
    _leave(cast.wangfang, dt.date(2026, 3, 4), dt.date(2026, 3, 6), LeaveRecord.State.CLOSED,
           returned_on=dt.date(2026, 3, 4))
    meeting = check_create_meeting(cast.lina, meeting_input(
        at(2026, 3, 4, 9), at(2026, 3, 4, 10), room=room, participants=[cast.zhangwei, cast.xuli, cast.wangfang]))
    assert meeting.status == Meeting.Status.SCHEDULED


def test_leave_ended_early_by_xiaojia_frees_the_days_after_the_return(cast, clock, room):
    from workflows.services.models import LeaveRecord

    # Approved 3/3–3/6, back (销假) on 3/5: away 3/3–3/4 only.
    _leave(cast.zhangwei, dt.date(2026, 3, 3), dt.date(2026, 3, 6), LeaveRecord.State.CLOSED,
           returned_on=dt.date(2026, 3, 5))
    with pytest.raises(SchedulingConflict) as caught:
        check_create_meeting(cast.lina, meeting_input(at(2026, 3, 4, 9), at(2026, 3, 4, 10), room=room,
                                                      participants=[cast.zhangwei]))
    assert "张伟 该时段已请假（03-03至03-04）" in caught.value.message
    check_create_meeting(cast.lina, meeting_input(at(2026, 3, 5, 9), at(2026, 3, 5, 10), room=room,
                                                  participants=[cast.zhangwei]))
    slots = suggest_slots(room=None, person_ids=[cast.zhangwei.pk], duration=dt.timedelta(hours=1),
                          after=NOW, limit=3)
    assert timezone_date(slots[0][0]) == dt.date(2026, 3, 2)  # today is before the leave
    slots = suggest_slots(room=None, person_ids=[cast.zhangwei.pk], duration=dt.timedelta(hours=1),
                          after=at(2026, 3, 3, 8), limit=3)
    assert slots[0] == (at(2026, 3, 5, 10), at(2026, 3, 5, 11))  # 3/5 9–10 is his meeting now
