"""on_assign: what the holder of a step gets, whichever way the step reached them (docs/routing.md).

A flow declares ``on_assign(self, task, owner)`` (IssuanceFlow: read the 公文, edit it where the step allows;
ReceiptFlow: read the 收文). ``do_on_assign`` is the one place that calls it; it is called wherever a step changes
hands: creation with an owner (assignment, 退回, jump-back, 取回, 加签, 委托 through calc_owner —
workflows.routing.RViewActivation.create), viewflow's assign/reassign (转办) and 工作交接 (workflows.handover).
It runs inside the caller's transaction, so the grant lands with the change of hands or not at all.
"""

from __future__ import annotations

from viewflow.workflow.models import Task

from oa.models import Person


def do_on_assign(task: Task, owner: Person | None = None) -> None:
    """Give ``owner`` (default: the task's holder) what the task's flow says a holder of this step needs."""
    owner = owner if owner is not None else task.owner
    flow_class = task.process.flow_class
    if owner is None or flow_class is None:
        return
    hook = getattr(flow_class.instance, "on_assign", None)
    if hook is not None:
        hook(task, owner)
