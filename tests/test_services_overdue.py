"""超期自动催办 (docs/services.md): a service step still open past the item's time limit in working days (the
calendar, across 春节 2026 and its 调休 Saturday) is urged by the scheduler through the shared 催办 operation, exactly
once per step; the next step gets its own deadline."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from viewflow.workflow.models import Task

from oa.models import AuditEntry, Notification
from oa.scheduling import autodiscover, registered_jobs, run_job
from tests.clients import login
from tests.services_helpers import item, load_services, open_task
from workflows.models import TaskEvent
from workflows.services.models import ApplicationEvent, ServiceApplication

pytestmark = pytest.mark.django_db
BEIJING = ZoneInfo("Asia/Shanghai")


def _at(clock, *args) -> None:
    clock.move_to(dt.datetime(*args, tzinfo=BEIJING), tick=False)


def _urge() -> str:
    assert "services.auto_urge" in registered_jobs()
    return run_job("services.auto_urge")


def test_overdue_step_is_urged_once_across_the_spring_festival(cast, time_machine):
    _at(time_machine, 2026, 2, 13, 10, 0)  # Friday before 春节
    load_services()
    autodiscover()
    zhangwei = login(cast.zhangwei)
    response = zhangwei.post(f"/services/items/{item('income_cert').pk}/apply", {"purpose": "办理贷款"})
    assert response.status_code == 302
    application = ServiceApplication.objects.get(item__code="income_cert")
    intake = open_task(application, cast.xuli)
    # 3 working days: Sat 2/14 (调休), then 2/15–2/23 off, Tue 2/24, Wed 2/25 → due at the end of 2/25.
    assert intake.data["deadline"] == dt.datetime(2026, 2, 25, 18, 0, tzinfo=BEIJING).isoformat()

    _at(time_machine, 2026, 2, 20, 9, 0)  # a week later, inside the holiday: not overdue
    assert _urge() == "urged=0"
    _at(time_machine, 2026, 2, 25, 17, 59)
    assert _urge() == "urged=0"
    _at(time_machine, 2026, 2, 25, 18, 5)
    assert _urge() == "urged=1"
    assert _urge() == "urged=0"  # exactly once per step
    _at(time_machine, 2026, 2, 27, 9, 0)
    assert _urge() == "urged=0"

    intake = Task.objects.get(pk=intake.pk)
    assert intake.data["routing"]["urged"]["count"] == 1 and intake.data["routing"]["urged"]["last_by"] is None
    event = TaskEvent.objects.get(task=intake, op=TaskEvent.Op.URGE)
    assert event.data["automatic"] is True and "承诺时限（3 个工作日" in event.reason
    assert Notification.objects.filter(recipient=cast.xuli, event_type="work.urged").count() == 1
    assert AuditEntry.objects.filter(action="flow.task_urge", changes__automatic=True).count() == 1
    assert application.events.filter(kind=ApplicationEvent.Kind.OVERDUE_URGED).count() == 1

    # The next step's clock starts when it is assigned (Fri 2/27 + 3 working days, 2/28 being a 调休 Saturday).
    xuli = login(cast.xuli)
    xuli.post(f"/services/tasks/{intake.pk}/", {"form": "decide", "decision": "accept"})
    approve = open_task(application, cast.lina)
    assert approve.data["deadline"] == dt.datetime(2026, 3, 3, 18, 0, tzinfo=BEIJING).isoformat()
    assert _urge() == "urged=0"
