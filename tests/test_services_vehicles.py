"""公务用车 over HTTP as the demo cast with the test clock (docs/services.md 公务用车): the pool, dispatch by the 车管员
(刘洋) with the double-booking refusal (half-open intervals), the return log whose mileage cannot go backwards."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from oa.models import AuditEntry
from tests.clients import login
from tests.services_helpers import input_names, item, load_services, open_task
from workflows.services.items.vehicles import vehicle_clash
from workflows.services.models import ApplicationEvent, ServiceApplication, Vehicle, VehicleTrip

pytestmark = pytest.mark.django_db
BEIJING = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def cars(cast, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 2, 9, 0, tzinfo=BEIJING), tick=False)
    load_services()
    return time_machine


def _apply(person, start: str, end: str, passengers: int = 3, status: int = 302):
    response = login(person).post(f"/services/items/{item('vehicle').pk}/apply", {
        "start": start, "end": end, "origin": "区府大楼", "destination": "玉湖镇政府", "passengers": str(passengers),
        "purpose": "督查调研"})
    assert response.status_code == status, response.content.decode()[:3000]
    return response if status != 302 else ServiceApplication.objects.get(
        pk=int(response["Location"].rstrip("/").rsplit("/", 1)[-1]))


def _decide(person, application, data: dict, status: int = 302):
    task = open_task(application, person)
    response = login(person).post(f"/services/tasks/{task.pk}/", {"form": "decide", **data})
    assert response.status_code == status, response.content.decode()[:3000]
    return response


def _to_dispatch(cast, application, head):
    _decide(cast.liuyang, application, {"decision": "accept"})
    _decide(head, application, {"decision": "agree"})


def test_dispatch_refuses_a_double_booked_vehicle_and_logs_the_return(cars, cast):
    page = login(cast.zhangwei).get(f"/services/items/{item('vehicle').pk}/apply").content.decode()
    assert input_names(page) == {"csrfmiddlewaretoken", "start", "end", "origin", "destination", "passengers",
                                 "purpose"}
    first = _apply(cast.zhangwei, "2026-03-03T09:00", "2026-03-03T12:00")
    second = _apply(cast.gaojun, "2026-03-03T11:00", "2026-03-03T13:00")
    passat, gl8 = Vehicle.objects.get(plate="粤V·A1234"), Vehicle.objects.get(plate="粤V·A5678")
    from workflows.services.models import Driver

    chen, lin = Driver.objects.get(name="陈师傅"), Driver.objects.get(name="林师傅")

    _to_dispatch(cast, first, cast.lina)
    dispatch_page = login(cast.liuyang).get(f"/services/tasks/{open_task(first).pk}/").content.decode()
    assert {"vehicle", "driver"} <= input_names(dispatch_page) and "该时段可派车辆 2 辆" in dispatch_page
    missing = _decide(cast.liuyang, first, {"decision": "agree"}, status=400)
    assert "请选择派出的车辆" in missing.content.decode()
    _decide(cast.liuyang, first, {"decision": "agree", "vehicle": passat.pk, "driver": chen.pk})
    trip = VehicleTrip.objects.get(application=first)
    assert trip.state == VehicleTrip.State.DISPATCHED and trip.vehicle == passat and trip.start_mileage == 52310
    first.refresh_from_db()
    assert first.status == ServiceApplication.Status.DONE and "粤V·A1234" in first.result_note

    # 11:00–13:00 overlaps 9:00–12:00: the same car, then the same driver, are refused; nothing is written.
    _to_dispatch(cast, second, cast.xuli)
    taken = _decide(cast.liuyang, second, {"decision": "agree", "vehicle": passat.pk, "driver": lin.pk}, status=409)
    assert "已派给办件" in taken.content.decode() and first.number in taken.content.decode()
    busy = _decide(cast.liuyang, second, {"decision": "agree", "vehicle": gl8.pk, "driver": chen.pk}, status=409)
    assert "驾驶员 陈师傅" in busy.content.decode()
    assert VehicleTrip.objects.get(application=second).state == VehicleTrip.State.PENDING
    assert not second.events.filter(kind=ApplicationEvent.Kind.DISPATCHED).exists()
    _decide(cast.liuyang, second, {"decision": "agree", "vehicle": gl8.pk, "driver": lin.pk})

    # Half-open: a trip from 12:00 touches the 9:00–12:00 one without clashing.
    assert vehicle_clash(passat, dt.datetime(2026, 3, 3, 12, 0, tzinfo=BEIJING),
                         dt.datetime(2026, 3, 3, 14, 0, tzinfo=BEIJING)) is None
    assert vehicle_clash(passat, dt.datetime(2026, 3, 3, 11, 59, tzinfo=BEIJING),
                         dt.datetime(2026, 3, 3, 14, 0, tzinfo=BEIJING)) is not None

    # 还车登记 by the 车管员 after the trip; the odometer cannot go backwards; the applicant cannot log it.
    cars.move_to(dt.datetime(2026, 3, 3, 12, 30, tzinfo=BEIJING), tick=False)
    url = f"/services/applications/{first.pk}/vehicle-return"
    detail = login(cast.liuyang).get(f"/services/applications/{first.pk}/").content.decode()
    assert "登记还车" in detail
    back = login(cast.liuyang).post(url, {"end_mileage": "52000"}, follow=True)
    assert "还车里程 52000 公里小于出车里程 52310 公里" in back.content.decode()
    assert login(cast.zhangwei).post(url, {"end_mileage": "52400"}, follow=True).content.decode().count("只有车管员") == 1
    login(cast.liuyang).post(url, {"end_mileage": "52398"})
    trip.refresh_from_db()
    passat.refresh_from_db()
    assert trip.state == VehicleTrip.State.RETURNED and trip.end_mileage == 52398 and passat.mileage == 52398
    assert first.events.filter(kind=ApplicationEvent.Kind.VEHICLE_RETURNED, note__contains="本次行驶 88 公里").exists()
    assert AuditEntry.objects.filter(action="services.vehicle_return", changes__end_mileage=52398).exists()


def test_bad_trip_input_is_refused_with_nothing_created(cars, cast):
    assert "没有能坐 9 人的车辆" in _apply(cast.zhangwei, "2026-03-03T09:00", "2026-03-03T12:00", 9,
                                        status=409).content.decode()
    assert "结束时间必须晚于开始时间" in _apply(cast.zhangwei, "2026-03-03T12:00", "2026-03-03T09:00",
                                              status=400).content.decode()
    assert "开始时间已经过去" in _apply(cast.zhangwei, "2026-03-01T09:00", "2026-03-01T12:00",
                                         status=400).content.decode()
    assert not ServiceApplication.objects.exists() and not VehicleTrip.objects.exists()
