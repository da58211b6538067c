"""Management pages of an agency's 车辆池、驾驶员、车辆日程 (车管员) and 办公用房台账 (办公室) — docs/services.md
车辆与办公用房管理. Thin: resolve the agency the user manages, parse the form, call one action, render.

  /services/fleet/                         车辆池与驾驶员
  /services/fleet/vehicles/new, <id>/      新增、修改车辆；<id>/retire 停用 (POST)
  /services/fleet/drivers/new, <id>/       新增、修改驾驶员；<id>/retire 离岗 (POST)
  /services/fleet/schedule                 车辆日程 (?view=day|week&date=YYYY-MM-DD)
  /services/offices/                       办公用房台账
  /services/offices/new, <id>/             新增、修改办公用房；<id>/occupants 调整使用人
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from frontend.widgets import CheckboxGroup
from oa.models import Agency
from oa.refusals import Refusal
from workflows.services.forms import RefusalForm
from workflows.services.items import fleet
from workflows.services.items.affairs_models import Driver, Vehicle

WEEKDAYS = "一二三四五六日"


def _pick(request, agencies: list[Agency], refusal: str) -> Agency:
    if not agencies:
        raise PermissionDenied(refusal)
    wanted = request.POST.get("agency") or request.GET.get("agency")
    return next((a for a in agencies if str(a.pk) == wanted), agencies[0])


def _fleet_agency(request) -> tuple[Agency, list[Agency]]:
    agencies = fleet.fleet_agencies_of(request.user)
    return _pick(request, agencies, "车辆池由本机关公务用车的派车人（车管员）管理。"), agencies


def _office_agency(request) -> tuple[Agency, list[Agency]]:
    agencies = fleet.office_agencies_of(request.user)
    return _pick(request, agencies, "办公用房台账由本机关办公室管理。"), agencies


def _with_agency(name: str, agency: Agency, *args) -> str:
    return f"{reverse(name, args=args)}?agency={agency.pk}"


# --- forms -------------------------------------------------------------------------------------------------------


class VehicleForm(RefusalForm):
    REFUSAL_FIELDS = {"vehicle_plate_invalid": "plate", "vehicle_plate_taken": "plate", "vehicle_kind_invalid": "kind",
                      "field_required": "model", "field_too_long": "model", "vehicle_seats_invalid": "seats",
                      "vehicle_seats_below_trip": "seats", "vehicle_mileage_invalid": "mileage"}

    plate = forms.CharField(label="车牌号", max_length=20, help_text="如 粤V·A1234（“·”可不填）")
    kind = forms.ChoiceField(label="车辆类型", choices=Vehicle.Kind.choices)
    model = forms.CharField(label="品牌型号", max_length=50, required=False)
    seats = forms.IntegerField(label="座位数（含驾驶员）", required=False)
    mileage = forms.IntegerField(label="当前里程（公里）", required=False, help_text="此后由还车登记更新")

    def __init__(self, *args, new: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not new:
            del self.fields["mileage"]


class DriverForm(RefusalForm):
    REFUSAL_FIELDS = {"driver_person_invalid": "person", "driver_person_taken": "person", "field_required": "name",
                      "field_too_long": "name", "driver_name_taken": "name", "driver_phone_required": "phone",
                      "driver_phone_invalid": "phone", "text_control_chars": "name"}

    person = forms.TypedChoiceField(label="本机关工作人员", coerce=int, required=False, empty_value=None,
                                    help_text="在编驾驶员从通讯录选择；外聘驾驶员不选，填写姓名")
    name = forms.CharField(label="姓名（外聘驾驶员）", max_length=50, required=False)
    phone = forms.CharField(label="电话", max_length=30, required=False, help_text="选择工作人员且不填时取通讯录手机号")

    def __init__(self, *args, agency: Agency, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [("", "不选（外聘）")] + [
            (p.pk, p.name) for p in fleet.agency_people(agency)]


class RoomForm(RefusalForm):
    REFUSAL_FIELDS = {"office_area_invalid": "area", "office_area_not_positive": "area",
                      "office_area_too_large": "area", "office_room_taken": "number"}

    building = forms.CharField(label="楼宇", max_length=60)
    number = forms.CharField(label="房号", max_length=30)
    area = forms.CharField(label="使用面积（㎡）", max_length=12, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    is_active = forms.BooleanField(label="可分配", required=False, initial=True)


class OccupantsForm(RefusalForm):
    occupants = forms.TypedMultipleChoiceField(label="使用人", coerce=int, required=False)

    def __init__(self, *args, agency: Agency, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["occupants"]
        field.choices = [(p.pk, p.name) for p in fleet.agency_people(agency)]
        field.widget = CheckboxGroup(choices=field.choices, empty_text="本机关没有在职工作人员。")


def _refuse_into(form: RefusalForm, exc: Refusal) -> int:
    form.add_refusal(exc.code, exc.message)
    return exc.status


# --- 车辆池与驾驶员 --------------------------------------------------------------------------------------------------


@login_required
def fleet_home(request):
    agency, agencies = _fleet_agency(request)
    vehicles = Vehicle.objects.filter(agency=agency).order_by("-is_active", "plate")
    drivers = Driver.objects.filter(agency=agency).select_related("person").order_by("-is_active", "name")
    return render(request, "services/items/manage/fleet.html", {
        "agency": agency, "agencies": agencies, "vehicles": vehicles, "drivers": drivers})


@login_required
@require_http_methods(["GET", "POST"])
def vehicle_edit(request, vehicle_id: int | None = None):
    if vehicle_id is None:
        vehicle, (agency, _) = None, _fleet_agency(request)
    else:
        vehicle = fleet.access_vehicle_by_id(request.user, vehicle_id)
        agency = vehicle.agency
    if request.method == "GET":
        initial = {"plate": vehicle.plate, "kind": vehicle.kind, "model": vehicle.model,
                   "seats": vehicle.seats} if vehicle else {"kind": Vehicle.Kind.SEDAN}
        form = VehicleForm(initial=initial, new=vehicle is None)
        return render(request, "services/items/manage/vehicle_form.html",
                      {"form": form, "vehicle": vehicle, "agency": agency})
    form = VehicleForm(request.POST, new=vehicle is None)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            saved = fleet.check_save_vehicle(request.user, agency, fleet.VehicleInput(
                plate=data["plate"], kind=data["kind"], model=data["model"], seats=data["seats"],
                mileage=data.get("mileage")), vehicle)
        except Refusal as exc:
            status = _refuse_into(form, exc)
        else:
            messages.success(request, f"已保存车辆 {saved.plate}")
            return redirect(_with_agency("services:fleet", agency))
    return render(request, "services/items/manage/vehicle_form.html",
                  {"form": form, "vehicle": vehicle, "agency": agency}, status=status)


@login_required
@require_POST
def vehicle_retire(request, vehicle_id: int):
    vehicle = fleet.access_vehicle_by_id(request.user, vehicle_id)
    try:
        fleet.check_retire_vehicle(request.user, vehicle)
    except Refusal as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{vehicle.plate} 已停用")
    return redirect(_with_agency("services:fleet", vehicle.agency))


@login_required
@require_http_methods(["GET", "POST"])
def driver_edit(request, driver_id: int | None = None):
    if driver_id is None:
        driver, (agency, _) = None, _fleet_agency(request)
    else:
        driver = fleet.access_driver_by_id(request.user, driver_id)
        agency = driver.agency
    if request.method == "GET":
        initial = {"person": driver.person_id, "name": "" if driver.person_id else driver.name,
                   "phone": driver.phone} if driver else None
        return render(request, "services/items/manage/driver_form.html",
                      {"form": DriverForm(initial=initial, agency=agency), "driver": driver, "agency": agency})
    form = DriverForm(request.POST, agency=agency)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            saved = fleet.check_save_driver(request.user, agency, fleet.DriverInput(
                person_id=data["person"], name=data["name"], phone=data["phone"]), driver)
        except Refusal as exc:
            status = _refuse_into(form, exc)
        else:
            messages.success(request, f"已保存驾驶员 {saved.name}")
            return redirect(_with_agency("services:fleet", agency))
    return render(request, "services/items/manage/driver_form.html",
                  {"form": form, "driver": driver, "agency": agency}, status=status)


@login_required
@require_POST
def driver_retire(request, driver_id: int):
    driver = fleet.access_driver_by_id(request.user, driver_id)
    try:
        fleet.check_retire_driver(request.user, driver)
    except Refusal as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{driver.name} 已设为离岗")
    return redirect(_with_agency("services:fleet", driver.agency))


@login_required
def fleet_schedule(request):
    agency, agencies = _fleet_agency(request)
    view = "day" if request.GET.get("view") == "day" else "week"
    try:
        day = dt.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        day = timezone.localdate()
    first = day if view == "day" else day - dt.timedelta(days=day.weekday())
    span = 1 if view == "day" else 7
    data = fleet.schedule(agency, first, span)
    step = dt.timedelta(days=span)
    return render(request, "services/items/manage/schedule.html", {
        "agency": agency, "agencies": agencies, "view": view, "first": first, "last": first + step - dt.timedelta(1),
        "prev": first - step, "next": first + step, "today": timezone.localdate(),
        "days": [{"date": d, "weekday": WEEKDAYS[d.weekday()]} for d in data["days"]],
        "rows": data["rows"], "waiting": data["waiting"]})


# --- 办公用房台账 ----------------------------------------------------------------------------------------------------


@login_required
def office_register(request):
    agency, agencies = _office_agency(request)
    rows = fleet.register_rows(agency)
    return render(request, "services/items/manage/offices.html", {
        "agency": agency, "agencies": agencies, "rows": rows, "over": sum(1 for r in rows if r["over"])})


@login_required
@require_http_methods(["GET", "POST"])
def office_room_edit(request, room_id: int | None = None):
    if room_id is None:
        room, (agency, _) = None, _office_agency(request)
    else:
        room = fleet.access_office_room_by_id(request.user, room_id)
        agency = room.agency
    if request.method == "GET":
        initial = {"building": room.building, "number": room.number, "area": f"{room.area.normalize():f}",
                   "is_active": room.is_active} if room else None
        return render(request, "services/items/manage/office_form.html",
                      {"form": RoomForm(initial=initial), "room": room, "agency": agency})
    form = RoomForm(request.POST)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            saved = fleet.check_save_office_room(request.user, agency, fleet.RoomInput(
                building=data["building"], number=data["number"], area=data["area"], is_active=data["is_active"]),
                room)
        except Refusal as exc:
            status = _refuse_into(form, exc)
        else:
            messages.success(request, f"已保存办公用房 {saved}")
            return redirect(_with_agency("services:offices", agency))
    return render(request, "services/items/manage/office_form.html",
                  {"form": form, "room": room, "agency": agency}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def office_occupants(request, room_id: int):
    room = fleet.access_office_room_by_id(request.user, room_id)
    agency = room.agency
    if request.method == "GET":
        form = OccupantsForm(initial={"occupants": list(room.occupants.values_list("pk", flat=True))}, agency=agency)
        return render(request, "services/items/manage/occupants.html", {"form": form, "room": room, "agency": agency})
    form = OccupantsForm(request.POST, agency=agency)
    status = 400
    if form.is_valid():
        try:
            fleet.check_set_occupants(request.user, room, form.cleaned_data["occupants"])
        except Refusal as exc:
            form.add_error("occupants", exc.message)
            status = exc.status
        else:
            row = next(r for r in fleet.register_rows(agency) if r["room"].pk == room.pk)
            if row["over"]:
                messages.warning(request, f"{room} 使用面积 {room.area.normalize():f} ㎡，超出使用人面积标准合计 "
                                          f"{row['excess'].normalize():f} ㎡，请核实。")
            messages.success(request, f"已调整 {room} 的使用人")
            return redirect(_with_agency("services:offices", agency))
    return render(request, "services/items/manage/occupants.html", {"form": form, "room": room, "agency": agency},
                  status=status)


urlpatterns = [
    path("fleet/", fleet_home, name="fleet"),
    path("fleet/vehicles/new", vehicle_edit, name="vehicle_new"),
    path("fleet/vehicles/<int:vehicle_id>/", vehicle_edit, name="vehicle_edit"),
    path("fleet/vehicles/<int:vehicle_id>/retire", vehicle_retire, name="vehicle_retire"),
    path("fleet/drivers/new", driver_edit, name="driver_new"),
    path("fleet/drivers/<int:driver_id>/", driver_edit, name="driver_edit"),
    path("fleet/drivers/<int:driver_id>/retire", driver_retire, name="driver_retire"),
    path("fleet/schedule", fleet_schedule, name="fleet_schedule"),
    path("offices/", office_register, name="offices"),
    path("offices/new", office_room_edit, name="office_new"),
    path("offices/<int:room_id>/", office_room_edit, name="office_edit"),
    path("offices/<int:room_id>/occupants", office_occupants, name="office_occupants"),
]
