"""Writes to the working-day calendar (工作日历): parsing and importing year files, admin edits, shipped data.

The text format (docs/calendar.md)::

    # 注释
    年份 2026 依据 国务院办公厅关于2026年部分节假日安排的通知
    2026-02-15..2026-02-23 放假 春节
    2026-02-14 上班 春节调休

A file is parsed completely before anything is written; any error means nothing is imported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from oa.actions.audit import do_record_audit
from oa.models import CalendarDay, CalendarYear, Person
from oa.refusals import Refusal
from oa.selectors.calendar import (
    HOLIDAY,
    MAX_YEAR,
    MIN_YEAR,
    NAME_MAX,
    YearSchedule,
    check_calendar_day,
    official_calendar_files,
    parse_calendar_text,
    stored_schedule,
)


class CalendarImportError(Exception):
    """The file is well-formed but cannot be imported as asked (the year exists and no --replace)."""


# --- Writing ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    year: int
    created: bool  # the year was not in the database before
    changed: bool  # False when the database already held exactly this schedule
    holidays: int
    workdays: int

    def __str__(self) -> str:
        state = "新增" if self.created else ("已更新" if self.changed else "无变化")
        return f"{self.year}年{state}：放假 {self.holidays} 天，调休上班 {self.workdays} 天"


def do_import_calendar_year(
    *,
    actor: Person | None,
    schedule: YearSchedule,
    replace: bool = False,
    origin: str = "",
    ip: str | None = None,
) -> ImportResult:
    """Write one parsed year: its CalendarYear row and exactly its days, in one transaction, audited.

    If the year is already stored with different days, `replace=True` is required (else CalendarImportError).
    Importing the identical schedule again changes nothing and records nothing.
    """
    holidays = sum(1 for d in schedule.days if d.kind == HOLIDAY)
    workdays = len(schedule.days) - holidays
    with transaction.atomic():
        cy = CalendarYear.objects.select_for_update().filter(year=schedule.year).first()
        created = cy is None
        if cy is not None:
            stored = stored_schedule(cy)
            if stored.as_set() == schedule.as_set() and stored.source == schedule.source:
                return ImportResult(schedule.year, False, False, holidays, workdays)
            if not replace:
                raise CalendarImportError(
                    f"{schedule.year}年的日历已存在（{len(stored.days)}天）；如需用文件内容覆盖，请使用“替换”（--replace）。"
                )
        # Another year's row may hold one of these dates (CalendarDay.date is unique); parsed dates all lie
        # in their year, so only rows misfiled by hand could collide: remove them.
        CalendarDay.objects.filter(date__in=[d.date for d in schedule.days]).exclude(
            calendar_year__year=schedule.year
        ).delete()
        if cy is None:
            cy = CalendarYear.objects.create(year=schedule.year, source=schedule.source)
            before = 0
        else:
            before = cy.days.count()
            cy.source = schedule.source
            cy.save(update_fields=["source", "updated_at"])
            cy.days.all().delete()
        CalendarDay.objects.bulk_create(
            [CalendarDay(calendar_year=cy, date=d.date, kind=d.kind, name=d.name) for d in schedule.days]
        )
        do_record_audit(
            actor=actor,
            ip=ip,
            action="calendar.import",
            obj=cy,
            changes={
                "year": schedule.year,
                "source": schedule.source,
                "origin": origin,
                "replaced": not created,
                "days_before": before,
                "holidays": holidays,
                "workdays": workdays,
            },
        )
    return ImportResult(schedule.year, created, True, holidays, workdays)


def do_import_calendar_text(
    *,
    actor: Person | None,
    text: str,
    year: int | None = None,
    replace: bool = False,
    origin: str = "",
    ip: str | None = None,
) -> list[ImportResult]:
    """Parse the whole text, then import every year in it (or only `year`) in one transaction: all or nothing.

    Raises CalendarFormatError (line-numbered errors) or CalendarImportError; either way nothing is written.
    """
    schedules = parse_calendar_text(text, year=year)
    with transaction.atomic():
        return [
            do_import_calendar_year(actor=actor, schedule=sch, replace=replace, origin=origin, ip=ip)
            for sch in schedules
        ]


def do_load_official_calendars(
    *, actor: Person | None = None, replace: bool = False, years: Iterable[int] | None = None
) -> list[ImportResult]:
    """Load the schedules shipped in oa/calendar_data/ (2025, 2026, …). Idempotent.

    A year already in the database is left alone (an administrator may have corrected it) unless `replace`;
    a year whose stored days equal the shipped ones is never rewritten. `years` limits it to those years.
    """
    wanted = None if years is None else set(years)
    results: list[ImportResult] = []
    with transaction.atomic():
        for path in official_calendar_files():
            for schedule in parse_calendar_text(path.read_text(encoding="utf-8")):
                if wanted is not None and schedule.year not in wanted:
                    continue
                if not replace and CalendarYear.objects.filter(year=schedule.year).exists():
                    continue
                results.append(
                    do_import_calendar_year(
                        actor=actor, schedule=schedule, replace=True, origin=f"内置：{path.name}"
                    )
                )
    return results


# --- Admin edits ------------------------------------------------------------------------------------------


def do_save_calendar_year(
    *, actor: Person | None, year: int, source: str, ip: str | None = None
) -> CalendarYear:
    """Create a year (or change its 依据) by hand, audited as calendar.edit."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise Refusal("bad_year", f"年份应在{MIN_YEAR}到{MAX_YEAR}之间")
    with transaction.atomic():
        cy, created = CalendarYear.objects.get_or_create(year=year, defaults={"source": source})
        if not created and cy.source != source:
            old = cy.source
            cy.source = source
            cy.save(update_fields=["source", "updated_at"])
            changes = {"source": [old, source]}
            do_record_audit(actor=actor, ip=ip, action="calendar.edit", obj=cy, changes=changes)
        elif created:
            changes = {"created": True, "source": source}
            do_record_audit(actor=actor, ip=ip, action="calendar.edit", obj=cy, changes=changes)
    return cy


def do_save_calendar_day(
    *,
    actor: Person | None,
    calendar_year: CalendarYear,
    date: dt.date,
    kind: str,
    name: str = "",
    ip: str | None = None,
) -> CalendarDay:
    """Set one date's kind (放假/调休上班) by hand; validated like an imported line, audited."""
    check_calendar_day(calendar_year.year, date, kind)
    name = name.strip()[:NAME_MAX]
    with transaction.atomic():
        day = CalendarDay.objects.select_for_update().filter(date=date).first()
        old = None if day is None else {"kind": day.kind, "name": day.name}
        if day is None:
            day = CalendarDay.objects.create(calendar_year=calendar_year, date=date, kind=kind, name=name)
        elif (day.calendar_year_id, day.kind, day.name) != (calendar_year.pk, kind, name):
            day.calendar_year, day.kind, day.name = calendar_year, kind, name
            day.save()
        else:
            return day
        CalendarYear.objects.filter(pk=calendar_year.pk).update(updated_at=timezone.now())
        do_record_audit(
            actor=actor,
            ip=ip,
            action="calendar.edit",
            obj=day,
            changes={"date": date, "old": old, "new": {"kind": kind, "name": name}},
        )
    return day


def do_delete_calendar_day(*, actor: Person | None, day: CalendarDay, ip: str | None = None) -> None:
    """Remove one special day (it becomes an ordinary weekday or weekend day again), audited."""
    with transaction.atomic():
        do_record_audit(
            actor=actor,
            ip=ip,
            action="calendar.edit",
            obj=day,
            changes={"date": day.date, "old": {"kind": day.kind, "name": day.name}, "new": None},
        )
        CalendarYear.objects.filter(pk=day.calendar_year_id).update(updated_at=timezone.now())
        day.delete()


def do_delete_calendar_year(
    *, actor: Person | None, calendar_year: CalendarYear, ip: str | None = None
) -> None:
    """Remove a year and its days: the year becomes unknown again (weekends only, with a warning)."""
    with transaction.atomic():
        do_record_audit(
            actor=actor,
            ip=ip,
            action="calendar.delete",
            obj=calendar_year,
            changes={"year": calendar_year.year, "days": calendar_year.days.count()},
        )
        calendar_year.delete()
