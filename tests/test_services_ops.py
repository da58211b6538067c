"""Routing operations on service steps (转办, 催办, 委托 — the shared workflows/ pages and actions) and 办公用品领用
(stock, issue, low-stock alert) over HTTP as the demo cast (docs/services.md)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from oa.actions.delegation import check_create_delegation
from oa.models import Department, Notification, RoleAssignment, WorkItem
from tests.clients import login
from tests.services_helpers import input_names, item, load_services, open_task, todo_of
from workflows.services.models import ServiceApplication, SupplyItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def services(cast):
    load_services()


def _second_desk(cast) -> None:
    """高军 also holds 部门负责人 in 综合科, so the 受理 desk has two people (转办 stays within the role)."""
    dept = Department.objects.get(agency__doc_code="揭东府办", name="综合科")
    RoleAssignment.objects.create(person=cast.gaojun, role="dept_head", agency=dept.agency, department=dept)


def test_reassign_and_urge_a_service_step(services, cast):
    _second_desk(cast)
    zhangwei, xuli = login(cast.zhangwei), login(cast.xuli)
    zhangwei.post(f"/services/items/{item('employment_cert').pk}/apply", {"purpose": "x"})
    application = ServiceApplication.objects.get()
    task = open_task(application)
    urged = zhangwei.post(f"/flows/tasks/{task.pk}/urge", {"message": "明天要用，请尽快"})
    assert urged.status_code in (200, 302)
    assert Notification.objects.filter(recipient=cast.xuli, event_type="work.urged").exists()

    stranger = xuli.post(f"/flows/tasks/{task.pk}/reassign", {"person": cast.lina.pk, "reason": ""})
    task.refresh_from_db()
    assert stranger.status_code == 400 and task.owner_id == cast.xuli.pk  # 李娜 is not 综合科's 部门负责人
    moved = xuli.post(f"/flows/tasks/{task.pk}/reassign", {"person": cast.gaojun.pk, "reason": "出差"})
    assert moved.status_code in (200, 302)
    task.refresh_from_db()
    assert task.owner == cast.gaojun
    assert todo_of(cast.gaojun, application).link == f"/services/tasks/{task.pk}/"
    assert not WorkItem.objects.filter(owner=cast.xuli, state=WorkItem.State.OPEN,
                                       thread=f"viewflow.process:{application.process_id}").exists()
    login(cast.gaojun).post(f"/services/tasks/{task.pk}/", {"form": "decide", "decision": "accept"})
    application.refresh_from_db()
    assert application.status == ServiceApplication.Status.DONE


def test_delegation_routes_the_desk_to_the_delegate_on_behalf_of_the_principal(services, cast):
    _second_desk(cast)
    today = timezone.localdate()
    check_create_delegation(actor=cast.xuli, principal=cast.xuli, delegate=cast.gaojun, start_date=today,
                            end_date=today + dt.timedelta(days=3), flow_types=["services"], reason="休假")
    login(cast.zhangwei).post(f"/services/items/{item('employment_cert').pk}/apply", {"purpose": "x"})
    application = ServiceApplication.objects.get()
    task = open_task(application)
    assert task.owner == cast.gaojun
    todo = todo_of(cast.gaojun, application)
    assert todo.on_behalf_of == cast.xuli


def test_office_supplies_issue_and_low_stock_alert(services, cast):
    zhangwei = login(cast.zhangwei)
    paper = SupplyItem.objects.get(name="A4 复印纸")
    html = zhangwei.get(f"/services/items/{item('supplies').pk}/apply").content.decode()
    assert input_names(html) == {"csrfmiddlewaretoken", "supply", "quantity", "purpose"}
    too_many = zhangwei.post(f"/services/items/{item('supplies').pk}/apply", {"supply": paper.pk, "quantity": 41})
    assert too_many.status_code == 409 and "库存只有 40包，不足 41包" in too_many.content.decode()
    assert not ServiceApplication.objects.exists()

    zhangwei.post(f"/services/items/{item('supplies').pk}/apply", {"supply": paper.pk, "quantity": 32, "purpose": "打印"})
    application = ServiceApplication.objects.get()
    desk = open_task(application)
    assert desk.owner == cast.liuyang  # 机要室's 办公室/文书
    login(cast.liuyang).post(f"/services/tasks/{desk.pk}/", {"form": "decide", "decision": "accept"})
    application.refresh_from_db()
    paper.refresh_from_db()
    assert application.status == ServiceApplication.Status.DONE and application.result_note == "已发放 A4 复印纸 32包"
    assert paper.stock == 8
    alert = Notification.objects.get(recipient=cast.liuyang, event_type="supplies.low_stock")
    assert alert.payload == {"supply_id": paper.pk, "name": "A4 复印纸", "stock": 8, "low_stock": 10}
    page = login(cast.liuyang).get("/services/supplies/").content.decode()
    assert "库存不足" in page
    login(cast.liuyang).post("/services/supplies/", {"supply": paper.pk, "quantity": 50})
    paper.refresh_from_db()
    assert paper.stock == 58
    assert login(cast.zhangwei).post("/services/supplies/", {"supply": paper.pk, "quantity": 5}).status_code == 404
