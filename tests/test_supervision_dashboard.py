"""督办看板, 一张表 and 月度通报 (issue 16 point 4, docs/supervision.md 看板): figures equal a hand count of fixture
tasks (average delay in working days across 中秋/国庆 and a 调休 Saturday), scope (a unit sees only its own units;
a 督查员 only their 督查室's items), drill-down lists match the numbers, the 通报 drafted as a 公文 on the 发文 flow
naming the overdue items (DOCX read back with python-docx), and the Excel export read back with openpyxl."""

from __future__ import annotations

import datetime as dt
import io
from contextlib import contextmanager
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from docx import Document

from documents.models import DocType, OfficialDocument
from oa.models import Agency, AuditEntry, Person, Role, RoleAssignment
from oa.refusals import Refusal
from oa.selectors.calendar import working_days_between
from supervision import dashboard as dash
from supervision import report
from supervision.models import Bulletin, SupervisionItem, UnitTask
from tests.clients import login

BJ = ZoneInfo("Asia/Shanghai")
D = dt.date
TODAY = D(2026, 10, 20)  # a Tuesday after 中秋 (09-25..27) and 国庆 (10-01..07); 10-10 Saturday was a working day
HOSTILE = '=HYPERLINK("http://x")<b>“落实”</b>'


@contextmanager
def on(day: dt.date, hour: int = 10):
    with time_machine.travel(dt.datetime(day.year, day.month, day.day, hour, tzinfo=BJ), tick=False):
        yield


def at(day: dt.date, hour: int = 16) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=BJ)


def agency(short: str) -> Agency:
    return Agency.objects.get(short_name=short)


_seq = iter(range(1, 1000))


def task(cast, unit: Agency, *, deadline: dt.date, source: str, done: dt.datetime | None = None, light: str = "",
         title: str | None = None, owner: Agency | None = None, status: str = "handling", supervisor=None) -> UnitTask:
    seq = next(_seq)
    office = owner or agency("区府办")
    item = SupervisionItem.objects.create(
        agency=office, year=2026, seq=seq, number=f"督〔2026〕{seq}号", title=title or f"督办事项{seq}",
        source_type=source, leader=cast.linxiaodong, supervisor=supervisor or cast.zhaolei, lead_agency=unit,
        responsible=cast.finance04, requirements="按期办结", deadline=deadline, cycle="weekly", cycle_weekday=5,
        status=("closed" if done else status), dispatched_at=at(D(2026, 9, 1)), progress=100 if done else 40)
    return UnitTask.objects.create(
        item=item, agency=unit, role="lead", handler=cast.finance04, status="done" if done else "handling",
        done_at=done, light="" if done else light, deadline=deadline, start_ord=D(2026, 9, 1).toordinal(),
        deadline_ord=deadline.toordinal(), progress=100 if done else 40)


@pytest.fixture
def tasks(cast):
    """Nine tasks of 区府办 items in three units, one 立项 not yet dispatched (never counted)."""
    f, e, m = agency("区财政局"), agency("区教育局"), agency("区市场监管局")
    t = {
        1: task(cast, f, deadline=D(2026, 9, 30), source="instruction", done=at(D(2026, 9, 29))),
        # Done at 07:00 Beijing time on 10-09, which is still 10-08 in UTC: the Beijing date counts (2 working days).
        2: task(cast, f, deadline=D(2026, 9, 30), source="instruction",
                done=dt.datetime(2026, 10, 9, 7, tzinfo=BJ)),
        3: task(cast, f, deadline=D(2026, 10, 13), source="instruction", light="red", title=HOSTILE),
        4: task(cast, e, deadline=D(2026, 9, 29), source="key_work", done=at(D(2026, 10, 10))),  # 调休 Saturday
        5: task(cast, e, deadline=D(2026, 11, 30), source="instruction", light="yellow"),
        6: task(cast, e, deadline=D(2026, 10, 15), source="npc", done=at(D(2026, 10, 15), 18)),
        8: task(cast, e, deadline=D(2026, 9, 30), source="key_work", done=at(D(2026, 10, 8))),
        9: task(cast, m, deadline=D(2026, 9, 24), source="npc", light="red", title="回复人大代表关于校园周边交通的建议"),
    }
    task(cast, f, deadline=D(2026, 9, 1), source="instruction", status="review")  # 待领导审核: not counted
    return t


YEAR = dash.Filters(D(2026, 1, 1), D(2026, 12, 31))


def test_working_days_in_sql_equal_the_calendar(tasks):
    # Hand count: 2 → (09-30, 10-09] = 10-08, 10-09; 3 → 10-14..16, 19, 20; 4 → 09-30, 10-08, 10-09, 10-10 (调休);
    # 8 → 10-08; 9 → 09-28..30, 10-08..10, 10-12..16, 10-19, 10-20.
    expected = {1: 0, 2: 2, 3: 5, 4: 4, 5: 0, 6: 0, 8: 1, 9: 13}
    with on(TODAY):
        rows = dict(dash._annotated(UnitTask.objects.all(), TODAY, dash.WorkdayCounter.load())
                    .values_list("pk", "delay_wd"))
    assert {k: rows[t.pk] for k, t in tasks.items()} == expected
    # …and the calendar itself agrees, so the SQL is the calendar, not a second opinion.
    assert working_days_between(D(2026, 9, 24), TODAY) == 13
    assert working_days_between(D(2026, 9, 29), D(2026, 10, 10)) == 4
    wd = dash.WorkdayCounter.load()
    for a, b in [(D(2026, 1, 1), D(2026, 2, 28)), (D(2025, 12, 31), D(2026, 10, 10)), (D(2026, 5, 1), D(2026, 5, 9))]:
        assert wd.py(b) - wd.py(a) == working_days_between(a, b)


def test_dashboard_figures_equal_a_hand_count(cast, tasks):
    with on(TODAY):
        board = dash.dashboard_for(cast.zhaolei, YEAR)
    units = {u.label: u for u in board.units}
    assert set(units) == {"区财政局", "区教育局", "区市场监管局"}
    f, e, m = units["区财政局"], units["区教育局"], units["区市场监管局"]
    assert (f.total, f.done, f.ontime, f.late, f.overdue, f.delay_sum) == (3, 2, 1, 1, 1, 7)
    assert (f.ontime_rate, f.average_delay, f.red) == (50.0, 3.5, 1)
    assert (e.total, e.done, e.ontime, e.late, e.overdue, e.open, e.delay_sum) == (4, 3, 1, 2, 0, 1, 5)
    assert (e.ontime_rate, e.average_delay, e.yellow) == (33.3, 2.5, 1)
    assert (m.total, m.done, m.overdue, m.ontime_rate, m.average_delay) == (1, 0, 1, None, 13.0)
    t = board.total
    assert (t.total, t.done, t.ontime, t.late, t.overdue, t.delay_sum) == (8, 5, 2, 3, 2, 25)
    assert (t.ontime_rate, t.average_delay) == (40.0, 5.0)
    sources = {s.key: s for s in board.sources}
    assert (sources["instruction"].total, sources["instruction"].ontime, sources["instruction"].overdue) == (4, 1, 1)
    assert (sources["key_work"].total, sources["key_work"].late, sources["key_work"].delay_sum) == (2, 2, 5)
    assert (sources["npc"].total, sources["npc"].overdue, sources["npc"].delay_sum) == (2, 1, 13)
    trend = {x.key: x for x in board.trend}
    assert list(trend) == [f"2026-{m:02d}" for m in range(1, 13)]
    assert (trend["2026-09"].total, trend["2026-09"].ontime, trend["2026-09"].late, trend["2026-09"].overdue) == (
        5, 1, 3, 1)
    assert (trend["2026-10"].total, trend["2026-10"].ontime, trend["2026-10"].overdue) == (2, 1, 1)
    assert trend["2026-11"].total == 1 and trend["2026-08"].total == 0
    # Filters: source, unit, light, period.
    with on(TODAY):
        assert dash.dashboard_for(cast.zhaolei, dash.Filters(YEAR.start, YEAR.end, source_type="npc")).total.total == 2
        red = dash.dashboard_for(cast.zhaolei, dash.Filters(YEAR.start, YEAR.end, light="red")).total
        assert (red.total, red.overdue) == (2, 2)
        sep = dash.dashboard_for(cast.zhaolei, dash.Filters(D(2026, 9, 1), D(2026, 9, 30))).total
        assert (sep.total, sep.done, sep.ontime) == (5, 4, 1)
        unit = dash.dashboard_for(cast.zhaolei, dash.Filters(YEAR.start, YEAR.end, unit=agency("区教育局").pk))
        assert [u.label for u in unit.units] == ["区教育局"] and unit.total.total == 4


def test_drilldown_lists_exactly_the_counted_tasks(cast, tasks):
    with on(TODAY):
        overdue = list(dash.drilldown(cast.zhaolei, dash.Filters(YEAR.start, YEAR.end, kind="overdue")))
        assert {x.pk for x in overdue} == {tasks[3].pk, tasks[9].pk}
        late_e = dash.drilldown(cast.zhaolei, dash.Filters(YEAR.start, YEAR.end, unit=agency("区教育局").pk,
                                                           kind="late"))
        assert {x.pk for x in late_e} == {tasks[4].pk, tasks[8].pk}
        assert sum(x.delay_wd for x in dash.drilldown(cast.zhaolei, dash.Filters(YEAR.start, YEAR.end,
                                                                                  kind="delayed"))) == 25
        client = login(cast.zhaolei)
        page = client.get("/supervision/dashboard/")
        assert page.status_code == 200
        html = page.content.decode()
        # Every number links to its list; the hostile title never reaches the dashboard page unescaped.
        link = "/supervision/dashboard/items/?" + urlencode(
            YEAR.__class__(YEAR.start, YEAR.end, unit=agency("区财政局").pk, kind="overdue").query())
        assert link.replace("&", "&amp;") in html
        listed = client.get(link)
        assert listed.status_code == 200
        body = listed.content.decode()
        assert "逾期未办结（1 项）" in body and "逾期 5 个工作日" in body
        assert "<b>“落实”</b>" not in body and "&lt;b&gt;“落实”&lt;/b&gt;" in body
        assert "<svg" in html and "<table" in html and "cdn" not in html.lower()


def test_scope_unit_user_and_other_supervisor(cast, tasks):
    other_root = Agency.objects.create(name="某某区人民政府办公室", short_name="外区府办", doc_code="外府办",
                                       uscc="11440000MB7777777X")
    other_unit = Agency.objects.create(name="某某区财政局", short_name="外区财政局", doc_code="外财",
                                       uscc="11440000MB7777778X", parent=other_root)
    other_sup = Person.objects.create(username="other_sup", name="外督查")
    RoleAssignment.objects.create(person=other_sup, role=Role.SUPERVISOR, agency=other_root)
    task(cast, other_unit, deadline=D(2026, 9, 30), source="other", owner=other_root, supervisor=other_sup)
    with on(TODAY):
        # 督查员 赵磊: his 督查室's items only.
        labels = {u.label for u in dash.dashboard_for(cast.zhaolei, YEAR).units}
        assert "外区财政局" not in labels and dash.dashboard_for(cast.zhaolei, YEAR).total.total == 8
        mine = dash.dashboard_for(other_sup, YEAR)
        assert [u.label for u in mine.units] == ["外区财政局"] and mine.total.total == 1
        # A 区财政局 handler: only his unit's row, and another unit's numbers answer not-found.
        finance = login(cast.finance04)
        page = finance.get("/supervision/dashboard/")
        assert page.status_code == 200
        html = page.content.decode()
        assert "区财政局" in html and "区教育局" not in html and "区市场监管局" not in html
        edu = agency("区教育局").pk
        assert finance.get(f"/supervision/dashboard/?unit={edu}").status_code == 404
        assert finance.get(f"/supervision/dashboard/items/?unit={edu}&kind=late").status_code == 404
        assert finance.get(f"/supervision/dashboard/?unit={edu}&format=xlsx").status_code == 404
        mine = dash.dashboard_for(cast.finance04, YEAR)
        assert [u.label for u in mine.units] == ["区财政局"] and mine.total.total == 3
        # Someone with no 督办 at all: no dashboard; and only 督查员 draft 通报.
        assert login(cast.zhangwei).get("/supervision/dashboard/").status_code == 403
        assert finance.get("/supervision/bulletins/").status_code == 403


def test_excel_one_sheet_read_back(cast, tasks):
    with on(TODAY):
        response = login(cast.zhaolei).get("/supervision/dashboard/?" + urlencode({**YEAR.query(), "format": "xlsx"}))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert AuditEntry.objects.filter(action="supervision.export", actor=cast.zhaolei).exists()
    book = openpyxl.load_workbook(io.BytesIO(response.content), data_only=True)
    sheet = book["一张表"]
    header = [c.value for c in sheet[4]]
    assert header[:3] == ["序号", "承办单位", "任务总数"]
    rows = {r[1]: r for r in sheet.iter_rows(min_row=5, values_only=True) if r[1]}
    col = {name: i for i, name in enumerate(header)}
    f = rows["区财政局"]
    assert (f[col["任务总数"]], f[col["已办结"]], f[col["按期办结"]], f[col["逾期未办结"]]) == (3, 2, 1, 1)
    assert (f[col["按期办结率(%)"]], f[col["平均逾期(工作日)"]], f[col["单位亮灯"]], f[col["亮灯值"]]) == (
        50.0, 3.5, "红灯", 1)
    e = rows["区教育局"]
    assert (e[col["按期办结率(%)"]], e[col["平均逾期(工作日)"]], e[col["逾期办结"]]) == (33.3, 2.5, 2)
    assert rows["区市场监管局"][col["按期办结率(%)"]] is None
    total = rows["合计"]
    assert (total[col["任务总数"]], total[col["已办结"]], total[col["逾期未办结"]], total[col["按期办结率(%)"]]) == (
        8, 5, 2, 40.0)
    # The total is a formula that also carries its computed value.
    formulas = openpyxl.load_workbook(io.BytesIO(response.content))["一张表"]
    total_row = next(r for r in formulas.iter_rows(min_row=5) if r[1].value == "合计")
    assert str(total_row[col["任务总数"]].value).startswith("=SUM(")
    # Icon-set traffic lights on the on-time rate and light columns.
    rules = [rule for rng in formulas.conditional_formatting for rule in rng.rules]
    # (3TrafficLights1 is the default icon set, which the file leaves implicit.)
    icons = sorted([float(c.val) for c in r.iconSet.cfvo] for r in rules
                   if r.type == "iconSet" and r.iconSet.iconSet in (None, "3TrafficLights1"))
    assert icons == [[0.0, 2.0, 3.0], [0.0, 70.0, 90.0]]
    items = book["事项清单"]
    listed = list(items.iter_rows(min_row=2, values_only=True))
    assert len(listed) == 8
    by_title = {r[1]: r for r in listed}
    # The hostile title is text, quoted so that no spreadsheet takes it for a formula.
    assert by_title["'" + HOSTILE][8] == 5 and by_title["'" + HOSTILE][9] == "红灯"
    assert by_title["回复人大代表关于校园周边交通的建议"][8] == 13


def test_bulletin_drafted_on_the_issuance_flow_naming_overdue_items(cast, tasks):
    with on(TODAY):
        bulletin = report.check_draft_bulletin(cast.zhaolei, 2026, 9)
        doc = OfficialDocument.objects.get(pk=bulletin.document_id)
        assert (doc.doc_type, doc.status, doc.agency.short_name) == (DocType.BULLETIN, "draft", "区府办")
        assert doc.title == "关于2026年9月督查督办事项办理情况的通报"
        blocks = doc.current_body.content["blocks"]
        texts = [b.get("text", "") for b in blocks]
        overall = next(t for t in texts if t.startswith("2026年9月到期的督办任务共"))
        assert "共5项，涉及3个承办单位" in overall and "按期办结1项、逾期办结3项，按期办结率25.0%" in overall
        assert "逾期未办结1项" in overall
        table = next(b for b in blocks if b["type"] == "table")["rows"]
        assert table[0][0] == "承办单位" and ["合计", "5", "4", "1", "25.0%", "1", "5.0"] == table[-1]
        named = [t for t in texts if "已逾期" in t]
        assert len(named) == 1 and "回复人大代表关于校园周边交通的建议" in named[0] and "已逾期13个工作日" in named[0]
        assert AuditEntry.objects.filter(action="supervision.bulletin_draft", actor=cast.zhaolei).exists()
        assert bulletin.figures["overdue_named"] == [tasks[9].pk]
        with pytest.raises(Refusal) as caught:
            report.check_draft_bulletin(cast.wujing, 2026, 9)
        assert caught.value.code == "bulletin_exists"
        # October: the month's own overdue task and September's, both named; the hostile title printed literally.
        october = report.check_draft_bulletin(cast.zhaolei, 2026, 10)
        texts = [b.get("text", "") for b in october.document.current_body.content["blocks"]]
        assert sum("已逾期" in t for t in texts) == 2 and any(HOSTILE in t for t in texts)
        # The documents engine renders the draft; python-docx reads it back.
        docx = report.render_bulletin(bulletin, "docx")
        paragraphs = [p.text for p in Document(io.BytesIO(docx)).paragraphs]
        assert any("已逾期13个工作日" in p for p in paragraphs)
        tables = Document(io.BytesIO(docx)).tables
        assert tables and tables[0].rows[0].cells[0].text == "承办单位"
        assert report.render_bulletin(bulletin, "pdf").startswith(b"%PDF-")
        docx2 = report.render_bulletin(october, "docx")
        assert any(HOSTILE in p.text for p in Document(io.BytesIO(docx2)).paragraphs)
        # 送审: the existing 发文 flow.
        with pytest.raises(Refusal) as caught:
            report.check_send_bulletin(cast.wujing, bulletin)
        assert caught.value.code == "not_drafter"
        process = report.check_send_bulletin(cast.zhaolei, bulletin)
    doc.refresh_from_db()
    assert doc.status == "in_review" and process.artifact == doc
    assert process.flow_class.__name__ == "IssuanceFlow"
    assert AuditEntry.objects.filter(action="supervision.bulletin_send").exists()


def test_bulletin_refuses_future_and_empty_months_with_nothing_written(cast, tasks):
    with on(TODAY):
        for (y, m), code, words in [((2026, 11), "bulletin_future_month", "2026年11月尚未到来"),
                                     ((2026, 3), "bulletin_no_data", "2026年3月没有到期的督办任务")]:
            with pytest.raises(Refusal) as caught:
                report.check_draft_bulletin(cast.zhaolei, y, m)
            assert caught.value.code == code and words in caught.value.message
        with pytest.raises(Refusal) as caught:
            report.check_draft_bulletin(cast.finance04, 2026, 9)
        assert caught.value.code == "not_supervisor"
    assert not Bulletin.objects.exists() and not OfficialDocument.objects.filter(doc_type=DocType.BULLETIN).exists()


def test_bulletin_pages_over_http(cast, tasks):
    with on(TODAY):
        client = login(cast.zhaolei)
        assert client.get("/supervision/bulletins/").status_code == 200
        refused = client.post("/supervision/bulletins/", {"month": "2026-12"})
        assert refused.status_code == 400 and "2026年12月尚未到来" in refused.content.decode()
        response = client.post("/supervision/bulletins/", {"month": "2026-09"})
        assert response.status_code == 302
        bulletin = Bulletin.objects.get()
        assert response["Location"] == f"/supervision/bulletins/{bulletin.pk}/"
        page = client.get(response["Location"])
        assert page.status_code == 200 and "送审" in page.content.decode()
        docx = client.get(f"/supervision/bulletins/{bulletin.pk}/draft.docx")
        assert docx.status_code == 200 and Document(io.BytesIO(docx.content)).paragraphs
        # Another 督查室's supervisor and a unit user cannot open it.
        assert login(cast.finance04).get(f"/supervision/bulletins/{bulletin.pk}/").status_code in (403, 404)
        sent = client.post(f"/supervision/bulletins/{bulletin.pk}/", {"op": "send"})
        assert sent.status_code == 302 and sent["Location"].startswith("/flows/")
