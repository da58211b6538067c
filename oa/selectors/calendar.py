"""Reads of the working-day calendar (工作日历). Pure reads; see docs/calendar.md for the semantics.

A date is a working day when the year's schedule says 上班 (调休), or it is Monday–Friday and the
schedule does not say 放假. A year with no CalendarYear row is *unknown*: it is treated as weekends-only
and a warning is logged (and offered to the UI through `calendar_warnings`) rather than guessing.

Each year's special days are read with one query and kept for the life of one `WorkCalendar` (one call of the
module functions); batch callers create one `WorkCalendar` and reuse it.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils import timezone

from oa.models import CalendarDay, CalendarYear

logger = logging.getLogger(__name__)

HOLIDAY, WORKDAY = CalendarDay.Kind.HOLIDAY.value, CalendarDay.Kind.WORKDAY.value
ONE_DAY = dt.timedelta(days=1)


def unknown_year_message(year: int) -> str:
    return f"{year}年的法定节假日安排尚未导入，暂按“仅周末休息”计算工作日，请管理员导入当年放假通知。"


class WorkCalendar:
    """The calendar as read once: {year: {date: kind}} for known years, None for unknown ones."""

    def __init__(self) -> None:
        self._years: dict[int, dict[dt.date, str] | None] = {}

    def special_days(self, year: int) -> dict[dt.date, str] | None:
        """The year's 放假/上班 days, or None when the year is unknown (one query per year, then cached)."""
        if year not in self._years:
            rows = list(CalendarYear.objects.filter(year=year).values_list("days__date", "days__kind"))
            if not rows:
                self._years[year] = None
                logger.warning("工作日历：%s", unknown_year_message(year))
            else:
                self._years[year] = {d: k for d, k in rows if d is not None}
        return self._years[year]

    def is_known(self, year: int) -> bool:
        return self.special_days(year) is not None

    def is_working_day(self, d: dt.date) -> bool:
        kind = (self.special_days(d.year) or {}).get(d)
        if kind == WORKDAY:
            return True
        if kind == HOLIDAY:
            return False
        return d.weekday() < 5

    def add_working_days(self, d: dt.date, n: int) -> dt.date:
        if n < 0:
            raise ValueError("add_working_days: n must be >= 0")
        day = d
        while n:
            day += ONE_DAY
            if self.is_working_day(day):
                n -= 1
        return day

    def working_days_between(self, a: dt.date, b: dt.date) -> int:
        if b < a:
            return -self.working_days_between(b, a)
        count, day = 0, a
        while day < b:
            day += ONE_DAY
            if self.is_working_day(day):
                count += 1
        return count

    def next_working_day(self, d: dt.date) -> dt.date:
        """d itself if it is a working day, else the first working day after it."""
        return d if self.is_working_day(d) else self.add_working_days(d, 1)


def is_working_day(d: dt.date) -> bool:
    """True on Monday–Friday unless 放假, and on a 调休 weekend day marked 上班."""
    return WorkCalendar().is_working_day(d)


def add_working_days(d: dt.date, n: int) -> dt.date:
    """The n-th working day strictly after d (n >= 0). n == 0 returns d unchanged, working day or not.

    add_working_days(2026-02-13, 1) == 2026-02-14 (a 调休 Saturday). Raises ValueError for n < 0.
    """
    return WorkCalendar().add_working_days(d, n)


def working_days_between(a: dt.date, b: dt.date) -> int:
    """The number of working days d with a < d <= b; negative (−count of b < d <= a) when b < a.

    So working_days_between(d, add_working_days(d, n)) == n for every n >= 0, and (a, a) gives 0.
    """
    return WorkCalendar().working_days_between(a, b)


def next_working_day(d: dt.date) -> dt.date:
    """d if it is a working day, else the first working day after d."""
    return WorkCalendar().next_working_day(d)


def is_year_known(year: int) -> bool:
    """Whether the year's official schedule has been loaded (a CalendarYear row exists). Logs nothing."""
    return CalendarYear.objects.filter(year=year).exists()


def known_years() -> list[int]:
    return list(CalendarYear.objects.order_by("year").values_list("year", flat=True))


def calendar_warnings(years: Iterable[int] | None = None) -> list[str]:
    """Messages for the UI, one per unknown year among `years` (default: this year and, from November, next).

    One query whatever the number of years.
    """
    if years is None:
        today = timezone.localdate()
        years = [today.year, today.year + 1] if today.month >= 11 else [today.year]
    wanted = sorted(set(years))
    known = set(CalendarYear.objects.filter(year__in=wanted).values_list("year", flat=True))
    return [unknown_year_message(y) for y in wanted if y not in known]


def years_spanned(a: dt.date, b: dt.date) -> list[int]:
    """The years a computation between a and b touches, for `calendar_warnings(years_spanned(a, b))`."""
    lo, hi = min(a, b), max(a, b)
    return list(range(lo.year, hi.year + 1))


OFFICIAL_DATA_DIR = Path(__file__).resolve().parent.parent / "calendar_data"


KIND_WORDS = {"放假": HOLIDAY, "上班": WORKDAY}


KIND_LABELS = {HOLIDAY: "放假", WORKDAY: "上班"}


MAX_RANGE_DAYS = 31  # no official holiday is longer; a longer range is almost certainly a typo


NAME_MAX = CalendarDay._meta.get_field("name").max_length


SOURCE_MAX = CalendarYear._meta.get_field("source").max_length


MIN_YEAR, MAX_YEAR = 2000, 2100


_HEADER = re.compile(r"^年份\s*(?P<year>\S+)(?:\s+依据\s*(?P<source>.*))?$")


_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")


@dataclass(frozen=True)
class ParsedDay:
    date: dt.date
    kind: str  # CalendarDay.Kind value
    name: str
    line: int


@dataclass
class YearSchedule:
    """One year's special days as read from a file (or the database)."""

    year: int
    source: str = ""
    days: list[ParsedDay] = field(default_factory=list)
    line: int = 0

    def as_set(self) -> set[tuple[dt.date, str, str]]:
        return {(d.date, d.kind, d.name) for d in self.days}


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"第{self.line}行：{self.message}" if self.line else self.message


class CalendarFormatError(Exception):
    """The file has errors; `errors` lists them all, each with its line number."""

    def __init__(self, errors: list[LineError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def _parse_date(text: str) -> dt.date | None:
    if not _DATE.match(text):
        return None
    try:
        y, m, d = (int(p) for p in text.split("-"))
        return dt.date(y, m, d)
    except ValueError:
        return None


def check_calendar_day(year: int, date: dt.date, kind: str) -> None:
    """The rules every calendar day obeys, whether imported or edited in the admin. Raises ValidationError."""
    if date.year != year:
        raise ValidationError(f"日期“{date.isoformat()}”不在{year}年内", code="outside_year")
    if kind not in KIND_LABELS:
        raise ValidationError(f"类型“{kind}”无效", code="bad_kind")
    if kind == WORKDAY and date.weekday() < 5:
        raise ValidationError(
            f"“{date.isoformat()}”是星期{'一二三四五'[date.weekday()]}，本来就是工作日，不能标为调休上班",
            code="workday_not_weekend",
        )


def parse_calendar_text(text: str, *, year: int | None = None) -> list[YearSchedule]:
    """Parse a whole calendar file. Returns the year sections; raises CalendarFormatError listing every error.

    `year`: for a file without a `年份` header line, the year its lines belong to; for a file with
    headers, only that year's section is returned (the others are still checked).
    """
    errors: list[LineError] = []
    schedules: list[YearSchedule] = []
    current: YearSchedule | None = None
    seen: dict[dt.date, int] = {}

    def err(line: int, message: str) -> None:
        errors.append(LineError(line, message))

    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].replace("\u3000", " ").strip()
        if lineno == 1:
            line = line.lstrip("\ufeff")
        if not line:
            continue
        if line.startswith("年份"):
            m = _HEADER.match(line)
            y = int(m["year"]) if m and m["year"].isdigit() else None
            if y is None or not MIN_YEAR <= y <= MAX_YEAR:
                err(lineno, f"年份行格式应为“年份 2026 依据 通知名称”，“{line}”无效")
                current = None
                continue
            source = (m["source"] or "").strip()
            if len(source) > SOURCE_MAX:
                err(lineno, f"依据不能超过{SOURCE_MAX}个字")
            if any(s.year == y for s in schedules):
                err(lineno, f"{y}年重复声明")
            current = YearSchedule(year=y, source=source[:SOURCE_MAX], line=lineno)
            schedules.append(current)
            continue

        parts = line.split(None, 2)
        if current is None:
            if year is not None and not schedules:
                current = YearSchedule(year=year, line=0)
                schedules.append(current)
            else:
                err(lineno, "缺少年份行：请先写“年份 2026 依据 通知名称”，或用 --year 指定年份")
                continue
        if len(parts) < 2:
            err(lineno, f"应为“日期 放假|上班 名称”，“{line}”缺少类型")
            continue
        span, word = parts[0], parts[1]
        name = parts[2].strip() if len(parts) > 2 else ""
        bad = False
        if ".." in span:
            first_text, last_text = span.split("..", 1)
        else:
            first_text = last_text = span
        first, last = _parse_date(first_text), _parse_date(last_text)
        checks = [(first_text, first)] + ([(last_text, last)] if ".." in span else [])
        for text_, value in checks:
            if value is None:
                err(lineno, f"日期“{text_}”无效")
                bad = True
        kind = KIND_WORDS.get(word)
        if kind is None:
            err(lineno, f"类型“{word}”无效，应为“放假”或“上班”")
            bad = True
        if len(name) > NAME_MAX:
            err(lineno, f"名称“{name}”超过{NAME_MAX}个字")
            bad = True
        if bad or first is None or last is None or kind is None:
            continue
        if last < first:
            err(lineno, f"结束日期“{last.isoformat()}”早于开始日期“{first.isoformat()}”")
            continue
        if (last - first).days >= MAX_RANGE_DAYS:
            err(lineno, f"日期范围超过{MAX_RANGE_DAYS}天，请检查")
            continue
        day = first
        while day <= last:
            try:
                check_calendar_day(current.year, day, kind)
            except ValidationError as exc:
                err(lineno, exc.messages[0])
                break
            if day in seen:
                err(lineno, f"日期“{day.isoformat()}”与第{seen[day]}行重复")
                break
            seen[day] = lineno
            current.days.append(ParsedDay(day, kind, name, lineno))
            day += dt.timedelta(days=1)

    for s in schedules:
        if not s.days and not any(e.line > s.line for e in errors):
            err(s.line, f"{s.year}年没有列出任何放假或上班日期")
    if not schedules and not errors:
        err(0, "文件中没有任何日历内容")
    if year is not None and not errors and not any(s.year == year for s in schedules):
        err(0, f"文件中没有{year}年的安排")
    if errors:
        errors.sort(key=lambda e: e.line)
        raise CalendarFormatError(errors)
    if year is not None:
        schedules = [s for s in schedules if s.year == year]
    return schedules


def format_calendar_text(schedule: YearSchedule) -> str:
    """The inverse of parse_calendar_text for one year; runs of days with one kind and name become ranges."""
    lines = [f"年份 {schedule.year}" + (f" 依据 {schedule.source}" if schedule.source else "")]
    days = sorted(schedule.days, key=lambda d: d.date)
    i = 0
    while i < len(days):
        j = i
        while (
            j + 1 < len(days)
            and days[j + 1].date == days[j].date + dt.timedelta(days=1)
            and (days[j + 1].kind, days[j + 1].name) == (days[i].kind, days[i].name)
        ):
            j += 1
        span = days[i].date.isoformat() + (f"..{days[j].date.isoformat()}" if j > i else "")
        lines.append(f"{span} {KIND_LABELS[days[i].kind]} {days[i].name}".rstrip())
        i = j + 1
    return "\n".join(lines) + "\n"


def stored_schedule(cy: CalendarYear) -> YearSchedule:
    days = [ParsedDay(d.date, d.kind, d.name, 0) for d in cy.days.all()]
    return YearSchedule(year=cy.year, source=cy.source, days=days)


def official_calendar_files() -> list[Path]:
    return sorted(OFFICIAL_DATA_DIR.glob("*.txt"))
