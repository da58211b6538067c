"""Pages of 考核评价 一站通 (docs/assessment.md): the ranking for a period, one unit's score with its parts, the
records behind each part, the Excel export and the weights form. Thin: parse, call a selector/action, render."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from oa.http import client_ip
from oa.refusals import Refusal
from oa.scores import registered_sources, source_by_key
from supervision.assessment.actions import check_save_weights
from supervision.assessment.export import assessment_xlsx
from supervision.assessment.scoring import (
    access_assessed_agency,
    assess,
    assessable_agencies,
    month_period,
    parse_period,
    weight_agency_id,
    weights_in_force,
)


def _period(request: HttpRequest) -> tuple[dt.date, dt.date, str]:
    """(start, end, error): a bad period falls back to this month with the error shown."""
    today = timezone.localdate()
    try:
        start, end = parse_period(request.GET.get("start"), request.GET.get("end"), today)
        return start, end, ""
    except Refusal as exc:
        start, end = month_period(today)
        return start, end, exc.message


def _shortcuts(today: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    this_start, this_end = month_period(today)
    last_start, last_end = month_period(this_start - dt.timedelta(days=1))
    q = (today.month - 1) // 3
    q_start = dt.date(today.year, 3 * q + 1, 1)
    q_end = month_period(dt.date(today.year, 3 * q + 3, 1))[1]
    return [("本月", this_start, this_end), ("上月", last_start, last_end), ("本季度", q_start, q_end),
            ("本年", dt.date(today.year, 1, 1), dt.date(today.year, 12, 31))]


def _scope(request: HttpRequest):
    home, units = assessable_agencies(request.user)
    if not units:
        raise Http404("您没有可查看的考核评价。")
    return home, units


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    home, units = _scope(request)
    start, end, error = _period(request)
    weights, own = weights_in_force(home)
    rows = assess(units, start, end, weights)
    return render(request, "supervision/assessment/overview.html", {
        "rows": rows, "sources": registered_sources(), "weights": weights, "own_weights": own, "start": start,
        "end": end, "error": error, "shortcuts": _shortcuts(timezone.localdate()),
        "may_set_weights": weight_agency_id(request.user) is not None,
    }, status=400 if error else 200)


@login_required
def unit(request: HttpRequest, agency_id: int) -> HttpResponse:
    home, agency = access_assessed_agency(request.user, agency_id)
    start, end, error = _period(request)
    weights, own = weights_in_force(home)
    row = assess([agency], start, end, weights)[0]
    return render(request, "supervision/assessment/unit.html", {
        "row": row, "start": start, "end": end, "error": error, "own_weights": own,
        "shortcuts": _shortcuts(timezone.localdate()),
    }, status=400 if error else 200)


@login_required
def records(request: HttpRequest, key: str) -> HttpResponse:
    source = source_by_key(key)
    raw = request.GET.get("agency", "")
    if source is None or not hasattr(source, "records") or not raw.isdigit():
        raise Http404("没有这项考核指标的明细。")
    _, agency = access_assessed_agency(request.user, int(raw))
    start, end, error = _period(request)
    rows = source.records(agency.pk, start, end)
    return render(request, "supervision/assessment/records.html", {
        "source": source, "agency": agency, "rows": rows, "start": start, "end": end, "error": error,
        "ok_count": sum(1 for r in rows if r.ok), "score": source.scores([agency.pk], start, end)[agency.pk],
    }, status=400 if error else 200)


@login_required
def export(request: HttpRequest) -> HttpResponse:
    home, units = _scope(request)
    start, end, error = _period(request)
    if error:
        raise Refusal("period_invalid", error)
    weights, _ = weights_in_force(home)
    rows = assess(units, start, end, weights)
    data = assessment_xlsx(rows, registered_sources(), weights, start, end)
    response = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="assessment-{start:%Y%m%d}-{end:%Y%m%d}.xlsx"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def weights(request: HttpRequest) -> HttpResponse:
    agency_id = weight_agency_id(request.user)
    if agency_id is None:
        raise PermissionDenied("只有督查室的督查员可以设置考核权重。")
    current, own = weights_in_force(agency_id)
    error, values = "", dict(current)
    if request.method == "POST":
        values = {s.key: request.POST.get(f"w_{s.key}", "") for s in registered_sources()}
        try:
            check_save_weights(request.user, values, ip=client_ip(request))
        except Refusal as exc:
            error = exc.message
        else:
            return redirect("supervision:assessment")
    fields = [(s, values.get(s.key, "")) for s in registered_sources()]
    return render(request, "supervision/assessment/weights.html", {
        "fields": fields, "error": error, "own_weights": own}, status=400 if error else 200)
