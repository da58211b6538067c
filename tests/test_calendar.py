"""工作日历: the shipped 2025/2026 schedules, the selectors' semantics, the import format and the admin."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oa.actions.calendar import (
    CalendarImportError,
    do_import_calendar_text,
    do_load_official_calendars,
    do_save_calendar_year,
)
from oa.models import AuditEntry, CalendarDay, CalendarYear
from oa.refusals import Refusal
from oa.selectors.calendar import (
    CalendarFormatError,
    WorkCalendar,
    add_working_days,
    calendar_warnings,
    format_calendar_text,
    is_working_day,
    is_year_known,
    next_working_day,
    official_calendar_files,
    parse_calendar_text,
    stored_schedule,
    working_days_between,
    years_spanned,
)
from tests.clients import login

D = dt.date
ONE = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _shipped_years_only(request):
    """These tests import and edit the years after 2026 themselves: start from the shipped 2025/2026 only, whatever
    else the session loaded (the moved-clock run adds a test year, docs/testing.md; a shipped 2027 file will too)."""
    if "db" in request.fixturenames:
        request.getfixturevalue("db")
        CalendarYear.objects.filter(year__gt=2026).delete()


def snapshot() -> tuple[list, list, int]:
    return (
        list(CalendarYear.objects.order_by("year").values_list("year", "source")),
        list(CalendarDay.objects.order_by("date").values_list("date", "kind", "name", "calendar_year__year")),
        AuditEntry.objects.count(),
    )


def _span(a: dt.date, b: dt.date) -> list[dt.date]:
    return [a + dt.timedelta(days=i) for i in range((b - a).days + 1)]


# DOMAIN.md §8, typed in independently of oa/calendar_data/ so that a typo in either shows up.
OFFICIAL = {
    2025: (
        [(D(2025, 1, 1), D(2025, 1, 1)), (D(2025, 1, 28), D(2025, 2, 4)), (D(2025, 4, 4), D(2025, 4, 6)),
         (D(2025, 5, 1), D(2025, 5, 5)), (D(2025, 5, 31), D(2025, 6, 2)), (D(2025, 10, 1), D(2025, 10, 8))],
        [D(2025, 1, 26), D(2025, 2, 8), D(2025, 4, 27), D(2025, 9, 28), D(2025, 10, 11)],
    ),
    2026: (
        [(D(2026, 1, 1), D(2026, 1, 3)), (D(2026, 2, 15), D(2026, 2, 23)), (D(2026, 4, 4), D(2026, 4, 6)),
         (D(2026, 5, 1), D(2026, 5, 5)), (D(2026, 6, 19), D(2026, 6, 21)), (D(2026, 9, 25), D(2026, 9, 27)),
         (D(2026, 10, 1), D(2026, 10, 7))],
        [D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9), D(2026, 9, 20), D(2026, 10, 10)],
    ),
}


def reference_is_working_day(d: dt.date) -> bool:
    holidays, workdays = OFFICIAL[d.year]
    if d in workdays:
        return True
    if any(a <= d <= b for a, b in holidays):
        return False
    return d.weekday() < 5


# --- shipped data ---------------------------------------------------------------------------------------


def test_official_years_are_loaded_by_load_demo(db):
    assert is_year_known(2025) and is_year_known(2026)
    sources = dict(CalendarYear.objects.values_list("year", "source"))
    assert "国办发明电〔2024〕12号" in sources[2025]
    assert "2026年部分节假日安排" in sources[2026]
    assert CalendarDay.objects.filter(date__year=2025, kind="holiday").count() == 1 + 8 + 3 + 5 + 3 + 8
    assert CalendarDay.objects.filter(date__year=2026, kind="holiday").count() == 3 + 9 + 3 + 5 + 3 + 3 + 7
    assert CalendarDay.objects.filter(date__year=2025, kind="workday").count() == 5
    assert CalendarDay.objects.filter(date__year=2026, kind="workday").count() == 6


def test_every_day_of_2025_and_2026_matches_the_notices(db):
    cal = WorkCalendar()
    for d in _span(D(2025, 1, 1), D(2026, 12, 31)):
        assert cal.is_working_day(d) == reference_is_working_day(d), d


def test_load_official_calendars_is_idempotent(db):
    before = snapshot()
    assert do_load_official_calendars() == []
    assert snapshot() == before
    # Even forced, an identical schedule is not rewritten and nothing is audited.
    results = do_load_official_calendars(replace=True)
    assert [r.changed for r in results] == [False, False]
    assert snapshot() == before


def test_load_official_calendars_restores_a_missing_year_and_keeps_edited_ones(db):
    CalendarYear.objects.filter(year=2026).delete()
    CalendarDay.objects.filter(date=D(2025, 1, 1)).update(name="改过的名称")
    results = do_load_official_calendars()
    assert [(r.year, r.created) for r in results] == [(2026, True)]
    assert CalendarDay.objects.get(date=D(2025, 1, 1)).name == "改过的名称"  # an admin's edit survives
    assert AuditEntry.objects.filter(action="calendar.import").latest("id").changes["year"] == 2026


def test_shipped_files_round_trip_through_the_text_format(db):
    files = official_calendar_files()
    assert [f.name for f in files] == ["2025.txt", "2026.txt"]
    for cy in CalendarYear.objects.all():
        text = format_calendar_text(stored_schedule(cy))
        [again] = parse_calendar_text(text)
        assert again.as_set() == stored_schedule(cy).as_set()
        assert again.source == cy.source


# --- selectors: DOMAIN.md §8 cases ---------------------------------------------------------------------


def test_domain_cases(db):
    assert add_working_days(D(2026, 2, 13), 1) == D(2026, 2, 14)  # 调休 Saturday
    assert is_working_day(D(2026, 2, 23)) is False  # a Monday inside 春节
    assert is_working_day(D(2026, 2, 14)) is True
    # 10/1–10/7 are holidays, 10/8 and 10/9 (Thu, Fri) work, 10/10 (Sat) is a 调休 working day, 10/12 Monday.
    assert working_days_between(D(2026, 9, 30), D(2026, 10, 12)) == 4
    assert working_days_between(D(2026, 9, 30), D(2026, 10, 7)) == 0
    assert working_days_between(D(2026, 10, 9), D(2026, 10, 10)) == 1


def test_add_working_days_edges(db):
    assert add_working_days(D(2026, 2, 15), 0) == D(2026, 2, 15)  # n == 0 returns d even on a holiday
    assert add_working_days(D(2026, 2, 14), 1) == D(2026, 2, 24)  # over the whole 春节
    assert add_working_days(D(2025, 12, 31), 1) == D(2026, 1, 4)  # across the year into 元旦 + 调休 Sunday
    assert next_working_day(D(2026, 10, 3)) == D(2026, 10, 8)
    assert next_working_day(D(2026, 10, 8)) == D(2026, 10, 8)
    with pytest.raises(ValueError):
        add_working_days(D(2026, 1, 5), -1)


def test_working_days_between_is_antisymmetric(db):
    assert working_days_between(D(2026, 10, 12), D(2026, 9, 30)) == -4
    assert working_days_between(D(2026, 3, 2), D(2026, 3, 2)) == 0


def test_one_query_per_year(db, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert add_working_days(D(2026, 1, 1), 200) > D(2026, 10, 1)
    with django_assert_num_queries(2):
        working_days_between(D(2025, 1, 1), D(2026, 12, 31))


def test_unknown_year_is_weekends_only_with_a_warning(db, caplog):
    assert not is_year_known(2031)
    with caplog.at_level(logging.WARNING, logger="oa.selectors.calendar"):
        assert is_working_day(D(2031, 1, 1)) is True  # 元旦, but 2031 is not loaded: a plain Wednesday
        assert is_working_day(D(2031, 1, 4)) is False  # Saturday
        assert add_working_days(D(2031, 1, 3), 1) == D(2031, 1, 6)
        assert working_days_between(D(2031, 1, 1), D(2031, 1, 31)) == 22
    assert any("2031年" in r.getMessage() and "仅周末" in r.getMessage() for r in caplog.records)
    warnings = calendar_warnings([2025, 2026, 2031])
    assert len(warnings) == 1 and "2031年" in warnings[0]
    assert calendar_warnings(years_spanned(D(2026, 12, 1), D(2027, 1, 15)))[0].startswith("2027年")


def test_a_known_year_without_days_is_known(db):
    CalendarYear.objects.create(year=2032)
    assert is_year_known(2032)
    assert WorkCalendar().special_days(2032) == {}
    assert calendar_warnings([2032]) == []


# --- selectors: properties -----------------------------------------------------------------------------

dates = st.dates(min_value=D(2024, 10, 1), max_value=D(2027, 3, 31))
counts = st.integers(min_value=0, max_value=80)
relaxed = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@relaxed
@given(d=dates, n=counts)
def test_working_days_between_inverts_add_working_days(db, d, n):
    cal = WorkCalendar()
    end = cal.add_working_days(d, n)
    assert cal.working_days_between(d, end) == n
    assert working_days_between(d, add_working_days(d, n)) == n
    if n:
        assert cal.is_working_day(end)
        # The n-th working day: the day before it still counts only n − 1.
        assert cal.working_days_between(d, end - ONE) == n - 1


@relaxed
@given(d=dates, n=counts)
def test_add_working_days_is_strictly_increasing(db, d, n):
    cal = WorkCalendar()
    assert cal.add_working_days(d, n + 1) > cal.add_working_days(d, n) >= d


@relaxed
@given(a=dates, b=dates, c=dates)
def test_working_days_between_is_monotone_and_additive(db, a, b, c):
    cal = WorkCalendar()
    lo, hi = sorted([b, c])
    assert cal.working_days_between(a, lo) <= cal.working_days_between(a, hi)
    assert cal.working_days_between(a, c) == cal.working_days_between(a, b) + cal.working_days_between(b, c)
    assert cal.working_days_between(a, b) == -cal.working_days_between(b, a)


@relaxed
@given(d=dates)
def test_working_day_rule(db, d):
    kind = (WorkCalendar().special_days(d.year) or {}).get(d)
    expected = kind == "workday" or (kind is None and d.weekday() < 5)
    assert is_working_day(d) == expected


# --- import: format ------------------------------------------------------------------------------------

BAD = """# 2027 年安排（故意写错）
年份 2027 依据 测试通知
2026-02-30 放假 错误日期
2027-01-01..2027-01-03 休息 元旦
2027-02-10..2027-02-06 放假 春节
2026-12-31 放假 跨年
2027-03-03 上班 周三调休
2027-05-01..2027-05-05 放假 劳动节
2027-05-03 放假 劳动节
"""


def test_malformed_file_reports_every_error_with_its_line():
    with pytest.raises(CalendarFormatError) as info:
        parse_calendar_text(BAD)
    messages = [str(e) for e in info.value.errors]
    assert messages == [
        "第3行：日期“2026-02-30”无效",
        "第4行：类型“休息”无效，应为“放假”或“上班”",
        "第5行：结束日期“2027-02-06”早于开始日期“2027-02-10”",
        "第6行：日期“2026-12-31”不在2027年内",
        "第7行：“2027-03-03”是星期三，本来就是工作日，不能标为调休上班",
        "第9行：日期“2027-05-03”与第8行重复",
    ]


@pytest.mark.parametrize(
    ("text", "year", "message"),
    [
        ("2027-01-01 放假 元旦\n", None, "第1行：缺少年份行"),
        ("年份 二〇二七\n2027-01-01 放假\n", None, "第1行：年份行格式应为"),
        ("年份 2027\n年份 2027\n2027-01-01 放假\n", None, "第2行：2027年重复声明"),
        ("年份 2027\n2027-01-01\n", None, "第2行：应为“日期 放假|上班 名称”"),
        ("年份 2027\n2027-1-1x 放假\n", None, "第2行：日期“2027-1-1x”无效"),
        ("年份 2027\n2027-01-01..2027-03-01 放假\n", None, "第2行：日期范围超过31天"),
        ("年份 2027\n", None, "第1行：2027年没有列出任何放假或上班日期"),
        ("# 只有注释\n", None, "文件中没有任何日历内容"),
        ("年份 2027\n2027-01-01 放假\n", 2028, "文件中没有2028年的安排"),
    ],
)
def test_format_errors(text, year, message):
    with pytest.raises(CalendarFormatError) as info:
        parse_calendar_text(text, year=year)
    assert str(info.value.errors[0]).startswith(message)


def test_format_details():
    text = "\ufeff年份 2027 依据 某通知  # 行尾注释\n\n2027-01-01 放假 元旦\n2027-02-06..2027-02-07 上班\n"
    [schedule] = parse_calendar_text(text)
    assert schedule.year == 2027 and schedule.source == "某通知"
    assert [(d.date, d.kind, d.name, d.line) for d in schedule.days] == [
        (D(2027, 1, 1), "holiday", "元旦", 3),
        (D(2027, 2, 6), "workday", "", 4),
        (D(2027, 2, 7), "workday", "", 4),
    ]
    # Without a header, --year says which year the lines belong to.
    [schedule] = parse_calendar_text("2027-01-01 放假 元旦\n", year=2027)
    assert schedule.year == 2027 and len(schedule.days) == 1
    # With several sections, --year picks one.
    both = "年份 2027\n2027-01-01 放假\n年份 2028\n2028-01-01 放假\n"
    assert [s.year for s in parse_calendar_text(both)] == [2027, 2028]
    assert [s.year for s in parse_calendar_text(both, year=2028)] == [2028]


# --- import: command -----------------------------------------------------------------------------------

GOOD_2027 = """# 测试用 2027 年安排（虚构）
年份 2027 依据 测试通知〔2026〕1号
2027-01-01..2027-01-03 放假 元旦
2027-02-06..2027-02-13 放假 春节
2027-02-14             上班 春节调休
"""


def write(tmp_path: Path, text: str, name: str = "holidays.txt") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_command_rejects_a_malformed_file_and_imports_nothing(db, tmp_path, capsys):
    before = snapshot()
    with pytest.raises(CommandError, match="6 处错误，未导入任何内容"):
        call_command("import_holidays", write(tmp_path, BAD))
    err = capsys.readouterr().err
    assert "第3行：日期“2026-02-30”无效" in err
    assert "第9行：日期“2027-05-03”与第8行重复" in err
    assert snapshot() == before
    assert not is_year_known(2027)


def test_command_imports_a_good_file(db, tmp_path, capsys):
    call_command("import_holidays", write(tmp_path, GOOD_2027))
    assert "2027年新增：放假 11 天，调休上班 1 天" in capsys.readouterr().out
    cy = CalendarYear.objects.get(year=2027)
    assert cy.source == "测试通知〔2026〕1号"
    assert cy.days.count() == 12
    assert add_working_days(D(2027, 2, 5), 1) == D(2027, 2, 14)
    entry = AuditEntry.objects.filter(action="calendar.import").latest("id")
    assert entry.object_id == str(cy.pk)
    assert entry.changes["holidays"] == 11 and entry.changes["workdays"] == 1
    assert entry.changes["replaced"] is False


def test_command_needs_replace_to_overwrite_a_year(db, tmp_path):
    revised = "年份 2026 依据 修订\n2026-01-01 放假 元旦\n2026-01-04 上班 元旦调休\n"
    path = write(tmp_path, revised)
    before = snapshot()
    with pytest.raises(CommandError, match=r"2026年的日历已存在.*--replace"):
        call_command("import_holidays", path)
    assert snapshot() == before

    audits = AuditEntry.objects.filter(action="calendar.import").count()
    call_command("import_holidays", path, replace=True)
    assert list(CalendarDay.objects.filter(date__year=2026).values_list("date", flat=True)) == [
        D(2026, 1, 1), D(2026, 1, 4),
    ]
    assert CalendarDay.objects.filter(date__year=2025).count() == 33  # the other year is untouched
    assert AuditEntry.objects.filter(action="calendar.import").count() == audits + 1
    entry = AuditEntry.objects.filter(action="calendar.import").latest("id")
    assert entry.changes["replaced"] is True and entry.changes["days_before"] == 39


def test_command_year_option(db, tmp_path):
    call_command("import_holidays", write(tmp_path, "2027-01-01 放假 元旦\n"), year=2027)
    assert CalendarYear.objects.get(year=2027).days.count() == 1
    two = "年份 2028\n2028-01-01 放假\n年份 2029\n2029-01-01 放假\n"
    call_command("import_holidays", write(tmp_path, two, "two.txt"), year=2029)
    assert is_year_known(2029) and not is_year_known(2028)


def test_importing_several_years_is_all_or_nothing(db):
    text = "年份 2027\n2027-01-01 放假\n年份 2026\n2026-01-01 放假\n"  # 2026 exists: needs replace
    before = snapshot()
    with pytest.raises(CalendarImportError):
        do_import_calendar_text(actor=None, text=text)
    assert snapshot() == before


def test_command_missing_file(db):
    with pytest.raises(CommandError, match="找不到文件"):
        call_command("import_holidays", "/nonexistent/holidays.txt")


# --- admin ---------------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(db, client):
    from oa.models import Person

    admin = Person.objects.create_superuser(username="caladmin", password="x-Unused-0", name="日历管理员")
    Person.objects.filter(pk=admin.pk).update(must_change_password=False)
    login(admin, otp=True, client=client)  # the superuser's Django admin asks for the second factor
    client.admin = admin
    return client


def test_admin_pages(admin_client):
    cy = CalendarYear.objects.get(year=2026)
    day = CalendarDay.objects.get(date=D(2026, 2, 14))
    for url in [
        reverse("admin:oa_calendaryear_changelist"),
        reverse("admin:oa_calendaryear_add"),
        reverse("admin:oa_calendaryear_change", args=[cy.pk]),
        reverse("admin:oa_calendaryear_import"),
        reverse("admin:oa_calendarday_changelist"),
        reverse("admin:oa_calendarday_add"),
        reverse("admin:oa_calendarday_change", args=[day.pk]),
    ]:
        response = admin_client.get(url)
        assert response.status_code == 200, url
    changelist = admin_client.get(reverse("admin:oa_calendaryear_changelist")).content.decode()
    assert "导入节假日安排" in changelist
    assert "国办发明电〔2024〕12号" in changelist


def _inline(prefix: str, rows: list[dict], initial: int = 0) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{i}-{key}"] = value
    return data


def test_admin_add_year_with_days_goes_through_the_actions(admin_client):
    audits = AuditEntry.objects.filter(action="calendar.edit").count()
    data = {"year": "2027", "source": "测试通知"} | _inline(
        "days",
        [
            {"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
            {"date": "2027-02-14", "kind": "workday", "name": "春节调休"},
        ],
    )
    response = admin_client.post(reverse("admin:oa_calendaryear_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    cy = CalendarYear.objects.get(year=2027)
    assert list(cy.days.values_list("date", "kind")) == [(D(2027, 1, 1), "holiday"), (D(2027, 2, 14), "workday")]
    # One audit entry for the year and one per day, each naming the administrator.
    new = AuditEntry.objects.filter(action="calendar.edit").order_by("id")[audits:]
    assert [e.actor_id for e in new] == [admin_client.admin.pk] * 3


def test_a_year_out_of_range_is_refused_and_shown_on_the_admin_form(admin_client):
    with pytest.raises(Refusal) as exc:
        do_save_calendar_year(actor=None, year=1999, source="")
    assert (exc.value.code, exc.value.message) == ("bad_year", "年份应在2000到2100之间")
    response = admin_client.post(reverse("admin:oa_calendaryear_add"), {"year": "1999", "source": ""} | _inline(
        "days", []))
    assert response.status_code == 200  # the form again, not a refusal page or a 500
    assert "年份应在2000到2100之间" in response.content.decode()
    assert not CalendarYear.objects.filter(year=1999).exists()


def test_admin_rejects_a_weekday_marked_workday(admin_client):
    data = {"year": "2027", "source": ""} | _inline(
        "days", [{"date": "2027-03-03", "kind": "workday", "name": ""}]
    )
    response = admin_client.post(reverse("admin:oa_calendaryear_add"), data)
    assert response.status_code == 200
    assert "星期三，本来就是工作日" in response.content.decode()
    assert not is_year_known(2027)


def test_admin_edit_and_delete_days(admin_client):
    cy = CalendarYear.objects.get(year=2026)
    days = list(cy.days.order_by("date"))
    rows = [{"id": str(d.pk), "calendar_year": str(cy.pk), "date": d.date.isoformat(), "kind": d.kind,
             "name": d.name} for d in days]
    rows[0]["DELETE"] = "on"  # 2026-01-01 元旦 goes
    rows[1]["name"] = "元旦假期"  # renamed
    data = {"source": cy.source} | _inline("days", rows, initial=len(rows))
    response = admin_client.post(reverse("admin:oa_calendaryear_change", args=[cy.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not CalendarDay.objects.filter(date=D(2026, 1, 1)).exists()
    assert CalendarDay.objects.get(date=D(2026, 1, 2)).name == "元旦假期"
    assert is_working_day(D(2026, 1, 1))

    day = CalendarDay.objects.get(date=D(2026, 2, 14))
    response = admin_client.post(reverse("admin:oa_calendarday_delete", args=[day.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not is_working_day(D(2026, 2, 14))
    last = AuditEntry.objects.filter(action="calendar.edit").latest("id")
    assert last.changes["new"] is None and last.changes["date"] == "2026-02-14"


def test_admin_import_page(admin_client):
    url = reverse("admin:oa_calendaryear_import")
    before = snapshot()
    response = admin_client.post(url, {"content": BAD})
    assert response.status_code == 200
    page = response.content.decode()
    assert "第3行：日期“2026-02-30”无效" in page and "未导入任何内容" in page
    assert snapshot() == before

    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("2027.txt", GOOD_2027.encode("utf-8"), content_type="text/plain")
    response = admin_client.post(url, {"file": upload})
    assert response.status_code == 302
    assert CalendarYear.objects.get(year=2027).days.count() == 12
    assert AuditEntry.objects.filter(action="calendar.import").latest("id").actor_id == admin_client.admin.pk


def test_admin_actions_export_and_reload(admin_client):
    cy = CalendarYear.objects.get(year=2026)
    url = reverse("admin:oa_calendaryear_changelist")
    response = admin_client.post(url, {"action": "export_text", "_selected_action": [cy.pk]})
    assert response.status_code == 200
    text = response.content.decode()
    assert "2026-02-15..2026-02-23 放假 春节" in text
    [again] = parse_calendar_text(text)
    assert again.as_set() == stored_schedule(cy).as_set()

    CalendarDay.objects.filter(date__year=2026).delete()
    response = admin_client.post(url, {"action": "reload_official", "_selected_action": [cy.pk]})
    assert response.status_code == 302
    assert CalendarDay.objects.filter(date__year=2026).count() == 39
