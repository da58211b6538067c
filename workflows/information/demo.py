"""Demo 信息报送 for the demo district (docs/information.md 演示数据): the duties, a 计分规则 and a few units'
pieces adopted at different grades, one returned by the 信息科 and one waiting at the desk.

Run by `manage.py load_information_demo` (`make run`), never by the test session's load_demo. Idempotent: duties by
their natural key, the rule by its date, a piece by its title. Every piece goes through the real actions and flow.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from viewflow.workflow.models import Task

from oa.models import Agency, Person
from workflows.information import actions as act
from workflows.information.flows import InformationFlow
from workflows.information.models import ScoringRule, Submission

# (username, agency short name, duty)
DUTIES = [
    ("xuli", "区府办", "desk"), ("gaojun", "区府办", "desk"), ("xuli", "区府办", "desk_head"),
    ("finance06", "区财政局", "reporter"), ("finance03", "区财政局", "reviewer"),
    ("edu06", "区教育局", "reporter"), ("edu03", "区教育局", "reviewer"),
    ("quxi04", "曲溪街道", "reporter"), ("quxi03", "曲溪街道", "reviewer"),
    ("tanglei", "区政数局", "reporter"), ("liangjie", "区政数局", "reviewer"),
]

# (reporter, title, category, body, outcome): outcome is a grade (adopted), "returned", "desk" (waiting) or "draft".
PIECES = [
    ("finance06", "区财政局“一站式”直达资金监控平台上线运行", "practice",
     "今年以来，区财政局依托省直达资金监控系统，建立“一站式”监控平台，实现资金分配、拨付、使用全链条跟踪。"
     "截至目前，已下达直达资金3.2亿元，支出进度达78%。", ("district", False)),
    ("finance06", "区财政局多措并举推动减税降费政策落地见效", "news",
     "区财政局联合税务部门开展政策宣讲12场，覆盖市场主体800余户，累计为企业减负1.6亿元。", ("city", True)),
    ("finance06", "关于部分镇街预算执行进度偏慢的情况反映", "problem",
     "个别镇街预算执行进度低于序时进度，主要原因是项目前期工作滞后。", "returned"),
    ("edu06", "区教育局推进“双减”工作取得阶段性成效", "practice",
     "全区义务教育学校课后服务实现全覆盖，学生参与率达96%，校外培训机构压减率达90%。", ("province", False)),
    ("quxi04", "曲溪街道创新“网格+”模式提升基层治理效能", "practice",
     "曲溪街道划分网格56个，配备专兼职网格员120名，今年以来化解矛盾纠纷230余宗。", ("district", False)),
    ("quxi04", "曲溪街道扎实开展汛期安全隐患排查", "news",
     "街道组织排查山塘水库、危旧房屋等重点部位45处，整改隐患12处。", "desk"),
    ("tanglei", "区政数局推动政务数据共享应用情况", "news", "（草稿）区政数局梳理数据资源目录……", "draft"),
]


def _task(submission: Submission, node: str) -> Task:
    return Task.objects.get(process_id=submission.process_id, flow_task=getattr(InformationFlow, node),
                            status__in=("ASSIGNED", "STARTED"))


@transaction.atomic
def do_load_information_demo() -> int:
    for username, short_name, duty in DUTIES:
        act.check_assign_duty(None, Person.objects.get(username=username), Agency.objects.get(short_name=short_name),
                              duty)
    desk_head = Person.objects.get(username="xuli")
    if not ScoringRule.objects.exists():
        act.check_save_rule(desk_head, act.RuleInput(
            effective_from=dt.date(2020, 1, 1), district_points=Decimal(1), city_points=Decimal(3),
            province_points=Decimal(5), instruction_points=Decimal(2), note="演示：区1分、市3分、省5分，批示加2分"))
    created = 0
    for username, title, category, body, outcome in PIECES:
        if Submission.objects.filter(title=title).exists():
            continue
        author = Person.objects.get(username=username)
        agency = Agency.objects.get(pk=author.information_duties.get(duty="reporter").agency_id)
        piece = act.check_save_draft(author, agency, act.DraftInput(title=title, body=body, category=category))
        created += 1
        if outcome == "draft":
            continue
        piece = act.check_submit_draft(author, piece)
        reviewer = _task(piece, "unit_review").owner
        act.check_unit_review(reviewer, _task(piece, "unit_review"), "approve", "同意报送。")
        if outcome == "desk":
            continue
        desk_task = _task(piece, "desk_review")
        if outcome == "returned":
            act.check_desk_review(desk_task.owner, desk_task, "return",
                                  "请补充具体镇街名称和执行进度数据，并提出工作建议。")
            continue
        grade, instructed = outcome
        act.check_desk_review(desk_task.owner, desk_task, "adopt", "", act.AdoptionInput(
            edited_title=title.replace("“一站式”", "").replace("多措并举", ""), edited_body=body.replace("今年以来，", ""),
            grade=grade, instructed=instructed, instruction_note="林晓东副区长批示：经验做法值得推广。" if instructed else ""))
    return created
