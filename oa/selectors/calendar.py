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
from collections.abc import Iterable

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
