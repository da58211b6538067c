"""因公出国(境) (docs/services.md): destination, task, dates, 组团单位 and the 证照 needed; a multi-level route
(所在单位 → 外事 → 主要负责人) that is catalogue data; the 证照 stays in the 主管部门's custody and every 领用 and
归还 is logged, audited and told to the traveller."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db import transaction
from django.utils import timezone

from oa.actions.audit import do_record_audit
from oa.models import Person
from oa.refusals import Refusal
from workflows.services.handlers import ServiceHandler, register_handler
from workflows.services.items.grants import add_event, clean_text, notify
from workflows.services.items.records import AbroadTrip, PassportLog
from workflows.services.models import ApplicationEvent, ServiceApplication
from workflows.services.selectors import route_people

KEY = "abroad"
MAX_DAYS = 30


def _fields(item, applicant: Person | None, amending: bool) -> dict[str, forms.Field]:
    date = forms.DateInput(attrs={"type": "date"})
    return {
        "destination": forms.CharField(label="出访国家（地区）", max_length=100, help_text="多个国家（地区）用顿号分隔"),
        "organizer": forms.CharField(label="组团单位", max_length=100),
        "start": forms.DateField(label="出境日期", widget=date),
        "end": forms.DateField(label="入境日期", widget=date),
        "passport": forms.ChoiceField(label="使用证照", choices=[("", "请选择"), *AbroadTrip.Passport.choices]),
        "purpose": forms.CharField(label="出访任务", max_length=500, widget=forms.Textarea(attrs={"rows": 3})),
    }


def _clean(applicant: Person, item, values: dict[str, Any], application_id: int | None) -> dict[str, Any]:
    destination = clean_text(values.get("destination"), "出访国家（地区）", required=True)[:100]
    organizer = clean_text(values.get("organizer"), "组团单位", required=True)[:100]
    start, end = values.get("start"), values.get("end")
    if not isinstance(start, dt.date) or not isinstance(end, dt.date):
        raise Refusal("abroad_dates_required", "请填写出境和入境日期。")
    if end < start:
        raise Refusal("abroad_dates_order", "入境日期不能早于出境日期。")
    if start <= timezone.localdate():
        raise Refusal("abroad_dates_past", "出境日期须晚于今天：因公出国（境）须事先报批。")
    if (end - start).days + 1 > MAX_DAYS:
        raise Refusal("abroad_too_long", f"单次出访（含往返）不能超过 {MAX_DAYS} 天。")
    if values.get("passport") not in AbroadTrip.Passport.values:
        raise Refusal("abroad_passport_invalid", "请选择使用的证照。")
    purpose = clean_text(values.get("purpose"), "出访任务", required=True)
    clash = (AbroadTrip.objects.filter(traveller=applicant, start__lte=end, end__gte=start)
             .exclude(application__status=ServiceApplication.Status.REJECTED))
    if application_id:
        clash = clash.exclude(application_id=application_id)
    other = clash.first()
    if other is not None:
        raise Refusal("abroad_overlap", f"与您已有的出访（{other.destination}，{other.start:%-m月%-d日}至{other.end:%-m月%-d日}）"
                                        "时间重叠。", status=409)
    return {"destination": destination, "organizer": organizer, "start": start.isoformat(), "end": end.isoformat(),
            "passport": values["passport"], "passport_label": AbroadTrip.Passport(values["passport"]).label,
            "days": (end - start).days + 1, "purpose": purpose}


def _on_submit(application: ServiceApplication, extra: dict) -> None:
    form = application.form
    fields = {"destination": form["destination"], "organizer": form["organizer"],
              "start": dt.date.fromisoformat(form["start"]), "end": dt.date.fromisoformat(form["end"]),
              "passport": form["passport"]}
    AbroadTrip.objects.update_or_create(application=application, defaults={
        **fields, "traveller": application.applicant})


def _finish(application: ServiceApplication) -> str:
    form = application.form
    return (f"批准赴{form['destination']}（{form['start']} 至 {form['end']}）；请出发前向"
            f"{application.item.department.name}领用{form['passport_label']}，回国（境）后 7 日内交回")


def is_keeper(person: Person, application: ServiceApplication) -> bool:
    """证照 are kept by the 主管部门's 受理 desk (一门受理: the same people)."""
    item = application.item
    return route_people(item.intake_role, "competent_dept", item, None).filter(pk=person.pk).exists()


def _detail(application: ServiceApplication, viewer: Person) -> dict[str, Any]:
    trip = AbroadTrip.objects.filter(application=application).first()
    return {"trip": trip, "passport_log": list(trip.passport_log.select_related("keeper")) if trip else [],
            "may_keep": trip is not None and application.status == ServiceApplication.Status.DONE
            and is_keeper(viewer, application)}


def check_passport(keeper: Person, application: ServiceApplication, kind: str, note: str = "") -> PassportLog:
    """证照领用 (after approval, while kept) or 归还 (after 领用), by the 主管部门's keeper."""
    if not is_keeper(keeper, application):
        raise Refusal("passport_not_keeper", f"只有{application.item.department.name}的证照保管人员可以登记领用和归还。",
                      status=403)
    if kind not in PassportLog.Kind.values:
        raise Refusal("passport_kind_invalid", "无效的证照登记类型。")
    note = clean_text(note, "备注", required=False)[:200]
    with transaction.atomic():
        trip = AbroadTrip.objects.select_for_update().filter(application=application).first()
        if trip is None or application.status != ServiceApplication.Status.DONE:
            raise Refusal("passport_not_approved", "出访尚未批准，证照不能领用。", status=409)
        if kind == PassportLog.Kind.ISSUE and trip.custody != AbroadTrip.Custody.KEPT:
            raise Refusal("passport_already_issued", f"证照{trip.get_custody_display()}，不能再次领用。", status=409)
        if kind == PassportLog.Kind.RETURN and trip.custody != AbroadTrip.Custody.ISSUED:
            raise Refusal("passport_not_issued", "证照尚未领用，无需归还。", status=409)
        trip.custody = AbroadTrip.Custody.ISSUED if kind == PassportLog.Kind.ISSUE else AbroadTrip.Custody.RETURNED
        trip.save(update_fields=["custody"])
        log = PassportLog.objects.create(trip=trip, kind=kind, keeper=keeper, at=timezone.now(), note=note)
        label = f"{trip.get_passport_display()}{log.get_kind_display()}"
        add_event(application, ApplicationEvent.Kind.PASSPORT_ISSUED if kind == PassportLog.Kind.ISSUE
                  else ApplicationEvent.Kind.PASSPORT_RETURNED, keeper, label + (f"：{note}" if note else ""))
        do_record_audit(actor=keeper, action=f"services.passport_{kind}", obj=trip, changes={
            "application": application.number, "traveller": trip.traveller_id, "passport": trip.passport,
            "note": note})
        notify(application, f"passport_{kind}", f"{application.item.name}：{label}",
               f"经办人 {keeper.name}", [trip.traveller_id])
    return log


DEMO = dict(
    code="abroad", name="因公出国（境）审批", handler=KEY, department="综合科", intake_role="drafter",
    time_limit_days=10, result_type="approval",
    legal_basis="《因公临时出国管理办法》；《关于进一步加强因公出国（境）管理的若干规定》；因公证照集中保管制度。",
    guide="填写出访国家（地区）、任务、日期和组团单位，经所在部门、外事（综合科）审核，主要负责人审批；"
          "证照由综合科集中保管，出发前领用，回国（境）后 7 日内交回。",
    materials="姓名：通讯录\n部门：通讯录\n职务：通讯录",
    route="单位审核：部门负责人@申请人部门\n外事审核：部门负责人@主管部门\n领导审批：主要负责人@主管机关")


HANDLER = register_handler(ServiceHandler(
    key=KEY, label="因公出国（境）", fields=_fields, clean=_clean, on_submit=_on_submit, on_resubmit=_on_submit, finish=_finish,
    detail=_detail, template="services/items/abroad.html", result_types=("approval",),
    labels={"destination": "出访国家（地区）", "organizer": "组团单位", "start": "出境日期", "end": "入境日期",
            "days": "天数", "passport_label": "证照", "purpose": "出访任务"},
    refusal_fields={"abroad_dates_order": "end", "abroad_dates_past": "start", "abroad_too_long": "end",
                    "abroad_overlap": "start", "abroad_passport_invalid": "passport", "abroad_dates_required": "start",
                    "field_required": "purpose", "field_too_long": "purpose"},
    initial=lambda form: {k: form.get(k) for k in ("destination", "organizer", "start", "end", "passport",
                                                    "purpose")},
    demo=DEMO,
))
