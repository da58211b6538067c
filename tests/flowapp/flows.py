"""工作联系单 (test flow): the sender's reviewer checks it, then the receiver handles it.

process.data: {"title", "urgency" (0/1/2), "reviewer_id", "handler_id", "doc_number"}.
"""

from __future__ import annotations

from viewflow import this
from viewflow.workflow import flow, lock
from viewflow.workflow.flow.views import UpdateProcessView

from oa.models import Person


def _person(key: str):
    def owner(activation):
        return Person.objects.get(pk=activation.process.data[key])

    return owner


class MemoFlow(flow.Flow):
    process_title = "工作联系单"
    lock_impl = lock.select_for_update_lock

    start = flow.StartHandle(this.start_memo).Next(this.review)
    review = (
        flow.View(UpdateProcessView.as_view(fields=[]))
        .Annotation(title="审核")
        .Assign(_person("reviewer_id"))
        .Next(this.handle)
    )
    handle = (
        flow.View(UpdateProcessView.as_view(fields=[]))
        .Annotation(title="办理")
        .Assign(_person("handler_id"))
        .Next(this.end)
    )
    end = flow.End()

    def start_memo(self, activation, **data):
        activation.process.data = data
        return activation.process


# --- 发文-shaped flow for the routing engine (tests/test_routing*.py) --------------------------------------------
#
# process.data: {"title", "initiator_id", "reviewer_id", "office_id", "signer_id",
#                "countersign": [{"dept_id", "signer_id"}, ...], "policy": {"policy": "all"|"n_of_m"|"veto",
#                "required": N}, "roles": {node name: [person ids allowed for 转办]}, "registered": bool,
#                "document_id": optional 公文 every holder may read (on_assign)}

from workflows.nodes import DataSplit, PolicyJoin  # noqa: E402
from workflows.routing import RView  # noqa: E402


def _view():
    return UpdateProcessView.as_view(fields=[])


def _countersigns(activation):
    return [{"dept_id": c["dept_id"], "signer_id": c["signer_id"]} for c in activation.process.data.get("countersign", [])]


class RoutingFlow(flow.Flow):
    process_title = "发文（路由测试）"
    lock_impl = lock.select_for_update_lock
    delegation_kind = "issuance"
    return_jump_back = True

    start = flow.StartHandle(this.start_draft).Next(this.review)
    redraft = RView(_view()).Annotation(title="修改稿件").Assign(_person("initiator_id")).Next(this.review)
    review = RView(_view()).Annotation(title="部门负责人审核").Assign(_person("reviewer_id")).Next(this.office)
    office = RView(_view()).Annotation(title="办公室核稿").Assign(_person("office_id")).Next(this.split)
    split = DataSplit().Next(this.countersign, data_source=_countersigns).Empty(this.signoff)
    countersign = (
        RView(_view())
        .Annotation(title="会签")
        .Assign(lambda a: Person.objects.get(pk=a.task.data["signer_id"]))
        .Next(this.join)
    )
    join = PolicyJoin(policy=this.countersign_policy, on_veto=this.redraft).Next(this.signoff)
    signoff = RView(_view()).Annotation(title="签发").Assign(_person("signer_id")).Next(this.register)
    register = flow.Function(this.register_doc).Next(this.end)
    end = flow.End()
    addsign = RView(_view()).Annotation(title="加签")

    def start_draft(self, activation, **data):
        activation.process.data = data
        return activation.process

    def countersign_policy(self, activation):
        return activation.process.data.get("policy") or {"policy": "all"}

    def register_doc(self, activation):
        activation.process.data = {**activation.process.data, "registered": True}
        activation.process.save()

    def on_assign(self, task, owner) -> None:
        # Like IssuanceFlow.on_assign, read-only: whoever holds a step reads the 公文 the process is about.
        document_id = (task.process.data or {}).get("document_id")
        if document_id:
            from documents.actions.documents import do_grant_document_access
            from documents.models import OfficialDocument

            do_grant_document_access(OfficialDocument.objects.get(pk=document_id), owner)

    def same_role(self, task, person) -> bool:
        roles = (task.process.data or {}).get("roles") or {}
        return person.pk in roles.get(task.flow_task.name, [])
