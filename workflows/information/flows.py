"""InformationFlow (信息报送): 信息员提交 → 单位审核 → 信息科审核 → 采用 (the desk's edit and grade) → 办结.

    提交 → unit_review ─同意→ desk_review ─采用→ finish → end
              │退回               │退回
              └──→ revise ←───────┘        (the 信息员 fixes the piece; it goes through unit review again)

Both 退回 send the same piece back with a reason: resubmission continues this process (no new piece, the
timeline and the rounds kept). Every human step is a DeadlineStep(RView): 待办 comes from workflows.inbox and
the shared routing operations (转办, 催办, 委托) apply.

process.data: title, initiator_id, author_id, agency_id, submission_id, reviewer_id, desk_id, decision.
"""

from __future__ import annotations

from dataclasses import dataclass

from viewflow import this
from viewflow.workflow import flow, lock

from workflows.steps import DeadlineStep, data_person, redirect_view


@dataclass(frozen=True)
class StepLimit:
    label: str
    limit_days: int


STEPS = {
    "unit_review": StepLimit("单位审核", 1),
    "desk_review": StepLimit("信息科审核", 3),
    "revise": StepLimit("修改重报", 2),
}


class InformationStep(DeadlineStep):
    steps = STEPS
    step_url_name = "information:task"


class InformationFlow(flow.Flow):
    process_title = "信息报送"
    lock_impl = lock.select_for_update_lock
    delegation_kind = "information"

    start = flow.StartHandle(this.start_submission).Annotation(title="提交").Next(this.unit_review)
    unit_review = InformationStep(redirect_view()).Annotation(title="单位审核").Assign(
        data_person("reviewer_id")).Next(this.after_unit)
    after_unit = flow.If(this.approved).Then(this.desk_review).Else(this.revise)
    desk_review = InformationStep(redirect_view()).Annotation(title="信息科审核").Assign(
        data_person("desk_id")).Next(this.after_desk)
    after_desk = flow.If(this.approved).Then(this.finish).Else(this.revise)
    revise = InformationStep(redirect_view()).Annotation(title="修改重报").Assign(
        data_person("author_id")).Next(this.unit_review)
    finish = flow.Function(this.finish_submission).Annotation(title="办结").Next(this.end)
    end = flow.End()

    def start_submission(self, activation, **data):
        activation.process.data = data
        return activation.process

    def approved(self, activation) -> bool:
        return activation.process.data.get("decision") in ("approve", "adopt")

    def finish_submission(self, activation) -> None:
        """The piece was adopted by the desk step's action (same transaction): nothing left but the end."""

    def same_role(self, task, person) -> bool:
        """转办 stays within the duty: another 审核人 of the unit, another 信息科 editor, or the unit's 信息员."""
        from workflows.information.selectors import may_hold_step

        return may_hold_step(task, person)
