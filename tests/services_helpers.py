"""Shared set-up for the 零跑动 tests: the demo catalogue, the office seal, and HTTP helpers for the cast."""

from __future__ import annotations

import re
import subprocess

from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from oa.models import WorkItem
from tests.issued import ensure_office_seal
from workflows.services.demo import do_load_service_demo
from workflows.services.models import ServiceApplication, ServiceItem


def load_services() -> None:
    ensure_office_seal()
    do_load_service_demo()


def item(code: str) -> ServiceItem:
    return ServiceItem.objects.get(code=code)


def input_names(html: str) -> set[str]:
    """Every form control name on a page (input, select, textarea)."""
    return set(re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', html))


def open_task(application: ServiceApplication, person=None) -> Task:
    tasks = Task.objects.filter(process_id=application.process_id, flow_task_type="HUMAN",
                                status__in=(STATUS.ASSIGNED, STATUS.STARTED))
    if person is not None:
        tasks = tasks.filter(owner=person)
    return tasks.order_by("pk").get()


def todo_of(person, application: ServiceApplication) -> WorkItem:
    return WorkItem.objects.get(owner=person, box=WorkItem.Box.TODO, state=WorkItem.State.OPEN,
                                thread=f"viewflow.process:{application.process_id}")


def pdftotext(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True,
                          check=True).stdout.decode()
