"""超期自动催办 (docs/services.md): a service step still open past its deadline — the item's time limit in working
days from when the step reached its holder (flows.Step.calc_owner, the calendar: holidays do not count) — is urged
by the scheduler (jobs.py ``services.auto_urge``) through the shared 催办 operation, exactly once per step: the
step is marked under the process lock before the urge, so a second scheduler or a re-run finds it marked.
The applicant's own 补正 step is not urged (the time limit binds the handlers)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from viewflow.workflow.models import Process, Task
from viewflow.workflow.status import STATUS

from workflows.actions.routing import do_urge_task
from workflows.services.flows import ServiceFlow
from workflows.services.models import ApplicationEvent, ServiceApplication

MARK = "overdue_urged_at"


def _deadline(task: Task) -> dt.datetime | None:
    raw = (task.data or {}).get("deadline")
    try:
        return dt.datetime.fromisoformat(raw) if raw else None
    except (TypeError, ValueError):
        return None


def overdue_steps(now: dt.datetime) -> list[Task]:
    open_steps = (Task.objects.filter(process__flow_class=ServiceFlow, flow_task_type="HUMAN", owner__isnull=False,
                                      status__in=(STATUS.ASSIGNED, STATUS.STARTED))
                  .exclude(data__has_key=MARK).select_related("process"))
    return [t for t in open_steps if t.flow_task.name != "amend" and (d := _deadline(t)) is not None and d <= now]


def do_urge_overdue_steps(now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    urged = 0
    for candidate in overdue_steps(now):
        with transaction.atomic():
            Process.objects.select_for_update().filter(pk=candidate.process_id).exists()
            task = Task.objects.select_related("process", "owner").get(pk=candidate.pk)
            if task.status not in (STATUS.ASSIGNED, STATUS.STARTED) or MARK in (task.data or {}):
                continue
            deadline = _deadline(task)
            limit = (task.process.data or {}).get("limit_days")
            task.data = {**(task.data or {}), MARK: now.isoformat()}
            task.save(update_fields=["data"])
            step = (task.data or {}).get("title") or str(task.flow_task.task_title)
            message = (f"“{step}”已超过承诺时限（{limit} 个工作日，{timezone.localtime(deadline):%-m月%-d日 %H:%M}到期），"
                       "系统自动催办")
            do_urge_task(task, by=None, message=message)
            application = ServiceApplication.objects.filter(pk=(task.process.data or {}).get("application_id")).first()
            if application is not None:
                ApplicationEvent.objects.create(application=application, kind=ApplicationEvent.Kind.OVERDUE_URGED,
                                                step=step[:100], note=f"已催办 {task.owner.name}", at=now)
            urged += 1
    return urged
