"""公务用车 (docs/services.md 公务用车): the vehicle pool, dispatch with a conflict check, the return log.

The route's last step is 派车: its holder (the 车管员) chooses a vehicle and a driver. The vehicle and driver rows
are locked (SELECT … FOR UPDATE, as meetings lock a room) and their dispatched trips checked for overlap with
half-open intervals [start, end): a trip that ends at 10:00 and one that starts at 10:00 do not clash. After the
trip the 车管员 logs the return with the odometer reading, which can never be below the reading at dispatch.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from oa.actions.audit import do_record_audit
from oa.models import Person
from oa.refusals import Refusal
from workflows.services.handlers import ServiceHandler, check_route_ends_single, register_handler
from workflows.services.items import demo_affairs
from workflows.services.items.affairs_models import Driver, Vehicle, VehicleTrip
from workflows.services.items.common import clean_text, datetime_field, refuse_bad_span, when

LONGEST_TRIP = dt.timedelta(days=7)
OCCUPYING = (VehicleTrip.State.DISPATCHED, VehicleTrip.State.RETURNED)


def pool(item) -> tuple[list[Vehicle], list[Driver]]:
    agency = item.department.agency
    return (list(Vehicle.objects.filter(agency=agency, is_active=True).order_by("plate")),
            list(Driver.objects.filter(agency=agency, is_active=True).order_by("name")))


def overlapping(start: dt.datetime, end: dt.datetime) -> Q:
    """Half-open intervals: [start, end) meets [a, b) when a < end and b > start; touching is not overlapping."""
    return Q(start__lt=end, end__gt=start)


def vehicle_clash(vehicle: Vehicle, start: dt.datetime, end: dt.datetime, *, exclude: int | None = None):
    return (VehicleTrip.objects.filter(vehicle=vehicle, state__in=OCCUPYING).filter(overlapping(start, end))
            .exclude(pk=exclude).select_related("application").order_by("start").first())


def driver_clash(driver: Driver, start: dt.datetime, end: dt.datetime, *, exclude: int | None = None):
    return (VehicleTrip.objects.filter(driver=driver, state__in=OCCUPYING).filter(overlapping(start, end))
            .exclude(pk=exclude).order_by("start").first())


def form_fields(item, applicant, amending: bool) -> dict[str, forms.Field]:
    return {
        "start": datetime_field("用车开始时间"),
        "end": datetime_field("用车结束时间"),
        "origin": forms.CharField(label="出发地", max_length=100),
        "destination": forms.CharField(label="目的地", max_length=100),
        "passengers": forms.IntegerField(label="乘车人数", min_value=1, max_value=60),
        "purpose": forms.CharField(label="用车事由", max_length=500, widget=forms.Textarea(attrs={"rows": 2})),
    }


def check(applicant: Person, item, extra: dict, application_id: int | None) -> dict[str, Any]:
    start, end = extra.get("start"), extra.get("end")
    refuse_bad_span(start, end, longest=LONGEST_TRIP, what="用车")
    passengers = extra.get("passengers")
    if not passengers or not 1 <= passengers <= 60:
        raise Refusal("trip_passengers_invalid", "乘车人数须在 1～60 之间。")
    vehicles, _ = pool(item)
    fitting = [v for v in vehicles if v.seats >= passengers]
    if not fitting:
        raise Refusal("trip_no_vehicle", f"车辆池中没有能坐 {passengers} 人的车辆，请分乘或联系{item.department.name}。",
                      status=409)
    if all(vehicle_clash(v, start, end) for v in fitting):
        raise Refusal("trip_pool_busy", f"{when(start, end)} 车辆池中能坐 {passengers} 人的车辆均已派出，请调整用车时间。",
                      status=409)
    return {"start": start.isoformat(), "end": end.isoformat(), "when": when(start, end),
            "origin": clean_text(extra.get("origin"), "出发地", required=True, limit=100),
            "destination": clean_text(extra.get("destination"), "目的地", required=True, limit=100),
            "passengers": passengers, "purpose": clean_text(extra.get("purpose"), "用车事由", required=True)}


def _store(application, extra: dict) -> None:
    form = application.form
    VehicleTrip.objects.update_or_create(application=application, defaults={
        "start": dt.datetime.fromisoformat(form["start"]), "end": dt.datetime.fromisoformat(form["end"]),
        "origin": form["origin"], "destination": form["destination"], "passengers": form["passengers"]})


def final_fields(application) -> dict[str, forms.Field]:
    trip = VehicleTrip.objects.get(application=application)
    vehicles, drivers = pool(application.item)
    choices = []
    for v in vehicles:
        if v.seats < trip.passengers:
            continue
        busy = vehicle_clash(v, trip.start, trip.end, exclude=trip.pk)
        choices.append((v.pk, f"{v.plate} {v.model} {v.seats} 座" + ("（该时段已派出）" if busy else "")))
    return {
        "vehicle": forms.TypedChoiceField(label="派车：车辆", coerce=int, required=False,
                                          choices=[("", "请选择"), *choices]),
        "driver": forms.TypedChoiceField(label="派车：驾驶员", coerce=int, required=False,
                                         choices=[("", "请选择")] + [(d.pk, d.name) for d in drivers]),
    }


def on_final(actor: Person, application, task, final: dict, otp_verified: bool) -> str:
    """派车: lock the vehicle and the driver, refuse an overlap, record the dispatch and the odometer."""
    from workflows.services.actions import _event
    from workflows.services.models import ApplicationEvent

    agency = application.item.department.agency
    vehicle_id, driver_id = final.get("vehicle"), final.get("driver")
    if not vehicle_id:
        raise Refusal("trip_vehicle_required", "请选择派出的车辆。")
    if not driver_id:
        raise Refusal("trip_driver_required", "请选择驾驶员。")
    trip = VehicleTrip.objects.select_for_update().get(application=application)
    vehicle = Vehicle.objects.select_for_update().filter(pk=vehicle_id, agency=agency, is_active=True).first()
    driver = Driver.objects.select_for_update().filter(pk=driver_id, agency=agency, is_active=True).first()
    if vehicle is None:
        raise Refusal("trip_vehicle_required", "请选择车辆池中可调度的车辆。")
    if driver is None:
        raise Refusal("trip_driver_required", "请选择在岗的驾驶员。")
    if vehicle.seats < trip.passengers:
        raise Refusal("trip_vehicle_small", f"{vehicle.plate} 只有 {vehicle.seats} 座，本次乘车 {trip.passengers} 人。")
    clash = vehicle_clash(vehicle, trip.start, trip.end, exclude=trip.pk)
    if clash is not None:
        raise Refusal("vehicle_taken", f"车辆 {vehicle.plate} 在 {when(clash.start, clash.end)} 已派给办件 "
                                       f"{clash.application.number}（{clash.destination}），与本次用车时间重叠，请另选车辆。",
                      status=409)
    clash = driver_clash(driver, trip.start, trip.end, exclude=trip.pk)
    if clash is not None:
        raise Refusal("driver_taken", f"驾驶员 {driver.name} 在 {when(clash.start, clash.end)} 已有出车任务，请另选驾驶员。",
                      status=409)
    trip.vehicle, trip.driver, trip.state = vehicle, driver, VehicleTrip.State.DISPATCHED
    trip.dispatched_by, trip.dispatched_at, trip.start_mileage = actor, timezone.now(), vehicle.mileage
    trip.save()
    note = f"派车 {vehicle.plate}（{vehicle.model}），驾驶员 {driver.name}，出车里程 {vehicle.mileage} 公里"
    _event(application, ApplicationEvent.Kind.DISPATCHED, actor, note, "派车")
    do_record_audit(actor=actor, action="services.vehicle_dispatch", obj=application, changes={
        "vehicle": vehicle.plate, "driver": driver.name, "start": trip.start, "end": trip.end,
        "start_mileage": vehicle.mileage, "number": application.number})
    return note


def finish(application) -> str:
    trip = VehicleTrip.objects.select_related("vehicle", "driver").get(application=application)
    if trip.vehicle is None:  # an item without a 派车 step cannot end here (validate_item), but never say 已派车
        return "审批通过，待派车"
    return (f"已派车：{trip.vehicle.plate}（{trip.vehicle.model}），驾驶员 {trip.driver.name}"
            f"{'，电话 ' + trip.driver.phone if trip.driver.phone else ''}；{when(trip.start, trip.end)}")


def on_reject(application) -> None:
    VehicleTrip.objects.filter(application=application).update(state=VehicleTrip.State.REJECTED)


def validate_item(data) -> None:
    check_route_ends_single(data.route, "派车")


def may_log_return(person: Person, trip: VehicleTrip) -> bool:
    """The 车管员: whoever dispatched the trip, or holds the item's 受理岗位 in its 主管部门."""
    from workflows.services.selectors import route_people

    item = trip.application.item
    return trip.dispatched_by_id == person.pk or route_people(item.intake_role, "competent_dept", item, None).filter(
        pk=person.pk).exists()


def check_return_vehicle(actor: Person, application, end_mileage: int) -> VehicleTrip:
    """还车登记: the odometer now (≥ the reading at dispatch); the vehicle's mileage moves on."""
    from workflows.services.actions import _event
    from workflows.services.models import ApplicationEvent

    with transaction.atomic():
        trip = VehicleTrip.objects.select_for_update().select_related("application__item__department").filter(
            application=application).first()
        if trip is None or not may_log_return(actor, trip):
            raise Refusal("trip_return_forbidden", "只有车管员可以登记还车。", status=403)
        if trip.state != VehicleTrip.State.DISPATCHED:
            raise Refusal("trip_not_dispatched", f"该用车{trip.get_state_display()}，不能登记还车。", status=409)
        if timezone.now() < trip.start:
            raise Refusal("trip_not_started", "用车尚未开始，不能登记还车。", status=409)
        if end_mileage is None or end_mileage < trip.start_mileage:
            raise Refusal("trip_mileage_backwards",
                          f"还车里程 {end_mileage} 公里小于出车里程 {trip.start_mileage} 公里，请核对里程表读数。")
        if end_mileage - trip.start_mileage > 10000:
            raise Refusal("trip_mileage_implausible", "本次行驶超过 10000 公里，请核对里程表读数。")
        vehicle = Vehicle.objects.select_for_update().get(pk=trip.vehicle_id)
        trip.end_mileage, trip.returned_at, trip.returned_by = end_mileage, timezone.now(), actor
        trip.state = VehicleTrip.State.RETURNED
        trip.save(update_fields=["end_mileage", "returned_at", "returned_by", "state"])
        vehicle.mileage = max(vehicle.mileage, end_mileage)
        vehicle.save(update_fields=["mileage"])
        distance = end_mileage - trip.start_mileage
        _event(application, ApplicationEvent.Kind.VEHICLE_RETURNED, actor,
               f"{vehicle.plate} 还车，还车里程 {end_mileage} 公里，本次行驶 {distance} 公里", "还车登记")
        do_record_audit(actor=actor, action="services.vehicle_return", obj=application, changes={
            "vehicle": vehicle.plate, "start_mileage": trip.start_mileage, "end_mileage": end_mileage,
            "number": application.number})
    return trip


def approver_notes(application) -> list[str]:
    trip = VehicleTrip.objects.filter(application=application).first()
    if trip is None:
        return []
    vehicles, _ = pool(application.item)
    free = [v for v in vehicles if v.seats >= trip.passengers and not vehicle_clash(v, trip.start, trip.end,
                                                                                   exclude=trip.pk)]
    return [f"该时段可派车辆 {len(free)} 辆" + (f"：{'、'.join(v.plate for v in free)}" if free else "，请协调或退回补正")]


def record(application, user=None) -> VehicleTrip | None:
    trip = VehicleTrip.objects.filter(application=application).select_related("vehicle", "driver",
                                                                               "application__item__department").first()
    if trip is not None:
        trip.may_return = (user is not None and trip.state == VehicleTrip.State.DISPATCHED
                           and may_log_return(user, trip))
    return trip


HANDLER = register_handler(ServiceHandler(
    key="vehicle", label="公务用车", fields=form_fields, clean=check, on_submit=_store, on_resubmit=_store,
    labels={"when": "用车时间", "origin": "出发地", "destination": "目的地", "passengers": "乘车人数",
            "purpose": "用车事由"},
    refusal_fields={"time_required": "start", "end_before_start": "end", "start_in_past": "start",
                    "span_too_long": "end", "trip_passengers_invalid": "passengers", "trip_no_vehicle": "passengers",
                    "trip_pool_busy": "start", "field_required": "purpose", "field_too_long": "purpose",
                    "trip_vehicle_required": "vehicle", "trip_vehicle_small": "vehicle", "vehicle_taken": "vehicle",
                    "trip_driver_required": "driver", "driver_taken": "driver"},
    final_fields=final_fields, on_final=on_final, finish=finish, reject=on_reject, validate_item=validate_item,
    approver_notes=approver_notes, template="services/items/vehicle.html", record=record,
    demo=demo_affairs.DEMO["vehicle"], seed=demo_affairs.seed_fleet,
))
