"""办公用房 (docs/services.md 办公用房): allocation (分配) or adjustment (调整) of an office in the agency's 办公用房台账.

The applicant's current office comes from the 台账 and the 人均面积标准 from the directory (职务) and HR data (职级):
neither is asked. Whether the room would exceed the standard after the move is a **warning** to the approvers (the
step page), never a refusal: 调剂 decisions stay with the people who approve them.

Standard: 《党政机关办公用房建设标准》（发改投资〔2014〕2674号）县级机关 — 县级正职 30 ㎡, 县级副职 24 ㎡, 正科级 18 ㎡,
副科级 12 ㎡, 科级以下 9 ㎡ (per person, 使用面积). 职级 map to 职务 levels as the 职务与职级并行 rules do:
一级/二级主任科员 → 正科级, 三级/四级主任科员 → 副科级.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import forms

from oa.models import Person
from oa.refusals import Refusal
from workflows.services.handlers import ServiceHandler, register_handler
from workflows.services.items import demo_affairs
from workflows.services.items.affairs_models import OfficeRequest, OfficeRoom
from workflows.services.items.common import clean_text

POST_LEVELS = {"区长": ("县级正职", 30), "县长": ("县级正职", 30), "副区长": ("县级副职", 24), "副县长": ("县级副职", 24),
               "局长": ("正科级", 18), "主任": ("正科级", 18), "镇长": ("正科级", 18), "街道办主任": ("正科级", 18),
               "副局长": ("副科级", 12), "副主任": ("副科级", 12), "副镇长": ("副科级", 12)}
GRADE_LEVELS = [("一级主任科员", ("正科级", 18)), ("二级主任科员", ("正科级", 18)), ("三级主任科员", ("副科级", 12)),
                ("四级主任科员", ("副科级", 12))]
BASE_LEVEL = ("科级以下", 9)


def standard_of(person: Person) -> tuple[str, Decimal]:
    """(level, ㎡ per person): the higher of what the 职务 (directory) and the 职级 (HR) give."""
    from integrations.hr.selectors import hr_record_of
    from oa.selectors.directory import primary_appointment

    levels = [BASE_LEVEL]
    appointment = primary_appointment(person)
    if appointment is not None and appointment.post.name in POST_LEVELS:
        levels.append(POST_LEVELS[appointment.post.name])
    record = hr_record_of(person)
    if record is not None:
        levels += [level for grade, level in GRADE_LEVELS if grade in record.grade]
    level, area = max(levels, key=lambda lv: lv[1])
    return level, Decimal(area)


def current_office(person: Person, agency) -> OfficeRoom | None:
    return OfficeRoom.objects.filter(agency=agency, occupants=person).order_by("pk").first()


def _room_text(room: OfficeRoom) -> str:
    return f"{room}（{room.area.normalize():f} ㎡，{room.occupants.count()} 人）"


def prefill(person: Person, item) -> dict:
    room = current_office(person, item.department.agency)
    level, area = standard_of(person)
    return {"current_office": {"label": "现办公用房", "source": "office",
                               "value": _room_text(room) if room else "暂无"},
            "area_standard": {"label": "人均面积标准", "source": "hr", "value": f"{area.normalize():f} ㎡（{level}）"}}


def form_fields(item, applicant, amending: bool) -> dict[str, forms.Field]:
    rooms = OfficeRoom.objects.filter(agency=item.department.agency, is_active=True).prefetch_related("occupants")
    return {
        "kind": forms.ChoiceField(label="申请类型", choices=OfficeRequest.Kind.choices, widget=forms.RadioSelect),
        "room": forms.TypedChoiceField(label="申请用房", coerce=int, choices=[("", "请选择")] + [
            (r.pk, f"{r}（{r.area.normalize():f} ㎡，现 {len(r.occupants.all())} 人）") for r in rooms]),
        "purpose": forms.CharField(label="申请理由", max_length=500, widget=forms.Textarea(attrs={"rows": 3})),
    }


def per_person(room: OfficeRoom, person: Person) -> Decimal:
    others = room.occupants.exclude(pk=person.pk).count()
    return (room.area / (others + 1)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def check(applicant: Person, item, extra: dict, application_id: int | None) -> dict[str, Any]:
    agency = item.department.agency
    kind = extra.get("kind")
    if kind not in OfficeRequest.Kind.values:
        raise Refusal("office_kind_invalid", "请选择申请类型（分配或调整）。")
    room = OfficeRoom.objects.filter(pk=extra.get("room"), agency=agency, is_active=True).first() \
        if extra.get("room") else None
    if room is None:
        raise Refusal("office_room_invalid", f"请选择“{agency.name}”办公用房台账中可分配的房间。")
    current = current_office(applicant, agency)
    if kind == OfficeRequest.Kind.ALLOCATE and current is not None:
        raise Refusal("office_has_room", f"您已有办公用房 {current}，如需更换请选择“调整”。")
    if kind == OfficeRequest.Kind.ADJUST and current is None:
        raise Refusal("office_no_room", "台账中您还没有办公用房，请选择“分配”。")
    if current is not None and current.pk == room.pk:
        raise Refusal("office_same_room", f"您已在 {room} 办公。")
    level, standard = standard_of(applicant)
    area = per_person(room, applicant)
    return {"kind": kind, "kind_label": OfficeRequest.Kind(kind).label, "room_id": room.pk, "room": str(room),
            "from_room_id": current.pk if current else None, "from_room": str(current) if current else "",
            "area_per_person": str(area), "standard": str(standard), "level": level,
            "area_text": f"分配后人均 {area.normalize():f} ㎡（标准 {standard.normalize():f} ㎡，{level}）",
            "purpose": clean_text(extra.get("purpose"), "申请理由", required=True)}


def _store(application, extra: dict) -> None:
    form = application.form
    OfficeRequest.objects.update_or_create(application=application, defaults={
        "kind": form["kind"], "room_id": form["room_id"], "from_room_id": form["from_room_id"],
        "area_per_person": Decimal(form["area_per_person"]), "standard": Decimal(form["standard"])})


def finish(application) -> str:
    request = OfficeRequest.objects.select_related("room", "from_room").get(application=application)
    rooms = OfficeRoom.objects.select_for_update().filter(pk__in=[request.room_id, request.from_room_id or 0])
    list(rooms)  # lock both rooms, in key order
    person = application.applicant
    if request.from_room is not None:
        request.from_room.occupants.remove(person)
    request.room.occupants.add(person)
    verb = "调整至" if request.kind == OfficeRequest.Kind.ADJUST else "分配"
    return f"已{verb} {request.room}（人均 {per_person(request.room, person).normalize():f} ㎡）"


def approver_notes(application) -> list[str]:
    request = OfficeRequest.objects.select_related("room").filter(application=application).first()
    if request is None:
        return []
    area = per_person(request.room, application.applicant)  # now, not when applied: others may have moved
    occupants = "、".join(p.name for p in request.room.occupants.exclude(pk=application.applicant_id)) or "无"
    note = (f"{request.room} 使用面积 {request.room.area.normalize():f} ㎡，现有使用人：{occupants}；分配后人均 "
            f"{area.normalize():f} ㎡，申请人标准 {request.standard.normalize():f} ㎡")
    if area > request.standard:
        return [f"超标提醒：{note}，超出 {(area - request.standard).normalize():f} ㎡。"]
    return [f"{note}，未超标。"]


def record(application, user=None) -> OfficeRequest | None:
    return OfficeRequest.objects.filter(application=application).select_related("room", "from_room").first()


HANDLER = register_handler(ServiceHandler(
    key="office", label="办公用房", fields=form_fields, clean=check, prefill=prefill, on_submit=_store, on_resubmit=_store,
    labels={"kind_label": "申请类型", "from_room": "现办公用房", "room": "申请用房", "area_text": "面积核对",
            "purpose": "申请理由"},
    refusal_fields={"office_kind_invalid": "kind", "office_room_invalid": "room", "office_has_room": "kind",
                    "office_no_room": "kind", "office_same_room": "room", "field_required": "purpose",
                    "field_too_long": "purpose"},
    finish=finish, approver_notes=approver_notes, record=record,
    demo=demo_affairs.DEMO["office"], seed=demo_affairs.seed_offices,
))
