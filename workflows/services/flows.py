"""ServiceFlow (零跑动事项): one generic flow for every catalogue item; the item's route is data, resolved to people
when the application is submitted and run here stage by stage.

    提交申请 → 一门受理 (intake, the 主管部门's desk) → [stage: DataSplit over its steps → 审批 … → Join] × N → 办结

A stage with several steps is 协作联办 (parallel, the same DataSplit + Join as 发文's 会签). 退回补正 is the routing
operation 退回 to the start, which this flow maps to ``amend`` (the applicant fixes the form and resubmits); with
jump-back the corrected application goes straight back to the step that asked for it. 转办, 催办, 委托, 加签 are the
shared routing operations (workflows/routing.py): every human step here is a DeadlineStep(RView).

process.data: title, initiator_id, agency_id, application_id, intake_id, stages ([[{title, role, assignee_id}]]),
stage_index, deadline, rejected.
"""

from __future__ import annotations

from viewflow import this
from viewflow.workflow import flow, lock

from workflows.nodes import DataSplit
from workflows.steps import DeadlineStep, data_person, deadline_in, redirect_view, task_person


class Step(DeadlineStep):
    """A service step: its page is /services/tasks/<id>/; the deadline is the application's (process.data)."""

    steps: dict = {}
    step_url_name = "services:task"

    def calc_owner(self, activation):
        """Each step is due ``limit_days`` working days (the item's time limit) after it reached its holder: the
        deadline the 待办 shows and the one ``services.auto_urge`` urges at, once (docs/services.md 超期自动催办)."""
        owner = super().calc_owner(activation)
        task = activation.task
        limit = (activation.process.data or {}).get("limit_days")
        if limit and "deadline" not in (task.data or {}):
            task.data = {**(task.data or {}), "deadline": deadline_in(int(limit)).isoformat()}
        return owner


def _stage_steps(activation):
    data = activation.process.data
    stages = data.get("stages") or []
    index = int(data.get("stage_index", 0))
    if index >= len(stages):
        return []
    return [{**dict(step), "stage": index} for step in stages[index]]


class ServiceFlow(flow.Flow):
    process_title = "零跑动办事"
    lock_impl = lock.select_for_update_lock
    delegation_kind = "services"
    return_jump_back = True
    start_redraft_node = "amend"  # 退回 to 提交申请 means: 补正 by the applicant

    start = flow.StartHandle(this.start_service).Annotation(title="提交申请").Next(this.intake)
    intake = Step(redirect_view()).Annotation(title="受理").Assign(data_person("intake_id")).Next(this.after_intake)
    amend = Step(redirect_view()).Annotation(title="补正材料").Assign(data_person("initiator_id")).Next(this.intake)
    after_intake = flow.If(this.has_stage).Then(this.split).Else(this.finish)
    split = DataSplit().Next(this.approve, data_source=_stage_steps).Empty(this.advance)
    approve = Step(redirect_view()).Annotation(title="审批").Assign(task_person("assignee_id")).Next(this.join)
    join = flow.Join().Next(this.advance)
    advance = flow.Function(this.advance_stage).Next(this.more)
    more = flow.If(this.has_stage).Then(this.split).Else(this.finish)
    finish = flow.Function(this.finish_application).Annotation(title="办结").Next(this.end)
    end = flow.End()
    addsign = Step(redirect_view()).Annotation(title="加签")

    def start_service(self, activation, **data):
        activation.process.data = data
        return activation.process

    def has_stage(self, activation) -> bool:
        data = activation.process.data
        return not data.get("rejected") and int(data.get("stage_index", 0)) < len(data.get("stages") or [])

    def advance_stage(self, activation) -> None:
        process = activation.process
        process.data = {**process.data, "stage_index": int(process.data.get("stage_index", 0)) + 1}
        process.save(update_fields=["data"])

    def finish_application(self, activation) -> None:
        from workflows.services.actions import do_finish_application

        do_finish_application(activation.process)

    def same_role(self, task, person) -> bool:
        """转办 stays within the step's role in its scope (the step's data, or the 受理 desk)."""
        from workflows.services.selectors import may_hold_step

        return may_hold_step(task, person)
