"""考核评价 一站通 (issue 16 point 5, docs/assessment.md): scores recomputed from fixture flows — 督办 unit tasks, 发文/收文
steps, 零跑动 applications — match a hand count; weights validated to sum to 100; the total redistributes the weight
of a source with no data; every score drills down to its records; the Excel export reads back the same numbers."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from documents.actions.body import check_save_body
from documents.actions.documents import do_create_document
from oa.models import Agency, AuditEntry, Department, Person
from oa.refusals import Refusal
from oa.scores import SourceScore, registered_sources
from supervision import actions as act
from supervision.assessment.actions import check_save_weights
from supervision.assessment.models import AssessmentWeight
from supervision.assessment.scoring import assess, combine, default_weights, weights_in_force
from tests.clients import login
from tests.issued import BODY, ensure_office_seal
from tests.services_helpers import item, load_services, open_task
from tests.test_receipt import open_task as receipt_task
from tests.test_receipt import register_fields, step
from tests.test_supervision import _handling_item, on
from workflows.actions.issuance import (
    StartOptions,
    StepInput,
    check_perform_issuance_step,
    check_start_issuance,
)
from workflows.issuance.flows import IssuanceFlow
from workflows.models import DistributionRecipient
from workflows.receipt.flows import ReceiptFlow
from workflows.services.actions import check_rate_application
from workflows.services.models import ServiceApplication

D = dt.date
SEPT = {"start": "2026-09-01", "end": "2026-09-30"}


def _agency(short: str) -> Agency:
    return Agency.objects.get(short_name=short)


def _supervision_fixture(cast) -> None:
    """区财政局 leads three items due in September: one reported on time, one reported late, one still open."""
    on_time = _handling_item(cast, deadline="2026-09-30", assist_agencies=[], title="按时办结的事项")
    late = _handling_item(cast, deadline="2026-09-30", assist_agencies=[], title="逾期办结的事项")
    _handling_item(cast, deadline="2026-09-30", assist_agencies=[], title="尚未办结的事项")
    _handling_item(cast, deadline="2026-11-30", assist_agencies=[], title="十一月到期的事项")  # another period
    with on(D(2026, 9, 29)):
        act.check_submit_report(cast.finance04, on_time.units.get(), text="已完成")
        act.check_review_report(cast.zhaolei, on_time.units.get(), approve=True)
    with on(D(2026, 10, 9)):
        act.check_submit_report(cast.finance04, late.units.get(), text="已完成（逾期）")
        act.check_review_report(cast.zhaolei, late.units.get(), approve=True)


def _issue_to(recipient: Agency, title: str):
    """tests.issued.issue_to, each step done by whoever holds it on the travelled-to day (the demo's 委托 of 王芳's
    发文 work to 李娜 starts on the real day the demo loaded, so in September 王芳 signs herself)."""
    ensure_office_seal()
    zhangwei = Person.objects.get(username="zhangwei")
    office = Agency.objects.get(doc_code="揭东府办")
    doc = do_create_document(actor=zhangwei, agency=office, department=Department.objects.get(
        agency=office, name="秘书科"), title=title, doc_type="han", main_recipients=[recipient.name])
    check_save_body(zhangwei, doc, BODY, if_match=None)
    process = check_start_issuance(zhangwei, doc, StartOptions())
    flow = IssuanceFlow
    for node, decision, extra in [
        (flow.dept_review, "agree", {}), (flow.office_check, "agree", {}), (flow.signoff, "agree", {}),
        (flow.recheck, "agree", {}), (flow.register, "done", {}), (flow.typeset, "done", {}),
        (flow.seal, "done", {}), (flow.distribute, "done", {"recipients": [(recipient.pk, "main")]}),
    ]:
        task = Task.objects.get(process=process, flow_task=node, status__in=[STATUS.ASSIGNED, STATUS.STARTED])
        check_perform_issuance_step(task.owner, task, StepInput(
            decision=decision, opinion="同意。" if decision == "agree" else "", otp_verified=True, **extra))
    return doc


def _documents_fixture(cast) -> None:
    """区府办 issues a 函 on 09-15 (its eight human steps all done that day, each within its limit); 区财政局 signs
    the 收文 on 09-18 (limit 1 working day from 09-15: late) and registers it the same day (on time)."""
    finance = _agency("区财政局")
    with on(D(2026, 9, 15)):
        doc = _issue_to(finance, "关于报送考核材料的函")
    incoming = DistributionRecipient.objects.get(document=doc, agency=finance).incoming
    with on(D(2026, 9, 18)):
        clerk = login(cast.finance05, otp=True)
        assert step(clerk, receipt_task(incoming, ReceiptFlow.sign), "sign", copies=1).status_code == 302
        incoming.refresh_from_db()
        assert step(clerk, receipt_task(incoming, ReceiptFlow.register), "register",
                    **register_fields(incoming)).status_code == 302


def _done_application(cast, purpose: str, *, amend: bool, day: dt.date) -> ServiceApplication:
    with on(day):
        zhangwei, xuli, lina = login(cast.zhangwei), login(cast.xuli), login(cast.lina)
        zhangwei.post(f"/services/items/{item('income_cert').pk}/apply", {"purpose": purpose})
        application = ServiceApplication.objects.get(form__purpose=purpose)
        xuli.post(f"/services/tasks/{open_task(application).pk}/", {"form": "decide", "decision": "accept"})
        if amend:
            lina.post(f"/services/tasks/{open_task(application).pk}/", {"form": "return", "reason": "写明用途"})
            zhangwei.post(f"/services/tasks/{open_task(application).pk}/",
                          {"form": "amend", "purpose": purpose + "（补）"})
        lina.post(f"/services/tasks/{open_task(application).pk}/", {"form": "decide", "decision": "agree"})
    application.refresh_from_db()
    assert application.status == ServiceApplication.Status.DONE
    return application


def _services_fixture(cast) -> None:
    """区府办 (综合科 is the 主管部门 of 收入证明): two applications done in September, one after a 补正; rated 5 and 2."""
    load_services()
    first = _done_application(cast, "贷款", amend=False, day=D(2026, 9, 16))
    second = _done_application(cast, "签证", amend=True, day=D(2026, 9, 17))
    with on(D(2026, 9, 21)):
        check_rate_application(cast.zhangwei, first, 5, "很快")
        check_rate_application(cast.zhangwei, second, 2, "要补材料")


def test_scores_from_fixture_flows_match_a_hand_count(cast):
    _supervision_fixture(cast)
    _documents_fixture(cast)
    _services_fixture(cast)
    finance, office, edu = _agency("区财政局"), _agency("区府办"), _agency("区教育局")
    with on(D(2026, 10, 12)):
        by_key = {s.key: s.scores([finance.pk, office.pk, edu.pk], D(2026, 9, 1), D(2026, 9, 30))
                  for s in registered_sources()}
        # 督办: 区财政局 had three tasks due in September (the November one is not counted): 1 on time of 3.
        assert (by_key["supervision"][finance.pk].numerator, by_key["supervision"][finance.pk].denominator) == (1, 3)
        assert by_key["supervision"][finance.pk].value == 33.3
        assert by_key["supervision"][edu.pk].value is None  # nothing due: 无数据
        # 办文: 区府办's 发文 steps 部门负责人审核, 核稿, 签发, 复核, 登记, 套红排版, 用印, 分发 — 8 of 8 on time;
        # 区财政局's 收文 签收 late and 登记 on time — 1 of 2.
        assert (by_key["documents"][office.pk].numerator, by_key["documents"][office.pk].denominator) == (8, 8)
        assert (by_key["documents"][finance.pk].numerator, by_key["documents"][finance.pk].denominator) == (1, 2)
        assert by_key["documents"][finance.pk].value == 50.0
        # 零跑动: 区府办 finished two applications, one without 补正 (50 %); rated 5 and 2 → one 好评 (50 %).
        assert (by_key["services"][office.pk].numerator, by_key["services"][office.pk].denominator) == (1, 2)
        assert (by_key["services_rating"][office.pk].numerator,
                by_key["services_rating"][office.pk].denominator) == (1, 2)
        assert by_key["services"][finance.pk].value is None

        # October: the late 督办 report was in October but its deadline was in September — counted once, there.
        october = registered_sources()[0].scores([finance.pk], D(2026, 10, 1), D(2026, 10, 31))[finance.pk]
        assert october.denominator == 0 and october.value is None

        # Equal default weights (4 sources → 25 each); 区财政局 has data for 督办 (33.3) and 办文 (50.0) only, so
        # their weights are redistributed: (25·33.3 + 25·50.0) / 50 = 41.65 → 41.6 or 41.7 by rounding of halves.
        weights, own = weights_in_force(_agency("区府办").pk)
        assert weights == default_weights([s.key for s in registered_sources()]) and not own
        rows = {r.agency.pk: r for r in assess([finance, office, edu], D(2026, 9, 1), D(2026, 9, 30), weights)}
        assert rows[finance.pk].total == round((33.3 + 50.0) / 2, 1)
        # 区府办: 办文 100, 零跑动 50 and 50, no 督办 → (100 + 50 + 50) / 3 = 66.7.
        assert rows[office.pk].total == 66.7
        assert rows[edu.pk].total is None and rows[edu.pk].rank is None
        assert rows[office.pk].rank == 1 and rows[finance.pk].rank == 2

        # The pages: the 督查员 sees the ranking, the unit page and the records behind each number.
        supervisor = login(cast.zhaolei)
        page = supervisor.get("/supervision/assessment/", SEPT).content.decode()
        assert "区财政局" in page and "33.3（1/3）" in page and "无数据" in page
        unit_page = supervisor.get(f"/supervision/assessment/units/{finance.pk}/", SEPT).content.decode()
        drill = by_key["supervision"][finance.pk].drill_url
        assert drill.replace("&", "&amp;") in unit_page
        records = supervisor.get(drill).content.decode()
        assert records.count("badge-success") == 1 and records.count("badge-danger") == 2
        assert "按时办结的事项" in records and "尚未办结的事项" in records and "十一月到期的事项" not in records
        docs = supervisor.get(by_key["documents"][finance.pk].drill_url).content.decode()
        assert docs.count("badge-success") == 1 and docs.count("badge-danger") == 1 and "签收" in docs
        assert "关于报送考核材料的函" not in docs  # counted, not read: titles stay with the document's readers

        # Excel: computed values, read back.
        export = supervisor.get("/supervision/assessment/export.xlsx", SEPT)
        assert export["Content-Disposition"].startswith("attachment")
        sheet = load_workbook(io.BytesIO(export.content))["考核评价"]
        values = list(sheet.iter_rows(values_only=True))
        header = values[2]
        assert header[1] == "单位" and header[-1] == "综合得分"
        body = {r[1]: r for r in values[3:]}
        finance_row = body[finance.name]
        assert finance_row[2] == 33.3 and finance_row[3] == "1/3" and finance_row[4] == 50.0
        assert finance_row[6] == "无数据" and finance_row[-1] == rows[finance.pk].total
        assert body[office.name][0] == 1 and body[office.name][-1] == 66.7
        assert body[edu.name][-1] == "无数据"


def test_weights_sum_to_100_and_only_the_supervisor_sets_them(cast):
    keys = [s.key for s in registered_sources()]
    with pytest.raises(Refusal) as exc:
        check_save_weights(cast.zhaolei, {k: 30 for k in keys})
    assert exc.value.code == "weights_sum" and "须为 100" in exc.value.message
    with pytest.raises(Refusal) as exc:
        check_save_weights(cast.zhaolei, {**{k: 25 for k in keys}, keys[0]: "二十五"})
    assert exc.value.code == "weight_invalid"
    assert not AssessmentWeight.objects.exists()

    response = login(cast.zhaolei).post("/supervision/assessment/weights/", {f"w_{k}": 10 for k in keys})
    assert response.status_code == 400 and "各项权重之和须为 100" in response.content.decode()
    chosen = dict(zip(keys, [40, 30, 20, 10], strict=False)) if len(keys) == 4 else default_weights(keys)
    response = login(cast.zhaolei).post("/supervision/assessment/weights/", {f"w_{k}": v for k, v in chosen.items()})
    assert response.status_code == 302
    assert weights_in_force(_agency("区府办").pk) == (chosen, True)
    assert AuditEntry.objects.filter(action="supervision.assessment_weights").count() == 1
    # A unit's staff may neither set weights nor see the ranking.
    assert login(cast.finance04).get("/supervision/assessment/weights/").status_code == 403
    assert login(cast.finance04).get("/supervision/assessment/").status_code == 404


def test_a_unit_leader_sees_only_the_own_unit(cast):
    leader = login(cast.finance01, otp=True)
    page = leader.get("/supervision/assessment/", SEPT)
    assert page.status_code == 200
    assert "区财政局" in page.content.decode() and "区教育局" not in page.content.decode()
    edu = _agency("区教育局")
    assert leader.get(f"/supervision/assessment/units/{edu.pk}/", SEPT).status_code == 404
    assert leader.get(f"/supervision/assessment/records/supervision/?agency={edu.pk}").status_code == 404
    bad = leader.get("/supervision/assessment/", {"start": "2026-09-30", "end": "2026-09-01"})
    assert bad.status_code == 400 and "结束日期不能早于开始日期" in bad.content.decode()


def test_another_source_plugs_in_and_redistribution(cast):
    class Fixed:
        key, label = "extra_test", "另一指标"

        def scores(self, agency_ids, start, end):
            return {a: SourceScore(80.0, 4, 5, "/information/") for a in agency_ids}

    from oa import scores as sources

    before = list(sources.SOURCES)
    try:
        sources.register_source(Fixed())
        with pytest.raises(ValueError):
            sources.register_source(Fixed())
        weights, own = weights_in_force(None)
        assert sum(weights.values()) == 100 and {"information", "extra_test"} <= set(weights) and not own
        finance = _agency("区财政局")
        row = assess([finance], D(2026, 9, 1), D(2026, 9, 30), weights)[0]
        assert row.total == 80.0  # the only source with data takes the whole weight
        assert [p.effective_weight for p in row.parts if p.source.key == "extra_test"] == [100.0]
    finally:
        sources.SOURCES[:] = before
    # combine(): weights 60/40, values 90 and None → 90; values 90 and 40 → 70.
    a, b = registered_sources()[:2]
    assert combine(finance, [(a, 60, SourceScore(90.0, 9, 10, "")), (b, 40, SourceScore(None, 0, 0, ""))]).total == 90.0
    assert combine(finance, [(a, 60, SourceScore(90.0, 9, 10, "")), (b, 40, SourceScore(40.0, 2, 5, ""))]).total == 70.0
