"""车辆池、驾驶员、车辆日程和办公用房台账的管理 (docs/services.md 车辆与办公用房管理): selectors and actions.

Who manages an agency's pool is the person who dispatches its cars: the holder of the 派车 step (the last step of the
route) of the agency's online 公务用车 items, resolved exactly as the flow resolves it (``route_people``). An agency
without such an item falls back to its 办公室/文书. The 办公用房台账 belongs to the agency's 办公室/文书.

Every write checks, then writes in one transaction and leaves an audit entry; a refusal writes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from oa.actions.audit import do_record_audit
from oa.models import Agency, Person, Role, RoleAssignment
from oa.refusals import Refusal
from oa.selectors.directory import active_people, people_with_role
from workflows.services.items.affairs_models import Driver, OfficeRoom, Vehicle, VehicleTrip
from workflows.services.items.common import clean_text
from workflows.services.items.offices import standard_of
from workflows.services.items.vehicles import OCCUPYING, overlapping

# 省、自治区、直辖市简称 + 发牌机关代号 (no I, O) + 5 characters (6 for 新能源); the dot is optional on input.
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_RE = re.compile(rf"^([{PROVINCES}])([A-HJ-NP-Z])[·•.\-]?([A-HJ-NP-Z0-9]{{5,6}})$")
PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
MAX_SEATS = 60
MAX_AREA = Decimal("9999.99")


# --- who ---------------------------------------------------------------------------------------------------------


def fleet_managers(agency: Agency) -> QuerySet[Person]:
    """The 车管员 of ``agency``: whoever the 派车 step of its online 公务用车 items resolves to."""
    from workflows.services.models import ServiceItem
    from workflows.services.selectors import route_people

    ids: set[int] = set()
    items = ServiceItem.objects.filter(handler="vehicle",  # vehicles.HANDLER.key is_active=True,
                                       department__agency=agency).select_related("department__agency")
    found = False
    for item in items:
        found = True
        if item.route:
            step = item.route[-1][0]
            role, scope = step["role"], step["scope"]
        else:
            role, scope = item.intake_role, "competent_dept"
        holders = (people_with_role(role, agency=agency) if scope == "applicant_dept"
                   else route_people(role, scope, item, None))
        ids.update(holders.values_list("pk", flat=True))
    if not found:
        ids.update(people_with_role(Role.CLERK, agency=agency).values_list("pk", flat=True))
    return active_people().filter(pk__in=ids)


def office_keepers(agency: Agency) -> QuerySet[Person]:
    """Who keeps the 办公用房台账: the agency's 办公室/文书 (agency-wide or in one of its departments)."""
    return people_with_role(Role.CLERK, agency=agency)


def _candidate_agencies(person: Person) -> list[Agency]:
    ids = set(person.appointments.values_list("department__agency_id", flat=True))
    ids |= set(RoleAssignment.objects.filter(person=person).values_list("agency_id", flat=True))
    return list(Agency.objects.filter(pk__in=ids, is_active=True).order_by("sort_order", "pk"))


def fleet_agencies_of(person: Person) -> list[Agency]:
    if not person.is_authenticated:
        return []
    return [a for a in _candidate_agencies(person) if fleet_managers(a).filter(pk=person.pk).exists()]


def office_agencies_of(person: Person) -> list[Agency]:
    if not person.is_authenticated:
        return []
    return [a for a in _candidate_agencies(person) if office_keepers(a).filter(pk=person.pk).exists()]


def access_vehicle_by_id(user: Person, vehicle_id: int) -> Vehicle:
    """404 whether the vehicle is missing or belongs to an agency whose pool ``user`` does not manage."""
    vehicle = Vehicle.objects.select_related("agency").filter(pk=vehicle_id).first()
    if vehicle is None or vehicle.agency not in fleet_agencies_of(user):
        raise Http404("车辆不存在")
    return vehicle


def access_driver_by_id(user: Person, driver_id: int) -> Driver:
    driver = Driver.objects.select_related("agency", "person").filter(pk=driver_id).first()
    if driver is None or driver.agency not in fleet_agencies_of(user):
        raise Http404("驾驶员不存在")
    return driver


def access_office_room_by_id(user: Person, room_id: int) -> OfficeRoom:
    room = OfficeRoom.objects.select_related("agency").filter(pk=room_id).first()
    if room is None or room.agency not in office_agencies_of(user):
        raise Http404("办公用房不存在")
    return room


def agency_people(agency: Agency) -> QuerySet[Person]:
    """Active people with an appointment in ``agency`` (drivers on the staff, occupants of its offices)."""
    return active_people().filter(appointments__department__agency=agency).distinct().order_by("pk")


# --- vehicles ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VehicleInput:
    plate: str
    kind: str
    model: str
    seats: int | None
    mileage: int | None = None  # only when the car enters the pool; afterwards 还车登记 moves it


def normalise_plate(text: str) -> str:
    """“粤v a1234” → “粤V·A1234”; refuses what is not a 号牌 of the GA 36 shape."""
    compact = re.sub(r"\s+", "", text or "").upper()
    match = PLATE_RE.match(compact)
    if match is None:
        raise Refusal("vehicle_plate_invalid", f"车牌号“{(text or '').strip()[:20]}”格式不正确，应如“粤V·A1234”"
                                               "（省份简称、发牌机关字母、5 位号码，新能源车 6 位；不含字母 I、O）。")
    return f"{match[1]}{match[2]}·{match[3]}"


def _future_trips(**lookup) -> QuerySet[VehicleTrip]:
    return VehicleTrip.objects.filter(state=VehicleTrip.State.DISPATCHED, end__gt=timezone.now(), **lookup)


def _check_vehicle(data: VehicleInput, current: Vehicle | None) -> dict:
    plate = normalise_plate(data.plate)
    if data.kind not in Vehicle.Kind.values:
        raise Refusal("vehicle_kind_invalid", "请选择车辆类型。")
    model = clean_text(data.model, "品牌型号", required=True, limit=50)
    if data.seats is None or not 1 <= data.seats <= MAX_SEATS:
        raise Refusal("vehicle_seats_invalid", f"座位数须在 1～{MAX_SEATS} 之间。")
    taken = Vehicle.objects.filter(plate=plate).exclude(pk=current.pk if current else None).select_related(
        "agency").first()
    if taken is not None:
        raise Refusal("vehicle_plate_taken", f"车牌号 {plate} 已登记在{taken.agency.name}的车辆池中。", status=409)
    fields = {"plate": plate, "kind": data.kind, "model": model, "seats": data.seats}
    if current is None:
        if data.mileage is None or not 0 <= data.mileage <= 9_999_999:
            raise Refusal("vehicle_mileage_invalid", "请填写当前里程表读数（0～9999999 公里）。")
        fields["mileage"] = data.mileage
    else:
        crowded = _future_trips(vehicle=current, passengers__gt=data.seats).order_by("start").first()
        if crowded is not None:
            raise Refusal("vehicle_seats_below_trip", f"该车已派出的用车（办件 {crowded.application.number}）有 "
                                                      f"{crowded.passengers} 人乘车，座位数不能少于此数。", status=409)
    return fields


def check_save_vehicle(actor: Person, agency: Agency, data: VehicleInput, vehicle: Vehicle | None = None) -> Vehicle:
    """Add a car to ``agency``'s pool, or change its plate, type, model or seats."""
    with transaction.atomic():
        if vehicle is not None:
            vehicle = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        fields = _check_vehicle(data, vehicle)
        before = {k: getattr(vehicle, k) for k in fields} if vehicle else {}
        try:
            with transaction.atomic():  # the unique plate index is the last word when two people add at once
                if vehicle is None:
                    vehicle = Vehicle.objects.create(agency=agency, **fields)
                else:
                    for name, value in fields.items():
                        setattr(vehicle, name, value)
                    vehicle.save(update_fields=list(fields))
        except IntegrityError:
            raise Refusal("vehicle_plate_taken", f"车牌号 {fields['plate']} 已登记。", status=409) from None
        changes = {k: v for k, v in fields.items() if before.get(k) != v}
        do_record_audit(actor=actor, action="services.vehicle_update" if before else "services.vehicle_create",
                        obj=vehicle, changes={**changes, "agency": agency.name,
                                              **({"before": {k: before[k] for k in changes}} if before else {})})
    return vehicle


def check_retire_vehicle(actor: Person, vehicle: Vehicle) -> Vehicle:
    """停用 (报废、移交): refused while a trip dispatched to it is still ahead or under way."""
    with transaction.atomic():
        vehicle = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        if not vehicle.is_active:
            raise Refusal("vehicle_already_retired", f"{vehicle.plate} 已停用。", status=409)
        ahead = list(_future_trips(vehicle=vehicle).select_related("application").order_by("start")[:3])
        if ahead:
            numbers = "、".join(t.application.number for t in ahead)
            raise Refusal("vehicle_has_trips", f"{vehicle.plate} 还有未完成的派车（办件 {numbers}），"
                                               "请先改派其他车辆或待行程结束后再停用。", status=409)
        vehicle.is_active = False
        vehicle.save(update_fields=["is_active"])
        do_record_audit(actor=actor, action="services.vehicle_retire", obj=vehicle,
                        changes={"plate": vehicle.plate, "mileage": vehicle.mileage})
    return vehicle


# --- drivers -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DriverInput:
    person_id: int | None
    name: str
    phone: str


def check_save_driver(actor: Person, agency: Agency, data: DriverInput, driver: Driver | None = None) -> Driver:
    """A staff driver (linked to the directory: name and mobile from there unless a phone is given) or a
    contracted one (name and phone)."""
    with transaction.atomic():
        if driver is not None:
            driver = Driver.objects.select_for_update().get(pk=driver.pk)
        person = None
        if data.person_id:
            person = agency_people(agency).filter(pk=data.person_id).first()
            if person is None:
                raise Refusal("driver_person_invalid", f"所选人员不在{agency.name}的通讯录中。")
            name = person.name
        else:
            name = clean_text(data.name, "驾驶员姓名（或选择本机关工作人员）", required=True, limit=50)
        phone = re.sub(r"\s+", "", data.phone or "") or (person.mobile if person else "")
        if not phone:
            raise Refusal("driver_phone_required", "请填写驾驶员电话，派车结果会告诉申请人。")
        if not PHONE_RE.match(phone):
            raise Refusal("driver_phone_invalid", f"电话“{phone[:20]}”格式不正确（11 位手机号或带区号的固定电话）。")
        others = Driver.objects.filter(agency=agency).exclude(pk=driver.pk if driver else None)
        if person is not None and others.filter(person=person).exists():
            raise Refusal("driver_person_taken", f"{person.name} 已登记为驾驶员。", status=409)
        if others.filter(name=name).exists():
            raise Refusal("driver_name_taken", f"已有名为“{name}”的驾驶员，同名请加以区分（如“陈师傅（二队）”）。",
                          status=409)
        fields = {"person": person, "name": name, "phone": phone}
        before = {"name": driver.name, "phone": driver.phone, "person": driver.person_id} if driver else {}
        if driver is None:
            driver = Driver.objects.create(agency=agency, **fields)
        else:
            for key, value in fields.items():
                setattr(driver, key, value)
            driver.save(update_fields=list(fields))
        do_record_audit(actor=actor, action="services.driver_update" if before else "services.driver_create",
                        obj=driver, changes={"name": name, "phone": phone, "person": person.pk if person else None,
                                             "agency": agency.name, **({"before": before} if before else {})})
    return driver


def check_retire_driver(actor: Person, driver: Driver) -> Driver:
    with transaction.atomic():
        driver = Driver.objects.select_for_update().get(pk=driver.pk)
        if not driver.is_active:
            raise Refusal("driver_already_retired", f"{driver.name} 已离岗。", status=409)
        ahead = list(_future_trips(driver=driver).select_related("application").order_by("start")[:3])
        if ahead:
            numbers = "、".join(t.application.number for t in ahead)
            raise Refusal("driver_has_trips", f"{driver.name} 还有未完成的派车（办件 {numbers}），不能设为离岗。",
                          status=409)
        driver.is_active = False
        driver.save(update_fields=["is_active"])
        do_record_audit(actor=actor, action="services.driver_retire", obj=driver, changes={"name": driver.name})
    return driver


# --- the schedule ------------------------------------------------------------------------------------------------


def schedule(agency: Agency, first_day: dt.date, days: int) -> dict:
    """Trips of ``agency``'s cars overlapping [first_day, first_day + days) by vehicle and day, plus the agency's
    trips still waiting for a car (待派车)."""
    from workflows.services.items.common import when

    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(first_day, dt.time.min, tzinfo=tz)
    end = start + dt.timedelta(days=days)
    day_list = [first_day + dt.timedelta(days=i) for i in range(days)]
    trips = list(VehicleTrip.objects.filter(vehicle__agency=agency, state__in=OCCUPYING).filter(
        overlapping(start, end)).select_related("vehicle", "driver", "application__applicant").order_by("start"))
    used = {t.vehicle_id for t in trips}
    vehicles = [v for v in Vehicle.objects.filter(agency=agency).order_by("plate") if v.is_active or v.pk in used]
    rows = []
    for vehicle in vehicles:
        cells = []
        for day in day_list:
            lo = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
            hi = lo + dt.timedelta(days=1)
            cells.append({"day": day, "trips": [t for t in trips if t.vehicle_id == vehicle.pk
                                                and t.start < hi and t.end > lo]})
        rows.append({"vehicle": vehicle, "cells": cells, "count": sum(1 for t in trips if t.vehicle_id == vehicle.pk)})
    waiting = list(VehicleTrip.objects.filter(
        state=VehicleTrip.State.PENDING, application__item__department__agency=agency,
        application__status__in=("submitted", "accepted")).filter(overlapping(start, end)).select_related(
        "application__applicant").order_by("start"))
    for trip in trips + waiting:
        trip.when_text = when(trip.start, trip.end)
    return {"days": day_list, "rows": rows, "waiting": waiting}


# --- 办公用房台账 ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoomInput:
    building: str
    number: str
    area: Decimal | str | None
    is_active: bool = True


def _area(value) -> Decimal:
    try:
        area = Decimal(str(value).strip()) if value not in (None, "") else None
    except InvalidOperation:
        area = None
    if area is None or not area.is_finite():
        raise Refusal("office_area_invalid", "请填写使用面积（平方米，可带两位小数）。")
    if area <= 0:
        raise Refusal("office_area_not_positive", "使用面积须大于 0 平方米。")
    if area > MAX_AREA:
        raise Refusal("office_area_too_large", f"使用面积不能超过 {MAX_AREA} 平方米。")
    return area.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def check_save_office_room(actor: Person, agency: Agency, data: RoomInput, room: OfficeRoom | None = None
                           ) -> OfficeRoom:
    building = clean_text(data.building, "楼宇", required=True, limit=60)
    number = clean_text(data.number, "房号", required=True, limit=30)
    area = _area(data.area)
    with transaction.atomic():
        if room is not None:
            room = OfficeRoom.objects.select_for_update().get(pk=room.pk)
        if OfficeRoom.objects.filter(agency=agency, building=building, number=number).exclude(
                pk=room.pk if room else None).exists():
            raise Refusal("office_room_taken", f"台账中已有 {building} {number}。", status=409)
        fields = {"building": building, "number": number, "area": area, "is_active": bool(data.is_active)}
        before = {"building": room.building, "number": room.number, "area": str(room.area),
                  "is_active": room.is_active} if room else {}
        try:
            with transaction.atomic():
                if room is None:
                    room = OfficeRoom.objects.create(agency=agency, **fields)
                else:
                    for key, value in fields.items():
                        setattr(room, key, value)
                    room.save(update_fields=list(fields))
        except IntegrityError:
            raise Refusal("office_room_taken", f"台账中已有 {building} {number}。", status=409) from None
        do_record_audit(actor=actor, action="services.office_room_update" if before else "services.office_room_create",
                        obj=room, changes={**fields, "area": str(area), "agency": agency.name,
                                           **({"before": before} if before else {})})
    return room


def check_set_occupants(actor: Person, room: OfficeRoom, person_ids: list[int]) -> OfficeRoom:
    """使用人 of one office: people of the agency, each in at most one of its offices (move them out first)."""
    agency = room.agency
    wanted = list(agency_people(agency).filter(pk__in=person_ids))
    if len(wanted) != len(set(person_ids)):
        raise Refusal("office_occupant_invalid", f"使用人须是{agency.name}的在职工作人员。")
    if len(wanted) > 50:
        raise Refusal("office_occupants_too_many", "一间办公用房的使用人不能超过 50 人。")
    with transaction.atomic():
        room = OfficeRoom.objects.select_for_update().get(pk=room.pk)
        if wanted and not room.is_active:
            raise Refusal("office_room_inactive", f"{room} 已设为不可分配，不能安排使用人。", status=409)
        elsewhere = (OfficeRoom.objects.filter(agency=agency, occupants__in=wanted).exclude(pk=room.pk)
                     .values_list("building", "number", "occupants__name").order_by("occupants__name"))
        if elsewhere:
            who = "、".join(f"{name}（{building} {number}）" for building, number, name in elsewhere[:5])
            raise Refusal("office_occupant_elsewhere", f"{who} 已在其他办公用房，请先从原房间移出。", status=409)
        before = sorted(room.occupants.values_list("name", flat=True))
        room.occupants.set(wanted)
        do_record_audit(actor=actor, action="services.office_occupants", obj=room, changes={
            "room": str(room), "before": before, "after": sorted(p.name for p in wanted)})
    return room


def register_rows(agency: Agency) -> list[dict]:
    """The 台账: each office with its occupants, area per person and the standard they are entitled to together
    (the sum of each occupant's 人均面积标准); over when the area exceeds that sum."""
    rows = []
    for room in OfficeRoom.objects.filter(agency=agency).prefetch_related("occupants").order_by("building", "number"):
        occupants = list(room.occupants.all())
        standards = [(p, *standard_of(p)) for p in occupants]
        allowance = sum((area for _, _, area in standards), Decimal(0))
        per_person = (room.area / len(occupants)).quantize(Decimal("0.01")) if occupants else None
        rows.append({"room": room, "occupants": standards, "per_person": per_person,
                     "allowance": allowance if occupants else None,
                     "over": bool(occupants) and room.area > allowance,
                     "excess": room.area - allowance if occupants and room.area > allowance else None})
    return rows
