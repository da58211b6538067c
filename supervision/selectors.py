"""Reads of 督查督办: who sees which item, the cycle's due dates, the scope of a 督查员."""

from __future__ import annotations

import calendar
import datetime as dt

from django.db.models import Q, QuerySet
from django.http import Http404

from oa.models import Agency, Person, Role, RoleAssignment
from oa.refusals import Refusal
from oa.selectors.calendar import next_working_day
from oa.selectors.directory import agencies_of, principals
from supervision.models import Extension, LightPolicy, SupervisionItem, UnitTask

LEADER_ROLES = (Role.PRINCIPAL, Role.DEPUTY_LEADER)


def supervisor_agency_ids(person: Person) -> set[int]:
    """Agencies where the person is a 督查员 (the 督查室's agency)."""
    return set(RoleAssignment.objects.filter(person=person, role=Role.SUPERVISOR).values_list("agency_id", flat=True))


def leader_agency_ids(person: Person) -> set[int]:
    return set(RoleAssignment.objects.filter(person=person, role__in=LEADER_ROLES).values_list("agency_id", flat=True))


def is_supervisor(person: Person) -> bool:
    return bool(supervisor_agency_ids(person))


def _district_root(agency: Agency) -> Agency:
    seen = set()
    while agency.parent_id and agency.pk not in seen:
        seen.add(agency.pk)
        agency = agency.parent
    return agency


def scope_agencies(supervisor_agency: Agency) -> QuerySet[Agency]:
    """The units a 督查室 may assign work to: every active agency of its district (the tree under its root)."""
    root = _district_root(supervisor_agency)
    ids = {root.pk}
    frontier = [root.pk]
    while frontier:
        children = list(Agency.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        frontier = [c for c in children if c not in ids]
        ids.update(frontier)
    return Agency.objects.filter(pk__in=ids, is_active=True)


def items_visible_to(person: Person) -> QuerySet[SupervisionItem]:
    """Units see the items they take part in; 督查员 their 督查室's items; leaders theirs and their agency's."""
    own_agencies = [a.pk for a in agencies_of(person)]
    q = Q(units__agency_id__in=own_agencies) | Q(leader=person) | Q(supervisor=person) | Q(responsible=person)
    q |= Q(units__handler=person)
    sup = supervisor_agency_ids(person)
    if sup:
        q |= Q(agency_id__in=sup)
    lead = leader_agency_ids(person)
    if lead:
        q |= Q(agency_id__in=lead)
    return SupervisionItem.objects.filter(q).distinct()


def access_item_by_id(user: Person, item_id: int) -> SupervisionItem:
    item = (
        items_visible_to(user)
        .select_related("agency", "lead_agency", "leader", "supervisor", "responsible", "policy", "source_incoming")
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        raise Http404("督办事项不存在或您无权查看。")
    return item


def access_unit_by_id(user: Person, unit_id: int) -> UnitTask:
    unit = UnitTask.objects.select_related("item", "agency", "handler").filter(pk=unit_id).first()
    if unit is None or not items_visible_to(user).filter(pk=unit.item_id).exists():
        raise Http404("承办任务不存在或您无权查看。")
    return unit


def access_extension_by_id(user: Person, extension_id: int) -> Extension:
    ext = Extension.objects.select_related("unit__item", "unit__agency", "applicant").filter(pk=extension_id).first()
    if ext is None or not items_visible_to(user).filter(pk=ext.unit.item_id).exists():
        raise Http404("延期申请不存在或您无权查看。")
    return ext


def unit_head(unit: UnitTask) -> Person | None:
    heads = principals(unit.agency)
    return heads[0] if heads else None


def is_unit_member(person: Person, unit: UnitTask) -> bool:
    return unit.handler_id == person.pk or any(a.pk == unit.agency_id for a in agencies_of(person))


def my_units(person: Person) -> QuerySet[UnitTask]:
    """我的督办: the unit tasks of my units (and those I handle), open ones first."""
    own_agencies = [a.pk for a in agencies_of(person)]
    return (
        UnitTask.objects.filter(Q(agency_id__in=own_agencies) | Q(handler=person))
        .exclude(item__status__in=[SupervisionItem.Status.REVIEW, SupervisionItem.Status.REJECTED])
        .select_related("item", "agency", "handler")
        .order_by("status", "deadline", "id")
    )


def policy_for(agency: Agency, source_type: str) -> LightPolicy | None:
    """The agency's policy naming this source type, else its default, else its first."""
    policies = list(LightPolicy.objects.filter(agency=agency).order_by("-is_default", "id"))
    for p in policies:
        if source_type in (p.source_types or []):
            return p
    return policies[0] if policies else None


# --- feedback due dates -------------------------------------------------------------------------------------


def _month_days(start: dt.date, end: dt.date, day: int) -> list[dt.date]:
    out = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        last = calendar.monthrange(y, m)[1]
        out.append(dt.date(y, m, min(day, last)))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def feedback_due_dates(
    *, cycle: str, start: dt.date, deadline: dt.date, weekday: int | None = None, monthday: int | None = None,
    dates: list[dt.date] | None = None,
) -> list[dt.date]:
    """Due dates strictly after ``start`` up to ``deadline``: each nominal date of the cycle, moved to the next
    working day when it falls on a holiday or weekend (a 调休 Saturday is a working day and stays). A date moved past
    the deadline is dropped. Raises Refusal when the cycle yields none."""
    if cycle == SupervisionItem.Cycle.WEEKLY:
        if not weekday or not 1 <= weekday <= 7:
            raise Refusal("cycle_weekday", "每周反馈须选择星期一至星期日中的一天。")
        first = start + dt.timedelta(days=(weekday - start.isoweekday()) % 7 or 7)
        nominal = []
        d = first
        while d <= deadline:
            nominal.append(d)
            d += dt.timedelta(days=7)
    elif cycle == SupervisionItem.Cycle.MONTHLY:
        if not monthday or not 1 <= monthday <= 31:
            raise Refusal("cycle_monthday", "每月反馈须填写 1～31 之间的日期。")
        nominal = _month_days(start, deadline, monthday)
    elif cycle == SupervisionItem.Cycle.CUSTOM:
        nominal = sorted(set(dates or []))
        if not nominal:
            raise Refusal("cycle_dates", "请填写至少一个反馈日期。")
    else:
        raise Refusal("cycle_invalid", "反馈周期只能是每周、每月或指定日期。")
    out = []
    for d in nominal:
        if d <= start:
            continue
        due = next_working_day(d)
        if start < due <= deadline and due not in out:
            out.append(due)
    if not out:
        raise Refusal("cycle_no_due", "按所选反馈周期，在办理期限内没有任何一个反馈日，请调整反馈周期或办理期限。")
    return out
