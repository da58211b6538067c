"""Reads of 考核评价: who sees which units, the weights in force, and the combined score (docs/assessment.md).

Total = Σ weightᵢ·valueᵢ / Σ weightᵢ over the sources where the unit had something to score: a source with no data
(value None) shows 无数据 and its weight goes to the others in proportion. A unit with no data anywhere has no total.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from django.http import Http404

from oa.models import Agency, Person, Role, RoleAssignment
from oa.refusals import Refusal
from oa.scores import ScoreSource, SourceScore, registered_sources
from supervision.assessment.models import AssessmentWeight
from supervision.selectors import LEADER_ROLES, scope_agencies, supervisor_agency_ids

PERIOD_MAX_DAYS = 366


# --- who sees what ---------------------------------------------------------------------------------------------


def weight_agency_id(user: Person) -> int | None:
    """The agency whose weights the user may set: their 督查室's (the first, like 立项)."""
    sup = supervisor_agency_ids(user)
    return sorted(sup)[0] if sup else None


def assessable_agencies(user: Person) -> tuple[int | None, list[Agency]]:
    """(the agency whose weights apply, the units the user may see scored). 督查员, the district's leaders and the
    system administrator see every unit of their district; the leaders of any other agency see their own agency."""
    home = weight_agency_id(user)
    roles = list(RoleAssignment.objects.filter(person=user, role__in=[*LEADER_ROLES, Role.SYSADMIN])
                 .select_related("agency"))
    district_of = [a for a in Agency.objects.filter(pk=home)] if home else []
    own: set[int] = set()
    for ra in roles:
        if ra.role == Role.SYSADMIN or ra.agency.parent_id is None:
            district_of.append(ra.agency)
        else:
            own.add(ra.agency_id)
    ids: set[int] = set(own)
    for agency in district_of:
        ids.update(scope_agencies(agency).values_list("pk", flat=True))
    if home is None and district_of:
        home = district_of[0].pk
    if home is None and own:
        home = _root_id(Agency.objects.get(pk=sorted(own)[0]))
    units = list(Agency.objects.filter(pk__in=ids, is_active=True).order_by("sort_order", "id"))
    return home, units


def _root_id(agency: Agency) -> int:
    seen = set()
    while agency.parent_id and agency.pk not in seen:
        seen.add(agency.pk)
        agency = agency.parent
    return agency.pk


def access_assessed_agency(user: Person, agency_id: int) -> tuple[int | None, Agency]:
    """A unit the user may see scored; 404 otherwise (missing or not theirs alike)."""
    home, units = assessable_agencies(user)
    for unit in units:
        if unit.pk == agency_id:
            return home, unit
    raise Http404("该单位不存在或不在您的考核范围内。")


# --- the period --------------------------------------------------------------------------------------------------


def month_period(day: dt.date) -> tuple[dt.date, dt.date]:
    return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])


def parse_period(start: str | None, end: str | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """The period from the query string; the current month when not given. Refuses nonsense in Chinese."""
    if not start and not end:
        return month_period(today)
    try:
        s = dt.date.fromisoformat(start or "")
        e = dt.date.fromisoformat(end or "")
    except ValueError:
        raise Refusal("period_invalid", "考核期的起止日期格式不对，请写成 2026-09-01。") from None
    if e < s:
        raise Refusal("period_reversed", "考核期的结束日期不能早于开始日期。")
    if (e - s).days >= PERIOD_MAX_DAYS:
        raise Refusal("period_too_long", "考核期最长一年（366 天）。")
    return s, e


# --- weights -----------------------------------------------------------------------------------------------------


def default_weights(keys: list[str]) -> dict[str, int]:
    """Equal shares summing to 100 (the first sources take the remainder)."""
    if not keys:
        return {}
    base, extra = divmod(100, len(keys))
    return {k: base + (1 if i < extra else 0) for i, k in enumerate(keys)}


def weights_in_force(agency_id: int | None) -> tuple[dict[str, int], bool]:
    """(weights by source key, whether they are the 督查室's own). The stored weights apply only when they cover
    exactly the registered sources and sum to 100 — a source registered later makes them stale, and the page then
    shows equal default weights with a note until the 督查室 sets them again."""
    keys = [s.key for s in registered_sources()]
    stored = dict(AssessmentWeight.objects.filter(agency_id=agency_id).values_list("source_key", "weight")) \
        if agency_id else {}
    if stored and set(stored) == set(keys) and sum(stored.values()) == 100:
        return {k: stored[k] for k in keys}, True
    return default_weights(keys), False


# --- scores ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    source: ScoreSource
    weight: int
    score: SourceScore
    effective_weight: float | None  # the weight after redistribution (None when the source had no data)
    contribution: float | None  # points of the total from this source


@dataclass(frozen=True)
class UnitAssessment:
    agency: Agency
    parts: list[Part]
    total: float | None
    rank: int | None = None


def combine(agency: Agency, scores: list[tuple[ScoreSource, int, SourceScore]]) -> UnitAssessment:
    scored = [(w, s.value) for _, w, s in scores if s.value is not None and w > 0]
    weight_sum = sum(w for w, _ in scored)
    parts = []
    for source, weight, score in scores:
        if score.value is None or weight == 0 or not weight_sum:
            parts.append(Part(source, weight, score, None, None))
        else:
            eff = 100 * weight / weight_sum
            parts.append(Part(source, weight, score, round(eff, 1), round(eff * score.value / 100, 2)))
    total = round(sum(w * v for w, v in scored) / weight_sum, 1) if weight_sum else None
    return UnitAssessment(agency, parts, total)


def assess(units: list[Agency], start: dt.date, end: dt.date, weights: dict[str, int]) -> list[UnitAssessment]:
    """Every unit's assessment for the period, ranked by total (units with no total last, unranked). One
    ``scores()`` call per source for all the units."""
    ids = [u.pk for u in units]
    per_source = [(s, weights.get(s.key, 0), s.scores(ids, start, end)) for s in registered_sources()]
    rows = [combine(u, [(s, w, by_unit[u.pk]) for s, w, by_unit in per_source]) for u in units]
    ranked = sorted(rows, key=lambda r: (r.total is None, -(r.total or 0), r.agency.sort_order, r.agency.pk))
    out, rank, previous = [], 0, object()
    for i, row in enumerate(ranked, start=1):
        if row.total is not None and row.total != previous:
            rank, previous = i, row.total
        out.append(UnitAssessment(row.agency, row.parts, row.total, rank if row.total is not None else None))
    return out
