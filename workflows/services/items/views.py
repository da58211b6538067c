"""Pages of the item kinds in items/ (docs/services.md). Thin: parse, call one action or selector, render.

  /services/access/<grant_id>/                  限时查阅: the granted 档案 or archived 公文 (every open audited)
  /services/access/<grant_id>/document.pdf      the borrowed 公文's final PDF (audited, attachment)
  /services/abroad/<application_id>/passport    证照领用 / 归还 (the 主管部门's keeper)
  /services/duty/                               值班: my duty days, the agency's month, publishing (办公室)
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from oa.http import client_ip
from oa.refusals import Refusal
from workflows.services.items import abroad, duty, grants
from workflows.services.items.records import AccessGrant
from workflows.services.selectors import access_application_by_id


@login_required
def access_read(request, grant_id: int):
    grant = grants.access_grant_by_id(request.user, grant_id)
    part = "档案全文" if grant.kind == AccessGrant.Kind.PERSONNEL_FILE else "公文要素"
    try:
        grant = grants.check_read(request.user, grant, part, ip=client_ip(request))
    except Refusal as exc:
        return render(request, "services/items/access_read.html", {"grant": grant, "refused": exc.message},
                      status=exc.status)
    grant = grants.access_grant_by_id(request.user, grant.pk)
    return render(request, "services/items/access_read.html", {
        "grant": grant, "until": grants.until_text(grant.valid_until)})


@login_required
def access_document_pdf(request, grant_id: int):
    grant = grants.access_grant_by_id(request.user, grant_id)
    if grant.kind != AccessGrant.Kind.DOCUMENT or not grant.document.final_pdf:
        raise Http404("该公文没有正式文件")
    try:
        grants.check_read(request.user, grant, "正式文件PDF", ip=client_ip(request))
    except Refusal as exc:
        return render(request, "services/items/access_read.html", {"grant": grant, "refused": exc.message},
                      status=exc.status)
    return FileResponse(grant.document.final_pdf.open("rb"), as_attachment=True, content_type="application/pdf",
                        filename=f"{grant.document.doc_number or grant.document.pk}.pdf")


@login_required
@require_POST
def passport(request, application_id: int):
    application = access_application_by_id(request.user, application_id)
    if application.item.handler != abroad.KEY:
        raise Http404("不是因公出国（境）办件")
    try:
        abroad.check_passport(request.user, application, request.POST.get("kind", ""), request.POST.get("note", ""))
    except Refusal as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "已登记")
    return redirect("services:application", application.pk)


class RosterForm(forms.Form):
    text = forms.CharField(label="值班安排", widget=forms.Textarea(attrs={"rows": 12}),
                           help_text="每行一天：日期 值班人（账号或姓名，多人用顿号分隔），如“2026-03-02 张伟、李娜”")


def _month(raw: str | None) -> dt.date:
    try:
        return dt.datetime.strptime((raw or "")[:7], "%Y-%m").date()
    except ValueError:
        return timezone.localdate().replace(day=1)


@login_required
@require_http_methods(["GET", "POST"])
def duty_page(request):
    month = _month(request.GET.get("month") or request.POST.get("month"))
    agency = duty.agency_of(request.user)
    if agency is None:
        raise Http404("您在通讯录中没有任职信息")
    keeper = duty.is_roster_keeper(request.user, agency)
    form = RosterForm(request.POST or None, initial={"text": duty.roster_text(agency, month)})
    status, error = 200, ""
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                duty.check_publish_roster(request.user, agency, month, form.cleaned_data["text"])
            except Refusal as exc:
                error, status = exc.message, exc.status
            else:
                messages.success(request, f"{month.year}年{month.month}月值班表已发布")
                return redirect(f"/services/duty/?month={month:%Y-%m}")
    from workflows.services.models import ServiceItem

    swap_item = ServiceItem.objects.filter(handler=duty.KEY, is_active=True).first()
    previous = (month - dt.timedelta(days=1)).replace(day=1)
    following = (month + dt.timedelta(days=32)).replace(day=1)
    return render(request, "services/items/duty.html", {
        "month": month, "agency": agency, "slots": duty.slots_of(agency, month), "keeper": keeper, "form": form,
        "error": error, "mine": duty.my_duty_days(request.user, timezone.localdate()), "swap_item": swap_item,
        "roster": duty.roster_of(agency, month), "previous": previous, "following": following,
    }, status=status)


urlpatterns = [
    path("access/<int:grant_id>/", access_read, name="access_read"),
    path("access/<int:grant_id>/document.pdf", access_document_pdf, name="access_document_pdf"),
    path("abroad/<int:application_id>/passport", passport, name="passport"),
    path("duty/", duty_page, name="duty"),
]
