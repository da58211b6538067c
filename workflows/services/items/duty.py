"""值班排班 (docs/services.md): the agency's 办公室 (文书) publishes a 值班表 per month; everyone sees their duty
days; a swap is an application — A asks B (B confirms as the first step, put in front of the item's route), the
office approves, and the roster changes at 办结 in one transaction. A swap onto a day B is already on duty or on
approved leave is refused, when asked and again at approval (the roster may have changed meanwhile)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.db import transaction
from django.utils import timezone

from oa.actions.audit import do_record_audit
from oa.models import Agency, Appointment, Person, Role, RoleAssignment
from oa.refusals import Refusal
from oa.selectors.directory import primary_appointment
from workflows.services.handlers import ServiceHandler, register_handler
from workflows.services.items.grants import add_event, clean_text, notify, open_applications
from workflows.services.items.records import DutyRoster, DutySlot
from workflows.services.models import ApplicationEvent, ServiceApplication
from workflows.services.selectors import leave_busy

KEY = "duty_swap"


def _day(d: dt.date) -> str:
    return f"{d.month}月{d.day}日"


# --- reads ---------------------------------------------------------------------------------------------------------


def agency_of(person: Person) -> Agency | None:
    appointment = primary_appointment(person)
    return appointment.department.agency if appointment else None


def agency_people(agency: Agency):
    return Person.objects.filter(is_active=True, pk__in=Appointment.objects.filter(
        department__agency=agency).values("person_id")).order_by("pk")


def is_roster_keeper(person: Person, agency: Agency) -> bool:
    """值班表 are made by the agency's 办公室 (文书)."""
    return RoleAssignment.objects.filter(person=person, role=Role.CLERK, agency=agency).exists()


def roster_of(agency: Agency, month: dt.date) -> DutyRoster | None:
    return DutyRoster.objects.filter(agency=agency, month=month.replace(day=1)).first()


def slots_of(agency: Agency, month: dt.date) -> list[DutySlot]:
    return list(DutySlot.objects.filter(roster__agency=agency, roster__month=month.replace(day=1))
                .select_related("person").order_by("day", "pk"))


def my_duty_days(person: Person, since: dt.date) -> list[DutySlot]:
    return list(DutySlot.objects.filter(person=person, day__gte=since).select_related("roster__agency")
                .order_by("day")[:60])


def on_duty(person_id: int, agency: Agency, day: dt.date) -> bool:
    return DutySlot.objects.filter(roster__agency=agency, day=day, person_id=person_id).exists()


def on_leave(person_id: int, day: dt.date) -> bool:
    return bool(leave_busy([person_id], day, day))


def roster_text(agency: Agency, month: dt.date) -> str:
    by_day: dict[dt.date, list[str]] = {}
    for slot in slots_of(agency, month):
        by_day.setdefault(slot.day, []).append(slot.person.username)
    return "\n".join(f"{day.isoformat()} {'、'.join(names)}" for day, names in by_day.items())


# --- the roster (办公室) -------------------------------------------------------------------------------------------

_LINE = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2})\s*[:：\s]\s*(.+)$")
_NAMES = re.compile(r"[、,，\s]+")


def parse_roster(agency: Agency, month: dt.date, text: str) -> list[tuple[dt.date, Person]]:
    """Lines ``2026-03-02 zhangwei、lina`` (账号 or 姓名); every bad line named, nothing kept."""
    people = list(agency_people(agency))
    by_username = {p.username: p for p in people}
    by_name: dict[str, list[Person]] = {}
    for p in people:
        by_name.setdefault(p.name, []).append(p)
    errors, slots, seen = [], [], set()
    lines = [(n, line.strip()) for n, line in enumerate((text or "").splitlines(), start=1) if line.strip()]
    if not lines:
        raise Refusal("duty_roster_empty", "值班表为空：每行写“日期 值班人”，如“2026-03-02 张伟”。")
    for number, line in lines:
        match = _LINE.match(line)
        if not match:
            errors.append(f"第 {number} 行：应写成“日期 值班人”，如“{month:%Y-%m}-02 张伟”")
            continue
        try:
            day = dt.date.fromisoformat("-".join(f"{int(x):02d}" for x in match.group(1).split("-")))
        except ValueError:
            errors.append(f"第 {number} 行：“{match.group(1)}”不是有效日期")
            continue
        if (day.year, day.month) != (month.year, month.month):
            errors.append(f"第 {number} 行：{day.isoformat()} 不在 {month.year} 年 {month.month} 月")
            continue
        for who in filter(None, _NAMES.split(match.group(2))):
            person = by_username.get(who)
            if person is None:
                same = by_name.get(who, [])
                if len(same) > 1:
                    errors.append(f"第 {number} 行：本机关有 {len(same)} 位“{who}”，请写账号")
                    continue
                person = same[0] if same else None
            if person is None:
                errors.append(f"第 {number} 行：本机关没有“{who}”")
                continue
            if (day, person.pk) in seen:
                errors.append(f"第 {number} 行：{person.name} 在 {_day(day)} 重复排班")
                continue
            if on_leave(person.pk, day):
                errors.append(f"第 {number} 行：{person.name} {_day(day)} 已批准请假，不能排班")
                continue
            seen.add((day, person.pk))
            slots.append((day, person))
    if errors:
        raise Refusal("duty_roster_invalid", "值班表有误，未保存：" + "；".join(errors[:50]))
    return slots


def check_publish_roster(actor: Person, agency: Agency, month: dt.date, text: str) -> DutyRoster:
    """The office publishes (or republishes) the month's roster: all lines valid or nothing saved; each person on
    it is told their days."""
    if not is_roster_keeper(actor, agency):
        raise Refusal("duty_not_keeper", f"只有{agency.name}办公室（文书）可以编排值班表。", status=403)
    month = month.replace(day=1)
    slots = parse_roster(agency, month, text)
    now = timezone.now()
    with transaction.atomic():
        roster = DutyRoster.objects.select_for_update().filter(agency=agency, month=month).first()
        if roster is None:
            roster = DutyRoster.objects.create(agency=agency, month=month, published_by=actor, published_at=now)
        else:
            roster.version += 1
            roster.published_by, roster.published_at = actor, now
            roster.save(update_fields=["version", "published_by", "published_at"])
            roster.slots.all().delete()
        DutySlot.objects.bulk_create([DutySlot(roster=roster, day=day, person=person) for day, person in slots])
        do_record_audit(actor=actor, action="services.duty_roster", obj=roster, changes={
            "agency": agency.pk, "month": month.isoformat(), "version": roster.version, "slots": len(slots)})
        days: dict[int, list[dt.date]] = {}
        for day, person in slots:
            days.setdefault(person.pk, []).append(day)
        from oa.events import Event, send_event_on_commit

        for person_id, mine in days.items():
            send_event_on_commit(Event(type="services.notice", title=f"{month.month}月值班表已发布",
                                       summary=f"您值班 {len(mine)} 天：{'、'.join(_day(d) for d in mine[:10])}",
                                       link=f"/services/duty/?month={month:%Y-%m}",
                                       payload={"application_id": 0, "kind": "duty_roster"}), [person_id])
    return roster


# --- the swap (an application of the catalogue item) -------------------------------------------------------------


def _fields(item, applicant: Person | None, amending: bool) -> dict[str, forms.Field]:
    agency = agency_of(applicant) if applicant is not None else None
    people = agency_people(agency).exclude(pk=applicant.pk) if agency is not None else Person.objects.none()
    date = forms.DateInput(attrs={"type": "date"})
    return {
        "my_day": forms.DateField(label="我的值班日期", widget=date),
        "counterpart": forms.TypedChoiceField(label="请谁替换", coerce=int, choices=[("", "请选择")] + [
            (p.pk, p.name) for p in people]),
        "their_day": forms.DateField(label="对方的值班日期（互换时填写，不填即为替班）", required=False, widget=date),
        "purpose": forms.CharField(label="调班原因", max_length=500, widget=forms.Textarea(attrs={"rows": 2})),
    }


def _check_swap(agency: Agency, a: Person, b: Person, my_day: dt.date, their_day: dt.date | None) -> None:
    if not on_duty(a.pk, agency, my_day):
        raise Refusal("duty_not_on_duty", f"您{_day(my_day)}没有值班安排，无需调班。")
    if on_duty(b.pk, agency, my_day):
        raise Refusal("duty_counterpart_on_duty", f"{b.name}{_day(my_day)}已在值班，不能再调入该日。", status=409)
    if on_leave(b.pk, my_day):
        raise Refusal("duty_counterpart_on_leave", f"{b.name}{_day(my_day)}已批准请假，不能调入该日。", status=409)
    if their_day is not None:
        if not on_duty(b.pk, agency, their_day):
            raise Refusal("duty_counterpart_not_on_duty", f"{b.name}{_day(their_day)}没有值班安排，无法互换。")
        if on_duty(a.pk, agency, their_day):
            raise Refusal("duty_self_on_duty", f"您{_day(their_day)}已在值班，不能再调入该日。", status=409)
        if on_leave(a.pk, their_day):
            raise Refusal("duty_self_on_leave", f"您{_day(their_day)}已批准请假，不能调入该日。", status=409)


def _clean(applicant: Person, item, values: dict[str, Any], application_id: int | None) -> dict[str, Any]:
    agency = agency_of(applicant)
    my_day, their_day = values.get("my_day"), values.get("their_day") or None
    if not isinstance(my_day, dt.date):
        raise Refusal("duty_day_required", "请选择您的值班日期。")
    today = timezone.localdate()
    if my_day < today or (their_day is not None and their_day < today):
        raise Refusal("duty_day_past", "已过去的值班不能调班。")
    if their_day == my_day:
        raise Refusal("duty_same_day", "互换的两个日期不能相同。")
    counterpart = agency_people(agency).exclude(pk=applicant.pk).filter(pk=values.get("counterpart")).first() \
        if agency is not None and values.get("counterpart") else None
    if counterpart is None:
        raise Refusal("duty_counterpart_invalid", "请选择本机关的一位同事。")
    _check_swap(agency, applicant, counterpart, my_day, their_day)
    purpose = clean_text(values.get("purpose"), "调班原因", required=True)
    if open_applications(applicant, KEY, application_id).filter(form__my_day=my_day.isoformat()).exists():
        raise Refusal("duty_swap_pending", f"您{_day(my_day)}的调班申请正在办理中，请勿重复申请。", status=409)
    return {"agency_id": agency.pk, "my_day": my_day.isoformat(), "counterpart_id": counterpart.pk,
            "counterpart": counterpart.name, "their_day": their_day.isoformat() if their_day else "",
            "purpose": purpose}


def _stages(item, form: dict[str, Any], applicant: Person) -> list[list[dict[str, Any]]]:
    """B confirms first (a step for that person only; 转办 is refused: no role holds it)."""
    return [[{"title": "对方确认", "role": "", "scope": "counterpart", "assignee_id": form["counterpart_id"]}]]


def _finish(application: ServiceApplication) -> str:
    """Swap the slots in one transaction (the flow's), after checking again under the roster's lock."""
    form = application.form
    agency = Agency.objects.get(pk=form["agency_id"])
    a, b = application.applicant, Person.objects.get(pk=form["counterpart_id"])
    my_day = dt.date.fromisoformat(form["my_day"])
    their_day = dt.date.fromisoformat(form["their_day"]) if form.get("their_day") else None
    months = {my_day.replace(day=1)} | ({their_day.replace(day=1)} if their_day else set())
    rosters = list(DutyRoster.objects.select_for_update().filter(agency=agency, month__in=months).order_by("pk"))
    _check_swap(agency, a, b, my_day, their_day)
    DutySlot.objects.filter(roster__agency=agency, day=my_day, person=a).update(person=b)
    if their_day is not None:
        DutySlot.objects.filter(roster__agency=agency, day=their_day, person=b).update(person=a)
    for roster in rosters:
        roster.version += 1
        roster.save(update_fields=["version"])
    text = (f"{_day(my_day)}由{b.name}值班" + (f"，{_day(their_day)}由{a.name}值班" if their_day else ""))
    add_event(application, ApplicationEvent.Kind.ROSTER_CHANGED, None, text)
    do_record_audit(actor=None, actor_name="系统（办结）", action="services.duty_swap", obj=application, changes={
        "agency": agency.pk, "from": a.pk, "to": b.pk, "my_day": form["my_day"], "their_day": form.get("their_day")})
    notify(application, "duty_swap", "值班已调整", text, [a.pk, b.pk], link=f"/services/duty/?month={my_day:%Y-%m}")
    return f"值班表已调整：{text}"


def _detail(application: ServiceApplication, viewer: Person) -> dict[str, Any]:
    return {"duty_link": f"/services/duty/?month={application.form.get('my_day', '')[:7]}"}


DEMO = dict(
    code="duty_swap", name="值班调班", handler=KEY, department="机要室", intake_role="clerk", time_limit_days=1,
    result_type="approval", legal_basis="区府办值班工作制度（节假日及夜间值班）。",
    guide="选择您的值班日期和替换的同事（互换时再选对方的值班日期）；对方确认、办公室审批后值班表自动调整。"
          "对方当天已值班或已批准请假的，不能调入。",
    materials="姓名：通讯录\n部门：通讯录", route="办公室审批：办公室/文书@主管机关")


def seed_demo(office) -> int:
    """Next month's 区府办 roster, round robin over four people (only if that month has none)."""
    first = (timezone.localdate().replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    if DutyRoster.objects.filter(agency=office, month=first).exists():
        return 0
    people = [p for p in (Person.objects.filter(username=u).first() for u in ("zhangwei", "gaojun", "lina", "xuli"))
              if p is not None]
    keeper = Person.objects.filter(username="liuyang").first()
    if not people or keeper is None:
        return 0
    roster = DutyRoster.objects.create(agency=office, month=first, published_by=keeper, published_at=timezone.now())
    day, slots = first, []
    while day.month == first.month:
        slots.append(DutySlot(roster=roster, day=day, person=people[(day.day - 1) % len(people)]))
        day += dt.timedelta(days=1)
    DutySlot.objects.bulk_create(slots)
    return len(slots)


HANDLER = register_handler(ServiceHandler(
    key=KEY, label="值班调班", fields=_fields, clean=_clean, stages=_stages, finish=_finish, detail=_detail,
    template="services/items/duty_swap.html", result_types=("approval",),
    labels={"my_day": "我的值班日期", "counterpart": "替换人", "their_day": "对方值班日期", "purpose": "调班原因"},
    refusal_fields={"duty_not_on_duty": "my_day", "duty_day_past": "my_day", "duty_same_day": "their_day",
                    "duty_counterpart_invalid": "counterpart", "duty_counterpart_on_duty": "counterpart",
                    "duty_counterpart_on_leave": "counterpart", "duty_counterpart_not_on_duty": "their_day",
                    "duty_self_on_duty": "their_day", "duty_self_on_leave": "their_day",
                    "duty_swap_pending": "my_day", "duty_day_required": "my_day"},
    initial=lambda form: {"my_day": form.get("my_day"), "counterpart": form.get("counterpart_id"),
                          "their_day": form.get("their_day") or None, "purpose": form.get("purpose")},
    demo=DEMO, seed=seed_demo,
))
