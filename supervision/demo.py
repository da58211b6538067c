"""Demo 督办 items for the demo district (docs/supervision.md 演示数据): three items in different lights.

Run by `manage.py supervision_demo` (`make run`), never by the test session's load_demo, so tests start with no items.
Idempotent: an item is found by its title. The 黄/红 items are given a history: their 交办 date and feedback days are
moved back (the item "was" dispatched weeks ago), which is the only way a freshly loaded demo can show overdue work.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from viewflow.workflow.models import Task

from oa.models import Agency, Person
from oa.selectors.calendar import add_working_days
from supervision import actions as act
from supervision.flows import SupervisionFlow
from supervision.models import FeedbackDue, LightPolicy, SupervisionItem
from supervision.pace import workday_ordinal
from supervision.selectors import feedback_due_dates

DEMO = [
    # (title, source type, lead unit, responsible, assist units, working days, days of simulated history, progress)
    ("推进政务服务事项“一网通办”梳理", "instruction", "区政数局", "tanglei", ["区财政局"], 25, 0, 20),
    ("做好汛期安全生产隐患排查", "meeting", "区应急管理局", "emergency04", [], 3, 0, 60),
    ("回复人大代表关于校园周边交通安全的建议", "npc", "区教育局", "edu04", ["区市场监管局"], 30, 35, 10),
]


def _task(item: SupervisionItem, node: str) -> Task:
    return Task.objects.get(process__artifact_object_id=item.pk, process__flow_class=SupervisionFlow,
                            flow_task=getattr(SupervisionFlow, node), status__in=["ASSIGNED", "STARTED"])


@transaction.atomic
def do_load_supervision_demo(today: dt.date | None = None) -> int:
    today = today or act.today()
    office = Agency.objects.get(short_name="区府办")
    if not LightPolicy.objects.filter(agency=office).exists():
        LightPolicy.objects.create(agency=office, name="通用规则", yellow_days=3, pace_yellow_pct=10, pace_red_pct=30,
                                   urge_after_days=[1, 3, 5], notify_colours=["yellow", "red"], is_default=True)
        LightPolicy.objects.create(agency=office, name="人大建议政协提案", source_types=["npc", "cppcc"],
                                   yellow_days=10, pace_yellow_pct=15, pace_red_pct=35, urge_after_days=[1, 5, 10],
                                   notify_colours=["red"])
    zhaolei = Person.objects.get(username="zhaolei")
    leader = Person.objects.get(username="linxiaodong")
    created = 0
    for title, source, lead, responsible, assists, days, history, progress in DEMO:
        if SupervisionItem.objects.filter(title=title).exists():
            continue
        item = act.check_create_item(zhaolei, act.ItemInput(
            title=title, source_type=source, leader=leader, lead_agency=Agency.objects.get(short_name=lead),
            assist_agencies=[Agency.objects.get(short_name=a) for a in assists],
            responsible=Person.objects.get(username=responsible), requirements="按要求落实并按周报送进展。",
            completion_standard="问题整改到位，报送书面办结报告。", deadline_days=days,
            # A short item reports once, on its deadline; the others every Friday.
            cycle="custom" if days < 5 else "weekly", cycle_weekday=5,
            cycle_dates=[add_working_days(today, days)] if days < 5 else [], source_basis="演示数据"))
        act.check_leader_review(leader, _task(item, "leader_review"), approve=True, opinion="同意，请督查室跟踪。")
        act.check_dispatch(zhaolei, _task(item, "dispatch"))
        for unit in item.units.select_related("handler"):
            act.check_sign(unit.handler, unit)
            if history:
                start = today - dt.timedelta(days=history)
                unit.start_ord, unit.start_wd = start.toordinal(), workday_ordinal(start)
                unit.save(update_fields=["start_ord", "start_wd"])
                for due in feedback_due_dates(cycle="weekly", start=start, deadline=unit.deadline, weekday=5):
                    FeedbackDue.objects.get_or_create(unit=unit, due_date=due)
            elif unit.role == "lead":
                act.check_submit_feedback(unit.handler, unit, text="已完成事项清单初稿。", progress=progress)
        created += 1
    act.do_recompute_lights(on=today)
    return created
