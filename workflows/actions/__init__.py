"""Acting on viewflow tasks outside their own views (inbox, REST API, mobile workbench).

viewflow does not enforce transition permissions on direct calls (STACK.md §2), so every function here checks
`can_execute` itself, under the process lock, after re-reading the task.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from oa.actions.audit import do_record_audit
from oa.models import Person
from oa.refusals import Refusal
from workflows.actions.opinions import refuse_control_chars_in
from workflows.nodes import task_repr

OPINION_MAX = 2000


def on_behalf_of_id(task: Task) -> int | None:
    """委托: the principal the owner acts for, as calc_owner() recorded it in task.data["routing"]."""
    routing = (task.data or {}).get("routing") or {}
    value = routing.get("on_behalf_of")
    return int(value) if value else None


def check_complete_task(user: Person, task: Task, opinion: str = "", *, ip: str | None = None) -> Task:
    """办理完成: finish a human task as its owner, with an optional opinion; the flow moves on.

    Two submits of the same task complete it once: the second waits for the process lock, re-reads the task,
    finds it no longer ASSIGNED and is refused with work_closed.
    """
    opinion = (opinion or "").strip()
    if len(opinion) > OPINION_MAX:
        raise Refusal("opinion_too_long", f"办理意见不能超过 {OPINION_MAX} 字。", status=400)
    refuse_control_chars_in(opinion, "办理意见")
    try:
        with task.activation() as activation:  # process lock + transaction + refresh_from_db
            task = activation.task
            if task.status not in (STATUS.ASSIGNED, STATUS.STARTED):
                raise Refusal("work_closed", "该事项已办结或已撤销，无需重复办理。", status=409)
            if not activation.flow_task.can_execute(user, task):
                raise PermissionDenied("您不是该事项的办理人，不能办理。")
            if task.status == STATUS.ASSIGNED:
                activation.start(None)
            if opinion:
                task.data = {**(task.data or {}), "opinion": opinion}
            activation.execute()
            principal_id = on_behalf_of_id(task)
            do_record_audit(
                actor=user,
                action="flow.task_complete",
                obj=task, object_repr=task_repr(task),
                ip=ip,
                on_behalf_of=Person.objects.filter(pk=principal_id).first() if principal_id else None,
                changes={
                    "flow": task.process.flow_class.__name__ if task.process.flow_class else "",
                    "process": task.process_id,
                    "node": task.flow_task.name if task.flow_task else "",
                    "opinion": opinion,
                },
            )
    except FlowLockFailed as exc:
        raise Refusal("busy", "该事项正在由他人处理，请稍后再试。", status=409) from exc
    return task
