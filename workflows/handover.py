"""viewflow tasks as a kind of open work for 工作交接 (oa.work registry)."""

from __future__ import annotations

from django.db.models import QuerySet
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from oa.actions.work import do_move_work_items
from oa.models import Person
from workflows.actions.assignment import do_on_assign

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
            # The successor gets what any new holder of the step gets (the flow's on_assign).
            task.owner = target
            do_on_assign(task, target)
        return moved
