"""因公出国(境) and 值班排班 over HTTP as the demo cast (docs/services.md): the multi-level route from catalogue data,
证照领用/归还 log; the monthly roster, duty days, a swap (A asks B, B confirms, the office approves, the roster
changes atomically) and the refusals (B on duty or on approved leave that day; the roster changed meanwhile)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from oa.models import AuditEntry, Notification
from oa.refusals import Refusal
from tests.clients import login
from tests.services_helpers import input_names, item, load_services, open_task, todo_of
from workflows.services.items.abroad import check_passport
from workflows.services.items.records import AbroadTrip, DutyRoster, DutySlot, PassportLog
from workflows.services.models import ApplicationEvent, ServiceApplication

pytestmark = pytest.mark.django_db
BEIJING = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def clock(cast, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 2, 9, 0, tzinfo=BEIJING), tick=False)  # a Monday
    load_services()
    return time_machine


def _client(person, otp: bool = False):
    client = login(person, otp=otp)
    client.person = person
    return client


def _decide(client, application, decision: str = "agree", status: int = 302):
    task = open_task(application, client.person)
    response = client.post(f"/services/tasks/{task.pk}/", {"form": "decide", "decision": decision})
    assert response.status_code == status, response.content.decode()[:2000]
    return response


def _apply(client, code: str, data: dict, status: int = 302):
    response = client.post(f"/services/items/{item(code).pk}/apply", data)
    assert response.status_code == status, response.content.decode()[:3000]
    if status != 302:
        return response
    return ServiceApplication.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[-1]))


TRIP = {"destination": "新加坡", "organizer": "揭阳市人民政府外事局", "start": "2026-04-13", "end": "2026-04-17",
        "passport": "official", "purpose": "考察数字政府建设"}


def test_abroad_route_unit_foreign_affairs_leader_and_passport_custody(clock, cast):
    zhangwei, gaojun, lina, xuli = (_client(cast.zhangwei), _client(cast.gaojun), _client(cast.lina),
                                    _client(cast.xuli))
    leader = _client(cast.huangjianhua, otp=True)
    page = zhangwei.get(f"/services/items/{item('abroad').pk}/apply").content.decode()
    assert "张伟" in page and "科员" in page
    assert input_names(page) == {"csrfmiddlewaretoken", "destination", "organizer", "start", "end", "passport",
                                 "purpose"}
    guide = zhangwei.get(f"/services/items/{item('abroad').pk}/").content.decode()
    assert "单位审核" in guide and "外事审核" in guide and "领导审批" in guide

    before = ServiceApplication.objects.count()
    reversed_ = _apply(zhangwei, "abroad", {**TRIP, "end": "2026-04-10"}, status=400)
    assert "入境日期不能早于出境日期" in reversed_.content.decode()
    past = _apply(zhangwei, "abroad", {**TRIP, "start": "2026-03-01"}, status=400)
    assert "出境日期须晚于今天" in past.content.decode()
    long_ = _apply(zhangwei, "abroad", {**TRIP, "end": "2026-06-01"}, status=400)
    assert "不能超过 30 天" in long_.content.decode()
    assert ServiceApplication.objects.count() == before

    application = _apply(zhangwei, "abroad", TRIP)
    trip = AbroadTrip.objects.get(application=application)
    assert trip.destination == "新加坡" and trip.custody == AbroadTrip.Custody.KEPT
    overlap = _apply(zhangwei, "abroad", {**TRIP, "start": "2026-04-16", "end": "2026-04-20"}, status=409)
    assert "时间重叠" in overlap.content.decode()

    # 一门受理 (综合科) → 单位审核 (秘书科 科长) → 外事审核 (综合科 科长) → 领导审批 (主要负责人), as the data says.
    assert todo_of(cast.gaojun, application)
    _decide(gaojun, application, "accept")
    for client in (lina, xuli, leader):
        assert open_task(application).owner == client.person
        _decide(client, application)
    application.refresh_from_db()
    assert application.status == ServiceApplication.Status.DONE and "请出发前向综合科领用因公普通护照" in application.result_note

    # 证照: only the keeper, 领用 once, 归还 after 领用.
    with pytest.raises(Refusal) as exc:
        check_passport(cast.zhangwei, application, "issue")
    assert exc.value.code == "passport_not_keeper"
    with pytest.raises(Refusal) as exc:
        check_passport(cast.gaojun, application, "return")
    assert exc.value.code == "passport_not_issued"
    issued = gaojun.post(f"/services/abroad/{application.pk}/passport", {"kind": "issue", "note": "本人领取"})
    assert issued.status_code == 302
    with pytest.raises(Refusal) as exc:
        check_passport(cast.gaojun, application, "issue")
    assert exc.value.code == "passport_already_issued" and "已领用" in exc.value.message
    gaojun.post(f"/services/abroad/{application.pk}/passport", {"kind": "return"})
    trip.refresh_from_db()
    assert trip.custody == AbroadTrip.Custody.RETURNED
    assert list(PassportLog.objects.filter(trip=trip).values_list("kind", "keeper__username")) == [
        ("issue", "gaojun"), ("return", "gaojun")]
    assert AuditEntry.objects.filter(action__in=["services.passport_issue", "services.passport_return"]).count() == 2
    assert Notification.objects.filter(recipient=cast.zhangwei, event_type="services.notice").count() == 2
    detail = zhangwei.get(f"/services/applications/{application.pk}/").content.decode()
    assert "证照领用" in detail and "证照归还" in detail and "已归还" in detail


ROSTER = """2026-03-10 zhangwei、徐丽
2026-03-11 李娜
2026-03-12 gaojun
"""


def _leave_for_gaojun(cast) -> None:
    """高军 on approved 事假 on 3/10, through the 请休假 item."""
    gaojun, xuli, wangfang = _client(cast.gaojun), _client(cast.xuli), _client(cast.wangfang, otp=True)
    leave = _apply(gaojun, "leave", {"leave_kind": "personal", "start": "2026-03-10", "end": "2026-03-10"})
    _decide(xuli, leave, "accept")
    _decide(xuli, leave)
    _decide(wangfang, leave)


def test_duty_roster_and_swap_with_consent_office_approval_and_refusals(clock, cast):
    liuyang, zhangwei, lina = _client(cast.liuyang), _client(cast.zhangwei), _client(cast.lina)
    _leave_for_gaojun(cast)

    # Only the office publishes; a bad line names itself and nothing is saved.
    assert zhangwei.post("/services/duty/?month=2026-03", {"month": "2026-03", "text": ROSTER}).status_code == 403
    bad = liuyang.post("/services/duty/", {"month": "2026-03",
                                           "text": ROSTER + "2026-04-01 张伟\n2026-03-13 无名氏\n2026-03-10 高军"})
    html = bad.content.decode()
    assert bad.status_code == 400 and "第 4 行：2026-04-01 不在 2026 年 3 月" in html
    assert "第 5 行：本机关没有“无名氏”" in html and "第 6 行：高军 3月10日 已批准请假，不能排班" in html
    assert not DutyRoster.objects.filter(month=dt.date(2026, 3, 1)).exists()
    assert liuyang.post("/services/duty/", {"month": "2026-03", "text": ROSTER}).status_code == 302
    assert DutySlot.objects.filter(roster__month=dt.date(2026, 3, 1)).count() == 4
    assert Notification.objects.filter(recipient=cast.zhangwei, event_type="services.notice",
                                       title="3月值班表已发布").exists()
    mine = zhangwei.get("/services/duty/?month=2026-03").content.decode()
    assert "2026年3月10日" in mine and "申请调班" in mine

    code = "duty_swap"
    page = zhangwei.get(f"/services/items/{item(code).pk}/apply").content.decode()
    assert input_names(page) == {"csrfmiddlewaretoken", "my_day", "counterpart", "their_day", "purpose"}
    before = ServiceApplication.objects.count()
    on_duty = _apply(zhangwei, code, {"my_day": "2026-03-10", "counterpart": cast.xuli.pk, "purpose": "出差"}, 409)
    assert "徐丽3月10日已在值班，不能再调入该日" in on_duty.content.decode()
    on_leave = _apply(zhangwei, code, {"my_day": "2026-03-10", "counterpart": cast.gaojun.pk, "purpose": "出差"}, 409)
    assert "高军3月10日已批准请假，不能调入该日" in on_leave.content.decode()
    not_mine = _apply(zhangwei, code, {"my_day": "2026-03-11", "counterpart": cast.gaojun.pk, "purpose": "出差"}, 400)
    assert "您3月11日没有值班安排" in not_mine.content.decode()
    assert ServiceApplication.objects.count() == before

    swap = _apply(zhangwei, code, {"my_day": "2026-03-10", "counterpart": cast.lina.pk, "their_day": "2026-03-11",
                                   "purpose": "3月10日出差"})
    _decide(liuyang, swap, "accept")  # 办公室受理
    assert open_task(swap).owner == cast.lina and todo_of(cast.lina, swap)  # B confirms first
    _decide(lina, swap)
    assert open_task(swap).owner == cast.liuyang  # then the office approves

    # Meanwhile the office puts 李娜 on 3/10 as well: the approval is refused and nothing changes.
    liuyang.post("/services/duty/", {"month": "2026-03", "text": ROSTER + "2026-03-10 李娜"})
    refused = _decide(liuyang, swap, status=409)
    assert "李娜3月10日已在值班" in refused.content.decode()
    swap.refresh_from_db()
    assert swap.status == ServiceApplication.Status.ACCEPTED
    liuyang.post("/services/duty/", {"month": "2026-03", "text": ROSTER})
    _decide(liuyang, swap)

    swap.refresh_from_db()
    assert swap.status == ServiceApplication.Status.DONE
    slots = dict(DutySlot.objects.filter(person__in=[cast.zhangwei, cast.lina], roster__month=dt.date(2026, 3, 1))
                 .values_list("person__username", "day"))
    assert slots == {"zhangwei": dt.date(2026, 3, 11), "lina": dt.date(2026, 3, 10)}
    assert DutySlot.objects.filter(day=dt.date(2026, 3, 10), person=cast.xuli).exists()  # others untouched
    assert DutyRoster.objects.get(month=dt.date(2026, 3, 1)).version == 4  # published 3 times, then the swap
    assert swap.events.filter(kind=ApplicationEvent.Kind.ROSTER_CHANGED).count() == 1
    assert AuditEntry.objects.filter(action="services.duty_swap").count() == 1
    assert Notification.objects.filter(recipient=cast.lina, event_type="services.notice", title="值班已调整").exists()
