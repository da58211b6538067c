"""会议室预约, 出差审批 and 办公用房 over HTTP as the demo cast with the test clock (docs/services.md): the room is booked
through the meetings action (its conflict check refuses a slot taken meanwhile); travel counts working days from the
calendar and routes an over-budget trip to the 主要负责人; the office area standard is a warning to the approver."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from integrations.hr.actions import check_import_hr
from integrations.hr.models import HrRecord
from integrations.hr.source import HrDataError, parse_csv
from meetings.actions import MeetingInput, check_create_meeting
from meetings.models import Meeting, Room
from oa.models import Agency
from tests.clients import login
from tests.services_helpers import input_names, item, load_services, open_task
from workflows.services.models import (
    OfficeRequest,
    OfficeRoom,
    RoomRequest,
    ServiceApplication,
    TravelRequest,
)

pytestmark = pytest.mark.django_db
BEIJING = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def affairs(cast, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 2, 9, 0, tzinfo=BEIJING), tick=False)
    load_services()
    return time_machine


def _at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=BEIJING)


def _apply(person, code: str, data: dict, status: int = 302):
    response = login(person).post(f"/services/items/{item(code).pk}/apply", data)
    assert response.status_code == status, response.content.decode()[:3000]
    return response if status != 302 else ServiceApplication.objects.get(
        pk=int(response["Location"].rstrip("/").rsplit("/", 1)[-1]))


def _decide(person, application, decision: str, status: int = 302, otp: bool = False):
    task = open_task(application, person)
    response = login(person, otp=otp).post(f"/services/tasks/{task.pk}/", {"form": "decide", "decision": decision})
    assert response.status_code == status, response.content.decode()[:3000]
    return response


# --- 会议室预约 ------------------------------------------------------------------------------------------------


def test_room_booking_goes_through_the_meetings_conflict_check(affairs, cast):
    office = Agency.objects.get(doc_code="揭东府办")
    room = Room.objects.create(name="第二会议室", building="区府大楼", capacity=10, owner_agency=office)
    check_create_meeting(cast.lina, MeetingInput(title="科务会", start=_at(4, 14), end=_at(4, 15), room=room))
    page = login(cast.zhangwei).get(f"/services/items/{item('meeting_room').pk}/apply").content.decode()
    assert input_names(page) == {"csrfmiddlewaretoken", "room", "title", "start", "end", "attendees", "purpose"}

    form = {"room": room.pk, "title": "专题协调会", "attendees": "8", "purpose": ""}
    taken = _apply(cast.zhangwei, "meeting_room", {**form, "start": "2026-03-04T14:30", "end": "2026-03-04T15:30"},
                   status=409)
    assert "该时段会议室已被占用" in taken.content.decode() and "科务会" in taken.content.decode()
    crowded = _apply(cast.zhangwei, "meeting_room", {**form, "attendees": "20", "start": "2026-03-04T09:00",
                                                     "end": "2026-03-04T10:00"}, status=400)
    assert "最多容纳 10 人" in crowded.content.decode()
    assert not ServiceApplication.objects.exists()

    application = _apply(cast.zhangwei, "meeting_room", {**form, "start": "2026-03-04T09:00",
                                                         "end": "2026-03-04T10:00"})
    _decide(cast.liuyang, application, "accept")
    # The slot is taken while the application waits: the final approval is refused by meetings' own check.
    check_create_meeting(cast.gaojun, MeetingInput(title="材料会审", start=_at(4, 9, 30), end=_at(4, 10, 30), room=room))
    refused = _decide(cast.lina, application, "agree", status=409)
    assert "该时段会议室已被占用" in refused.content.decode()
    assert RoomRequest.objects.get(application=application).meeting is None
    assert Meeting.objects.filter(room=room).count() == 2

    # 退回补正 to another time, resubmitted straight back to 李娜, who approves: the booking is a meeting.
    task = open_task(application, cast.lina)
    login(cast.lina).post(f"/services/tasks/{task.pk}/", {"form": "return", "reason": "9:30 已被占用，请改时间"})
    amend = open_task(application, cast.zhangwei)
    response = login(cast.zhangwei).post(f"/services/tasks/{amend.pk}/", {
        "form": "amend", **form, "start": "2026-03-04T10:30", "end": "2026-03-04T11:30"})
    assert response.status_code == 302, response.content.decode()[:2000]
    _decide(cast.lina, application, "agree")
    request = RoomRequest.objects.get(application=application)
    assert request.meeting is not None and request.meeting.room == room
    assert request.meeting.start == _at(4, 10, 30) and request.meeting.organiser == cast.zhangwei
    assert request.meeting.status == Meeting.Status.SCHEDULED
    application.refresh_from_db()
    assert application.status == ServiceApplication.Status.DONE and application.amend_count == 1


# --- 出差审批 -------------------------------------------------------------------------------------------------


def _trip(start: str, end: str, cost: str) -> dict:
    return {"destination": "广州市", "start": start, "end": end, "transport": "train", "estimated_cost": cost,
            "purpose": "参加全省政务服务培训"}


def test_travel_budget_check_and_over_budget_extra_approval(affairs, cast):
    page = login(cast.zhangwei).get(f"/services/items/{item('travel').pk}/apply").content.decode()
    assert "6,000.00 元" in page and "一级科员" in page
    assert input_names(page) == {"csrfmiddlewaretoken", "destination", "start", "end", "transport", "estimated_cost",
                                 "purpose"}
    # 清明 2026: 4/4–4/6 off; 4/3 (Fri) – 4/7 (Tue) is 5 days of which 2 working days.
    first = _apply(cast.zhangwei, "travel", _trip("2026-04-03", "2026-04-07", "2500"))
    travel = TravelRequest.objects.get(application=first)
    assert travel.working_days == 2 and not travel.over_budget and travel.budget_remaining == Decimal(6000)
    for person, decision, otp in ((cast.xuli, "accept", False), (cast.lina, "agree", False),
                                  (cast.wangfang, "agree", True)):
        _decide(person, first, decision, otp=otp)
    travel.refresh_from_db()
    assert travel.state == TravelRequest.State.APPROVED

    overlap = _apply(cast.zhangwei, "travel", _trip("2026-04-07", "2026-04-08", "300"), status=409)
    assert "时间重叠" in overlap.content.decode()
    # 6000 − 2500 = 3500 left: 5000 is over budget — not refused, routed to the 主要负责人 as one more stage.
    second = _apply(cast.zhangwei, "travel", _trip("2026-05-11", "2026-05-13", "5000"))
    assert TravelRequest.objects.get(application=second).over_budget
    for person, decision, otp in ((cast.xuli, "accept", False), (cast.lina, "agree", False),
                                  (cast.wangfang, "agree", True)):
        _decide(person, second, decision, otp=otp)
    task = open_task(second)
    assert task.owner == cast.huangjianhua and task.data["title"] == "超预算审批"
    step = login(cast.huangjianhua, otp=True).get(f"/services/tasks/{task.pk}/").content.decode()
    assert "超预算" in step and "3,500.00 元" in step
    _decide(cast.huangjianhua, second, "agree", otp=True)
    second.refresh_from_db()
    assert second.status == ServiceApplication.Status.DONE and "超预算，经主要负责人审批" in second.result_note


def test_travel_without_finance_data_or_bad_dates_is_refused(affairs, cast):
    missing = login(cast.gaojun).get(f"/services/items/{item('travel').pk}/apply")
    assert missing.status_code == 409 and "财务数据中没有您的差旅费额度" in missing.content.decode()
    backwards = _apply(cast.zhangwei, "travel", _trip("2026-04-08", "2026-04-07", "100"), status=400)
    assert "返回日期不能早于出发日期" in backwards.content.decode()
    past = _apply(cast.zhangwei, "travel", _trip("2026-02-27", "2026-03-03", "100"), status=400)
    assert "出差须事前审批" in past.content.decode()
    assert not ServiceApplication.objects.exists() and not TravelRequest.objects.exists()


def test_hr_import_reads_the_travel_budget_and_names_a_bad_one(cast):
    header = "账号,姓名,入职日期,职级,收入档次,年收入,假期年度,年休假天数,已休天数,差旅费额度\n"
    check_import_hr(None, parse_csv((header + "zhangwei,张伟,2016-07-01,一级科员,三档,96000,2026,10,2,7500\n").encode()),
                    source="测试")
    assert HrRecord.objects.get(person=cast.zhangwei).travel_budget == Decimal(7500)
    with pytest.raises(HrDataError) as exc:
        parse_csv((header + "lina,李娜,2009-08-15,四级主任科员,五档,138000,2026,15,0,很多\n").encode())
    assert [str(e) for e in exc.value.errors] == ["第 2 行：差旅费额度“很多”应为不小于 0 的金额"]


# --- 办公用房 -------------------------------------------------------------------------------------------------


def test_office_adjustment_warns_the_approver_over_the_area_standard(affairs, cast):
    page = login(cast.zhangwei).get(f"/services/items/{item('office_space').pk}/apply").content.decode()
    assert "区府大楼 301" in page and "9 ㎡（科级以下）" in page  # from the 台账 and 职务/职级: not asked
    assert input_names(page) == {"csrfmiddlewaretoken", "kind", "room", "purpose"}
    r301, r303 = OfficeRoom.objects.get(number="301"), OfficeRoom.objects.get(number="303")
    already = _apply(cast.zhangwei, "office_space", {"kind": "allocate", "room": r303.pk, "purpose": "新入职"}, status=400)
    assert "您已有办公用房 区府大楼 301" in already.content.decode()
    assert not ServiceApplication.objects.exists()

    application = _apply(cast.zhangwei, "office_space", {"kind": "adjust", "room": r303.pk, "purpose": "科室调整"})
    assert OfficeRequest.objects.get(application=application).over_standard
    step = login(cast.xuli).get(f"/services/tasks/{open_task(application).pk}/").content.decode()
    assert "超标提醒" in step and "分配后人均 12 ㎡" in step and "标准 9 ㎡" in step
    _decide(cast.xuli, application, "accept")  # a warning, not a refusal
    _decide(cast.wangfang, application, "agree", otp=True)
    assert list(r303.occupants.all()) == [cast.zhangwei] and not r301.occupants.exists()
    application.refresh_from_db()
    assert application.result_note == "已调整至 区府大楼 303（人均 12 ㎡）"
