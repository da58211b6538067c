"""Reads of 报表“一张表”: who sees which request and submission, the field catalogue search, progress per unit,
aggregates, and the 报表清单 (every active request per unit)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q, QuerySet
from django.http import Http404

from oa.models import Agency, Department, Person, Role, RoleAssignment
from oa.selectors.directory import agencies_of, department_heads, people_with_role, principals
from supervision.datarequests.models import (
    NUMERIC_KINDS,
    CatalogField,
    DataRequest,
    RequestField,
    Round,
    Submission,
    Target,
)
from supervision.datarequests.values import number_of

LIST_OWNER_ROLES = (Role.SUPERVISOR,)


# --- who ------------------------------------------------------------------------------------------------------


def is_list_owner(person: Person) -> bool:
    """区府办 清单 owner: a 督查员 of an agency of kind 政府办公室 (the district's 督查室 keeps the 报表清单)."""
    return RoleAssignment.objects.filter(person=person, role__in=LIST_OWNER_ROLES,
                                         agency__kind=Agency.Kind.OFFICE).exists()


def _own_agency_ids(person: Person) -> list[int]:
    return [a.pk for a in agencies_of(person)]


def _own_department_ids(person: Person) -> list[int]:
    return list(person.appointments.values_list("department_id", flat=True))


def requests_visible_to(person: Person) -> QuerySet[DataRequest]:
    """The owner and the requesting agency see their requests; 清单 owners every request; target units the ones
    sent to them."""
    agencies = _own_agency_ids(person)
    q = Q(owner=person) | Q(agency_id__in=agencies)
    q |= Q(targets__agency_id__in=agencies) & ~Q(status=DataRequest.Status.DRAFT)
    if is_list_owner(person):
        q |= ~Q(listing=DataRequest.Listing.NONE) | Q(status=DataRequest.Status.ACTIVE)
    return DataRequest.objects.filter(q).distinct()


def access_request_by_id(user: Person, request_id: int) -> DataRequest:
    req = (requests_visible_to(user).select_related("agency", "department", "owner", "listed_by")
           .filter(pk=request_id).first())
    if req is None:
        raise Http404("报表不存在或您无权查看。")
    return req


def is_requester(person: Person, req: DataRequest) -> bool:
    """The requesting side: the owner, and the heads of the requesting department (who may act for them)."""
    if req.owner_id == person.pk:
        return True
    return bool(req.department_id) and any(p.pk == person.pk for p in department_heads(req.department))


def may_see_aggregate(person: Person, req: DataRequest) -> bool:
    """The requesting agency (and the 清单 owners) see every unit's figures; a target unit only its own."""
    return is_requester(person, req) or req.agency_id in _own_agency_ids(person) or is_list_owner(person)


def is_unit_member(person: Person, sub: Submission | Target) -> bool:
    if sub.department_id:
        return sub.department_id in _own_department_ids(person)
    return sub.agency_id in _own_agency_ids(person)


def access_submission_by_id(user: Person, submission_id: int) -> Submission:
    sub = (Submission.objects.select_related("round__request__agency", "round__request__owner", "agency",
                                             "department", "target", "submitted_by")
           .filter(pk=submission_id).first())
    if sub is None:
        raise Http404("填报不存在或您无权查看。")
    req = sub.round.request
    if is_unit_member(user, sub) or req.owner_id == user.pk or requests_visible_to(user).filter(
            pk=req.pk, agency_id__in=_own_agency_ids(user)).exists() or is_list_owner(user):
        return sub
    raise Http404("填报不存在或您无权查看。")


def fillers_for(agency: Agency, department: Department | None) -> list[Person]:
    """Who gets a unit's 填报 待办: a department's heads; an agency's 办公室/文书, else its principals."""
    if department is not None:
        heads = department_heads(department)
        if heads:
            return heads
        people = list(people_with_role(Role.CLERK, agency=department.agency, inherit=False))
        return people or principals(department.agency)
    return list(people_with_role(Role.CLERK, agency=agency, inherit=False)) or principals(agency)


def fields_of(req: DataRequest) -> list[RequestField]:
    return list(req.fields.select_related("catalog").order_by("position", "id"))


def my_submissions(person: Person) -> QuerySet[Submission]:
    """待填报 and 已报送 of my units (agencies I serve in, and my departments' own submissions)."""
    q = Q(agency_id__in=_own_agency_ids(person), department__isnull=True)
    q |= Q(department_id__in=_own_department_ids(person))
    return (Submission.objects.filter(q, round__request__status=DataRequest.Status.ACTIVE)
            .select_related("round__request__agency", "agency", "department")
            .order_by("status", "round__deadline", "id"))


# --- the field catalogue ----------------------------------------------------------------------------------------


def catalog_matches(text: str, unit: str = "", *, limit: int = 20) -> list[CatalogField]:
    """Catalogue rows meaning the same thing: the name or a synonym contains the text (or the text contains the
    name: “乡村振兴投入” finds “投入”), the same 计量单位 first."""
    text = (text or "").strip()[:60]
    unit = (unit or "").strip()[:20]
    if not text and not unit:
        return []
    return _matches(CatalogField.objects.filter(retired_at__isnull=True), text, unit, limit)


def _matches(base: QuerySet[CatalogField], text: str, unit: str, limit: int) -> list[CatalogField]:
    q = Q()
    if text:
        q |= Q(name__icontains=text) | Q(synonyms__icontains=text)
    rows = list(base.filter(q)[:limit]) if text else []
    if text and len(rows) < limit:
        seen = {r.pk for r in rows}
        for row in base.exclude(pk__in=seen):
            names = [row.name, *[s.strip() for s in row.synonyms.replace("，", ",").split(",") if s.strip()]]
            if any(len(n) >= 2 and n in text for n in names):
                rows.append(row)
            if len(rows) >= limit:
                break
    if unit and not text:
        rows = list(base.filter(unit=unit)[:limit])
    rows.sort(key=lambda r: (r.unit != unit, r.name != text, r.name))
    return rows


def catalog_rows(text: str = "", unit: str = "", *, retired: bool = False, limit: int = 200) -> list[CatalogField]:
    """The catalogue maintenance list: active rows (or only the retired and merged ones), searched like the reuse
    search when text or a unit is given."""
    base = CatalogField.objects.filter(retired_at__isnull=not retired).select_related("merged_into", "created_by")
    text, unit = (text or "").strip()[:60], (unit or "").strip()[:20]
    if not text and not unit:
        return list(base[:limit])
    return _matches(base, text, unit, limit)


def access_catalog_by_id(catalog_id: int) -> CatalogField:
    """Catalogue rows are shared by every office (names of numbers, no figures): any signed-in user may read one."""
    row = CatalogField.objects.select_related("merged_into", "created_by").filter(pk=catalog_id).first()
    if row is None:
        raise Http404("指标不存在。")
    return row


def catalog_uses(cat: CatalogField) -> list[RequestField]:
    """The request fields using a catalogue row, with their requests (the maintenance page lists them)."""
    return list(cat.uses.select_related("request__agency").order_by("-request__created_at", "request_id"))


def merge_candidates(cat: CatalogField, *, limit: int = 200) -> list[CatalogField]:
    """Rows a duplicate may be merged into: active, other than itself; the same 计量单位 and type first."""
    rows = list(CatalogField.objects.filter(retired_at__isnull=True).exclude(pk=cat.pk)[:limit])
    rows.sort(key=lambda r: (r.unit != cat.unit, r.kind != cat.kind, r.name))
    return rows


def catalog_usage(rows: list[CatalogField]) -> dict[int, list[str]]:
    """For each catalogue row, the titles of the requests already using it (the page shows where it came from)."""
    out: dict[int, list[str]] = {r.pk: [] for r in rows}
    for cat_id, title in RequestField.objects.filter(catalog_id__in=out).values_list("catalog_id", "request__title"):
        if title not in out[cat_id]:
            out[cat_id].append(title)
    return out


# --- periods --------------------------------------------------------------------------------------------------


def period_of(cycle: str, day: dt.date) -> str:
    if cycle == DataRequest.Cycle.QUARTERLY:
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year}-{day.month:02d}"


def period_label(period: str) -> str:
    if "-Q" in period:
        year, q = period.split("-Q")
        return f"{year}年第{q}季度"
    if "-" in period:
        year, month = period.split("-")
        return f"{year}年{int(month)}月"
    return f"{period}年"


def current_round(req: DataRequest) -> Round | None:
    return req.rounds.order_by("-sent_on", "-id").first()


# --- progress and aggregates -----------------------------------------------------------------------------------


@dataclass
class Progress:
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    late: int = 0
    rows: list[Submission] = field(default_factory=list)

    @property
    def submitted(self) -> int:
        return self.counts.get(Submission.Status.SUBMITTED, 0)


def round_progress(rnd: Round) -> Progress:
    rows = list(rnd.submissions.select_related("agency", "department", "submitted_by")
                .order_by("agency__sort_order", "agency_id", "department_id"))
    p = Progress(total=len(rows), rows=rows)
    for s in rows:
        p.counts[s.status] = p.counts.get(s.status, 0) + 1
        p.late += s.late
    return p


@dataclass
class FieldAggregate:
    field: RequestField
    count: int
    total: Decimal | None
    average: Decimal | None


def _round2(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def aggregate(rnd: Round, fields: list[RequestField]) -> tuple[list[Submission], list[FieldAggregate]]:
    """The submitted rows of a round and, per numeric field, the count, the sum and the mean (two decimals) of the
    values the units reported (computed fields included: each unit's own computed value)."""
    rows = list(rnd.submissions.filter(status=Submission.Status.SUBMITTED).select_related("agency", "department")
                .order_by("agency__sort_order", "agency_id", "department_id"))
    out = []
    for f in fields:
        if f.kind not in NUMERIC_KINDS:
            continue
        numbers = [n for n in (number_of(r.values.get(f.code)) for r in rows) if n is not None]
        total = sum(numbers, Decimal(0)) if numbers else None
        out.append(FieldAggregate(f, len(numbers), total, _round2(total / len(numbers)) if numbers else None))
    return rows, out


def unit_name(row: Submission | Target) -> str:
    return f"{row.agency.short_name}·{row.department.name}" if row.department_id else row.agency.short_name


# --- 报表清单 ---------------------------------------------------------------------------------------------------


@dataclass
class UnitLoad:
    agency: Agency
    requests: list[DataRequest]


def listing_load(agency_ids: list[int] | None = None) -> list[UnitLoad]:
    """Every active request per target unit (agency): what each 基层 unit is asked to report, in one place."""
    targets = (Target.objects.filter(request__status=DataRequest.Status.ACTIVE)
               .select_related("agency", "request__agency").order_by("agency__sort_order", "agency_id", "request_id"))
    if agency_ids is not None:
        targets = targets.filter(agency_id__in=agency_ids)
    loads: dict[int, UnitLoad] = {}
    for t in targets:
        load = loads.setdefault(t.agency_id, UnitLoad(t.agency, []))
        if t.request not in load.requests:
            load.requests.append(t.request)
    return list(loads.values())


def pending_listings() -> QuerySet[DataRequest]:
    return DataRequest.objects.filter(listing=DataRequest.Listing.PENDING).select_related("agency", "owner")


def listed_requests() -> QuerySet[DataRequest]:
    return (DataRequest.objects.filter(listing=DataRequest.Listing.LISTED).select_related("agency", "owner")
            .order_by("agency__sort_order", "title"))
