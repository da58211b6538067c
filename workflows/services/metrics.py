"""零跑动 metrics per 主管部门 (docs/services.md 指标): 零跑动事项占比, 即办件占比, 一次办结率 (no 补正), average
handling time in working days against the items' limits. Reads only; the page and the Excel export share it."""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from oa.csvsafe import csv_cell
from oa.models import Person, RoleAssignment
from oa.selectors.calendar import working_days_between
from workflows.services.models import ServiceApplication, ServiceItem

# Who sees every department's figures: the leaders, the 督查 staff and the system administrator.
METRICS_ROLES = ("principal", "deputy_leader", "supervisor", "sysadmin")


@dataclass
class DepartmentMetrics:
    department: str
    items: int = 0
    zero_visit: int = 0
    instant: int = 0
    finished: int = 0
    first_time: int = 0  # finished without 补正
    handling_days: int = 0
    limit_days: int = 0

    @staticmethod
    def _pct(part: int, whole: int) -> float | None:
        return round(100 * part / whole, 1) if whole else None

    @property
    def zero_visit_pct(self) -> float | None:
        return self._pct(self.zero_visit, self.items)

    @property
    def instant_pct(self) -> float | None:
        return self._pct(self.instant, self.items)

    @property
    def first_time_pct(self) -> float | None:
        return self._pct(self.first_time, self.finished)

    @property
    def average_days(self) -> float | None:
        return round(self.handling_days / self.finished, 1) if self.finished else None

    @property
    def average_limit(self) -> float | None:
        return round(self.limit_days / self.finished, 1) if self.finished else None


def may_see_metrics(user: Person) -> bool:
    return RoleAssignment.objects.filter(person=user, role__in=METRICS_ROLES).exists()


def service_metrics() -> list[DepartmentMetrics]:
    rows: dict[int, DepartmentMetrics] = {}

    def row(department) -> DepartmentMetrics:
        if department.pk not in rows:
            rows[department.pk] = DepartmentMetrics(f"{department.agency.short_name or department.agency.name}"
                                                    f"{department.name}")
        return rows[department.pk]

    for item in ServiceItem.objects.filter(is_active=True).select_related("department__agency"):
        r = row(item.department)
        r.items += 1
        r.zero_visit += item.zero_visit
        r.instant += item.instant
    finished = (ServiceApplication.objects.filter(~Q(completed_at=None), status=ServiceApplication.Status.DONE)
                .select_related("item__department__agency"))
    for application in finished:
        r = row(application.item.department)
        r.finished += 1
        r.first_time += application.amend_count == 0
        start = timezone.localtime(application.submitted_at).date()
        end = timezone.localtime(application.completed_at).date()
        r.handling_days += max(working_days_between(start, end), 0)
        r.limit_days += application.item.time_limit_days
    return sorted(rows.values(), key=lambda r: r.department)


def totals(rows: list[DepartmentMetrics]) -> DepartmentMetrics:
    total = DepartmentMetrics("合计")
    for r in rows:
        for name in ("items", "zero_visit", "instant", "finished", "first_time", "handling_days", "limit_days"):
            setattr(total, name, getattr(total, name) + getattr(r, name))
    return total


HEADERS = ["主管部门", "事项数", "零跑动事项占比(%)", "即办件占比(%)", "办结件数", "一次办结率(%)", "平均办理工作日",
           "平均承诺时限(工作日)"]


def metrics_xlsx(rows: list[DepartmentMetrics]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "零跑动指标"
    sheet.append(HEADERS)
    for r in [*rows, totals(rows)]:
        sheet.append([csv_cell(r.department), r.items, r.zero_visit_pct, r.instant_pct, r.finished, r.first_time_pct,
                      r.average_days, r.average_limit])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def bars(rows: list[DepartmentMetrics]) -> list[dict]:
    """一次办结率 bars for the server-side SVG chart (no script, no inline style: attributes only)."""
    result = []
    for i, r in enumerate(rows):
        pct = r.first_time_pct
        result.append({"y": 10 + i * 28, "width": round(2.4 * (pct or 0), 1), "label": r.department,
                       "value": "—" if pct is None else f"{pct}%", "text_x": 170 + round(2.4 * (pct or 0), 1) + 6})
    return result


# --- per agency, for 考核评价 -------------------------------------------------------------------------------------


@dataclass
class AgencyServiceScore:
    """One 主管机关's service over a period: 好差评 average and 一次办结率, for the 考核评价 page."""

    agency_id: int
    agency: str
    finished: int = 0  # 已办结 (not 不予办理) in the period
    first_time: int = 0  # of those, without 补正
    rated: int = 0
    rating_average: float | None = None

    @property
    def first_time_pct(self) -> float | None:
        return round(100 * self.first_time / self.finished, 1) if self.finished else None


def agency_service_scores(start, end) -> dict[int, AgencyServiceScore]:
    """{agency id: score} for applications completed from ``start`` to ``end`` (dates, inclusive, Beijing days),
    grouped by the agency of the item's 主管部门 (the agency that served). One aggregate query."""
    import datetime as dt

    from django.db.models import Avg, Count

    from oa.models import Agency

    tz = timezone.get_current_timezone()
    since = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    done = Q(status=ServiceApplication.Status.DONE)
    rows = (ServiceApplication.objects.filter(completed_at__gte=since, completed_at__lt=until)
            .values("item__department__agency_id")
            .annotate(finished=Count("pk", filter=done), first_time=Count("pk", filter=done & Q(amend_count=0)),
                      rated=Count("rating"), rating_average=Avg("rating")))
    names = dict(Agency.objects.values_list("pk", "name"))
    return {r["item__department__agency_id"]: AgencyServiceScore(
        agency_id=r["item__department__agency_id"], agency=names.get(r["item__department__agency_id"], ""),
        finished=r["finished"], first_time=r["first_time"], rated=r["rated"],
        rating_average=round(float(r["rating_average"]), 2) if r["rating_average"] is not None else None)
        for r in rows}
