"""督办看板 reads (docs/supervision.md 看板): per unit on-time rate, overdue count, average delay in working days, by
source type, a 12-month trend, and the drill-down list behind every number. Reads only.

Every figure is one SQL aggregate over the viewer's unit tasks (GROUP BY with conditional COUNT/SUM), never a Python
loop over rows. The unit of count is a 承办任务 (`UnitTask`, one unit's share of an item), cohort by its 办理期限
(the deadline after any granted extension): a task "due in the period" is one whose deadline falls in it.

- 已办结: status done; 按期办结: done on or before the deadline (Beijing date of `done_at`); 逾期办结: done after it;
- 逾期未办结: not done and the deadline before today;
- 逾期工作日: for a task done late, the working days from the deadline to the day it was done; for one still open
  past the deadline, to today — ``working_days_between(deadline, day)`` of the calendar (oa.selectors.calendar),
  computed in SQL: W(n) = 5·⌊n/7⌋ + min(n mod 7, 5) counts Monday–Friday up to the day with ordinal n, plus the
  running sum of the calendar's exceptions (+1 a 调休 working weekend day, −1 a holiday on a weekday) as one CASE
  built from the calendar rows; the difference W(b) − W(a) is the working days in (a, b], exactly as the calendar
  counts them (a year not loaded counts weekends only, as the calendar does);
- 平均逾期工作日 = the sum of those days over the late tasks (逾期办结 + 逾期未办结) ÷ their number.
"""

from __future__ import annotations

import calendar as pycalendar
import datetime as dt
from dataclasses import dataclass, field, replace

from django.db.models import Case, Count, F, Func, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Least, Mod, TruncDate, TruncMonth
from django.http import Http404
from django.utils import timezone

from oa.models import Agency, CalendarDay, Person
from oa.selectors.directory import agencies_of
from supervision.models import Light, SourceType, SupervisionItem, UnitTask
from supervision.selectors import leader_agency_ids, supervisor_agency_ids

DONE = UnitTask.Status.DONE
NOT_DISPATCHED = [SupervisionItem.Status.REVIEW, SupervisionItem.Status.REJECTED, SupervisionItem.Status.DISPATCH]
KINDS = {
    "all": "全部任务", "done": "已办结", "ontime": "按期办结", "late": "逾期办结", "overdue": "逾期未办结",
    "open": "在办", "delayed": "逾期（逾期办结与逾期未办结）", "red": "红灯", "yellow": "黄灯", "green": "绿灯",
}
LIGHTS = {"red": "红灯", "yellow": "黄灯", "green": "绿灯"}


# --- the working-day calendar in SQL --------------------------------------------------------------------------


class DateOrdinal(Func):
    """``date.toordinal()`` of a date expression (0001-01-01 is 1), for PostgreSQL and SQLite."""

    output_field = IntegerField()

    def as_sql(self, compiler, connection, **extra):  # pragma: no cover - the two engines we run on are below
        raise NotImplementedError(f"DateOrdinal: {connection.vendor} is not supported")

    def as_postgresql(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template="((%(expressions)s)::date - DATE '0001-01-01' + 1)",
                              **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection,
                              template="CAST(julianday(%(expressions)s) - 1721424.5 AS INTEGER)", **extra)


def _weekdays_upto(n: int) -> int:
    return 5 * (n // 7) + min(n % 7, 5)


@dataclass(frozen=True)
class WorkdayCounter:
    """W(n) for the SQL and for Python alike: the calendar's exceptions as (ordinal, running sum), ascending."""

    steps: tuple[tuple[int, int], ...]

    @classmethod
    def load(cls) -> WorkdayCounter:
        running, steps = 0, []
        for day, kind in CalendarDay.objects.order_by("date").values_list("date", "kind"):
            if kind == CalendarDay.Kind.WORKDAY and day.weekday() >= 5:
                running += 1
            elif kind == CalendarDay.Kind.HOLIDAY and day.weekday() < 5:
                running -= 1
            else:
                continue
            steps.append((day.toordinal(), running))
        return cls(tuple(steps))

    def py(self, day: dt.date) -> int:
        n = day.toordinal()
        adj = 0
        for ordinal, running in self.steps:
            if ordinal > n:
                break
            adj = running
        return _weekdays_upto(n) + adj

    def sql(self, ordinal):
        """W(ordinal) as an SQL expression; ``ordinal`` an integer expression."""
        base = 5 * (ordinal / Value(7)) + Least(Mod(ordinal, Value(7)), Value(5))
        return base + CalendarAdjustment(ordinal, steps=self.steps) if self.steps else base


class CalendarAdjustment(Func):
    """The running sum of the calendar's exceptions at an ordinal. PostgreSQL: one ``width_bucket`` lookup into the
    sorted thresholds (a binary search); SQLite: a CASE from the latest threshold down. The thresholds and sums are
    integers computed here from the calendar rows (never user text), written into the SQL as literals: one short
    fragment instead of an expression tree Django would compile once per reference."""

    output_field = IntegerField()

    def __init__(self, expression, *, steps: tuple[tuple[int, int], ...]) -> None:
        super().__init__(expression)
        self.steps = tuple((int(o), int(r)) for o, r in steps)

    def as_sql(self, compiler, connection, **extra):  # pragma: no cover - PostgreSQL and SQLite below
        raise NotImplementedError(f"CalendarAdjustment: {connection.vendor} is not supported")

    def as_postgresql(self, compiler, connection, **extra):
        thresholds = ",".join(str(o) for o, _ in self.steps)
        sums = ",".join(["0", *(str(r) for _, r in self.steps)])
        template = f"(ARRAY[{sums}]::int[])[width_bucket(%(expressions)s, ARRAY[{thresholds}]::int[]) + 1]"
        return super().as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        whens = " ".join(f"WHEN {sql} >= {o} THEN {r}" for o, r in reversed(self.steps))
        return f"(CASE {whens} ELSE 0 END)", tuple(params) * len(self.steps)


# --- scope and filters ------------------------------------------------------------------------------------------


def oversight_agency_ids(person: Person) -> set[int]:
    """Agencies whose 督办 items the person oversees as a whole: as 督查员 (督查室) or as leader of the agency."""
    return supervisor_agency_ids(person) | leader_agency_ids(person)


def tasks_in_scope(person: Person) -> QuerySet[UnitTask]:
    """The unit tasks the person's dashboard counts: every unit of the items of the agencies they oversee and of
    the items they assigned or supervise; otherwise only their own units' tasks. Dispatched items only."""
    q = Q(agency_id__in=[a.pk for a in agencies_of(person)]) | Q(item__leader=person) | Q(item__supervisor=person)
    oversee = oversight_agency_ids(person)
    if oversee:
        q |= Q(item__agency_id__in=oversee)
    return UnitTask.objects.filter(q).exclude(item__status__in=NOT_DISPATCHED)


def may_oversee(person: Person) -> bool:
    return bool(oversight_agency_ids(person))


def month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, month, 1), dt.date(year, month, pycalendar.monthrange(year, month)[1])


@dataclass(frozen=True)
class Filters:
    start: dt.date
    end: dt.date
    source_type: str = ""
    unit: int | None = None
    light: str = ""
    kind: str = "all"

    def query(self, **changes) -> dict[str, str]:
        """The GET parameters of these filters (with ``changes``), for links."""
        f = replace(self, **changes)
        out = {"from": f.start.isoformat(), "to": f.end.isoformat()}
        if f.source_type:
            out["source"] = f.source_type
        if f.unit:
            out["unit"] = str(f.unit)
        if f.light:
            out["light"] = f.light
        if f.kind and f.kind != "all":
            out["kind"] = f.kind
        return out


def _date(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((raw or "").strip()[:10])
    except ValueError:
        return None


def parse_filters(params, today: dt.date) -> tuple[Filters, list[str]]:
    """Filters from GET parameters; wrong values fall back to the default and are reported (Chinese)."""
    errors = []
    start, end = _date(params.get("from")), _date(params.get("to"))
    if params.get("from") and start is None:
        errors.append("起始日期格式不对，请写成 2026-01-01。")
    if params.get("to") and end is None:
        errors.append("截止日期格式不对，请写成 2026-12-31。")
    start = start or dt.date(today.year, 1, 1)
    end = end or dt.date(today.year, 12, 31)
    if end < start:
        errors.append("截止日期早于起始日期，已按本年度统计。")
        start, end = dt.date(today.year, 1, 1), dt.date(today.year, 12, 31)
    source = params.get("source", "")
    if source and source not in SourceType.values:
        errors.append("来源类型不在可选范围内，已忽略。")
        source = ""
    light = params.get("light", "")
    if light and light not in LIGHTS:
        errors.append("亮灯只能是红灯、黄灯或绿灯，已忽略。")
        light = ""
    unit_raw = params.get("unit", "")
    unit = int(unit_raw) if unit_raw.isdigit() else None
    kind = params.get("kind", "all") or "all"
    if kind not in KINDS:
        errors.append("统计口径不在可选范围内，已显示全部任务。")
        kind = "all"
    return Filters(start, end, source, unit, light, kind), errors


def scoped_units(person: Person) -> QuerySet[Agency]:
    return Agency.objects.filter(pk__in=tasks_in_scope(person).values("agency_id")).order_by("sort_order", "id")


def check_unit_in_scope(person: Person, unit_id: int | None) -> None:
    """A unit filter outside the viewer's units answers not-found (no existence leak)."""
    if unit_id is not None and not tasks_in_scope(person).filter(agency_id=unit_id).exists():
        raise Http404("该单位不在您的督办统计范围内。")


def _filtered(qs: QuerySet[UnitTask], f: Filters, *, period: bool = True) -> QuerySet[UnitTask]:
    if period:
        qs = qs.filter(deadline__gte=f.start, deadline__lte=f.end)
    if f.source_type:
        qs = qs.filter(item__source_type=f.source_type)
    if f.unit:
        qs = qs.filter(agency_id=f.unit)
    if f.light:
        qs = qs.filter(light=f.light)
    return qs


# --- the aggregate ---------------------------------------------------------------------------------------------


def _annotated(qs: QuerySet[UnitTask], today: dt.date, wd: WorkdayCounter) -> QuerySet[UnitTask]:
    today_ord = today.toordinal()
    qs = qs.annotate(done_ord=DateOrdinal(TruncDate("done_at")))
    w_deadline = wd.sql(F("deadline_ord"))
    return qs.annotate(delay_wd=Case(
        When(Q(status=DONE, done_ord__gt=F("deadline_ord")), then=wd.sql(F("done_ord")) - w_deadline),
        When(~Q(status=DONE) & Q(deadline_ord__lt=today_ord), then=Value(wd.py(today)) - w_deadline),
        default=Value(0), output_field=IntegerField()))


def _kind_q(kind: str, today: dt.date) -> Q:
    today_ord = today.toordinal()
    done = Q(status=DONE)
    ontime = done & Q(done_ord__lte=F("deadline_ord"))
    late = done & Q(done_ord__gt=F("deadline_ord"))
    overdue = ~done & Q(deadline_ord__lt=today_ord)
    return {
        "all": Q(), "done": done, "ontime": ontime, "late": late, "overdue": overdue, "open": ~done,
        "delayed": late | overdue, "red": Q(light=Light.RED), "yellow": Q(light=Light.YELLOW),
        "green": Q(light=Light.GREEN),
    }[kind]


def _aggregates(today: dt.date) -> dict:
    return {
        "total": Count("id"),
        "done": Count("id", filter=_kind_q("done", today)),
        "ontime": Count("id", filter=_kind_q("ontime", today)),
        "late": Count("id", filter=_kind_q("late", today)),
        "overdue": Count("id", filter=_kind_q("overdue", today)),
        "red": Count("id", filter=_kind_q("red", today)),
        "yellow": Count("id", filter=_kind_q("yellow", today)),
        "green": Count("id", filter=_kind_q("green", today)),
        "delay_sum": Sum("delay_wd"),
    }


@dataclass
class Figures:
    label: str
    key: str | int | None = None
    total: int = 0
    done: int = 0
    ontime: int = 0
    late: int = 0
    overdue: int = 0
    red: int = 0
    yellow: int = 0
    green: int = 0
    delay_sum: int = 0

    @property
    def open(self) -> int:
        return self.total - self.done

    @property
    def delayed(self) -> int:
        return self.late + self.overdue

    @property
    def ontime_rate(self) -> float | None:
        """按期办结率 (%), one decimal; None when nothing is done."""
        return round(100 * self.ontime / self.done, 1) if self.done else None

    @property
    def average_delay(self) -> float | None:
        return round(self.delay_sum / self.delayed, 1) if self.delayed else None

    @property
    def unit_light(self) -> str:
        """The unit's own colour for the 一张表: red with any overdue task, else yellow with a red/yellow task or
        an on-time rate under 80 %, else green."""
        if self.overdue or self.red:
            return Light.RED
        if self.yellow or (self.ontime_rate is not None and self.ontime_rate < 80):
            return Light.YELLOW
        return Light.GREEN


@dataclass
class Dashboard:
    filters: Filters
    today: dt.date
    total: Figures
    units: list[Figures]
    sources: list[Figures]
    trend: list[Figures] = field(default_factory=list)


def _trend_months(end: dt.date) -> list[tuple[int, int]]:
    y, m = end.year, end.month
    out = []
    for _ in range(12):
        out.append((y, m))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out[::-1]


ADDITIVE = ("total", "done", "ontime", "late", "overdue", "red", "yellow", "green", "delay_sum")


def _add(target: Figures, row: dict) -> None:
    for k in ADDITIVE:
        setattr(target, k, getattr(target, k) + int(row.get(k) or 0))


def build_dashboard(base: QuerySet[UnitTask], f: Filters, *, today: dt.date | None = None,
                    trend: bool = True) -> Dashboard:
    """The dashboard of the tasks in ``base`` (already scoped) under the filters.

    One SQL query: GROUP BY (unit, source type, deadline month, inside the period?) with the conditional
    aggregates, over the period and the 12 trend months together. Every figure is a sum of counts, so the
    per-unit, per-source, total and monthly figures are sums over those groups (at most units × 8 × months × 2
    rows, whatever the number of tasks) — one scan of the tasks instead of four."""
    today = today or timezone.localdate()
    aggs = _aggregates(today)
    keys = _trend_months(f.end) if trend else []
    lo, hi = f.start, f.end
    if keys:
        lo, hi = min(lo, month_bounds(*keys[0])[0]), max(hi, month_bounds(*keys[-1])[1])
    qs = _annotated(_filtered(base, replace(f, start=lo, end=hi)), today, WorkdayCounter.load())
    groups = list(qs.order_by().annotate(
        month=TruncMonth("deadline"),
        in_period=Case(When(deadline__gte=f.start, deadline__lte=f.end, then=Value(1)), default=Value(0),
                       output_field=IntegerField()),
    ).values("agency_id", "item__source_type", "month", "in_period").annotate(**aggs))
    total = Figures("合计")
    by_unit: dict[int, Figures] = {}
    by_source: dict[str, Figures] = {}
    by_month: dict[tuple[int, int], Figures] = {}
    for g in groups:
        if g["in_period"]:
            _add(total, g)
            _add(by_unit.setdefault(g["agency_id"], Figures("", g["agency_id"])), g)
            _add(by_source.setdefault(g["item__source_type"], Figures("", g["item__source_type"])), g)
        _add(by_month.setdefault((g["month"].year, g["month"].month), Figures("")), g)
    agencies = {pk: (name, order) for pk, name, order in
                Agency.objects.filter(pk__in=by_unit).values_list("pk", "short_name", "sort_order")}
    for pk, u in by_unit.items():
        u.label = agencies[pk][0] or str(pk)
    units = sorted(by_unit.values(), key=lambda x: (agencies[x.key][1], x.key))
    labels = dict(SourceType.choices)
    sources = []
    for value, label in labels.items():
        if value in by_source:
            by_source[value].label = label
            sources.append(by_source[value])
    months = []
    for y, m in keys:
        fig = by_month.get((y, m), Figures(""))
        fig.label, fig.key = f"{y}年{m}月", f"{y}-{m:02d}"
        months.append(fig)
    return Dashboard(f, today, total, units, sources, months)


def dashboard_for(person: Person, f: Filters, *, today: dt.date | None = None) -> Dashboard:
    check_unit_in_scope(person, f.unit)
    return build_dashboard(tasks_in_scope(person), f, today=today)


def drilldown(person: Person, f: Filters, *, today: dt.date | None = None) -> QuerySet[UnitTask]:
    """The unit tasks behind a number: the same filters and the same condition as the aggregate that counted it."""
    today = today or timezone.localdate()
    check_unit_in_scope(person, f.unit)
    qs = _annotated(_filtered(tasks_in_scope(person), f), today, WorkdayCounter.load())
    return (qs.filter(_kind_q(f.kind, today)).select_related("item", "agency")
            .order_by("deadline", "item__year", "item__seq", "id"))


def overdue_tasks(base: QuerySet[UnitTask], until: dt.date, *, today: dt.date | None = None) -> QuerySet[UnitTask]:
    """Tasks still open past their deadline (deadline ≤ ``until``), with their working days overdue."""
    today = today or timezone.localdate()
    qs = _annotated(base.filter(deadline__lte=until), today, WorkdayCounter.load())
    return (qs.filter(_kind_q("overdue", today)).select_related("item", "agency")
            .order_by("-delay_wd", "deadline", "item__seq", "id"))


# --- charts (server-side SVG: attributes only, labels escaped by the template engine) ---------------------------


def unit_bars(units: list[Figures], width: int = 240) -> list[dict]:
    out = []
    for i, u in enumerate(units):
        pct = u.ontime_rate
        w = round(width * (pct or 0) / 100, 1)
        out.append({"y": 10 + i * 28, "width": w, "label": u.label, "value": "—" if pct is None else f"{pct}%",
                    "text_x": 130 + w + 6, "colour": {"red": "#b91c1c", "yellow": "#b45309"}.get(u.unit_light,
                                                                                                "#15803d")})
    return out


def trend_columns(months: list[Figures], height: int = 120) -> list[dict]:
    """Stacked columns per month: 按期办结 (green), 逾期办结 (amber), 逾期未办结 (red), 在办未到期 (grey)."""
    peak = max((m.total for m in months), default=0) or 1
    out = []
    for i, m in enumerate(months):
        x = 34 + i * 38
        y = 10 + height
        parts = []
        for n, colour in ((m.ontime, "#15803d"), (m.late, "#b45309"), (m.overdue, "#b91c1c"),
                          (m.total - m.done - m.overdue, "#9ca3af")):
            h = round(height * n / peak, 1)
            y -= h
            parts.append({"y": round(y, 1), "h": h, "colour": colour})
        out.append({"x": x, "label": m.label.split("年")[1], "total": m.total, "parts": parts, "key": m.key,
                    "label_y": 10 + height + 16, "total_y": round(y - 4, 1)})
    return out
