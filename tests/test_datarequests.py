"""报表“一张表” (issue 18 point 1, docs/datarequests.md): a request to all towns through HTTP as the demo cast, the
field catalogue and prefill across requests, 退回 and resubmit, 催报 once per round on a controlled clock, late
submissions, aggregates against hand sums, the Excel round trip and its per-cell errors, the 报表清单 gate, formulas."""

from __future__ import annotations

import datetime as dt
import io
from contextlib import contextmanager
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from oa.models import Agency, AuditEntry, Notification, WorkItem
from oa.refusals import Refusal
from supervision.datarequests import actions as act
from supervision.datarequests.excel import ImportRefused, template_xlsx
from supervision.datarequests.formulas import check_formulas, evaluate, parse_formula
from supervision.datarequests.models import Answer, CatalogField, DataRequest, RequestField, Round, Submission
from supervision.datarequests.selectors import aggregate, fields_of
from tests.clients import login

BJ = ZoneInfo("Asia/Shanghai")
D = dt.date
TOWNS = ["曲溪街道", "磐东街道", "玉湖镇"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@contextmanager
def on(day: dt.date, hour: int = 10):
    with time_machine.travel(dt.datetime(day.year, day.month, day.day, hour, tzinfo=BJ), tick=False):
        yield


def agency(short: str) -> Agency:
    return Agency.objects.get(short_name=short)


def town_clerk(cast, short: str):
    return {"曲溪街道": cast.quxi03, "磐东街道": cast.pandong03, "玉湖镇": cast.yuhu03}[short]


def redirected(response, prefix: str = "/datarequests/") -> bool:
    return response.status_code == 302 and response["Location"].startswith(prefix)


def listed_request(cast, owner, *, title: str, fields: list[act.FieldInput], towns=TOWNS, cycle="once",
                   period="2026-09", deadline_days=5) -> DataRequest:
    req = act.check_save_request(owner, None, act.RequestInput(
        title=title, cycle=cycle, period=period, deadline_days=deadline_days,
        targets=[(agency(t), None) for t in towns]))
    for f in fields:
        act.check_add_field(owner, req, f)
    act.check_apply_listing(owner, req, basis="区政府常务会议纪要〔2026〕12号")
    act.check_decide_listing(cast.zhaolei, req, approve=True)
    req.refresh_from_db()
    return req


def invest_fields() -> list[act.FieldInput]:
    return [
        act.FieldInput(code="invest", name="乡村振兴投入", unit="万元", kind="decimal", min_value="0",
                       synonyms="乡村振兴资金,振兴投入"),
        act.FieldInput(code="households", name="脱贫户数", unit="户", kind="integer", min_value="0", max_value="5000"),
        act.FieldInput(code="per", name="户均投入", unit="万元", kind="decimal", formula="invest / households"),
    ]


def submission_of(req: DataRequest, short: str) -> Submission:
    return Submission.objects.get(round__request=req, agency__short_name=short)


# --- the whole chain through HTTP ------------------------------------------------------------------------------


def test_request_to_all_towns_and_a_repeated_field_prefilled_from_an_earlier_answer(cast):
    finance = login(cast.finance04, otp=True)
    with on(D(2026, 9, 14)):
        r = finance.post("/datarequests/new/", {"title": "乡村振兴投入情况", "cycle": "once", "period": "2026-09",
                                                "deadline_days": "5", "all_towns": "on"})
        assert redirected(r), r.content.decode()[:2000]
        req = DataRequest.objects.get(title="乡村振兴投入情况")
        assert {t.agency.short_name for t in req.targets.all()} == set(TOWNS)
        for data in ({"op": "new", "code": "invest", "name": "乡村振兴投入", "unit": "万元", "kind": "decimal",
                      "min_value": "0", "required": "on", "synonyms": "振兴投入"},
                     {"op": "new", "code": "households", "name": "脱贫户数", "unit": "户", "kind": "integer",
                      "min_value": "0", "required": "on"},
                     {"op": "new", "code": "per", "name": "户均投入", "unit": "万元", "kind": "decimal",
                      "formula": "invest / households"}):
            assert redirected(finance.post(f"/datarequests/{req.pk}/fields/", data))
        assert [f.code for f in fields_of(req)] == ["invest", "households", "per"]
        assert redirected(finance.post(f"/datarequests/{req.pk}/", {"op": "apply", "basis": "区政府常务会议纪要"}))
        assert WorkItem.objects.filter(owner=cast.zhaolei, ref=act.listing_ref(req), state="open").exists()
        assert redirected(login(cast.zhaolei, otp=True).post("/datarequests/listing/", {"request": req.pk, "op": "approve"}))
        assert redirected(finance.post(f"/datarequests/{req.pk}/", {"op": "send"}))
        req.refresh_from_db()
        assert req.status == "active"
        sub = submission_of(req, "曲溪街道")
        item = WorkItem.objects.get(owner=cast.quxi03, ref=act.submission_ref(sub), state="open", box="todo")
        assert item.link == f"/datarequests/submissions/{sub.pk}/"
        town = login(cast.quxi03, otp=True)
        assert town.get(item.link).status_code == 200
        assert redirected(town.post(item.link, {"op": "submit", "f_invest": "120.5", "f_households": "50"}))
    sub.refresh_from_db()
    assert sub.status == "submitted" and not sub.late
    assert sub.values == {"invest": "120.5", "households": "50", "per": "2.41"}
    assert Answer.objects.filter(catalog__name="乡村振兴投入", agency__short_name="曲溪街道", period="2026-09",
                                 value="120.5").exists()
    assert not WorkItem.objects.filter(ref=act.submission_ref(sub), state="open").exists()
    assert Notification.objects.filter(recipient=cast.finance04, event_type="datarequest.progress",
                                       payload__submission_id=sub.pk, payload__status="submitted").exists()

    # Another office asks the same number: the catalogue shows it before the field is added, the office reuses it,
    # and 曲溪街道's answer for the same period is prefilled (and marked); the towns that never answered are not.
    edu = login(cast.edu04, otp=True)
    with on(D(2026, 9, 21)):
        assert redirected(edu.post("/datarequests/new/", {"title": "教育口乡村振兴统计", "cycle": "once",
                                                          "period": "2026-09", "deadline_days": "3",
                                                          "all_towns": "on"}))
        req2 = DataRequest.objects.get(title="教育口乡村振兴统计")
        page = edu.get(f"/datarequests/{req2.pk}/fields/", {"q": "振兴投入"}).content.decode()
        assert "乡村振兴投入" in page and "复用此指标" in page and "乡村振兴投入情况" in page  # where it is used
        catalog = CatalogField.objects.get(name="乡村振兴投入", unit="万元")
        assert redirected(edu.post(f"/datarequests/{req2.pk}/fields/", {"op": "reuse", "catalog": catalog.pk,
                                                                         "code": "zx", "required": "on"}))
        assert redirected(edu.post(f"/datarequests/{req2.pk}/fields/", {
            "op": "new", "code": "schools", "name": "村小学校数", "unit": "所", "kind": "integer", "required": "on"}))
        assert CatalogField.objects.filter(name="乡村振兴投入").count() == 1
        act.check_apply_listing(cast.edu04, req2, basis="区教育局党组会议")
        act.check_decide_listing(cast.wujing, req2, approve=True)
        assert redirected(edu.post(f"/datarequests/{req2.pk}/", {"op": "send"}))
    quxi2, pandong2 = submission_of(req2, "曲溪街道"), submission_of(req2, "磐东街道")
    assert quxi2.values.get("zx") == "120.5"
    assert quxi2.prefilled["zx"]["source"] == "乡村振兴投入情况"
    assert not pandong2.prefilled and not pandong2.values.get("zx")
    page = login(cast.quxi03, otp=True).get(f"/datarequests/submissions/{quxi2.pk}/").content.decode()
    assert "已预填" in page and 'value="120.5"' in page
    assert AuditEntry.objects.filter(action="datarequests.send", object_id=str(req2.pk)).exists()


def test_listing_page_shows_every_active_request_per_unit(cast):
    with on(D(2026, 9, 14)):
        a = listed_request(cast, cast.finance04, title="财政口报表", fields=invest_fields())
        act.check_send_request(cast.finance04, a)
        b = listed_request(cast, cast.edu04, title="教育口报表", towns=["曲溪街道"],
                           fields=[act.FieldInput(code="n", name="在校学生数", unit="人", kind="integer")])
        act.check_send_request(cast.edu04, b)
    page = login(cast.quxi04, otp=True).get("/datarequests/listing/").content.decode()
    assert "曲溪街道：2 张报表" in page and "磐东街道：1 张报表" in page
    assert "财政口报表" in page and "教育口报表" in page


# --- the 清单 gate ---------------------------------------------------------------------------------------------


def test_the_listing_refuses_an_unlisted_request(cast):
    with on(D(2026, 9, 14)):
        req = act.check_save_request(cast.finance04, None, act.RequestInput(
            title="清单外的报表", cycle="once", period="2026-09", deadline_days=5,
            targets=[(agency(t), None) for t in TOWNS]))
        act.check_add_field(cast.finance04, req, act.FieldInput(code="x", name="清单外指标", unit="个"))
        with pytest.raises(Refusal) as exc:
            act.check_send_request(cast.finance04, req)
        assert exc.value.code == "not_listed" and "清单" in exc.value.message
        r = login(cast.finance04, otp=True).post(f"/datarequests/{req.pk}/", {"op": "send"})
        assert r.status_code == 200 and "未列入区府办报表清单，不能下发" in r.content.decode()
        act.check_apply_listing(cast.finance04, req, basis="科室自定")
        with pytest.raises(Refusal) as exc:
            act.check_send_request(cast.finance04, req)  # pending is not listed either
        assert exc.value.code == "not_listed"
        with pytest.raises(Refusal):
            act.check_decide_listing(cast.zhaolei, req, approve=False, note="")  # a refusal needs its reason
        act.check_decide_listing(cast.zhaolei, req, approve=False, note="与区统计局月报重复，请复用")
        with pytest.raises(Refusal) as exc:
            act.check_send_request(cast.finance04, req)
        assert exc.value.code == "not_listed"
    req.refresh_from_db()
    assert req.status == "draft" and req.listing == "refused"
    assert not Round.objects.filter(request=req).exists() and not Submission.objects.filter(round__request=req)
    with pytest.raises(Exception):
        act.check_decide_listing(cast.finance04, req, approve=True)  # only the 区府办 清单 owner decides


# --- filling: validation, 退回, late -----------------------------------------------------------------------------


def _sent(cast, **kw) -> DataRequest:
    req = listed_request(cast, cast.finance04, title=kw.pop("title", "乡村振兴投入情况"), fields=invest_fields(), **kw)
    act.check_send_request(cast.finance04, req)
    return req


def test_value_outside_validation_refused_and_nothing_saved(cast):
    with on(D(2026, 9, 14)):
        req = _sent(cast)
        sub = submission_of(req, "磐东街道")
        before = AuditEntry.objects.count()
        with pytest.raises(act.ValuesRefused) as exc:
            act.check_save_submission(cast.pandong03, sub, {"invest": "-5", "households": "12.5"}, final=True)
        assert set(exc.value.errors) == {"invest", "households"}
        assert "“乡村振兴投入”不能小于 0万元" in exc.value.errors["invest"]
        assert "须为整数" in exc.value.errors["households"]
        with pytest.raises(act.ValuesRefused) as exc:
            act.check_save_submission(cast.pandong03, sub, {"invest": "10", "households": "9000"}, final=True)
        assert "不能大于 5000户" in exc.value.errors["households"]
        with pytest.raises(act.ValuesRefused) as exc:
            act.check_save_submission(cast.pandong03, sub, {"invest": "10"}, final=True)
        assert "必填" in exc.value.errors["households"]
        r = login(cast.pandong03, otp=True).post(f"/datarequests/submissions/{sub.pk}/", {
            "op": "submit", "f_invest": "abc", "f_households": "3"})
        assert r.status_code == 200
        assert "“乡村振兴投入”须为数字" in r.content.decode() and 'aria-invalid="true"' in r.content.decode()
    sub.refresh_from_db()
    assert sub.status == "pending" and sub.values == {} and AuditEntry.objects.count() == before
    # a draft may leave required fields empty (but not break their rules)
    with on(D(2026, 9, 15)):
        act.check_save_submission(cast.pandong03, sub, {"invest": "10"}, final=False)
    sub.refresh_from_db()
    assert sub.status == "draft" and sub.values["invest"] == "10" and sub.values["per"] == ""


def test_return_and_resubmit(cast):
    with on(D(2026, 9, 14)):
        req = _sent(cast)
        sub = submission_of(req, "玉湖镇")
        act.check_save_submission(cast.yuhu03, sub, {"invest": "80", "households": "40"}, final=True)
    with on(D(2026, 9, 15)):
        with pytest.raises(Refusal):
            act.check_return_submission(cast.finance04, sub, reason=" ")
        with pytest.raises(Exception):
            act.check_return_submission(cast.yuhu03, sub, reason="自己退回")  # only the requester returns
        r = login(cast.finance04, otp=True).post(f"/datarequests/submissions/{sub.pk}/", {
            "op": "return", "reason": "户数与民政口径不一致，请核实"})
        assert redirected(r)
    sub.refresh_from_db()
    assert sub.status == "returned" and sub.return_count == 1 and sub.values["invest"] == "80"
    item = WorkItem.objects.get(owner=cast.yuhu03, ref=act.submission_ref(sub), state="open")
    assert item.step == "填报（退回）" and "户数与民政口径不一致" in item.note
    assert AuditEntry.objects.filter(action="datarequests.return", object_id=str(sub.pk)).exists()
    page = login(cast.yuhu03, otp=True).get(f"/datarequests/submissions/{sub.pk}/").content.decode()
    assert "被退回：户数与民政口径不一致，请核实" in page
    with on(D(2026, 9, 16)):
        act.check_save_submission(cast.yuhu03, sub, {"invest": "80", "households": "32"}, final=True)
    sub.refresh_from_db()
    assert sub.status == "submitted" and sub.values["per"] == "2.5"
    assert Answer.objects.get(catalog__name="脱贫户数", agency=sub.agency, period="2026-09").value == "32"
    assert not WorkItem.objects.filter(ref=act.submission_ref(sub), state="open").exists()
    with pytest.raises(Refusal) as exc:
        act.check_save_submission(cast.yuhu03, sub, {"invest": "1", "households": "1"}, final=True)
    assert exc.value.code == "already_submitted"


def test_remind_once_per_round_and_late_submission_flagged(cast):
    from oa.scheduling import autodiscover, registered_jobs, run_job

    autodiscover()
    assert {"datarequests.remind", "datarequests.open_rounds"} <= set(registered_jobs())
    with on(D(2026, 9, 14)):  # Monday; 3 working days → due Thursday 09-17, 催报 on Wednesday 09-16
        req = _sent(cast, deadline_days=3)
        rnd = req.rounds.get()
        assert (rnd.sent_on, rnd.deadline, rnd.remind_on) == (D(2026, 9, 14), D(2026, 9, 17), D(2026, 9, 16))
        act.check_save_submission(cast.quxi03, submission_of(req, "曲溪街道"),
                                  {"invest": "1", "households": "1"}, final=True)
    with on(D(2026, 9, 15)):
        assert act.do_remind_due() == 0
    with on(D(2026, 9, 16)):
        assert act.do_remind_due() == 2  # 磐东 and 玉湖 have not submitted
        assert act.do_remind_due() == 0  # the scheduler again: nothing twice
        assert run_job("datarequests.remind") == "urged=0"
    with on(D(2026, 9, 18)):
        assert act.do_remind_due() == 0
    urged = Notification.objects.filter(event_type="work.urged", title__startswith="催报：")
    assert sorted(urged.values_list("recipient__username", flat=True)) == ["pandong03", "yuhu03"]
    assert not urged.filter(recipient=cast.quxi03).exists()
    rnd.refresh_from_db()
    assert rnd.reminded_at is not None and rnd.reminded_count == 2
    assert AuditEntry.objects.filter(action="datarequests.remind").count() == 1
    with on(D(2026, 9, 18)):  # after the deadline: accepted, flagged
        page = login(cast.pandong03, otp=True).get(f"/datarequests/submissions/{submission_of(req, '磐东街道').pk}/")
        assert "已过截止日期，仍可报送" in page.content.decode()
        sub = act.check_save_submission(cast.pandong03, submission_of(req, "磐东街道"),
                                        {"invest": "2", "households": "1"}, final=True)
    assert sub.late and sub.status == "submitted"
    assert not submission_of(req, "曲溪街道").late
    progress = login(cast.finance04, otp=True).get(f"/datarequests/{req.pk}/progress/").content.decode()
    assert "已报送 <strong>2</strong> / 3" in progress and "逾期报送" in progress


# --- aggregates and Excel --------------------------------------------------------------------------------------


ANSWERS = {"曲溪街道": ("120.5", "50"), "磐东街道": ("75.25", "30"), "玉湖镇": ("300", "120")}


def _all_submitted(cast) -> DataRequest:
    with on(D(2026, 9, 14)):
        req = _sent(cast)
        for town, (invest, households) in ANSWERS.items():
            act.check_save_submission(town_clerk(cast, town), submission_of(req, town),
                                      {"invest": invest, "households": households}, final=True)
    return req


def test_aggregate_equals_a_hand_sum_on_the_page_and_in_the_export(cast):
    req = _all_submitted(cast)
    rnd = req.rounds.get()
    _rows, aggs = aggregate(rnd, fields_of(req))
    by = {a.field.code: a for a in aggs}
    hand_invest = Decimal("120.5") + Decimal("75.25") + Decimal("300")
    assert by["invest"].total == hand_invest == Decimal("495.75")
    assert by["households"].total == 200 and by["households"].average == Decimal("66.67")
    # per-unit computed values: 2.41, 2.5083, 2.5 → the sum of what each unit reported
    assert by["per"].total == Decimal("2.41") + Decimal("2.5083") + Decimal("2.5")
    client = login(cast.finance04, otp=True)
    page = client.get(f"/datarequests/{req.pk}/rounds/{rnd.pk}/").content.decode()
    assert 'data-total="invest">495.75<' in page and "<svg" in page and "曲溪街道" in page
    assert login(cast.quxi03, otp=True).get(f"/datarequests/{req.pk}/rounds/{rnd.pk}/").status_code == 404
    r = client.get(f"/datarequests/{req.pk}/rounds/{rnd.pk}/", {"format": "xlsx"})
    assert r["Content-Type"] == XLSX and "attachment" in r["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(r.content), data_only=True)["汇总"]
    table = [row for row in sheet.iter_rows(min_row=3, values_only=True)]
    by_unit = {row[0]: row for row in table}
    assert {u for u in by_unit if u in ANSWERS} == set(ANSWERS)
    invest_col = 3
    assert sum(Decimal(str(by_unit[t][invest_col])) for t in ANSWERS) == hand_invest
    assert Decimal(str(by_unit["合计"][invest_col])) == hand_invest
    assert by_unit["合计"][invest_col + 1] == 200
    assert by_unit["曲溪街道"][invest_col + 2] == pytest.approx(2.41)  # the computed value, not a formula


def test_excel_round_trip_template_fill_import_then_submit(cast):
    with on(D(2026, 9, 14)):
        req = _sent(cast)
        sub = submission_of(req, "磐东街道")
        town = login(cast.pandong03, otp=True)
        r = town.get(f"/datarequests/submissions/{sub.pk}/template.xlsx")
        assert r.status_code == 200 and r["Content-Type"] == XLSX
        book = load_workbook(io.BytesIO(r.content))
        sheet = book["填报"]
        assert [c.value for c in sheet[1]] == ["字段代码", "指标名称", "计量单位", "填报值", "填报说明"]
        assert [sheet.cell(row=i, column=1).value for i in (2, 3, 4)] == ["invest", "households", "per"]
        sheet["D2"], sheet["D3"] = 88.8, 24
        out = io.BytesIO()
        book.save(out)
        r = town.post(f"/datarequests/submissions/{sub.pk}/", {
            "op": "import", "file": SimpleUploadedFile("磐东.xlsx", out.getvalue(), content_type=XLSX)})
        assert redirected(r), r.content.decode()[:3000]
        sub.refresh_from_db()
        assert sub.status == "draft" and sub.values == {"invest": "88.8", "households": "24", "per": "3.7"}
        # the next template carries the saved values back out
        again = load_workbook(io.BytesIO(template_xlsx(sub, fields_of(req))))["填报"]
        assert again["D2"].value == pytest.approx(88.8) and again["D3"].value == 24 and again["D4"].value == 3.7
        assert redirected(town.post(f"/datarequests/submissions/{sub.pk}/", {
            "op": "submit", "f_invest": "88.8", "f_households": "24"}))
    sub.refresh_from_db()
    assert sub.status == "submitted"
    assert AuditEntry.objects.filter(action="datarequests.save_draft", changes__source="excel").exists()


def _template_book(sub, req):
    return load_workbook(io.BytesIO(template_xlsx(sub, fields_of(req))))


def _upload(book) -> SimpleUploadedFile:
    out = io.BytesIO()
    book.save(out)
    return SimpleUploadedFile("填报.xlsx", out.getvalue(), content_type=XLSX)


def test_excel_with_wrong_columns_or_values_lists_every_cell_and_saves_nothing(cast):
    with on(D(2026, 9, 14)):
        req = _sent(cast)
        sub = submission_of(req, "玉湖镇")
        book = _template_book(sub, req)
        book["填报"]["B1"] = "名称"
        book["填报"]["D1"] = "数值"
        book["填报"]["G1"] = "备注"
        with pytest.raises(ImportRefused) as exc:
            act.check_import_submission(cast.yuhu03, sub, _upload(book))
        cells = [cell for cell, _ in exc.value.errors]
        assert cells == ["B1", "D1", "G1"]
        assert "列名应为“填报值”，实为“数值”" in dict(exc.value.errors)["D1"]

        book = _template_book(sub, req)
        sheet = book["填报"]
        sheet["D2"], sheet["D3"] = "很多", -3
        sheet["A4"] = "nosuch"
        with pytest.raises(ImportRefused) as exc:
            act.check_import_submission(cast.yuhu03, sub, _upload(book))
        errors = dict(exc.value.errors)
        assert "须为数字" in errors["D2"] and "不能小于 0户" in errors["D3"] and "未知的字段代码" in errors["A4"]

        r = login(cast.yuhu03, otp=True).post(f"/datarequests/submissions/{sub.pk}/", {"op": "import",
                                                                             "file": _upload(book)})
        page = r.content.decode()
        assert r.status_code == 200 and "<strong>D2</strong>" in page and "<strong>D3</strong>" in page
        assert "未保存任何数据" in page
        other = submission_of(req, "曲溪街道")  # a template of another unit is refused at its cell too
        with pytest.raises(ImportRefused) as exc:
            act.check_import_submission(cast.yuhu03, sub, _upload(_template_book(other, req)))
        assert exc.value.errors[0][0] == "说明!B4"
        with pytest.raises(Refusal):  # not a spreadsheet at all
            act.check_import_submission(cast.yuhu03, sub, SimpleUploadedFile("x.xlsx", b"%PDF-1.4 nothing"))
    sub.refresh_from_db()
    assert sub.status == "pending" and sub.values == {}
    assert not AuditEntry.objects.filter(action__startswith="datarequests.save", object_id=str(sub.pk)).exists()


# --- formulas and the catalogue --------------------------------------------------------------------------------


def test_formula_with_a_missing_field_is_refused_at_save(cast):
    with on(D(2026, 9, 14)):
        req = act.check_save_request(cast.finance04, None, act.RequestInput(
            title="公式测试", cycle="once", period="2026-09", deadline_days=5, targets=[(agency("曲溪街道"), None)]))
        act.check_add_field(cast.finance04, req, act.FieldInput(code="a", name="甲指标", unit="个"))
        catalog_before = CatalogField.objects.count()
        with pytest.raises(Refusal) as exc:
            act.check_add_field(cast.finance04, req, act.FieldInput(code="r", name="比率", unit="%", kind="decimal",
                                                                    formula="a / b * 100"))
        assert exc.value.code == "formula_missing_field"
        assert "引用了本表没有的字段“b”" in exc.value.message and "本表字段代码：a" in exc.value.message
        for bad, code in (("__import__('os').system('id')", "formula_invalid"), ("a ** 2", "formula_invalid"),
                          ("a.real", "formula_invalid"), ("a if a else 1", "formula_invalid"),
                          ("a + " * 40 + "a", "formula_invalid"), ("-" * 20 + "a", "formula_invalid"), ("r + 1", "formula_cycle")):
            with pytest.raises(Refusal) as exc:
                act.check_add_field(cast.finance04, req, act.FieldInput(code="r", name="比率", unit="%",
                                                                        kind="decimal", formula=bad))
            assert exc.value.code == code, bad
        r = login(cast.finance04, otp=True).post(f"/datarequests/{req.pk}/fields/", {
            "op": "new", "code": "r", "name": "比率", "unit": "%", "kind": "decimal", "formula": "a / missing"})
        assert r.status_code == 200 and "引用了本表没有的字段“missing”" in r.content.decode()
        assert CatalogField.objects.count() == catalog_before
        assert list(RequestField.objects.filter(request=req).values_list("code", flat=True)) == ["a"]
        act.check_add_field(cast.finance04, req, act.FieldInput(code="r", name="比率", unit="%", kind="decimal",
                                                                formula="（a + 1）× 2 ÷ 4"))
        with pytest.raises(Refusal) as exc:
            act.check_remove_field(cast.finance04, RequestField.objects.get(request=req, code="a"))
        assert exc.value.code == "field_in_formula"


def test_formula_evaluation_is_decimal_and_never_eval():
    tree = parse_formula("(a + b) / c - -2")
    assert evaluate(tree, {"a": Decimal("0.1"), "b": Decimal("0.2"), "c": Decimal("3")}) == Decimal("2.1")
    assert evaluate(parse_formula("a / b"), {"a": Decimal(1), "b": Decimal(0)}) is None
    assert evaluate(parse_formula("a + 1"), {"a": None}) is None
    assert check_formulas([("a", "甲", "", True), ("b", "乙", "a * 2", True), ("c", "丙", "b + a", True)]) == ["b", "c"]
    with pytest.raises(Refusal) as exc:
        check_formulas([("t", "说明", "", False), ("c", "丙", "t + 1", True)])
    assert exc.value.code == "formula_not_numeric"


def test_catalogue_refuses_a_second_field_with_the_same_meaning(cast):
    with on(D(2026, 9, 14)):
        _sent(cast)
        req = act.check_save_request(cast.edu04, None, act.RequestInput(
            title="重复指标", cycle="once", period="2026-09", deadline_days=5, targets=[(agency("玉湖镇"), None)]))
        with pytest.raises(Refusal) as exc:
            act.check_add_field(cast.edu04, req, act.FieldInput(code="x", name="乡村振兴投入", unit="万元",
                                                                kind="decimal"))
        assert exc.value.code == "catalog_exists" and "请直接复用" in exc.value.message
        page = login(cast.edu04, otp=True).get("/datarequests/catalog/", {"q": "乡村振兴资金"}).content.decode()
        assert "乡村振兴投入" in page  # found by its synonym


def test_monthly_request_opens_each_period_once(cast):
    with on(D(2026, 9, 14)):
        req = listed_request(cast, cast.finance04, title="月度财政收入", cycle="monthly", period="",
                             fields=[act.FieldInput(code="rev", name="一般公共预算收入", unit="万元", kind="decimal")])
        act.check_send_request(cast.finance04, req)
        assert act.do_open_due_rounds() == 0
        act.check_save_submission(cast.quxi03, submission_of(req, "曲溪街道"), {"rev": "10"}, final=True)
    with on(D(2026, 10, 9)):
        assert act.do_open_due_rounds() == 1
        assert act.do_open_due_rounds() == 0
    assert list(req.rounds.order_by("sent_on").values_list("period", flat=True)) == ["2026-09", "2026-10"]
    october = req.rounds.get(period="2026-10")
    assert october.submissions.count() == 3
    assert not october.submissions.get(agency__short_name="曲溪街道").prefilled  # another period: nothing reused


def test_pages_render_for_the_cast(cast):
    req = _all_submitted(cast)
    owner = login(cast.finance04, otp=True)
    for url in ("/datarequests/", "/datarequests/new/", "/datarequests/listing/", "/datarequests/catalog/",
                f"/datarequests/{req.pk}/", f"/datarequests/{req.pk}/fields/", f"/datarequests/{req.pk}/edit/"):
        r = owner.get(url)
        assert r.status_code == 200, url
    detail = owner.get(f"/datarequests/{req.pk}/").content.decode()
    assert "data-dr-progress" in detail and "datarequests/live.js" in detail and "已报送 <strong>3</strong>" in detail
    assert "报表填报" in owner.get("/").content.decode()
    town = login(cast.quxi03, otp=True)
    mine = town.get("/datarequests/").content.decode()
    assert "乡村振兴投入情况" in mine
    assert town.get(f"/datarequests/{req.pk}/progress/").status_code == 404
    assert login(cast.market04, otp=True).get(f"/datarequests/submissions/{submission_of(req, '曲溪街道').pk}/").status_code == 404
    assert login(cast.market04, otp=True).get(f"/datarequests/{req.pk}/").status_code == 404
