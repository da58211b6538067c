"""IssuanceFlow (发文): 拟稿 → 部门负责人审核 → 办公室核稿 → 会签 → 签发 → 复核 → 登记 → 套红排版 → 用印 → 分发 → 归档.

The flow only orchestrates: the business writes are documents.actions (编号, 排版, 用印, 归档) called by
workflows.actions.issuance when a step is completed. process.data carries what the inbox shows (title, urgency,
doc_number, initiator_id, agency_id) plus document_id and the run-time choices (countersign list, mode, policy).
"""

from __future__ import annotations

import datetime as dt

from viewflow import this
from viewflow.workflow import flow, lock
from viewflow.workflow.status import STATUS

from documents.actions.documents import do_grant_document_access
from documents.models import OfficialDocument
from oa.models import Person, Role
from oa.selectors.directory import head_of_department, people_with_role
from workflows.issuance.steps import STEPS
from workflows.nodes import DataSplit, PolicyJoin
from workflows.routing import RViewActivation
from workflows.steps import (
    DeadlineStep,
    data_person,
    deadline_in,
    deadline_of_host,
    redirect_view,
    task_person,
)


def document_of(process) -> OfficialDocument:
    return OfficialDocument.objects.select_related("agency", "department").get(pk=process.data["document_id"])


def step_deadline(node_name: str, start: dt.datetime | None = None) -> dt.datetime:
    """The step's time limit in working days (calendar), due at the end of that working day."""
    return deadline_in(STEPS[node_name].limit_days, start)


class StepActivation(RViewActivation):
    @classmethod
    def create(cls, flow_task, prev_activation, token, data=None, seed=None):
        activation = super().create(flow_task, prev_activation, token, data=data, seed=seed)
        if flow_task.name == "seal" and activation.task.owner_id:
            # Reaching 用印 authorises one stamping bound to this task (not to its holder: 转办 keeps it).
            from workflows.actions.issuance import do_authorise_seal_step

            do_authorise_seal_step(activation, document_of(activation.process))
        return activation


class Step(DeadlineStep):
    """A 发文 step: DeadlineStep + the 用印 authorisation; access comes from IssuanceFlow.on_assign."""

    activation_class = StepActivation
    steps = STEPS
    step_url_name = "workflows:issuance_step"


_deadline_of_host = deadline_of_host(STEPS, fallback="register")


def _dept_head(activation):
    document = document_of(activation.process)
    head = head_of_department(document.department) if document.department_id else None
    return head or Person.objects.get(pk=activation.process.data["initiator_id"])


def _office_reviewer(activation):
    return Person.objects.get(pk=activation.process.data["office_id"])


def _clerk(activation):
    return Person.objects.get(pk=activation.process.data["clerk_id"])


def _seq_signer(activation):
    data = activation.process.data
    return Person.objects.get(pk=data["countersign"][int(data.get("seq_index", 0))]["signer_id"])


def _countersigns(activation):
    return [dict(c) for c in activation.process.data.get("countersign", [])]


def _seal_targets(activation):
    return [dict(s) for s in activation.process.data.get("seals", [])]


class IssuanceFlow(flow.Flow):
    process_title = "发文"
    lock_impl = lock.select_for_update_lock
    delegation_kind = "issuance"
    return_jump_back = True

    start = flow.StartHandle(this.start_issuance).Annotation(title="拟稿送审").Next(this.dept_review)
    redraft = Step(redirect_view()).Annotation(title="修改稿件").OnTimeout(_deadline_of_host, this.overdue, interrupting=False).Assign(data_person("initiator_id")).Next(
        this.dept_review
    )
    dept_review = Step(redirect_view()).Annotation(title="部门负责人审核").OnTimeout(_deadline_of_host, this.overdue, interrupting=False).Assign(_dept_head).Next(this.office_check)
    office_check = Step(redirect_view()).Annotation(title="办公室核稿").OnTimeout(_deadline_of_host, this.overdue, interrupting=False).Assign(_office_reviewer).Next(this.cs_mode)
    cs_mode = flow.If(this.is_sequential).Then(this.seq_countersign).Else(this.split)
    split = DataSplit().Next(this.countersign, data_source=_countersigns).Empty(this.signoff)
    countersign = Step(redirect_view()).Annotation(title="会签").OnTimeout(_deadline_of_host, this.overdue, interrupting=False).Assign(task_person("signer_id")).Next(this.join)
    join = PolicyJoin(policy=this.countersign_policy, on_veto=this.redraft).Next(this.signoff)
    seq_countersign = Step(redirect_view()).Annotation(title="会签（依次）").OnTimeout(_deadline_of_host, this.overdue, interrupting=False).Assign(_seq_signer).Next(this.seq_more)
    seq_more = flow.If(this.more_sequential).Then(this.seq_countersign).Else(this.signoff)
    signoff = Step(redirect_view()).Annotation(title="签发").OnTimeout(_deadline_of_host, this.overdue, interrupting=False).Assign(data_person("signer_id")).Next(this.recheck)
    recheck = Step(redirect_view()).Annotation(title="复核").OnTimeout(_deadline_of_host, this.overdue, interrupting=False).Assign(_office_reviewer).Next(this.register)
    register = Step(redirect_view()).Annotation(title="登记").OnTimeout(_deadline_of_host, this.overdue, interrupting=False).Assign(_clerk).Next(this.typeset)
    typeset = Step(redirect_view()).Annotation(title="套红排版").OnTimeout(_deadline_of_host, this.overdue, interrupting=False).Assign(_clerk).Next(this.seal_needed)
    seal_needed = flow.If(this.needs_seal).Then(this.seal_split).Else(this.distribute)
    seal_split = DataSplit().Next(this.seal, data_source=_seal_targets).Empty(this.distribute)
    seal = Step(redirect_view()).Annotation(title="用印").OnTimeout(_deadline_of_host, this.overdue, interrupting=False).Assign(task_person("keeper_id")).Next(this.seal_join)
    seal_join = flow.Join().Next(this.distribute)
    distribute = Step(redirect_view()).Annotation(title="分发").OnTimeout(_deadline_of_host, this.overdue, interrupting=False).Assign(_clerk).Next(this.archive)
    archive = Step(redirect_view()).Annotation(title="归档").OnTimeout(_deadline_of_host, this.overdue, interrupting=False).Assign(_clerk).Next(this.end)
    end = flow.End()
    # A step past its time limit is urged automatically; the step itself runs on (non-interrupting timer).
    overdue = flow.Function(this.urge_overdue)
    addsign = Step(redirect_view()).Annotation(title="加签")

    def start_issuance(self, activation, **data):
        activation.process.data = data
        activation.process.artifact = data.pop("_document")
        return activation.process

    def urge_overdue(self, activation) -> None:
        from workflows.actions.routing import do_urge_task

        timer = activation.task.previous.first()
        host = timer.previous.first() if timer else None
        if host is not None and host.status in (STATUS.ASSIGNED, STATUS.STARTED) and host.owner_id:
            do_urge_task(host, by=None, message="已超过办理期限，系统自动催办")

    def on_assign(self, task, owner: Person) -> None:
        """The holder of a 发文 step sees the 公文; edits it only where the step allows (STEPS[...].body)."""
        step = STEPS.get(task.flow_task.name)
        # Only the key is needed for the grant: no need to load the 公文 for every new holder.
        document = OfficialDocument(pk=task.process.data["document_id"])
        do_grant_document_access(document, owner, can_edit=bool(step and step.body))

    def is_sequential(self, activation) -> bool:
        data = activation.process.data
        return data.get("countersign_mode") == "sequential" and bool(data.get("countersign"))

    def more_sequential(self, activation) -> bool:
        data = activation.process.data
        return int(data.get("seq_index", 0)) < len(data.get("countersign", []))

    def countersign_policy(self, activation):
        data = activation.process.data
        return {"policy": data.get("countersign_policy", "all"), "required": data.get("countersign_required")}

    def needs_seal(self, activation) -> bool:
        return bool(activation.process.data.get("seals"))

    def same_role(self, task, person) -> bool:
        """转办 stays within the role the step needs in the document's agency."""
        role = STEP_ROLES.get(task.flow_task.name)
        if role is None:
            return False
        document = document_of(task.process)
        return people_with_role(role, agency=document.agency).filter(pk=person.pk).exists()


STEP_ROLES = {
    "dept_review": Role.DEPT_HEAD,
    "office_check": Role.REVIEWER,
    "recheck": Role.REVIEWER,
    "countersign": Role.DEPT_HEAD,
    "seq_countersign": Role.DEPT_HEAD,
    "register": Role.CLERK,
    "typeset": Role.CLERK,
    "distribute": Role.CLERK,
    "archive": Role.CLERK,
    "seal": Role.SEAL_KEEPER,
}
