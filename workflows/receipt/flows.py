"""ReceiptFlow (收文办理): 签收 → 登记 → 初审 (退回来文单位 ends it) → 拟办 → 批办 → 承办 (主办 ∥ 协办) → 传阅 → 办结 → 归档.
A 抄送件 (IncomingDocument.kind cc, process.data["cc"]) is for 阅知: 签收 → 登记 → 初审 → 传阅（阅知，办结）→ 归档.

Modelled on IssuanceFlow: every human step is a Step(RView) (退回/取回/转办/加签/委托/催办 work as on 发文) with a
deadline in working days and a non-interrupting timer that urges the holder when it passes. The flow only
orchestrates; the writes on the 收文 are documents.actions.incoming, called by workflows.actions.receipt when a step
is completed. process.data carries what the inbox shows (title, urgency, doc_number, agency_id) plus incoming_id
and the run-time choices: clerk_id, office_id, leader_id, handlers (承办 list), readers, host_handler_id.
A paper 来文 (process.data["paper"]) is signed by the clerk who registers it and starts at 登记.
"""

from __future__ import annotations

import datetime as dt

from viewflow import this
from viewflow.workflow import flow, lock
from viewflow.workflow.status import STATUS

from documents.actions.incoming import do_grant_incoming_access
from documents.models import IncomingDocument
from oa.models import Appointment, Role
from oa.selectors.directory import people_with_role
from workflows.nodes import DataSplit, PolicyJoin
from workflows.receipt.steps import STEPS
from workflows.steps import (
    DeadlineStep,
    data_person,
    deadline_in,
    deadline_of_host,
    redirect_view,
    task_person,
)


def incoming_of(process) -> IncomingDocument:
    return IncomingDocument.objects.select_related("agency", "host_department").get(
        pk=process.data["incoming_id"])


def step_deadline(node_name: str, start: dt.datetime | None = None) -> dt.datetime:
    """The step's time limit in working days (calendar), due at the end of that working day."""
    return deadline_in(STEPS[node_name].limit_days, start)


class Step(DeadlineStep):
    """A 收文 step: DeadlineStep; access to the 收文 comes from ReceiptFlow.on_assign."""

    steps = STEPS
    step_url_name = "workflows:receipt_step"


_deadline_of_host = deadline_of_host(STEPS, fallback="register")


def _handlers(activation):
    # One 承办 task per department: the 主办 first, then each 协办 (each item becomes that task's data).
    return [dict(h) for h in activation.process.data.get("handlers", [])]


class ReceiptFlow(flow.Flow):
    process_title = "收文"
    lock_impl = lock.select_for_update_lock
    delegation_kind = "receipt"
    return_jump_back = True
    start_redraft_node = "register"  # 退回 to 来文到达 means: the clerk registers it again

    start = flow.StartHandle(this.start_receipt).Annotation(title="来文到达").Next(this.arrival)
    arrival = flow.If(this.is_paper).Then(this.register).Else(this.sign)
    sign = Step(redirect_view()).Annotation(title="签收").OnTimeout(_deadline_of_host, this.overdue, interrupting=False).Assign(data_person("clerk_id")).Next(this.register)
    register = Step(redirect_view()).Annotation(title="登记").OnTimeout(_deadline_of_host, this.overdue, interrupting=False).Assign(data_person("clerk_id")).Next(this.review)
    review = Step(redirect_view()).Annotation(title="初审").OnTimeout(_deadline_of_host, this.overdue, interrupting=False).Assign(data_person("office_id")).Next(this.review_gate)
    review_gate = flow.If(this.is_returned).Then(this.returned).Else(this.kind_gate)
    # 抄送件 is for 阅知: straight to 传阅 (the office reads it and may pass it on), no 拟办/批办/承办/办结.
    kind_gate = flow.If(this.is_cc).Then(this.circulate).Else(this.propose)
    returned = flow.End().Annotation(title="退回来文单位")  # the 收文 is not handled here
    propose = Step(redirect_view()).Annotation(title="拟办").OnTimeout(_deadline_of_host, this.overdue, interrupting=False).Assign(data_person("office_id")).Next(this.instruct)
    instruct = Step(redirect_view()).Annotation(title="批办").OnTimeout(_deadline_of_host, this.overdue, interrupting=False).Assign(data_person("leader_id")).Next(this.handle_split)
    handle_split = DataSplit().Next(this.handle, data_source=_handlers).Empty(this.circulate)
    handle = Step(redirect_view()).Annotation(title="承办").OnTimeout(_deadline_of_host, this.overdue, interrupting=False).Assign(task_person("handler_id")).Next(this.handle_join)
    handle_join = PolicyJoin(policy="all").Next(this.circulate)
    circulate = Step(redirect_view()).Annotation(title="传阅").OnTimeout(_deadline_of_host, this.overdue, interrupting=False).Assign(data_person("office_id")).Next(this.close_gate)
    close_gate = flow.If(this.is_cc).Then(this.archive).Else(this.close)
    close = Step(redirect_view()).Annotation(title="办结").OnTimeout(_deadline_of_host, this.overdue, interrupting=False).Assign(data_person("host_handler_id")).Next(this.archive)
    archive = Step(redirect_view()).Annotation(title="归档").OnTimeout(_deadline_of_host, this.overdue, interrupting=False).Assign(data_person("clerk_id")).Next(this.end)
    end = flow.End()
    # A step past its time limit is urged automatically; the step itself runs on (non-interrupting timer).
    overdue = flow.Function(this.urge_overdue)
    addsign = Step(redirect_view()).Annotation(title="加签")

    def start_receipt(self, activation, **data):
        activation.process.data = data
        activation.process.artifact = data.pop("_incoming")
        return activation.process

    def on_assign(self, task, owner) -> None:
        """Whoever the work reaches sees the 收文 (and keeps seeing it: the record shows who had it)."""
        step = STEPS.get(task.flow_task.name, STEPS["addsign"])
        # Only the key is needed for the grant: no need to load the 收文 for every new holder.
        do_grant_incoming_access(IncomingDocument(pk=task.process.data["incoming_id"]), owner, reason=step.label)

    def is_paper(self, activation) -> bool:
        return bool(activation.process.data.get("paper"))

    def is_cc(self, activation) -> bool:
        return bool(activation.process.data.get("cc"))

    def is_returned(self, activation) -> bool:
        return bool(activation.process.data.get("returned_to_sender"))

    def urge_overdue(self, activation) -> None:
        from workflows.actions.routing import do_urge_task

        timer = activation.task.previous.first()
        host = timer.previous.first() if timer else None
        if host is not None and host.status in (STATUS.ASSIGNED, STATUS.STARTED) and host.owner_id:
            do_urge_task(host, by=None, message="已超过办理期限，系统自动催办")

    def same_role(self, task, person) -> bool:
        """转办 stays within what the step needs in the receiving agency (承办/办结: the handling department)."""
        node = task.flow_task.name
        agency_id = (task.process.data or {}).get("agency_id")
        if node in ("handle", "close"):
            dept_id = (task.data or {}).get("dept_id") if node == "handle" else \
                (task.process.data or {}).get("host_dept_id")
            return bool(dept_id) and Appointment.objects.filter(person=person, department_id=dept_id,
                                                                person__is_active=True).exists()
        roles = STEP_ROLES.get(node)
        if not roles or not agency_id:
            return False
        # The office's steps stay in the office that serves the agency (区府办 for 区政府); 批办 among its leaders.
        if node != "instruct":
            agency_id = (task.process.data or {}).get("office_agency_id") or agency_id
        return any(people_with_role(role, agency=_agency(agency_id)).filter(pk=person.pk).exists() for role in roles)


def _agency(agency_id: int):
    from oa.models import Agency

    return Agency.objects.get(pk=agency_id)


STEP_ROLES: dict[str, tuple[str, ...]] = {
    "sign": (Role.CLERK,),
    "register": (Role.CLERK,),
    "review": (Role.REVIEWER,),
    "propose": (Role.REVIEWER,),
    "instruct": (Role.PRINCIPAL, Role.DEPUTY_LEADER),
    "circulate": (Role.REVIEWER,),
    "archive": (Role.CLERK,),
}
