"""SupervisionFlow (督办): 立项 → 领导审核 → 交办 → 办理 (the units' own work, see supervision.actions) → 销号 → 归档.

The flow keeps only the item-level state; the per-unit 签收/反馈/催办/延期/办结报告/审核 are supervision.actions with
their own WorkItems (kind "supervision"). ``handling`` is a Handle node: the action that approves the last unit's
办结报告 runs it, so the process moves on to 销号 in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from viewflow import this
from viewflow.workflow import flow, lock

from oa.models import Person
from workflows.steps import DeadlineStep, data_person, redirect_view


@dataclass(frozen=True)
class Step:
    label: str
    limit_days: int


STEPS = {
    "leader_review": Step("领导审核", 2),
    "dispatch": Step("交办", 1),
    "close": Step("销号", 2),
    "archive": Step("归档", 5),
}


class SupervisionStep(DeadlineStep):
    steps = STEPS
    step_url_name = "supervision:step"



class SupervisionFlow(flow.Flow):
    process_title = "督办"
    lock_impl = lock.select_for_update_lock
    delegation_kind = "supervision"

    start = flow.StartHandle(this.start_item).Annotation(title="立项").Next(this.leader_review)
    leader_review = SupervisionStep(redirect_view()).Annotation(title="领导审核").Assign(
        data_person("leader_id")).Next(this.approved)
    approved = flow.If(this.is_approved).Then(this.dispatch).Else(this.end)
    dispatch = SupervisionStep(redirect_view()).Annotation(title="交办").Assign(data_person("supervisor_id")).Next(
        this.handling)
    handling = flow.Handle(this.units_done).Annotation(title="办理").Next(this.close)
    close = SupervisionStep(redirect_view()).Annotation(title="销号").Assign(data_person("supervisor_id")).Next(
        this.archive)
    archive = SupervisionStep(redirect_view()).Annotation(title="归档").Assign(data_person("supervisor_id")).Next(
        this.end)
    end = flow.End()

    def start_item(self, activation, **data):
        activation.process.artifact = data.pop("_item")
        activation.process.data = data
        return activation.process

    def is_approved(self, activation) -> bool:
        return bool(activation.process.data.get("approved"))

    def units_done(self, activation, **kwargs):
        return activation.process

    def on_assign(self, task, owner: Person) -> None:
        """Holders reach the item through supervision.selectors (leader, 督查员): nothing to grant."""
