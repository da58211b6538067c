"""Pages of the 机关事务 items (docs/services.md): the 用印 files and the 还车登记. Thin: access, one action."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.urls import path
from django.views.decorators.http import require_POST

from oa.refusals import Refusal
from workflows.services import selectors
from workflows.services.items import vehicles
from workflows.services.items.affairs_models import SealRequest


def _seal_file(request, application_id: int, which: str):
    application = selectors.access_application_by_id(request.user, application_id)
    seal_request = SealRequest.objects.filter(application=application).first()
    field = getattr(seal_request, which, None) if seal_request else None
    if not field:
        raise Http404("没有该文件")
    label = "已盖章" if which == "stamped_pdf" else "待盖章"
    return FileResponse(field.open("rb"), as_attachment=True, content_type="application/pdf",
                        filename=f"{seal_request.document_title}-{label}-{application.number}.pdf")


@login_required
def seal_source(request, application_id: int):
    return _seal_file(request, application_id, "source_pdf")


@login_required
def seal_stamped(request, application_id: int):
    return _seal_file(request, application_id, "stamped_pdf")


@login_required
@require_POST
def vehicle_return(request, application_id: int):
    application = selectors.access_application_by_id(request.user, application_id)
    text = (request.POST.get("end_mileage") or "").strip()
    try:
        if not text.isdigit() or len(text) > 9:
            raise Refusal("trip_mileage_invalid", "请填写还车时的里程表读数（整数公里）。")
        vehicles.check_return_vehicle(request.user, application, int(text))
    except Refusal as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "已登记还车")
    return redirect("services:application", application.pk)


urlpatterns = [
    path("applications/<int:application_id>/seal/source.pdf", seal_source, name="seal_source"),
    path("applications/<int:application_id>/seal/stamped.pdf", seal_stamped, name="seal_stamped"),
    path("applications/<int:application_id>/vehicle-return", vehicle_return, name="vehicle_return"),
]
