"""What every human step of our document flows (发文, 收文 …) shares: a deadline in working days from the flow's
step table, its own step page (never viewflow's task view), and assignees read from process or task data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.urls import reverse
from django.utils import timezone
from viewflow.workflow.flow.views import UpdateProcessView

from oa.models import Person
from oa.selectors.calendar import add_working_days
from workflows.routing import RView


def end_of_day(day: dt.date) -> dt.datetime:
    """Work due on a day is due at the end of that working day."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(18, 0)))


def deadline_in(limit_days: int, start: dt.datetime | None = None) -> dt.datetime:
    """``limit_days`` working days (the calendar) from ``start``, due at the end of that day."""
    start = timezone.localtime(start or timezone.now())
    return end_of_day(add_working_days(start.date(), limit_days))


class DeadlineStep(RView):
    """RView routing + a deadline for the inbox and 催办 (from ``steps[node].limit_days``) + its own page.

    Subclasses set ``steps`` (node name → a step with ``limit_days``) and ``step_url_name`` (a URL taking the task id).
    """

    steps: dict = {}
    step_url_name = ""

    def step_url(self, task) -> str:
        return reverse(self.step_url_name, args=[task.pk])

    def calc_owner(self, activation):
        owner = super().calc_owner(activation)
        task = activation.task
        if self.name in self.steps and "deadline" not in (task.data or {}):
            deadline = deadline_in(self.steps[self.name].limit_days)
            task.data = {**(task.data or {}), "deadline": deadline.isoformat()}
        return owner


def deadline_of_host(steps: dict, fallback: str) -> Callable:
    """For OnTimeout: the timer fires at the host step's deadline (set on the task when it was assigned)."""

    def deadline(activation) -> dt.datetime:
        host = activation.task.previous.first()
        raw = (host.data or {}).get("deadline") if host else None
        if raw:
            return dt.datetime.fromisoformat(raw)
        return deadline_in(steps[host.flow_task.name if host else fallback].limit_days)

    return deadline


def redirect_view():
    # Steps are done on our own pages; viewflow's task view is never routed.
    return UpdateProcessView.as_view(fields=[])


def data_person(key: str) -> Callable:
    """Assign to the person whose id is process.data[key]."""

    def owner(activation):
        return Person.objects.get(pk=activation.process.data[key])

    return owner


def task_person(key: str) -> Callable:
    """Assign to the person whose id is the new task's data[key] (a DataSplit item)."""

    def owner(activation):
        return Person.objects.get(pk=activation.task.data[key])

    return owner
