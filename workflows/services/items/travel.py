"""出差审批 (docs/services.md 出差审批): destination, dates, working days from the calendar, estimated cost, and the
差旅 budget from finance data (integrations/hr ``travel_budget``, for the record's year).

Over budget is **not refused**: the application gets one more stage at the end of its route, 超预算审批 by the
主要负责人 of the 主管机关 (checked to exist when the item is saved), and every approver sees the budget note.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.db.models import Sum
from django.utils import timezone
from viewflow.workflow.models import Process

from oa.models import Person, Role
from oa.refusals import Refusal
from workflows.services.handlers import ServiceHandler, register_handler
from workflows.services.items import demo_affairs
from workflows.services.items.affairs_models import TravelRequest
from workflows.services.items.common import clean_text, date_field

LONGEST_DAYS = 60
COST_MAX = Decimal("1000000")
OVER_BUDGET_STAGE = [{"title": "超预算审批", "role": Role.PRINCIPAL.value, "scope": "competent_agency"}]
TRANSPORT = [("train", "火车"), ("plane", "飞机"), ("car", "公务用车"), ("bus", "长途汽车"), ("other", "其他")]


def budget_of(person: Person, *, exclude_application_id: int | None = None) -> tuple[int, Decimal, Decimal] | None:
    """(year, 差旅费额度, 余额) from finance data minus this system's pending and approved trips; None if none held."""
    from integrations.hr.selectors import hr_record_of

    record = hr_record_of(person)
    if record is None or record.travel_budget is None:
        return None
    rows = TravelRequest.objects.filter(person=person, budget_year=record.leave_year,
                                        state__in=(TravelRequest.State.PENDING, TravelRequest.State.APPROVED))
    if exclude_application_id:
        rows = rows.exclude(application_id=exclude_application_id)
    spent = rows.aggregate(total=Sum("estimated_cost"))["total"] or Decimal(0)
    return record.leave_year, record.travel_budget, record.travel_budget - spent


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def prefill(person: Person, item) -> dict:
    budget = budget_of(person)
    if budget is None:
        raise Refusal("prefill_missing", "财务数据中没有您的差旅费额度，请联系财务部门补录后再申请（无需您自行填写）。",
                      status=409)
    year, total, remaining = budget
    return {"travel_budget": {"label": "差旅费余额", "source": "hr",
                              "value": f"{_money(remaining)} 元（{year} 年度额度 {_money(total)} 元）"}}


def form_fields(item, applicant, amending: bool) -> dict[str, forms.Field]:
    return {
        "destination": forms.CharField(label="出差地点", max_length=100),
        "start": date_field("出发日期"),
        "end": date_field("返回日期"),
        "transport": forms.ChoiceField(label="交通方式", choices=TRANSPORT),
        "estimated_cost": forms.DecimalField(label="预计费用（元）", min_value=Decimal("0.01"), max_digits=10,
                                             decimal_places=2),
        "purpose": forms.CharField(label="出差事由", max_length=500, widget=forms.Textarea(attrs={"rows": 3})),
    }


def check(applicant: Person, item, extra: dict, application_id: int | None) -> dict[str, Any]:
    from workflows.services.selectors import leave_days

    destination = clean_text(extra.get("destination"), "出差地点", required=True, limit=100)
    start, end = extra.get("start"), extra.get("end")
    if start is None or end is None:
        raise Refusal("travel_dates_required", "请选择出发和返回日期。")
    if end < start:
        raise Refusal("travel_dates_order", "返回日期不能早于出发日期。")
    if start < timezone.localdate():
        raise Refusal("travel_start_past", "出发日期已经过去：出差须事前审批。")
    if (end - start).days + 1 > LONGEST_DAYS:
        raise Refusal("travel_too_long", f"一次出差不能超过 {LONGEST_DAYS} 天。")
    try:
        cost = Decimal(extra.get("estimated_cost"))
    except (InvalidOperation, TypeError):
        cost = None
    if cost is None or not Decimal(0) < cost <= COST_MAX:
        raise Refusal("travel_cost_invalid", "预计费用须大于 0 且不超过 100 万元。")
    if extra.get("transport") not in dict(TRANSPORT):
        raise Refusal("travel_transport_invalid", "请选择交通方式。")
    clash = TravelRequest.objects.filter(person=applicant, start__lte=end, end__gte=start).exclude(
        state=TravelRequest.State.REJECTED).exclude(application_id=application_id).first()
    if clash is not None:
        raise Refusal("travel_overlap", f"与您已有的出差（{clash.destination}，{clash.start:%-m月%-d日}至"
                                        f"{clash.end:%-m月%-d日}，{clash.get_state_display()}）时间重叠。", status=409)
    budget = budget_of(applicant, exclude_application_id=application_id)
    if budget is None:
        raise Refusal("prefill_missing", "财务数据中没有您的差旅费额度，请联系财务部门。", status=409)
    year, _total, remaining = budget
    if start.year != year or end.year != year:
        raise Refusal("travel_budget_year", f"财务数据只有 {year} 年度的差旅费额度，跨年度的出差请联系财务部门。")
    return {"destination": destination, "start": start.isoformat(), "end": end.isoformat(),
            "dates": f"{start:%Y年%-m月%-d日}至{end:%Y年%-m月%-d日}（{(end - start).days + 1} 天，"
                     f"其中工作日 {leave_days(start, end)} 天）",
            "working_days": leave_days(start, end), "transport": dict(TRANSPORT)[extra["transport"]],
            "estimated_cost": str(cost), "cost_text": f"{_money(cost)} 元", "budget_year": year,
            "budget_remaining": str(remaining), "over_budget": cost > remaining,
            "purpose": clean_text(extra.get("purpose"), "出差事由", required=True)}


def extra_stages(item, form: dict, department) -> list:
    return [OVER_BUDGET_STAGE] if form.get("over_budget") else []


def _store(application, extra: dict) -> None:
    form = application.form
    TravelRequest.objects.update_or_create(application=application, defaults={
        "person": application.applicant, "destination": form["destination"],
        "start": dt.date.fromisoformat(form["start"]), "end": dt.date.fromisoformat(form["end"]),
        "working_days": form["working_days"], "estimated_cost": Decimal(form["estimated_cost"]),
        "budget_year": form["budget_year"], "budget_remaining": Decimal(form["budget_remaining"]),
        "over_budget": form["over_budget"]})


def _resubmitted(application, extra: dict) -> None:
    """补正 may move the cost across the budget: add the 超预算审批 stage, or drop it while it is still ahead."""
    from workflows.services.actions import _resolve_stages

    _store(application, extra)
    process = Process.objects.select_for_update().get(pk=application.process_id)
    stages = list(process.data.get("stages") or [])
    has = bool(stages) and stages[-1][0].get("title") == OVER_BUDGET_STAGE[0]["title"]
    index = int(process.data.get("stage_index", 0))
    if application.form["over_budget"] and not has:
        stages += _resolve_stages([OVER_BUDGET_STAGE], application.item, application.department)
    elif not application.form["over_budget"] and has and index < len(stages) - 1:
        stages = stages[:-1]
    process.data = {**process.data, "stages": stages}
    process.save(update_fields=["data"])


def finish(application) -> str:
    travel = TravelRequest.objects.get(application=application)
    travel.state = TravelRequest.State.APPROVED
    travel.save(update_fields=["state"])
    return (f"准予出差：{travel.destination}，{travel.start:%-m月%-d日}至{travel.end:%-m月%-d日}，预计费用 "
            f"{_money(travel.estimated_cost)} 元" + ("（超预算，经主要负责人审批）" if travel.over_budget else ""))


def on_reject(application) -> None:
    TravelRequest.objects.filter(application=application).update(state=TravelRequest.State.REJECTED)


def validate_item(data) -> None:
    from oa.selectors.directory import people_with_role

    if not people_with_role(Role.PRINCIPAL, agency=data.department.agency).exists():
        raise Refusal("travel_principal_unheld", f"超预算的出差须经主要负责人审批，但“{data.department.agency.name}”"
                                                 "没有人担任主要负责人：请先在角色管理中授权。")


def approver_notes(application) -> list[str]:
    travel = TravelRequest.objects.filter(application=application).first()
    if travel is None:
        return []
    if travel.over_budget:
        return [f"超预算：预计费用 {_money(travel.estimated_cost)} 元，申请时差旅费余额 {_money(travel.budget_remaining)} 元"
                f"（财务数据 {travel.budget_year} 年度），已增加“超预算审批”（主要负责人）环节。"]
    return [f"预算内：预计费用 {_money(travel.estimated_cost)} 元，申请时差旅费余额 {_money(travel.budget_remaining)} 元。"]


def record(application, user=None) -> TravelRequest | None:
    return TravelRequest.objects.filter(application=application).first()


HANDLER = register_handler(ServiceHandler(
    key="travel", label="出差审批", fields=form_fields, clean=check, prefill=prefill, on_submit=_store,
    on_resubmit=_resubmitted, extra_stages=extra_stages,
    labels={"destination": "出差地点", "dates": "时间", "transport": "交通方式", "cost_text": "预计费用",
            "purpose": "出差事由"},
    refusal_fields={"travel_dates_required": "start", "travel_dates_order": "end", "travel_start_past": "start",
                    "travel_too_long": "end", "travel_cost_invalid": "estimated_cost",
                    "travel_transport_invalid": "transport", "travel_overlap": "start", "travel_budget_year": "start",
                    "field_required": "purpose", "field_too_long": "purpose"},
    finish=finish, reject=on_reject, validate_item=validate_item, approver_notes=approver_notes,
    record=record,
    demo=demo_affairs.DEMO["travel"],
))
