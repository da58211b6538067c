"""流程跟踪 (issue 5 point 5): where a process is, what happened, and its 处理笺.

  /flows/processes/<id>/           the diagram (server-side SVG), the open steps (催办), the user's own steps that may
                                   still be taken back (取回), the 流转记录 and the 办理意见
  /flows/processes/<id>/slip.pdf   the 处理笺 of the process's 公文 (inline PDF); 404 when the process has no 公文

The process comes through access_process_by_id (same rule as tasks: 404 for anyone with nothing to do with it).
"""

from __future__ import annotations

from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET
from viewflow.workflow.models import Process
from viewflow.workflow.status import PROCESS

from documents.rendering.slip import render_processing_slip
from documents.rendering.text import plain
from workflows.routing import routing_of
from workflows.selectors.opinions import opinions_for_process
from workflows.selectors.routing import process_history
from workflows.selectors.trace import (
    access_process_by_id,
    can_urge,
    open_tasks,
    process_diagram,
    process_document_id,
    process_title,
    processing_slip,
    step_label,
    withdrawable_tasks,
)
from workflows.views.routing import UrgeForm

PROCESS_LABELS = {PROCESS.NEW: "办理中", PROCESS.DONE: "已办结", PROCESS.CANCELED: "已撤销"}


def _open_rows(request, process: Process) -> list[dict]:
    rows = []
    for task in open_tasks(process):
        routing = routing_of(task)
        rows.append({
            "task": task,
            "step": step_label(task.flow_task),
            "on_behalf_of_id": routing.get("on_behalf_of"),
            "urged": (routing.get("urged") or {}).get("count") or 0,
            "urge_form": UrgeForm(auto_id=f"id_urge_{task.pk}_%s") if can_urge(request.user, task) else None,
        })
    return rows


def _principals(rows: list[dict]) -> None:
    from oa.models import Person

    ids = {r["on_behalf_of_id"] for r in rows if r["on_behalf_of_id"]}
    people = {p.pk: p for p in Person.objects.filter(pk__in=ids)}
    for r in rows:
        r["principal"] = people.get(int(r["on_behalf_of_id"])) if r["on_behalf_of_id"] else None


@login_required
@require_GET
def process_detail(request, process_id: int):
    process = access_process_by_id(request.user, process_id)
    rows = _open_rows(request, process)
    _principals(rows)
    diagram = process_diagram(process)
    context = {
        "process": process,
        "title": process_title(process),
        "flow_title": process.flow_class.process_title,
        "status_label": PROCESS_LABELS.get(process.status, process.status),
        "diagram": diagram,
        "current_labels": [s.label for s in diagram["steps"] if s.key in diagram["current"]],
        "open_rows": rows,
        "withdrawable": [{"task": t, "step": step_label(t.flow_task)} for t in withdrawable_tasks(request.user,
                                                                                                  process)],
        "history": process_history(process),
        "opinions": list(opinions_for_process(process)),
        "has_document": process_document_id(process) is not None,
    }
    return render(request, "workflows/process.html", context)


@login_required
@require_GET
def process_slip(request, process_id: int):
    process = access_process_by_id(request.user, process_id)
    slip = processing_slip(request.user, process)
    if slip is None and (process.data or {}).get("incoming_id"):
        # A 收文 flow's 处理笺 is its 收文处理单 (which checks access to the 收文 itself).
        return redirect("workflows:incoming_slip", int(process.data["incoming_id"]))
    if slip is None:
        # A page that says why, not a bare "Not Found": the process exists and the user may see it.
        context = {"process": process, "title": process_title(process)}
        return render(request, "workflows/slip_missing.html", context, status=404)
    pdf = render_processing_slip(slip)
    response = HttpResponse(pdf, content_type="application/pdf")
    name = quote(f"处理笺-{plain(slip.title)[:60]}.pdf")  # plain: no lone surrogate for quote()
    response["Content-Disposition"] = f"inline; filename=\"slip-{process.pk}.pdf\"; filename*=UTF-8''{name}"
    response["Cache-Control"] = "private, no-store"
    return response


urlpatterns = [
    path("processes/<int:process_id>/", process_detail, name="process"),
    path("processes/<int:process_id>/slip.pdf", process_slip, name="process_slip"),
]
