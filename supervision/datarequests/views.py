"""Pages of 报表“一张表” (phone first, 390 px; desktop with the side navigation). Thin: parse, call one action or
selector, render."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from oa.http import client_ip
from oa.models import Agency, Department
from oa.refusals import Refusal
from supervision.datarequests import actions as act
from supervision.datarequests import charts
from supervision.datarequests.excel import XLSX_TYPE, ImportRefused, aggregate_xlsx, template_xlsx
from supervision.datarequests.models import CatalogField, DataRequest, FieldKind, RequestField, Submission
from supervision.datarequests.selectors import (
    access_catalog_by_id,
    access_request_by_id,
    access_submission_by_id,
    catalog_matches,
    catalog_rows,
    catalog_usage,
    catalog_uses,
    current_round,
    fields_of,
    is_list_owner,
    is_requester,
    is_unit_member,
    listed_requests,
    listing_load,
    may_see_aggregate,
    merge_candidates,
    my_submissions,
    pending_listings,
    period_label,
    requests_visible_to,
    round_progress,
    unit_name,
)
from supervision.datarequests.selectors import (
    aggregate as aggregate_of,
)
from supervision.datarequests.values import bound_text


def _message(exc: Refusal | PermissionDenied) -> str:
    return exc.message if isinstance(exc, Refusal) else str(exc)


def _active_agencies():
    return Agency.objects.filter(is_active=True).order_by("sort_order", "id")


class RequestForm(forms.Form):
    title = forms.CharField(label="报表名称", max_length=120)
    description = forms.CharField(label="填报说明（口径、依据）", widget=forms.Textarea(attrs={"rows": 3}), required=False)
    cycle = forms.ChoiceField(label="报送周期", choices=DataRequest.Cycle.choices)
    period = forms.CharField(label="统计期（一次性报表：2026、2026-09 或 2026-Q3；空为本月）", max_length=10, required=False)
    deadline_days = forms.IntegerField(label="填报时限（工作日）", min_value=1, max_value=act.DEADLINE_DAYS_MAX, initial=5)
    all_towns = forms.BooleanField(label="全部镇（街道）", required=False)
    agencies = forms.ModelMultipleChoiceField(label="填报单位（机关、镇街）", queryset=Agency.objects.none(), required=False,
                                              widget=forms.CheckboxSelectMultiple)
    departments = forms.ModelMultipleChoiceField(label="或指定科室", queryset=Department.objects.none(),
                                                 required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agencies"].queryset = _active_agencies()
        self.fields["departments"].queryset = (Department.objects.filter(is_active=True, agency__is_active=True)
                                               .select_related("agency"))
        self.fields["departments"].label_from_instance = lambda d: f"{d.agency.short_name}·{d.name}"

    def to_input(self) -> act.RequestInput:
        d = self.cleaned_data
        agencies = list(d["agencies"])
        if d["all_towns"]:
            agencies += list(_active_agencies().filter(kind=Agency.Kind.TOWN))
        targets = [(a, None) for a in agencies] + [(dep.agency, dep) for dep in d["departments"]]
        return act.RequestInput(title=d["title"], description=d["description"], cycle=d["cycle"],
                                period=d["period"], deadline_days=d["deadline_days"], targets=targets)


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    subs = list(my_submissions(request.user)[:200])
    own = list(requests_visible_to(request.user).filter(owner=request.user).select_related("agency")[:100])
    return render(request, "datarequests/mine.html", {
        "subs": subs, "own": own, "list_owner": is_list_owner(request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    form = RequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            req = act.check_save_request(request.user, None, form.to_input(), ip=client_ip(request))
        except (Refusal, PermissionDenied) as exc:
            form.add_error(None, _message(exc))
        else:
            return redirect("datarequests:fields", req.pk)
    return render(request, "datarequests/form.html", {"form": form, "req": None})


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, request_id: int) -> HttpResponse:
    req = access_request_by_id(request.user, request_id)
    if not is_requester(request.user, req):
        raise Http404
    targets = list(req.targets.all())
    initial = {"title": req.title, "description": req.description, "cycle": req.cycle, "period": req.period,
               "deadline_days": req.deadline_days,
               "agencies": [t.agency_id for t in targets if not t.department_id],
               "departments": [t.department_id for t in targets if t.department_id]}
    form = RequestForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            act.check_save_request(request.user, req, form.to_input(), ip=client_ip(request))
        except (Refusal, PermissionDenied) as exc:
            form.add_error(None, _message(exc))
        else:
            return redirect("datarequests:detail", req.pk)
    return render(request, "datarequests/form.html", {"form": form, "req": req})


class FieldForm(forms.Form):
    code = forms.CharField(label="字段代码（用于公式和 Excel，如 output）", max_length=30)
    name = forms.CharField(label="指标名称", max_length=60, required=False)
    unit = forms.CharField(label="计量单位（万元、人、个……）", max_length=20, required=False)
    kind = forms.ChoiceField(label="类型", choices=FieldKind.choices, required=False)
    synonyms = forms.CharField(label="同义词（逗号分隔，便于他人检索复用）", max_length=300, required=False)
    choices = forms.CharField(label="选项（单选，逗号分隔）", max_length=500, required=False)
    required = forms.BooleanField(label="必填", required=False, initial=True)
    min_value = forms.CharField(label="最小值", max_length=20, required=False)
    max_value = forms.CharField(label="最大值", max_length=20, required=False)
    formula = forms.CharField(label="计算公式（可选，如 (a + b) / c；只能用本表字段代码、数字、+ - * / 和括号）",
                              max_length=300, required=False)

    def to_input(self, catalog: CatalogField | None) -> act.FieldInput:
        d = self.cleaned_data
        return act.FieldInput(code=d["code"], name=d["name"], unit=d["unit"], kind=d["kind"] or FieldKind.INTEGER,
                              synonyms=d["synonyms"], choices=d["choices"], required=d["required"],
                              min_value=d["min_value"], max_value=d["max_value"], formula=d["formula"],
                              catalog=catalog)


@login_required
@require_http_methods(["GET", "POST"])
def fields(request: HttpRequest, request_id: int) -> HttpResponse:
    """Design the form: the field catalogue search first (same meaning from earlier requests, with a 复用 button
    for each), then a new field. A POST adds (reusing a catalogue row or new) or removes a field."""
    req = access_request_by_id(request.user, request_id)
    if not is_requester(request.user, req):
        raise Http404
    q, unit = request.GET.get("q", "").strip()[:60], request.GET.get("unit", "").strip()[:20]
    form = FieldForm(request.POST or None, initial={"name": q, "unit": unit, "required": True})
    error = ""
    if request.method == "POST":
        op = request.POST.get("op")
        try:
            if op == "remove":
                field = RequestField.objects.filter(request=req, pk=request.POST.get("field") or 0).first()
                if field is None:
                    raise Http404
                act.check_remove_field(request.user, field, ip=client_ip(request))
                return redirect("datarequests:fields", req.pk)
            if form.is_valid():
                catalog = None
                if op == "reuse":
                    catalog = CatalogField.objects.filter(pk=request.POST.get("catalog") or 0).first()
                    if catalog is None:
                        raise Refusal("catalog_missing", "所选指标已不在目录中。")
                act.check_add_field(request.user, req, form.to_input(catalog), ip=client_ip(request))
                return redirect("datarequests:fields", req.pk)
        except (Refusal, PermissionDenied) as exc:
            error = _message(exc)
    matches = catalog_matches(q, unit) if (q or unit) else []
    usage = catalog_usage(matches)
    for m in matches:
        m.used_in = usage.get(m.pk, [])
    return render(request, "datarequests/fields.html", {
        "req": req, "fields": [(f, bound_text(f)) for f in fields_of(req)], "form": form, "q": q, "unit": unit,
        "matches": matches, "error": error, "searched": bool(q or unit),
        "editable": req.status == DataRequest.Status.DRAFT})


@login_required
@require_GET
def catalog(request: HttpRequest) -> HttpResponse:
    """指标目录: search the catalogue (active rows, or the retired and merged ones); each row shows the requests using
    it. 清单 owners open a row to maintain it."""
    q, unit = request.GET.get("q", "").strip()[:60], request.GET.get("unit", "").strip()[:20]
    retired = request.GET.get("show") == "retired"
    rows = catalog_rows(q, unit, retired=retired)
    usage = catalog_usage(rows)
    for row in rows:
        row.used_in = usage.get(row.pk, [])
    return render(request, "datarequests/catalog.html", {"rows": rows, "q": q, "unit": unit, "retired": retired,
                                                         "owner": is_list_owner(request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def catalog_entry(request: HttpRequest, catalog_id: int) -> HttpResponse:
    """One catalogue row: where it is used, and for the 清单 owners: edit 同义词/口径说明, merge into another row,
    停用 / 恢复."""
    cat = access_catalog_by_id(catalog_id)
    owner = is_list_owner(request.user)
    error = ""
    if request.method == "POST":
        op = request.POST.get("op")
        try:
            if not owner:
                raise PermissionDenied("只有区府办报表清单审核人（督查室）可以维护指标目录。")
            if op == "update":
                act.check_update_catalog(request.user, cat, synonyms=request.POST.get("synonyms", ""),
                                         description=request.POST.get("description", ""), ip=client_ip(request))
            elif op in ("retire", "restore"):
                act.check_retire_catalog(request.user, cat, retire=op == "retire", ip=client_ip(request))
            elif op == "merge":
                raw = request.POST.get("into", "")
                into = CatalogField.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
                if into is None:
                    raise Refusal("merge_target_required", "请选择要并入的指标。")
                act.check_merge_catalog(request.user, cat, into, ip=client_ip(request))
                return redirect("datarequests:catalog_entry", into.pk)
            else:
                raise PermissionDenied("不支持的操作。")
            return redirect("datarequests:catalog_entry", cat.pk)
        except (Refusal, PermissionDenied) as exc:
            error = _message(exc)
            cat = access_catalog_by_id(catalog_id)
    uses = catalog_uses(cat)
    return render(request, "datarequests/catalog_entry.html", {
        "cat": cat, "owner": owner, "error": error, "uses": uses,
        "answers": cat.answers.count(), "merged_from": list(cat.merged_from.all()),
        "candidates": merge_candidates(cat) if owner and not cat.retired else [],
        "synonyms": request.POST.get("synonyms", cat.synonyms) if error else cat.synonyms,
        "description": request.POST.get("description", cat.description) if error else cat.description})


def _progress_context(req: DataRequest) -> dict:
    rnd = current_round(req)
    if rnd is None:
        return {"rnd": None}
    p = round_progress(rnd)
    return {"rnd": rnd, "p": p, "period": period_label(rnd.period), "segments": charts.progress_segments(p)}


@login_required
@require_http_methods(["GET", "POST"])
def detail(request: HttpRequest, request_id: int) -> HttpResponse:
    req = access_request_by_id(request.user, request_id)
    requester = is_requester(request.user, req)
    error = ""
    if request.method == "POST":
        op = request.POST.get("op")
        try:
            if op == "apply" and requester:
                act.check_apply_listing(request.user, req, basis=request.POST.get("basis", ""), ip=client_ip(request))
            elif op == "send" and requester:
                act.check_send_request(request.user, req, ip=client_ip(request))
            elif op == "close" and requester:
                act.check_close_request(request.user, req, ip=client_ip(request))
            else:
                raise PermissionDenied("您不能对该报表执行此操作。")
            return redirect("datarequests:detail", req.pk)
        except (Refusal, PermissionDenied) as exc:
            error = _message(exc)
            req.refresh_from_db()
    ctx = {"req": req, "requester": requester, "error": error, "list_owner": is_list_owner(request.user),
           "see_all": may_see_aggregate(request.user, req),
           "fields": [(f, bound_text(f)) for f in fields_of(req)],
           "targets": list(req.targets.select_related("agency", "department")),
           "rounds": list(req.rounds.all()[:24]), **_progress_context(req)}
    return render(request, "datarequests/detail.html", ctx)


@login_required
@require_GET
def progress(request: HttpRequest, request_id: int) -> HttpResponse:
    """The progress card alone: the requester's page reloads it on a datarequest.progress event (or every 30 s
    while the events socket is not connected)."""
    req = access_request_by_id(request.user, request_id)
    if not may_see_aggregate(request.user, req):
        raise Http404
    return render(request, "datarequests/_progress.html", {"req": req, **_progress_context(req)})


@login_required
@require_GET
def aggregate(request: HttpRequest, request_id: int, round_id: int) -> HttpResponse:
    req = access_request_by_id(request.user, request_id)
    if not may_see_aggregate(request.user, req):
        raise Http404  # the target units see their own submission, not the other units' figures
    rnd = req.rounds.filter(pk=round_id).first()
    if rnd is None:
        raise Http404
    flds = fields_of(req)
    rows, aggs = aggregate_of(rnd, flds)
    if request.GET.get("format") == "xlsx":
        response = HttpResponse(aggregate_xlsx(rnd, flds, rows, aggs), content_type=XLSX_TYPE)
        response["Content-Disposition"] = f'attachment; filename="datarequest-{req.pk}-{rnd.period}.xlsx"'
        return response
    numeric = [a.field for a in aggs]
    chosen = next((f for f in numeric if f.code == request.GET.get("field")), numeric[0] if numeric else None)
    chart = charts.unit_bars(rows, chosen) if chosen else None
    return render(request, "datarequests/aggregate.html", {
        "req": req, "rnd": rnd, "period": period_label(rnd.period), "fields": flds, "aggs": aggs,
        "table": [(s, unit_name(s), [s.values.get(f.code, "") for f in flds]) for s in rows],
        "agg_by_code": {a.field.code: a for a in aggs}, "numeric": numeric, "chosen": chosen, "chart": chart,
        "p": round_progress(rnd)})


@login_required
@require_http_methods(["GET", "POST"])
def submission(request: HttpRequest, submission_id: int) -> HttpResponse:
    sub = access_submission_by_id(request.user, submission_id)
    req, rnd = sub.round.request, sub.round
    member, requester = is_unit_member(request.user, sub), is_requester(request.user, req)
    errors: dict[str, str] = {}
    import_errors: list[tuple[str, str]] = []
    error = ""
    posted: dict[str, str] | None = None
    if request.method == "POST":
        op = request.POST.get("op")
        try:
            if op in ("save", "submit") and member:
                posted = {k: request.POST.get(f"f_{k}", "") for k in (f.code for f in fields_of(req))}
                act.check_save_submission(request.user, sub, posted, final=op == "submit", ip=client_ip(request))
            elif op == "import" and member:
                upload = request.FILES.get("file")
                if upload is None:
                    raise Refusal("file_required", "请选择要导入的 Excel 文件（.xlsx）。")
                act.check_import_submission(request.user, sub, upload, ip=client_ip(request))
            elif op == "return" and requester:
                act.check_return_submission(request.user, sub, reason=request.POST.get("reason", ""),
                                            ip=client_ip(request))
            else:
                raise PermissionDenied("您不能对该填报执行此操作。")
            return redirect("datarequests:submission", sub.pk)
        except ImportRefused as exc:
            import_errors, error = exc.errors, f"导入的表格有 {len(exc.errors)} 处错误，未保存任何数据，请改正后重新导入："
        except act.ValuesRefused as exc:
            errors, error = exc.errors, exc.message
        except (Refusal, PermissionDenied) as exc:
            error = _message(exc)
        sub.refresh_from_db()
    values = dict(sub.values or {})
    if posted is not None:
        values.update(posted)
    rows = [{"f": f, "value": values.get(f.code, ""), "error": errors.get(f.code, ""), "help": bound_text(f),
             "prefilled": (sub.prefilled or {}).get(f.code)} for f in fields_of(req)]
    editable = member and req.status == DataRequest.Status.ACTIVE and sub.status != Submission.Status.SUBMITTED
    return render(request, "datarequests/submission.html", {
        "sub": sub, "req": req, "rnd": rnd, "period": period_label(rnd.period), "unit": unit_name(sub),
        "rows": rows, "error": error, "import_errors": import_errors, "editable": editable, "member": member,
        "requester": requester, "overdue": sub.status != Submission.Status.SUBMITTED and act.today() > rnd.deadline})


@login_required
@require_GET
def template(request: HttpRequest, submission_id: int) -> HttpResponse:
    sub = access_submission_by_id(request.user, submission_id)
    response = HttpResponse(template_xlsx(sub, fields_of(sub.round.request)), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="datarequest-template-{sub.pk}.xlsx"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def listing(request: HttpRequest) -> HttpResponse:
    """报表清单: the registered requests, every active request per unit (the 基层's whole load), and for the 区府办
    清单 owner the applications to decide."""
    owner = is_list_owner(request.user)
    error = ""
    if request.method == "POST":
        req = access_request_by_id(request.user, int(request.POST.get("request") or 0))
        try:
            act.check_decide_listing(request.user, req, approve=request.POST.get("op") == "approve",
                                     note=request.POST.get("note", ""), ip=client_ip(request))
            return redirect("datarequests:listing")
        except (Refusal, PermissionDenied) as exc:
            error = _message(exc)
    unit = request.GET.get("unit", "")
    loads = listing_load([int(unit)] if unit.isdigit() else None)
    own = {a for a in request.user.appointments.values_list("department__agency_id", flat=True)}
    loads.sort(key=lambda load: (load.agency.pk not in own, load.agency.sort_order, load.agency.pk))
    return render(request, "datarequests/listing.html", {
        "owner": owner, "pending": list(pending_listings()) if owner else [], "listed": list(listed_requests()),
        "loads": loads, "agencies": _active_agencies(), "unit": unit, "error": error})
