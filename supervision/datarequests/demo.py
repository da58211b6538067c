"""Demo 报表“一张表” data for the demo district (docs/datarequests.md 演示数据), run by `manage.py datarequests_demo`
(`make run`), never by the test session's load_demo, so tests start with no requests.

- 区财政局 曾静's one-off 镇街财政收支快报 for this month, answered by 曲溪街道 and 磐东街道: the catalogue now holds
  一般公共预算收入（万元） with their answers.
- 区府办 综合科 徐丽's monthly 镇街经济运行月报 to all towns, listed by 督查室 赵磊, reusing that field (so two towns see it
  prefilled): 曲溪街道 submitted on time, 磐东街道 submitted and was returned with a reason, 玉湖镇 submitted late
  after the 催报. The round "was sent" earlier: its dates are moved back after the on-time submissions, the only way
  a freshly loaded demo can show a late one (as supervision/demo.py does for overdue 督办).
- 区教育局 沈燕's 校园周边安全隐患排查统计, waiting in the 报表清单 for 吴静/赵磊 of 督查室.

Idempotent: each request is found by its title; a second run changes nothing.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from oa.models import Agency, Person
from oa.selectors.calendar import add_working_days, is_working_day
from supervision.datarequests import actions as act
from supervision.datarequests.models import CatalogField, DataRequest, Round, Submission
from supervision.datarequests.selectors import period_of

FINANCE_TITLE = "镇街财政收支快报"
MONTHLY_TITLE = "镇街经济运行月报"
PENDING_TITLE = "校园周边安全隐患排查统计"
TOWNS = ["曲溪街道", "磐东街道", "玉湖镇"]
CLERKS = {"曲溪街道": "quxi03", "磐东街道": "pandong03", "玉湖镇": "yuhu03"}
BASIS = "演示数据：区政府常务会议纪要〔2026〕12号"


def _person(username: str) -> Person:
    return Person.objects.get(username=username)


def _towns() -> list[tuple[Agency, None]]:
    return [(Agency.objects.get(short_name=t), None) for t in TOWNS]


def _sub(req: DataRequest, town: str) -> Submission:
    return Submission.objects.get(round__request=req, agency__short_name=town)


def _listed(owner: Person, data: act.RequestInput, fields: list[act.FieldInput], approver: Person) -> DataRequest:
    req = act.check_save_request(owner, None, data)
    for f in fields:
        act.check_add_field(owner, req, f)
    act.check_apply_listing(owner, req, basis=BASIS)
    return act.check_decide_listing(approver, req, approve=True)


def _finance_request(period: str) -> None:
    owner = _person("finance04")
    req = _listed(owner, act.RequestInput(
        title=FINANCE_TITLE, cycle="once", period=period, deadline_days=5, targets=_towns(),
        description="各镇（街道）报送本月一般公共预算收入和民生支出快报数。"), [
        act.FieldInput(code="revenue", name="一般公共预算收入", unit="万元", kind="decimal", min_value="0",
                       synonyms="财政收入,公共预算收入"),
        act.FieldInput(code="welfare", name="民生支出", unit="万元", kind="decimal", min_value="0"),
    ], _person("zhaolei"))
    act.check_send_request(owner, req)
    for town, revenue, welfare in (("曲溪街道", "1286.5", "842.3"), ("磐东街道", "973.2", "655.0")):
        act.check_save_submission(_person(CLERKS[town]), _sub(req, town), {"revenue": revenue, "welfare": welfare},
                                  final=True)


def _back_date(rnd: Round, today: dt.date) -> None:
    """The round was sent some working days ago and its deadline has passed (催报日 too)."""
    sent = today - dt.timedelta(days=7)
    while not is_working_day(sent) or add_working_days(sent, rnd.request.deadline_days) >= today:
        sent -= dt.timedelta(days=1)
    deadline = add_working_days(sent, rnd.request.deadline_days)
    Round.objects.filter(pk=rnd.pk).update(sent_on=sent, deadline=deadline,
                                           remind_on=add_working_days(sent, rnd.request.deadline_days - 1))


def _monthly_request() -> None:
    owner = _person("xuli")
    revenue = CatalogField.objects.get(name="一般公共预算收入", unit="万元")
    req = _listed(owner, act.RequestInput(
        title=MONTHLY_TITLE, cycle="monthly", deadline_days=5, targets=_towns(),
        description="每月初报送上月经济运行主要指标；已报过的数自动预填，核对后报送即可。"), [
        act.FieldInput(code="revenue", catalog=revenue),
        act.FieldInput(code="industry", name="规上工业增加值", unit="万元", kind="decimal", min_value="0",
                       synonyms="规模以上工业增加值"),
        act.FieldInput(code="firms", name="新增市场主体", unit="户", kind="integer", min_value="0"),
        act.FieldInput(code="accidents", name="生产安全事故", unit="起", kind="integer", min_value="0",
                       max_value="100"),
        act.FieldInput(code="per_firm", name="户均新增工业增加值", unit="万元", kind="decimal",
                       formula="industry / firms"),
    ], _person("zhaolei"))
    rnd = act.check_send_request(owner, req)
    # 曲溪街道 checks the prefilled revenue and submits on time; 磐东街道 submits with an implausible figure and is
    # returned; then the deadline passes, 催报 goes out, and 玉湖镇 submits late.
    quxi, pandong, yuhu = (_sub(req, t) for t in TOWNS)
    act.check_save_submission(_person("quxi03"), quxi, {**quxi.values, "industry": "5320", "firms": "46",
                                                         "accidents": "0"}, final=True)
    act.check_save_submission(_person("pandong03"), pandong, {**pandong.values, "industry": "41200", "firms": "38",
                                                               "accidents": "1"}, final=True)
    act.check_return_submission(owner, _sub(req, "磐东街道"),
                                reason="规上工业增加值 41200 万元是上月的 10 倍，请核实单位（万元）后重新报送。")
    today = act.today()
    _back_date(rnd, today)
    act.do_remind_due(today)
    act.check_save_submission(_person("yuhu03"), yuhu, {"revenue": "702.8", "industry": "2980", "firms": "21",
                                                        "accidents": "0"}, final=True)


def _pending_request() -> None:
    owner = _person("edu04")
    req = act.check_save_request(owner, None, act.RequestInput(
        title=PENDING_TITLE, cycle="quarterly", deadline_days=10, targets=_towns(),
        description="每季度报送辖区学校周边安全隐患排查和整改情况。"))
    for f in (act.FieldInput(code="schools", name="排查学校数", unit="所", kind="integer", min_value="0"),
              act.FieldInput(code="hazards", name="发现隐患数", unit="处", kind="integer", min_value="0"),
              act.FieldInput(code="fixed", name="已整改隐患数", unit="处", kind="integer", min_value="0"),
              act.FieldInput(code="rate", name="隐患整改率", unit="%", kind="decimal", formula="fixed / hazards * 100")):
        act.check_add_field(owner, req, f)
    act.check_apply_listing(owner, req, basis="区教育局党组会议纪要〔2026〕5号：按季度掌握校园周边安全情况")


@transaction.atomic
def do_load_datarequests_demo() -> list[str]:
    """Create the demo requests that do not exist yet; returns the titles created."""
    created = []
    period = period_of(DataRequest.Cycle.MONTHLY, act.today())
    if not DataRequest.objects.filter(title=FINANCE_TITLE).exists():
        _finance_request(period)
        created.append(FINANCE_TITLE)
    if not DataRequest.objects.filter(title=MONTHLY_TITLE).exists():
        _monthly_request()
        created.append(MONTHLY_TITLE)
    if not DataRequest.objects.filter(title=PENDING_TITLE).exists():
        _pending_request()
        created.append(PENDING_TITLE)
    return created
