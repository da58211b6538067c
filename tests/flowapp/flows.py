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
