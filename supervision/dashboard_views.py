"""督办看板, drill-down list, 一张表 export and 月度通报 pages (docs/supervision.md 看板). Thin: parse, call, render."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from urllib.parse import quote, urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from oa.actions.audit import do_record_audit
from oa.http import client_ip
from oa.models import Person
from oa.refusals import Refusal
from supervision import dashboard as dash
from supervision import report
from supervision.export import dashboard_xlsx
from supervision.models import SourceType
from supervision.selectors import is_supervisor

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _require_viewer(user: Person) -> None:
    if not dash.may_oversee(user) and not dash.tasks_in_scope(user).exists():
        raise PermissionDenied("督办看板供督查室、领导和有督办任务的承办单位查看。")


def _drill(f: dash.Filters, **changes) -> str:
    return reverse("supervision:dashboard_items") + "?" + urlencode(f.query(**changes))


def _with_links(rows: list[dash.Figures], f: dash.Filters, attr: str) -> list[dash.Figures]:
    for r in rows:
        r.links = {k: _drill(f, **{attr: r.key, "kind": k}) for k in dash.KINDS}
    return rows


def _filters(request: HttpRequest) -> tuple[dash.Filters, list[str]]:
    return dash.parse_filters(request.GET, timezone.localdate())


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    _require_viewer(request.user)
    f, errors = _filters(request)
    board = dash.dashboard_for(request.user, f)
    if request.GET.get("format") == "xlsx":
        tasks = dash.drilldown(request.user, replace(f, kind="all"))
        do_record_audit(actor=request.user, action="supervision.export", object_type="supervision.dashboard",
                        object_repr="导出督办一张表", changes=f.query(), ip=client_ip(request))
        response = HttpResponse(dashboard_xlsx(board, tasks), content_type=XLSX)
        name = f"督办一张表{f.start:%Y%m%d}-{f.end:%Y%m%d}.xlsx"
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
        return response
    total = board.total
    total.links = {k: _drill(f, kind=k) for k in dash.KINDS}
    _with_links(board.units, f, "unit")
    _with_links(board.sources, f, "source_type")
    for m in board.trend:
        y, mo = (int(x) for x in m.key.split("-"))
        first, last = dash.month_bounds(y, mo)
        m.links = {k: _drill(replace(f, start=first, end=last), kind=k) for k in dash.KINDS}
    bars = dash.unit_bars(board.units)
    columns = dash.trend_columns(board.trend)
    return render(request, "supervision/dashboard/index.html", {
        "board": board, "f": f, "errors": errors, "sources": SourceType.choices, "lights": dash.LIGHTS,
        "units": dash.scoped_units(request.user), "bars": bars, "bars_height": 20 + 28 * len(bars),
        "columns": columns, "export_query": urlencode({**f.query(), "format": "xlsx"}),
        "supervisor": is_supervisor(request.user), "oversee": dash.may_oversee(request.user)})


@login_required
def items(request: HttpRequest) -> HttpResponse:
    _require_viewer(request.user)
    f, errors = _filters(request)
    qs = dash.drilldown(request.user, f)
    count = qs.count()
    unit_name = ""
    if f.unit:
        unit_name = dash.scoped_units(request.user).filter(pk=f.unit).values_list("short_name", flat=True).first()
    return render(request, "supervision/dashboard/items.html", {
        "tasks": list(qs[:500]), "count": count, "f": f, "errors": errors, "kind_label": dash.KINDS[f.kind],
        "unit_name": unit_name, "source_label": dict(SourceType.choices).get(f.source_type, ""),
        "light_label": dash.LIGHTS.get(f.light, ""),
        "back": reverse("supervision:dashboard") + "?" + urlencode(replace(f, kind="all").query())})


class BulletinForm(forms.Form):
    month = forms.CharField(label="通报月份", widget=forms.DateInput(attrs={"type": "month"}), max_length=7)

    def clean_month(self) -> tuple[int, int]:
        raw = self.cleaned_data["month"].strip()
        try:
            day = dt.date.fromisoformat(raw + "-01")
        except ValueError:
            raise forms.ValidationError("月份格式不对，请写成 2026-11。") from None
        return day.year, day.month


@login_required
@require_http_methods(["GET", "POST"])
def bulletins(request: HttpRequest) -> HttpResponse:
    if not is_supervisor(request.user):
        raise PermissionDenied("只有督查员可以起草督查通报。")
    today = timezone.localdate()
    last_month = (today.replace(day=1) - dt.timedelta(days=1))
    form = BulletinForm(request.POST or None, initial={"month": f"{last_month:%Y-%m}"})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            year, month = form.cleaned_data["month"]
            try:
                bulletin = report.check_draft_bulletin(request.user, year, month, ip=client_ip(request))
            except Refusal as exc:
                form.add_error("month", exc.message)
                status = exc.status
            else:
                messages.success(request, f"已起草{year}年{month}月督查通报")
                return redirect("supervision:bulletin", bulletin.pk)
        else:
            status = 400
    return render(request, "supervision/dashboard/bulletins.html", {
        "form": form, "bulletins": report.bulletins_visible_to(request.user)[:60]}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def bulletin(request: HttpRequest, bulletin_id: int) -> HttpResponse:
    b = report.access_bulletin_by_id(request.user, bulletin_id)
    error = ""
    if request.method == "POST" and request.POST.get("op") == "send":
        try:
            process = report.check_send_bulletin(request.user, b, ip=client_ip(request))
        except (Refusal, PermissionDenied) as exc:
            error = exc.message if isinstance(exc, Refusal) else str(exc)
        else:
            messages.success(request, "通报已送审，进入发文流程")
            return redirect("workflows:process", process.pk)
    doc = b.document
    return render(request, "supervision/dashboard/bulletin.html", {
        "b": b, "doc": doc, "error": error,
        "can_send": doc.status == "draft" and doc.created_by_id == request.user.pk},
        status=400 if error else 200)


@login_required
def bulletin_file(request: HttpRequest, bulletin_id: int, ext: str) -> HttpResponse:
    b = report.access_bulletin_by_id(request.user, bulletin_id)
    try:
        data = report.render_bulletin(b, ext)
    except Refusal as exc:
        doc = b.document
        return render(request, "supervision/dashboard/bulletin.html", {
            "b": b, "doc": doc, "error": exc.message,
            "can_send": doc.status == "draft" and doc.created_by_id == request.user.pk}, status=exc.status)
    content_type = "application/pdf" if ext == "pdf" else (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    response = HttpResponse(data, content_type=content_type)
    name = f"{b.year}年{b.month}月督查通报.{ext}"
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response
