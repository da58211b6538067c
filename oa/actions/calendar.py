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
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from oa.actions.audit import do_record_audit
from oa.models import CalendarDay, CalendarYear, Person

OFFICIAL_DATA_DIR = Path(__file__).resolve().parent.parent / "calendar_data"

HOLIDAY, WORKDAY = CalendarDay.Kind.HOLIDAY.value, CalendarDay.Kind.WORKDAY.value
KIND_WORDS = {"放假": HOLIDAY, "上班": WORKDAY}
KIND_LABELS = {HOLIDAY: "放假", WORKDAY: "上班"}
MAX_RANGE_DAYS = 31  # no official holiday is longer; a longer range is almost certainly a typo
NAME_MAX = CalendarDay._meta.get_field("name").max_length
SOURCE_MAX = CalendarYear._meta.get_field("source").max_length
MIN_YEAR, MAX_YEAR = 2000, 2100

_HEADER = re.compile(r"^年份\s*(?P<year>\S+)(?:\s+依据\s*(?P<source>.*))?$")
_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")


# --- Parsing ----------------------------------------------------------------------------------------------


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


class CalendarImportError(Exception):
    """The file is well-formed but cannot be imported as asked (the year exists and no --replace)."""


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


def stored_schedule(cy: CalendarYear) -> YearSchedule:
    days = [ParsedDay(d.date, d.kind, d.name, 0) for d in cy.days.all()]
    return YearSchedule(year=cy.year, source=cy.source, days=days)


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


def official_calendar_files() -> list[Path]:
    return sorted(OFFICIAL_DATA_DIR.glob("*.txt"))


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
        raise ValidationError(f"年份应在{MIN_YEAR}到{MAX_YEAR}之间", code="bad_year")
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
