"""信息报送 statistics per unit per period (docs/information.md 统计): 报送 (pieces that reached the 信息科 for
the first time in the period), 采用 (of those, adopted), 采用率, adoptions by grade, 领导批示, and the score by the
计分规则 in force on each adoption day. Reads only; the page, the Excel export and the 考核 source share it."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from oa.models import Agency
from workflows.information.models import Grade, ScoringRule, Submission

GRADES = list(Grade)  # 区, 市, 省 — the order of the columns


@dataclass
class UnitStats:
    agency_id: int | None
    unit: str
    submitted: int = 0
    adopted: int = 0
    by_grade: dict[str, int] = field(default_factory=lambda: {g.value: 0 for g in GRADES})
    instructed: int = 0
    score_by_grade: dict[str, Decimal] = field(default_factory=lambda: {g.value: Decimal(0) for g in GRADES})
    instruction_score: Decimal = Decimal(0)

    @property
    def rate(self) -> float | None:
        return round(100 * self.adopted / self.submitted, 1) if self.submitted else None

    @property
    def score(self) -> Decimal:
        return sum(self.score_by_grade.values(), Decimal(0)) + self.instruction_score

    def grade_rows(self) -> list[tuple[str, int, Decimal]]:
        return [(g.label, self.by_grade[g.value], self.score_by_grade[g.value]) for g in GRADES]


def period_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, the day after end 00:00) in the deployment's time zone."""
    tz = timezone.get_current_timezone()
    return (dt.datetime.combine(start, dt.time.min, tzinfo=tz),
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz))


def submissions_in_period(start: dt.date, end: dt.date, agency_ids: list[int] | None = None) -> QuerySet[Submission]:
    low, high = period_bounds(start, end)
    rows = Submission.objects.filter(submitted_at__gte=low, submitted_at__lt=high)
    if agency_ids is not None:
        rows = rows.filter(agency_id__in=agency_ids)
    return rows.select_related("agency", "author").order_by("agency__sort_order", "submitted_at", "pk")


def _rule_for(rules: list[ScoringRule], day: dt.date) -> ScoringRule | None:
    for rule in rules:  # newest first
        if rule.effective_from <= day:
            return rule
    return None


def piece_score(submission: Submission, rules: list[ScoringRule] | None = None) -> Decimal:
    if submission.status != Submission.Status.ADOPTED or submission.adopted_at is None:
        return Decimal(0)
    rules = rules if rules is not None else list(ScoringRule.objects.order_by("-effective_from"))
    rule = _rule_for(rules, timezone.localtime(submission.adopted_at).date())
    if rule is None:
        return Decimal(0)
    return rule.points_for(submission.grade) + (rule.instruction_points if submission.instructed else Decimal(0))


def unit_statistics(start: dt.date, end: dt.date, agency_ids: list[int] | None = None,
                    *, every_unit: bool = True) -> list[UnitStats]:
    """One row per unit (every 信息 unit of the district when ``every_unit``, even with nothing submitted)."""
    rules = list(ScoringRule.objects.order_by("-effective_from"))
    agencies = Agency.objects.exclude(kind=Agency.Kind.GOVERNMENT).order_by("sort_order")
    if agency_ids is not None:
        agencies = agencies.filter(pk__in=agency_ids)
    rows: dict[int, UnitStats] = {}
    if every_unit:
        for agency in agencies:
            rows[agency.pk] = UnitStats(agency.pk, agency.short_name or agency.name)
    for piece in submissions_in_period(start, end, agency_ids):
        row = rows.setdefault(piece.agency_id, UnitStats(piece.agency_id, piece.agency.short_name or piece.agency.name))
        row.submitted += 1
        if piece.status != Submission.Status.ADOPTED:
            continue
        row.adopted += 1
        row.by_grade[piece.grade] += 1
        row.instructed += piece.instructed
        rule = _rule_for(rules, timezone.localtime(piece.adopted_at).date())
        if rule is not None:
            row.score_by_grade[piece.grade] += rule.points_for(piece.grade)
            if piece.instructed:
                row.instruction_score += rule.instruction_points
    return list(rows.values())


def totals(rows: list[UnitStats]) -> UnitStats:
    total = UnitStats(None, "合计")
    for r in rows:
        total.submitted += r.submitted
        total.adopted += r.adopted
        total.instructed += r.instructed
        total.instruction_score += r.instruction_score
        for g in GRADES:
            total.by_grade[g.value] += r.by_grade[g.value]
            total.score_by_grade[g.value] += r.score_by_grade[g.value]
    return total


HEADERS = ["单位", "报送", "采用", "采用率(%)", "区采用", "市采用", "省采用", "领导批示", "区采用得分", "市采用得分",
           "省采用得分", "批示加分", "总分"]


def statistics_xlsx(rows: list[UnitStats], start: dt.date, end: dt.date) -> bytes:
    """Computed values, never formulas (a reader without a calculation engine sees the numbers); every text cell
    written with write_string, so a unit name starting with = stays text."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("信息报送统计")
    bold = book.add_format({"bold": True})
    sheet.write_string(0, 0, f"统计期间：{start:%Y-%m-%d} 至 {end:%Y-%m-%d}（按首次报送信息科的日期）", bold)
    for col, title in enumerate(HEADERS):
        sheet.write_string(1, col, title, bold)
    for i, r in enumerate([*rows, totals(rows)], start=2):
        sheet.write_string(i, 0, r.unit)
        values = [r.submitted, r.adopted, r.rate, *(r.by_grade[g.value] for g in GRADES), r.instructed,
                  *(r.score_by_grade[g.value] for g in GRADES), r.instruction_score, r.score]
        for col, value in enumerate(values, start=1):
            if value is None:
                sheet.write_string(i, col, "—")
            else:
                sheet.write_number(i, col, float(value))
    sheet.set_column(0, 0, 16)
    sheet.set_column(1, len(HEADERS) - 1, 10)
    book.close()
    return out.getvalue()


# Chart colours per grade (SVG fill attributes: CSP allows no inline style), status never by colour alone:
# every segment has its label and number in the legend and a <title>.
COLOURS = {"district": "#1d4ed8", "city": "#0f766e", "province": "#b45309", "instruction": "#6b21a8"}
CHART_LEFT, CHART_WIDTH, ROW = 130, 300, 28


def score_bars(rows: list[UnitStats]) -> list[dict]:
    """Stacked horizontal bars of each unit's score by grade (+ 批示), like the 零跑动 metrics chart."""
    biggest = max((r.score for r in rows), default=Decimal(0)) or Decimal(1)
    bars = []
    for i, r in enumerate(rows):
        x = Decimal(CHART_LEFT)
        segments = []
        parts = [(g.value, g.label, r.score_by_grade[g.value]) for g in GRADES]
        parts.append(("instruction", "批示加分", r.instruction_score))
        for key, label, value in parts:
            width = (Decimal(CHART_WIDTH) * value / biggest).quantize(Decimal("0.1"))
            if value:
                segments.append({"x": x, "width": width, "fill": COLOURS[key], "title": f"{label} {value} 分"})
            x += width
        bars.append({"y": 10 + i * ROW, "label": r.unit, "segments": segments, "value": f"{r.score} 分",
                     "text_x": x + 6})
    return bars


LEGEND = [("区采用", COLOURS["district"]), ("市采用", COLOURS["city"]), ("省采用", COLOURS["province"]),
          ("批示加分", COLOURS["instruction"])]
