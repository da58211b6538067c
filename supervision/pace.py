"""序时进度 in working days (docs/supervision.md 亮灯): each date gets a working-day ordinal — the number of working
days after a fixed epoch up to and including it — so that for a ≤ b

    ordinal(b) − ordinal(a) == working_days_between(a, b)

and "how far through the time limit are we" is integer arithmetic in SQL on two stored ordinals per unit task
(``start_wd``, ``deadline_wd``) and one computed for today, with no calendar walk per row.

Mon–Fri are counted in closed form; the calendar's special days then adjust: a 调休 weekend day marked 上班 adds one,
a 放假 weekday removes one. A year with no loaded schedule has no special days, so it is weekends-only exactly as in
``oa.selectors.calendar.WorkCalendar``.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable

EPOCH = dt.date(2000, 1, 2)  # a Sunday: EPOCH + 1 is a Monday
HOLIDAY, WORKDAY = "holiday", "workday"  # oa.models.CalendarDay.Kind values (plain, so migrations can use this)


def _weekdays_after_epoch(d: dt.date) -> int:
    """Mon–Fri dates w with EPOCH < w ≤ d."""
    n = (d - EPOCH).days
    if n <= 0:
        return 0
    weeks, rest = divmod(n, 7)
    return weeks * 5 + min(rest, 5)


class WorkdayOrdinals:
    """Ordinals for many dates from one read of the special days (``rows`` of (date, kind); default: the database)."""

    def __init__(self, rows: Iterable[tuple[dt.date, str]] | None = None) -> None:
        if rows is None:
            from oa.models import CalendarDay

            rows = CalendarDay.objects.values_list("date", "kind")
        adjust = []
        for day, kind in rows:
            if day is None or day <= EPOCH:
                continue
            weekend = day.weekday() >= 5
            if kind == WORKDAY and weekend:
                adjust.append((day, 1))
            elif kind == HOLIDAY and not weekend:
                adjust.append((day, -1))
        adjust.sort()
        self._days = [d for d, _ in adjust]
        self._cumulative = []
        total = 0
        for _, delta in adjust:
            total += delta
            self._cumulative.append(total)

    def ordinal(self, d: dt.date) -> int:
        i = bisect.bisect_right(self._days, d)
        return _weekdays_after_epoch(d) + (self._cumulative[i - 1] if i else 0)


def workday_ordinal(d: dt.date) -> int:
    return WorkdayOrdinals().ordinal(d)
