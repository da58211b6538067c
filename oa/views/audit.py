"""Auditor view of the audit log: filters, pagination, CSV export (itself audited)."""

from __future__ import annotations

import csv

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST

from oa.actions.audit import do_record_audit_export, do_record_audit_verify
from oa.csvsafe import csv_row
from oa.http import client_ip
from oa.selectors.audit import audit_entries, may_view_audit, verify_audit_chain


class AuditFilterForm(forms.Form):
    actor = forms.IntegerField(label="操作人编号", required=False, min_value=1)
    action = forms.CharField(label="操作（前缀）", required=False, max_length=64)
    text = forms.CharField(label="对象或人员", required=False, max_length=100)
    since = forms.DateField(label="起始日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="截止日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError("起始日期不能晚于截止日期。")
        return data


def _filtered(request):
    if not may_view_audit(request.user):
        raise PermissionDenied("只有审计管理员可以查看审计日志。")
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = audit_entries(
        actor_id=filters.get("actor"),
        action=filters.get("action", ""),
        text=filters.get("text", ""),
        since=filters.get("since"),
        until=filters.get("until"),
    )
    return form, filters, qs


@login_required
def audit_list(request, report=None) -> HttpResponse:
    form, _, qs = _filtered(request)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "report": report}
    return render(request, "audit/list.html", context)


@login_required
@require_POST
def audit_verify(request) -> HttpResponse:
    """校验审计链 from the page (what manage.py verify_audit does); the check is itself audited."""
    if not may_view_audit(request.user):
        raise PermissionDenied("只有审计管理员可以校验审计链。")
    report = verify_audit_chain()
    do_record_audit_verify(actor=request.user, ok=report.ok, checked=report.checked,
                           first_broken_id=report.first_broken_id, ip=client_ip(request))
    return audit_list(request, report=report)


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
def audit_export(request) -> StreamingHttpResponse:
    _, filters, qs = _filtered(request)
    do_record_audit_export(actor=request.user, filters=filters, ip=client_ip(request))
    writer = csv.writer(_Echo())
    header = ["序号", "时间", "操作人", "代谁办理", "操作", "对象类型", "对象标识", "对象", "变更摘要", "IP", "摘要"]

    def rows():
        yield "\ufeff"  # BOM so that Excel opens the UTF-8 file as Chinese text
        yield writer.writerow(header)
        for e in qs.order_by("id").iterator(chunk_size=2000):
            yield writer.writerow(
                csv_row([
                    e.pk,
                    timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M:%S"),
                    e.actor_name,
                    e.on_behalf_of_name,
                    e.action,
                    e.object_type,
                    e.object_id,
                    e.object_repr,
                    e.changes,
                    e.ip or "",
                    e.hash,
                ])
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response
