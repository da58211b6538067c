"""Reads for 零跑动 services: the catalogue, prefill (三不提交), who holds a step, what a person may see."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.http import Http404
from viewflow.workflow.models import Task

from integrations.hr.selectors import hr_record_of
from oa.models import Agency, Department, Person, RoleAssignment
from oa.refusals import Refusal
from oa.selectors.calendar import working_days_between
from oa.selectors.directory import people_with_role, primary_appointment
from workflows.services.catalogue import PREFILL_FIELDS, ROLE_LABELS, SCOPE_LABELS
from workflows.services.models import LeaveRecord, ServiceApplication, ServiceItem

# --- the catalogue ----------------------------------------------------------------------------------------------


def catalogue_items(query: str = "") -> QuerySet[ServiceItem]:
    items = ServiceItem.objects.filter(is_active=True, non_classified=True).select_related("department__agency")
    query = (query or "").strip()[:50]
    if query:
        items = items.filter(Q(name__icontains=query) | Q(department__name__icontains=query)
                             | Q(department__agency__name__icontains=query) | Q(legal_basis__icontains=query))
    return items.order_by("department__agency__sort_order", "code")


def access_item_by_id(user: Person, item_id: int) -> ServiceItem:
    item = catalogue_items().filter(pk=item_id).first()
    if item is None:
        raise Http404("事项不存在或未上线")
    return item


def managed_items() -> QuerySet[ServiceItem]:
    return ServiceItem.objects.select_related("department__agency").order_by("department__agency__sort_order", "code")


def ineligibility(person: Person, item: ServiceItem) -> str:
    """"" when ``person`` may apply for ``item``, else the Chinese reason."""
    appointment = primary_appointment(person)
    if appointment is None:
        return "您在通讯录中没有任职信息，不能申请办事事项。"
    agencies = list(item.eligible_agencies.all()) or [item.department.agency]  # none chosen: the 主管部门's agency
    if appointment.department.agency_id not in {a.pk for a in agencies}:
        return f"“{item.name}”只面向{'、'.join(a.name for a in agencies)}的工作人员，您不能申请。"
    if item.eligible_roles and not RoleAssignment.objects.filter(person=person, role__in=item.eligible_roles).exists():
        return f"“{item.name}”只面向{'、'.join(ROLE_LABELS.get(r, r) for r in item.eligible_roles)}。"
    return ""


def route_people(role: str, scope: str, item: ServiceItem, department: Department | None) -> QuerySet[Person]:
    """Who holds ``role`` in ``scope``: the applicant's department, the 主管部门 or the 主管部门's agency."""
    if scope == "applicant_dept":
        return people_with_role(role, department=department) if department else Person.objects.none()
    if scope == "competent_dept":
        return people_with_role(role, department=item.department)
    return people_with_role(role, agency=item.department.agency)


def unheld_route_steps(route: list, item: ServiceItem, agencies: list[Agency]) -> list[str]:
    """Steps of ``route`` nobody holds (checked when the administrator saves): for 申请人部门 in every applicant
    agency (the eligible ones, else the 主管部门's own), else in the 主管部门 / its agency."""
    problems = []
    for stage in route:
        for step in stage:
            role, scope = step["role"], step["scope"]
            where = SCOPE_LABELS[scope]
            if scope == "applicant_dept":
                for agency in agencies:
                    if not people_with_role(role, agency=agency).exists():
                        problems.append(f"“{step['title']}”：{agency.name}没有人担任{ROLE_LABELS[role]}")
            elif not route_people(role, scope, item, None).exists():
                problems.append(f"“{step['title']}”：{where}（{item.department.agency.name}"
                                f"{item.department.name if scope == 'competent_dept' else ''}）没有人担任{ROLE_LABELS[role]}")
    return problems


def may_hold_step(task: Task, person: Person) -> bool:
    """转办 within the role: the 受理 desk's role in the 主管部门, or the approval step's role in its scope."""
    application = ServiceApplication.objects.select_related("item__department", "department").get(
        pk=task.process.data["application_id"])
    name = task.flow_task.name
    if name == "intake":
        return route_people(application.item.intake_role, "competent_dept", application.item, None).filter(
            pk=person.pk).exists()
    if name == "approve":
        data = task.data or {}
        return route_people(data.get("role", ""), data.get("scope", ""), application.item,
                            application.department).filter(pk=person.pk).exists()
    return False


# --- prefill (三不提交) ----------------------------------------------------------------------------------------


def leave_days(start: dt.date, end: dt.date) -> int:
    """Working days from ``start`` to ``end`` inclusive (the calendar: holidays off, 调休 weekends on)."""
    return working_days_between(start - dt.timedelta(days=1), end)


def days_text(value: Decimal) -> str:
    """8 not 8.0, 2.5 as 2.5, 10 not 1E+1."""
    return format(Decimal(value).normalize(), "f")


def leave_balance(person: Person, *, exclude_application_id: int | None = None) -> Decimal | None:
    """年休假余额 for the HR record's year: entitlement − used outside the system − leave taken or asked here."""
    record = hr_record_of(person)
    if record is None:
        return None
    taken = Decimal(0)
    rows = LeaveRecord.objects.filter(person=person, kind=LeaveRecord.Kind.ANNUAL, start__year=record.leave_year,
                                      state__in=(LeaveRecord.State.PENDING, LeaveRecord.State.APPROVED,
                                                 LeaveRecord.State.CLOSED))
    if exclude_application_id:
        rows = rows.exclude(application_id=exclude_application_id)
    for row in rows:
        taken += row.used_days if row.state == LeaveRecord.State.CLOSED and row.used_days is not None else row.working_days
    return record.annual_leave_days - record.annual_leave_used - taken


def prefill_for(person: Person, item: ServiceItem) -> dict[str, dict[str, str]]:
    """Every 通讯录 / 人事数据 material of ``item`` filled in from the system: {key: {label, value, source}}.
    A value the system does not hold is a Refusal naming who keeps it (never a field for the applicant)."""
    appointment = primary_appointment(person)
    record = hr_record_of(person)
    values = {}
    for material in item.materials:
        key = material.get("field")
        if material["source"] not in ("directory", "hr") or key not in PREFILL_FIELDS:
            continue
        label, source = PREFILL_FIELDS[key]
        value = ""
        if source == "directory":
            value = {"name": person.name,
                     "agency": appointment.department.agency.name if appointment else "",
                     "department": appointment.department.name if appointment else "",
                     "post": appointment.post.name if appointment else ""}[key]
        elif record is not None:
            if key == "hire_date":
                value = f"{record.hire_date:%Y年%-m月%-d日}"
            elif key == "annual_income":
                value = f"{record.annual_income:,.2f} 元" if record.annual_income is not None else ""
            elif key == "leave_balance":
                value = f"{days_text(leave_balance(person))} 天（{record.leave_year} 年度）"
            else:
                value = str(getattr(record, key))
        if not value:
            keeper = "人事部门" if source == "hr" else "系统管理员"
            raise Refusal("prefill_missing", f"系统中没有您的“{label}”，请联系{keeper}补录后再申请（无需您自行填写或上传）。",
                          status=409)
        values[key] = {"label": label, "value": value, "source": source}
    from workflows.services.handlers import handler_for

    plugged = handler_for(item.handler)
    if plugged is not None and plugged.prefill is not None:
        values.update(plugged.prefill(person, item))  # what only this 办理类型 reads (e.g. the current office)
    return values


# --- applications -------------------------------------------------------------------------------------------------


def _handled_process_ids(user: Person) -> QuerySet:
    # viewflow stores the flow as "services/flows.ServiceFlow": filter by the class, never a dotted path.
    from workflows.services.flows import ServiceFlow

    return Task.objects.filter(owner=user, process__flow_class=ServiceFlow).values("process_id")


def applications_visible_to(user: Person) -> QuerySet[ServiceApplication]:
    """Mine, those I handle(d) a step of, and those of items whose 主管部门 I lead (好差评 visible to it)."""
    led = RoleAssignment.objects.filter(person=user, role="dept_head", department__isnull=False).values(
        "department_id")
    return (ServiceApplication.objects.filter(Q(applicant=user) | Q(process_id__in=_handled_process_ids(user))
                                              | Q(item__department_id__in=led))
            .select_related("item__department__agency", "applicant").distinct())


def access_application_by_id(user: Person, application_id: int) -> ServiceApplication:
    application = applications_visible_to(user).filter(pk=application_id).first()
    if application is None:
        raise Http404("办件不存在或无权查看")
    return application


def my_applications(user: Person) -> QuerySet[ServiceApplication]:
    return ServiceApplication.objects.filter(applicant=user).select_related("item")


def ratings_for_department_heads(user: Person) -> QuerySet[ServiceApplication]:
    led = RoleAssignment.objects.filter(person=user, role="dept_head", department__isnull=False).values(
        "department_id")
    return (ServiceApplication.objects.filter(item__department_id__in=led, rating__isnull=False)
            .select_related("item", "applicant").order_by("-rated_at"))


FORM_LABELS = {"purpose": "用途/事由", "leave_kind": "假别", "start": "开始日期", "end": "结束日期",
               "working_days": "工作日天数", "supply": "物品", "quantity": "数量", "unit": "单位"}
LEAVE_KINDS = {"annual": "年休假", "personal": "事假", "sick": "病假"}


def form_rows(application: ServiceApplication) -> list[tuple[str, str]]:
    """What the applicant filled in, as (label, value) for the pages (ids and internal keys left out)."""
    from workflows.services.handlers import handler_for

    plugged = handler_for(application.item.handler)
    if plugged is not None:  # only what the kind labels, in its order
        return [(label, str(application.form[key])) for key, label in plugged.labels.items()
                if application.form.get(key) not in ("", None)]
    rows = []
    for key, value in application.form.items():
        if key == "previous":
            rows += [(name, f"办件 {number}") for name, number in value.items()]
        elif key in FORM_LABELS and value not in ("", None):
            rows.append((FORM_LABELS[key], LEAVE_KINDS.get(value, value) if key == "leave_kind" else str(value)))
    return rows


def application_of_task(task: Task) -> ServiceApplication:
    return ServiceApplication.objects.select_related("item__department__agency", "applicant", "department").get(
        pk=task.process.data["application_id"])


def overlapping_leave(person: Person, start: dt.date, end: dt.date, *, exclude_application_id: int | None = None):
    """The person's leave (asked, approved, or taken until 销假) that shares a day with start..end."""
    rows = LeaveRecord.objects.filter(person=person, start__lte=end, end__gte=start).exclude(
        state=LeaveRecord.State.REJECTED).select_related("application")
    if exclude_application_id:
        rows = rows.exclude(application_id=exclude_application_id)
    for row in rows:
        last = row.end
        if row.state == LeaveRecord.State.CLOSED and row.returned_on is not None:
            last = row.returned_on - dt.timedelta(days=1)
        if row.start <= end and last >= start:
            return row
    return None


def leave_busy(person_ids, start: dt.date, end: dt.date) -> dict[int, list[tuple[dt.date, dt.date]]]:
    """Approved leave (until 销假: the days actually away) of these people that touches start..end — for meeting
    scheduling to show them busy. {person_id: [(first day, last day), ...]}."""
    busy: dict[int, list[tuple[dt.date, dt.date]]] = {}
    rows = LeaveRecord.objects.filter(person_id__in=list(person_ids), start__lte=end, end__gte=start,
                                      state__in=(LeaveRecord.State.APPROVED, LeaveRecord.State.CLOSED))
    for row in rows.order_by("start"):
        last = row.end
        if row.state == LeaveRecord.State.CLOSED:
            if row.returned_on is None or row.returned_on <= row.start:
                continue
            last = row.returned_on - dt.timedelta(days=1)
        if last >= start:
            busy.setdefault(row.person_id, []).append((row.start, last))
    return busy
