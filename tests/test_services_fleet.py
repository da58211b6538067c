"""车辆池、驾驶员、车辆日程 and 办公用房台账 over HTTP as the demo cast with the test clock (docs/services.md
车辆与办公用房管理): only the agency's 派车 holder (刘洋, 办公室/文书) manages the pool and only its 办公室 the 台账; a
civil servant (张伟) is refused; another agency's 办公室 (韩雪, 政数局) sees none of 区府办's rows; bad input is refused
in Chinese with nothing written; every change is audited."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from oa.models import AuditEntry
from tests.clients import login
from tests.services_helpers import item, load_services, open_task
from workflows.services.items.fleet import fleet_managers, normalise_plate
from workflows.services.models import Driver, OfficeRoom, ServiceApplication, Vehicle, VehicleTrip

pytestmark = pytest.mark.django_db
BEIJING = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def pool(cast, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 2, 9, 0, tzinfo=BEIJING), tick=False)
    load_services()
    return time_machine


def _dispatched_trip(cast, vehicle: Vehicle, driver: Driver) -> ServiceApplication:
    response = login(cast.zhangwei).post(f"/services/items/{item('vehicle').pk}/apply", {
        "start": "2026-03-03T09:00", "end": "2026-03-03T12:00", "origin": "区府大楼", "destination": "玉湖镇政府",
        "passengers": "3", "purpose": "督查调研"})
    assert response.status_code == 302, response.content.decode()[:2000]
    application = ServiceApplication.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[-1]))
    for person, data in ((cast.liuyang, {"decision": "accept"}), (cast.lina, {"decision": "agree"}),
                         (cast.liuyang, {"decision": "agree", "vehicle": vehicle.pk, "driver": driver.pk})):
        task = open_task(application, person)
        assert login(person).post(f"/services/tasks/{task.pk}/", {"form": "decide", **data}).status_code == 302
    assert VehicleTrip.objects.get(application=application).state == VehicleTrip.State.DISPATCHED
    return application


def test_plates_are_normalised_and_checked():
    assert normalise_plate(" 粤v a1234 ") == "粤V·A1234"
    assert normalise_plate("粤V-D12345") == "粤V·D12345"  # 新能源 6 位
    for bad in ("粤VA123", "XX·A1234", "粤I·A1234", "粤V·A12O4", ""):
        with pytest.raises(Exception, match="格式不正确"):
            normalise_plate(bad)


def test_the_dispatcher_manages_the_pool_others_are_refused(pool, cast):
    assert list(fleet_managers(item("vehicle").department.agency)) == [cast.liuyang]
    before = (Vehicle.objects.count(), AuditEntry.objects.count())
    new = {"plate": "粤V·B2468", "kind": "mpv", "model": "别克GL8", "seats": "7", "mileage": "1200"}

    # A civil servant: the pages and the writes are refused; another agency's 办公室 does not see 区府办's cars.
    zhang = login(cast.zhangwei)
    for url in ("/services/fleet/", "/services/fleet/schedule", "/services/fleet/vehicles/new",
                "/services/fleet/drivers/new"):
        assert zhang.get(url).status_code == 403, url
    assert zhang.post("/services/fleet/vehicles/new", new).status_code == 403
    passat = Vehicle.objects.get(plate="粤V·A1234")
    han = login(cast.hanxue, otp=True)
    assert "粤V·A1234" not in han.get("/services/fleet/").content.decode()
    assert han.get(f"/services/fleet/vehicles/{passat.pk}/").status_code == 404
    assert han.post(f"/services/fleet/vehicles/{passat.pk}/retire").status_code == 404
    assert (Vehicle.objects.count(), AuditEntry.objects.count()) == before

    # The 车管员: the catalogue links the pool; bad plate, duplicate plate and bad seats write nothing.
    liu = login(cast.liuyang)
    assert "车辆池" in liu.get("/services/").content.decode() and "车辆池" not in zhang.get("/services/").content.decode()
    page = liu.get("/services/fleet/").content.decode()
    assert "粤V·A1234" in page and "陈师傅" in page
    bad = liu.post("/services/fleet/vehicles/new", {**new, "plate": "粤V·I2468"})
    assert bad.status_code == 400 and "格式不正确" in bad.content.decode()
    taken = liu.post("/services/fleet/vehicles/new", {**new, "plate": "粤v a1234"})
    assert taken.status_code == 409 and "车牌号 粤V·A1234 已登记" in taken.content.decode()
    seats = liu.post("/services/fleet/vehicles/new", {**new, "seats": "-2"})
    assert seats.status_code == 400 and "座位数须在 1～60 之间" in seats.content.decode()
    assert (Vehicle.objects.count(), AuditEntry.objects.count()) == before

    assert liu.post("/services/fleet/vehicles/new", {**new, "plate": "粤v b2468"}).status_code == 302
    gl8 = Vehicle.objects.get(plate="粤V·B2468")
    assert (gl8.agency, gl8.kind, gl8.seats, gl8.mileage) == (passat.agency, "mpv", 7, 1200)
    assert AuditEntry.objects.filter(action="services.vehicle_create", changes__plate="粤V·B2468").exists()
    edit = liu.post(f"/services/fleet/vehicles/{gl8.pk}/", {"plate": "粤V·B2468", "kind": "mpv", "model": "别克GL8",
                                                           "seats": "6"})
    assert edit.status_code == 302
    gl8.refresh_from_db()
    assert gl8.seats == 6 and gl8.mileage == 1200
    assert AuditEntry.objects.filter(action="services.vehicle_update", changes__seats=6,
                                     changes__before__seats=7).exists()


def test_retiring_a_car_or_driver_with_a_trip_ahead_is_refused(pool, cast):
    passat, gl8 = Vehicle.objects.get(plate="粤V·A1234"), Vehicle.objects.get(plate="粤V·A5678")
    chen, lin = Driver.objects.get(name="陈师傅"), Driver.objects.get(name="林师傅")
    application = _dispatched_trip(cast, passat, chen)
    liu = login(cast.liuyang)

    refused = liu.post(f"/services/fleet/vehicles/{passat.pk}/retire", follow=True).content.decode()
    assert f"粤V·A1234 还有未完成的派车（办件 {application.number}）" in refused
    refused = liu.post(f"/services/fleet/drivers/{chen.pk}/retire", follow=True).content.decode()
    assert "陈师傅 还有未完成的派车" in refused
    fewer = liu.post(f"/services/fleet/vehicles/{passat.pk}/", {"plate": "粤V·A1234", "kind": "sedan",
                                                               "model": "大众帕萨特", "seats": "2"})
    assert fewer.status_code == 409 and "有 3 人乘车" in fewer.content.decode()
    passat.refresh_from_db()
    chen.refresh_from_db()
    assert passat.is_active and passat.seats == 5 and chen.is_active
    assert not AuditEntry.objects.filter(action__in=["services.vehicle_retire", "services.driver_retire",
                                                     "services.vehicle_update"]).exists()

    liu.post(f"/services/fleet/vehicles/{gl8.pk}/retire")
    liu.post(f"/services/fleet/drivers/{lin.pk}/retire")
    gl8.refresh_from_db()
    lin.refresh_from_db()
    assert not gl8.is_active and not lin.is_active
    assert AuditEntry.objects.filter(action="services.vehicle_retire", changes__plate="粤V·A5678").exists()
    assert AuditEntry.objects.filter(action="services.driver_retire", changes__name="林师傅").exists()

    # After the trip has ended the car can go.
    pool.move_to(dt.datetime(2026, 3, 3, 12, 30, tzinfo=BEIJING), tick=False)
    assert login(cast.liuyang).post(f"/services/fleet/vehicles/{passat.pk}/retire").status_code == 302
    passat.refresh_from_db()
    assert not passat.is_active


def test_drivers_are_staff_or_name_and_phone(pool, cast):
    liu = login(cast.liuyang)
    count, audits = Driver.objects.count(), AuditEntry.objects.count()
    page = liu.get("/services/fleet/drivers/new").content.decode()
    assert f'value="{cast.gaojun.pk}"' in page and f'value="{cast.hanxue.pk}"' not in page  # own agency only

    duplicate = liu.post("/services/fleet/drivers/new", {"name": "陈师傅", "phone": "13800000009"})
    assert duplicate.status_code == 409 and "已有名为“陈师傅”的驾驶员" in duplicate.content.decode()
    phone = liu.post("/services/fleet/drivers/new", {"name": "黄师傅", "phone": "12345"})
    assert phone.status_code == 400 and "电话“12345”格式不正确" in phone.content.decode()
    nobody = liu.post("/services/fleet/drivers/new", {"phone": "13800000009"})
    assert nobody.status_code == 400 and "请填写驾驶员姓名" in nobody.content.decode()
    outsider = liu.post("/services/fleet/drivers/new", {"person": cast.hanxue.pk, "phone": "13800000009"})
    assert outsider.status_code == 400
    assert (Driver.objects.count(), AuditEntry.objects.count()) == (count, audits)

    assert liu.post("/services/fleet/drivers/new", {"person": cast.gaojun.pk, "phone": "13800000003"}).status_code == 302
    staff = Driver.objects.get(person=cast.gaojun)
    assert (staff.name, staff.phone, staff.agency) == ("高军", "13800000003", item("vehicle").department.agency)
    again = liu.post("/services/fleet/drivers/new", {"person": cast.gaojun.pk, "phone": "13800000003"})
    assert again.status_code == 409 and "高军 已登记为驾驶员" in again.content.decode()
    assert liu.post("/services/fleet/drivers/new", {"name": "黄师傅", "phone": "0663-8888888"}).status_code == 302
    assert Driver.objects.get(name="黄师傅").person is None
    edit = liu.post(f"/services/fleet/drivers/{staff.pk}/", {"person": cast.gaojun.pk, "phone": "13800000004"})
    assert edit.status_code == 302
    assert AuditEntry.objects.filter(action="services.driver_create").count() == 2
    assert AuditEntry.objects.filter(action="services.driver_update", changes__phone="13800000004").exists()
    assert login(cast.zhangwei).post(f"/services/fleet/drivers/{staff.pk}/retire").status_code == 404


def test_the_schedule_shows_the_agency_trips_by_vehicle(pool, cast):
    passat, chen = Vehicle.objects.get(plate="粤V·A1234"), Driver.objects.get(name="陈师傅")
    dispatched = _dispatched_trip(cast, passat, chen)
    waiting = login(cast.gaojun).post(f"/services/items/{item('vehicle').pk}/apply", {
        "start": "2026-03-05T14:00", "end": "2026-03-05T17:00", "origin": "区府大楼", "destination": "曲溪街道",
        "passengers": "2", "purpose": "送文件"})
    assert waiting.status_code == 302

    week = login(cast.liuyang).get("/services/fleet/schedule?date=2026-03-04").content.decode()
    assert "2026年3月2日至3月8日" in week and "3/3 周二" in week
    assert "2026-03-03 09:00–12:00" in week and "玉湖镇政府" in week and "驾驶员 陈师傅" in week
    assert f"/services/applications/{dispatched.pk}/" in week
    waiting_part = week.split("待派车", 1)[1]
    assert "曲溪街道" in waiting_part and "高军" in waiting_part
    day = login(cast.liuyang).get("/services/fleet/schedule?view=day&date=2026-03-04").content.decode()
    assert "2026年3月4日" in day and "玉湖镇政府" not in day and "空闲" in day
    assert "玉湖镇政府" in login(cast.liuyang).get("/services/fleet/schedule?view=day&date=2026-03-03").content.decode()

    # 政数局's 办公室 manages its own (empty) pool: none of 区府办's trips.
    other = login(cast.hanxue, otp=True).get("/services/fleet/schedule?date=2026-03-04").content.decode()
    assert "玉湖镇政府" not in other and "曲溪街道" not in other and "粤V·A1234" not in other
    assert login(cast.zhangwei).get("/services/fleet/schedule?date=2026-03-04").status_code == 403


def test_the_office_register_marks_rooms_over_the_standard(pool, cast):
    liu = login(cast.liuyang)
    page = liu.get("/services/offices/").content.decode()
    # 301: 18 ㎡ for 张伟 (一级科员, 9 ㎡) is over by 9; 305: 36 ㎡ for 高军 9 + 徐丽 (二级主任科员) 18; 303 is empty.
    assert "张伟（科级以下 9 ㎡）" in page and "徐丽（正科级 18 ㎡）" in page and "空置" in page
    assert page.count("badge-warning") == 3 and "超标 9 ㎡" in page and "3 间超标" in page
    assert login(cast.zhangwei).get("/services/offices/").status_code == 403
    r301 = OfficeRoom.objects.get(number="301")
    assert login(cast.hanxue, otp=True).get(f"/services/offices/{r301.pk}/").status_code == 404

    count, audits = OfficeRoom.objects.count(), AuditEntry.objects.count()
    assert login(cast.zhangwei).post("/services/offices/new", {"building": "区府大楼", "number": "309",
                                                               "area": "20"}).status_code == 403
    negative = liu.post("/services/offices/new", {"building": "区府大楼", "number": "309", "area": "-20",
                                                  "is_active": "on"})
    assert negative.status_code == 400 and "使用面积须大于 0 平方米" in negative.content.decode()
    words = liu.post("/services/offices/new", {"building": "区府大楼", "number": "309", "area": "二十"})
    assert words.status_code == 400 and "请填写使用面积" in words.content.decode()
    duplicate = liu.post("/services/offices/new", {"building": "区府大楼", "number": "301", "area": "20"})
    assert duplicate.status_code == 409 and "台账中已有 区府大楼 301" in duplicate.content.decode()
    assert (OfficeRoom.objects.count(), AuditEntry.objects.count()) == (count, audits)

    assert liu.post("/services/offices/new", {"building": "区府大楼", "number": "309", "area": "20.5",
                                              "is_active": "on"}).status_code == 302
    r309 = OfficeRoom.objects.get(number="309")
    assert r309.area == Decimal("20.50") and r309.is_active
    assert AuditEntry.objects.filter(action="services.office_room_create", changes__area="20.50").exists()

    # Occupants: 高军 still sits in 305, so he cannot be put in 303 too; 刘洋 (三级主任科员, 12 ㎡) fits 303 exactly.
    r303 = OfficeRoom.objects.get(number="303")
    elsewhere = liu.post(f"/services/offices/{r303.pk}/occupants", {"occupants": [cast.gaojun.pk]})
    assert elsewhere.status_code == 409 and "高军（区府大楼 305） 已在其他办公用房" in elsewhere.content.decode()
    outsider = liu.post(f"/services/offices/{r303.pk}/occupants", {"occupants": [cast.hanxue.pk]})
    assert outsider.status_code == 400
    assert not r303.occupants.exists()
    done = liu.post(f"/services/offices/{r303.pk}/occupants", {"occupants": [cast.liuyang.pk]}, follow=True)
    assert "已调整 区府大楼 303 的使用人" in done.content.decode() and "超出使用人面积标准" not in done.content.decode()
    assert list(r303.occupants.all()) == [cast.liuyang]
    assert AuditEntry.objects.filter(action="services.office_occupants", changes__after=["刘洋"]).exists()

    # A bigger area puts 303 over the standard: the register shows it and the next change warns.
    liu.post(f"/services/offices/{r303.pk}/", {"building": "区府大楼", "number": "303", "area": "15", "is_active": "on"})
    assert AuditEntry.objects.filter(action="services.office_room_update", changes__before__area="12.00").exists()
    warned = liu.post(f"/services/offices/{r303.pk}/occupants", {"occupants": [cast.liuyang.pk]}, follow=True)
    assert "超出使用人面积标准合计 3 ㎡" in warned.content.decode()
