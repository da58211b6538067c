"""RoomApprovalFlow (会议室审批) on viewflow: Start → 审批 (the room's approver) → End, one process per booking of a
room that has an approver. The flow only orchestrates; meetings.actions.check_decide_room_booking does the work
(status, invitations, events) and completes the task under the process lock. The task reaches the inbox like every
flow task (workflows.inbox mirrors it as a WorkItem); its 同意/不同意 buttons come from ``inbox_actions`` below.
"""

from __future__ import annotations

from viewflow import this
from viewflow.workflow import flow, lock

from oa.models import Person
from oa.work import WorkAction
from workflows.steps import redirect_view

APPROVE = WorkAction(key="approve", label="同意", style="primary")
REJECT = WorkAction(key="reject", label="不同意", style="danger", needs_opinion=True)


class ApprovalStep(flow.View):
    """The approver's step: done on the meeting page or straight from 待办 (同意 / 不同意 with a reason)."""

    def step_url(self, task) -> str:
        return f"/meetings/{task.process.data['meeting_id']}/"

    def inbox_actions(self, task, user) -> list[WorkAction]:
        return [APPROVE, REJECT] if self.can_execute(user, task) else []

    def inbox_perform(self, user, task, action_key: str, data: dict) -> None:
        from meetings.actions import check_decide_room_booking
        from meetings.models import Meeting

        meeting = Meeting.objects.get(pk=task.process.data["meeting_id"])
        check_decide_room_booking(user, meeting, approve=action_key == APPROVE.key,
                                  opinion=str(data.get("opinion") or ""))


def _approver(activation):
    return Person.objects.get(pk=activation.process.data["approver_id"])


class RoomApprovalFlow(flow.Flow):
    process_title = "会议室审批"
    lock_impl = lock.select_for_update_lock

    start = flow.StartHandle(this.start_approval).Annotation(title="预约会议室").Next(this.approve)
    approve = ApprovalStep(redirect_view()).Annotation(title="会议室审批").Assign(_approver).Next(this.end)
    end = flow.End()

    def start_approval(self, activation, **data):
        activation.process.artifact = data.pop("_meeting")
        activation.process.data = data
        return activation.process
