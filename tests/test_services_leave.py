"""请休假 over HTTP with the test clock (docs/services.md 请休假): working days from the calendar across 春节 2026
(2/15–2/23 off, Saturday 2/14 and 2/28 are 调休 working days), the balance from HR data, overlap, 销假."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tests.clients import login
from tests.services_helpers import input_names, item, load_services, open_task
from workflows.services.models import LeaveRecord, ServiceApplication
from workflows.services.selectors import leave_balance, leave_busy, leave_days

pytestmark = pytest.mark.django_db
BEIJING = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def leave_setup(cast, time_machine):
    time_machine.move_to(dt.datetime(2026, 2, 10, 9, 0, tzinfo=BEIJING), tick=False)
    load_services()
    return time_machine


def _post(client, data):
    return client.post(f"/services/items/{item('leave').pk}/apply", data)


def _approve_all(cast, application):
    for person, decision in ((cast.xuli, "accept"), (cast.lina, "agree"), (cast.wangfang, "agree")):
        task = open_task(application, person)
        # 分管领导 must pass 2FA before any page (等保三级); the step redirects to the application when done.
        response = login(person, otp=True).post(f"/services/tasks/{task.pk}/", {"form": "decide", "decision": decision})
        assert response.status_code == 302 and response["Location"] == f"/services/applications/{application.pk}/"


def test_working_days_follow_the_holiday_and_the_tiaoxiu_weekend(leave_setup):
    assert leave_days(dt.date(2026, 2, 12), dt.date(2026, 2, 24)) == 4  # 12, 13, 14 (Sat 调休), 24
    assert leave_days(dt.date(2026, 2, 25), dt.date(2026, 3, 2)) == 5  # 25, 26, 27, 28 (Sat 调休), 3/2
    assert leave_days(dt.date(2026, 2, 16), dt.date(2026, 2, 20)) == 0  # all inside 春节


def test_leave_balance_overlap_and_cancellation(leave_setup, cast):
    zhangwei = login(cast.zhangwei)
    page = zhangwei.get(f"/services/items/{item('leave').pk}/apply").content.decode()
    assert "8 天（2026 年度）" in page  # 10 days, 2 taken outside the system (HR data)
    assert input_names(page) == {"csrfmiddlewaretoken", "leave_kind", "start", "end", "purpose"}

    first = _post(zhangwei, {"leave_kind": "annual", "start": "2026-02-12", "end": "2026-02-24", "purpose": "回乡"})
    assert first.status_code == 302
    application = ServiceApplication.objects.get(item__code="leave")
    assert application.leave.working_days == 4 and application.form["working_days"] == 4
    assert leave_balance(cast.zhangwei) == 4  # asked leave already counts

    before = ServiceApplication.objects.count()
    overlap = _post(zhangwei, {"leave_kind": "personal", "start": "2026-02-24", "end": "2026-02-26"})
    assert overlap.status_code == 409 and "时间重叠" in overlap.content.decode()
    beyond = _post(zhangwei, {"leave_kind": "annual", "start": "2026-02-25", "end": "2026-03-02"})
    assert beyond.status_code == 400 and "申请 5 个工作日，超过您的年休假余额 4 天" in beyond.content.decode()
    holiday = _post(zhangwei, {"leave_kind": "annual", "start": "2026-02-16", "end": "2026-02-20"})
    assert holiday.status_code == 400 and "没有工作日" in holiday.content.decode()
    reversed_ = _post(zhangwei, {"leave_kind": "annual", "start": "2026-03-05", "end": "2026-03-04"})
    assert reversed_.status_code == 400 and "结束日期不能早于开始日期" in reversed_.content.decode()
    assert ServiceApplication.objects.count() == before and LeaveRecord.objects.count() == 1

    # 销假 only after approval.
    early = zhangwei.post(f"/services/applications/{application.pk}/", {"form": "leave_close", "returned_on": "2026-02-14"})
    assert early.status_code == 409 and "只有已批准的请假才能销假" in early.content.decode()
    _approve_all(cast, application)
    application.refresh_from_db()
    assert application.status == ServiceApplication.Status.DONE and application.leave.state == LeaveRecord.State.APPROVED

    busy = leave_busy([cast.zhangwei.pk, cast.lina.pk], dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert busy == {cast.zhangwei.pk: [(dt.date(2026, 2, 12), dt.date(2026, 2, 24))]}

    # Back at work on Saturday 2/14 (a 调休 working day): 2 days taken, 2 returned to the balance.
    future = zhangwei.post(f"/services/applications/{application.pk}/", {"form": "leave_close", "returned_on": "2026-02-14"})
    assert future.status_code == 400 and "不能晚于今天" in future.content.decode()
    leave_setup.move_to(dt.datetime(2026, 2, 14, 9, 0, tzinfo=BEIJING), tick=False)
    zhangwei = login(cast.zhangwei)  # days later: a new session (the idle timeout ended the old one)
    closed = zhangwei.post(f"/services/applications/{application.pk}/", {"form": "leave_close", "returned_on": "2026-02-14"})
    assert closed.status_code == 302 and closed["Location"] == f"/services/applications/{application.pk}/"
    application.leave.refresh_from_db()
    assert application.leave.state == LeaveRecord.State.CLOSED and application.leave.used_days == 2
    assert leave_balance(cast.zhangwei) == 6
    assert leave_busy([cast.zhangwei.pk], dt.date(2026, 2, 1), dt.date(2026, 2, 28)) == {
        cast.zhangwei.pk: [(dt.date(2026, 2, 12), dt.date(2026, 2, 13))]}

    # The days given back can be asked again, and the period after the return no longer overlaps.
    again = _post(zhangwei, {"leave_kind": "annual", "start": "2026-02-24", "end": "2026-03-02"})
    assert again.status_code == 302
    assert ServiceApplication.objects.filter(item__code="leave").count() == 2
    assert leave_balance(cast.zhangwei) == 0  # 2/24, 25, 26, 27, 28 (调休), 3/2 = 6 working days
