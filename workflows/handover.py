"""viewflow tasks as a kind of open work for 工作交接 (oa.work registry)."""

from __future__ import annotations

from django.db.models import QuerySet
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from oa.actions.work import do_move_work_items
from oa.models import Person

OPEN_STATUSES = (STATUS.ASSIGNED, STATUS.STARTED, STATUS.ERROR)


class FlowTaskProvider:
    kind = "flow_task"
    label = "流程待办"

    def _open(self, person: Person) -> QuerySet[Task]:
        return Task.objects.filter(owner=person, status__in=OPEN_STATUSES)

    def count_open(self, person: Person) -> int:
        return self._open(person).count()

    def move_open(self, source: Person, target: Person) -> int:
        # Assigned-but-unfinished tasks change hands; their history (DONE rows) keeps the leaver's name.
        # A queryset update sends no post_save, so the inbox rows are moved alongside, in this transaction.
        tasks = list(self._open(source).select_related("process"))
        moved = self._open(source).update(owner=target)
        do_move_work_items(source, target, kinds=[self.kind])
        for task in tasks:
            _grant_what_the_step_needs(task, target)
        return moved


def _grant_what_the_step_needs(task: Task, person: Person) -> None:
    """The successor must see the 公文 / 收文 the moved step is about, as the flow grants on assignment."""
    from documents.actions.documents import do_grant_document_access
    from documents.actions.incoming import do_grant_incoming_access
    from documents.models import IncomingDocument, OfficialDocument
    from workflows.issuance.steps import STEPS as ISSUANCE_STEPS

    data = task.process.data or {}
    node = task.flow_task.name if task.flow_task else ""
    if data.get("document_id"):
        document = OfficialDocument.objects.filter(pk=data["document_id"]).first()
        if document is not None:
            step = ISSUANCE_STEPS.get(node)
            do_grant_document_access(document, person, can_edit=bool(step and step.body))
    if data.get("incoming_id"):
        incoming = IncomingDocument.objects.filter(pk=data["incoming_id"]).first()
        if incoming is not None:
            do_grant_incoming_access(incoming, person, reason="工作交接")
