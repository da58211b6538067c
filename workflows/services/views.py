"""零跑动 pages under /services/ (docs/services.md). Thin: parse, call one action or selector, render.

  /services/                                   事项目录 (search)
  /services/items/<id>/                        办事指南
  /services/items/<id>/apply                   申请 (prefilled; asks only what the system cannot know)
  /services/mine/                              我的办件
  /services/applications/<id>/                 办件详情: timeline, result, 好差评, 销假
  /services/applications/<id>/certificate.pdf  the sealed certificate
  /services/certificates/<uuid>/verify         验章 of one certificate (the QR code's address)
  /services/tasks/<task_id>/                   a step: 受理 / 审批 / 补正; 退回补正
  /services/ratings/                           好差评 of the items my department is 主管部门 of
  /services/supplies/                          办公用品 stock (the 主管部门's keepers)
  /services/manage/ …                          事项管理 and 人事数据导入 (系统管理员)
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from documents.selectors.seals import sealed_documents_visible_to, verify_pdf
from documents.views.seals import VerifyForm
from integrations.hr.actions import check_import_hr
from integrations.hr.source import HrDataError, parse_upload
from oa.http import client_ip
from oa.models import Role
from oa.refusals import Refusal
from oa.selectors.manage import require_admin, scope_agencies, scope_departments
from workflows.actions.routing import do_mark_task_opened
from workflows.services import actions, selectors
from workflows.services import metrics as service_metrics_module
from workflows.services.catalogue import ROLE_LABELS, SCOPE_LABELS, SOURCE_LABELS
from workflows.services.flows import ServiceFlow
from workflows.services.forms import (
    AmendReturnForm,
    ApplicationForm,
    DecisionForm,
    HrImportForm,
    ItemForm,
    LeaveCloseForm,
    RatingForm,
    RestockForm,
)
from workflows.services.handlers import default_initial, handler_for, is_final_step
from workflows.services.models import ServiceApplication, ServiceCertificate, ServiceItem, SupplyItem

app_name = "services"
HR_IMPORT_MAX_BYTES = 10 * 1024 * 1024


def _route_rows(item: ServiceItem) -> list[dict]:
    rows = [{"title": "受理", "who": f"{item.department.name}（{ROLE_LABELS.get(item.intake_role, item.intake_role)}）",
             "parallel": False}]
    for stage in item.route:
        rows.append({"parallel": len(stage) > 1, "steps": [
            {"title": s["title"], "who": f"{SCOPE_LABELS[s['scope']]}{ROLE_LABELS.get(s['role'], s['role'])}"}
            for s in stage]})
    return rows


def _materials(item: ServiceItem) -> list[dict]:
    return [{"name": m["name"], "source": SOURCE_LABELS[m["source"]],
             "typed": m["source"] == "upload"} for m in item.materials]


@login_required
def catalogue(request):
    query = request.GET.get("q", "")
    items = list(selectors.catalogue_items(query))
    for item in items:
        item.refusal = selectors.ineligibility(request.user, item)
    from workflows.services.items.fleet import fleet_agencies_of, office_agencies_of

    return render(request, "services/catalogue.html", {
        "items": items, "q": query[:50], "manages_fleet": bool(fleet_agencies_of(request.user)),
        "keeps_offices": bool(office_agencies_of(request.user))})


@login_required
def item_guide(request, item_id: int):
    item = selectors.access_item_by_id(request.user, item_id)
    return render(request, "services/guide.html", {
        "item": item, "route": _route_rows(item), "materials": _materials(item),
        "eligible_agencies": list(item.eligible_agencies.all()),
        "eligible_roles": [ROLE_LABELS.get(r, r) for r in item.eligible_roles],
        "refusal": selectors.ineligibility(request.user, item)})


def _input(form: ApplicationForm) -> actions.ApplicationInput:
    data = form.cleaned_data
    return actions.ApplicationInput(purpose=data.get("purpose", ""), leave_kind=data.get("leave_kind", ""),
                                    start=data.get("start"), end=data.get("end"), supply_id=data.get("supply"),
                                    quantity=data.get("quantity"), uploads=form.uploads(), previous=form.previous(),
                                    extra=form.extra())


@login_required
@require_http_methods(["GET", "POST"])
def apply(request, item_id: int):
    item = selectors.access_item_by_id(request.user, item_id)
    refusal = selectors.ineligibility(request.user, item)
    context = {"item": item, "refusal": refusal, "materials": _materials(item)}
    if refusal:
        return render(request, "services/apply.html", context, status=403)
    try:
        context["prefill"] = selectors.prefill_for(request.user, item)
    except Refusal as exc:
        context["prefill_error"] = exc.message
        return render(request, "services/apply.html", context, status=exc.status)
    if item.handler == ServiceItem.Handler.LEAVE:
        context["balance"] = selectors.leave_balance(request.user)
    form = ApplicationForm(request.POST or None, request.FILES or None, item=item, applicant=request.user)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                application = actions.check_submit_application(request.user, item, _input(form))
            except Refusal as exc:
                form.add_refusal(exc.code, exc.message)
                status = exc.status
            else:
                messages.success(request, f"已提交，办件编号 {application.number}")
                return redirect("services:application", application.pk)
    context["form"] = form
    return render(request, "services/apply.html", context, status=status)


@login_required
def mine(request):
    return render(request, "services/mine.html", {"applications": selectors.my_applications(request.user)[:200]})


def _open_tasks(application: ServiceApplication):
    if not application.process_id:
        return []
    return list(Task.objects.filter(process_id=application.process_id, flow_task_type="HUMAN",
                                    status__in=(STATUS.ASSIGNED, STATUS.STARTED)).select_related("owner"))


@login_required
@require_http_methods(["GET", "POST"])
def application_detail(request, application_id: int):
    application = selectors.access_application_by_id(request.user, application_id)
    rating_form = RatingForm(request.POST if request.POST.get("form") == "rate" else None)
    close_form = LeaveCloseForm(request.POST if request.POST.get("form") == "leave_close" else None)
    status, error = 200, ""
    if request.method == "POST":
        status = 400
        try:
            if request.POST.get("form") == "rate" and rating_form.is_valid():
                actions.check_rate_application(request.user, application, rating_form.cleaned_data["rating"],
                                               rating_form.cleaned_data["comment"])
                messages.success(request, "感谢您的评价")
                return redirect("services:application", application.pk)
            if request.POST.get("form") == "leave_close" and close_form.is_valid():
                actions.check_close_leave(request.user, application, close_form.cleaned_data["returned_on"])
                messages.success(request, "已销假")
                return redirect("services:application", application.pk)
        except Refusal as exc:
            (rating_form if request.POST.get("form") == "rate" else close_form).add_refusal(exc.code, exc.message)
            status, error = exc.status, exc.message
    mine_ = application.applicant_id == request.user.pk
    leave = getattr(application, "leave", None) if application.item.handler == ServiceItem.Handler.LEAVE else None
    plugged = handler_for(application.item.handler)
    extra = plugged.detail(application, request.user) if plugged is not None and plugged.detail is not None else {}
    return render(request, "services/application.html", {
        **extra, "item_template": plugged.template if plugged is not None else "",
        "application": application, "events": application.events.select_related("actor"), "error": error,
        "open_tasks": _open_tasks(application), "is_applicant": mine_, "leave": leave,
        "certificate": ServiceCertificate.objects.filter(application=application).first(),
        "materials": application.materials.all(),
        "rating_form": rating_form if mine_ and application.rating is None and application.completed_at else None,
        "close_form": close_form if mine_ and leave is not None and leave.state == "approved" else None,
        "record": plugged.record(application, request.user) if plugged and plugged.record else None,
    }, status=status)


@login_required
def certificate_pdf(request, application_id: int):
    application = selectors.access_application_by_id(request.user, application_id)
    certificate = ServiceCertificate.objects.filter(application=application).first()
    if certificate is None:
        raise Http404("该办件没有电子证明")
    response = FileResponse(certificate.pdf.open("rb"), content_type="application/pdf", as_attachment=True,
                            filename=f"{application.item.name}-{application.number}.pdf")
    return response


@login_required
def material_file(request, application_id: int, material_id: int):
    application = selectors.access_application_by_id(request.user, application_id)
    material = application.materials.filter(pk=material_id).first()
    if material is None:
        raise Http404("材料不存在")
    return FileResponse(material.file.open("rb"), as_attachment=True, filename=material.filename,
                        content_type="application/octet-stream")


@login_required
def certificate_verify(request, public_id):
    """The QR code's address: the 验章 page's report for this certificate (same template, same verifier)."""
    certificate = ServiceCertificate.objects.filter(public_id=public_id).select_related("application__item").first()
    if certificate is None:
        raise Http404("证明不存在")
    with certificate.pdf.open("rb") as fh:
        data = fh.read()
    report = verify_pdf(data)  # the same verifier as the 验章 page (SES found by its signature value)
    form = VerifyForm(documents=list(sealed_documents_visible_to(request.user)[:200]))
    return render(request, "documents/seals/verify.html", {
        "report": report, "source": f"{certificate.application.item.name}（证明编号 {certificate.public_id}）",
        "form": form})


# --- steps ---------------------------------------------------------------------------------------------------


def _service_task(request, task_id: int) -> tuple[Task, ServiceApplication]:
    task = Task.objects.select_related("process", "owner").filter(
        pk=task_id, process__flow_class=ServiceFlow).first()
    if task is None:
        raise Http404("事项不存在")
    application = selectors.application_of_task(task)
    if task.owner_id != request.user.pk:
        selectors.access_application_by_id(request.user, application.pk)  # 404 unless visible
    return task, application


@login_required
@require_http_methods(["GET", "POST"])
def task_page(request, task_id: int):
    task, application = _service_task(request, task_id)
    node = task.flow_task.name
    holder = task.owner_id == request.user.pk and task.status in (STATUS.ASSIGNED, STATUS.STARTED)
    choices = actions.DECISIONS.get(node, {})
    plugged = handler_for(application.item.handler)
    initial = {k: application.form.get(k) for k in ("purpose", "leave_kind", "start", "end", "quantity")}
    initial["supply"] = application.form.get("supply_id")
    if plugged is not None:
        initial = (plugged.initial or default_initial)(application.form)
    final = plugged is not None and holder and node != "amend" and is_final_step(task, task.process.data)
    final_fields = plugged.final_fields(application) if final and plugged.final_fields is not None else None
    which = request.POST.get("form", "")
    decision_form = DecisionForm(request.POST if which == "decide" else None, choices=choices,
                                 final_fields=final_fields,
                                 final_refusals=plugged.refusal_fields if final else None)
    return_form = AmendReturnForm(request.POST if which == "return" else None)
    amend_form = ApplicationForm(request.POST if which == "amend" else None,
                                 request.FILES if which == "amend" else None, item=application.item,
                                 applicant=application.applicant, amending=True, initial=initial)
    status = 200
    if request.method == "GET" and holder:
        do_mark_task_opened(task, request.user)
    if request.method == "POST":
        if not holder:
            raise PermissionDenied("您不是该环节的办理人。")
        status = 400
        try:
            if which == "decide" and decision_form.is_valid():
                actions.check_perform_service_step(request.user, task, decision_form.cleaned_data["decision"],
                                                   decision_form.cleaned_data["opinion"], ip=client_ip(request),
                                                   final=decision_form.final(),
                                                   otp_verified=request.user.is_verified())
                messages.success(request, "已办理")
                return redirect("services:application", application.pk)
            if which == "return" and return_form.is_valid():
                actions.check_return_for_amend(request.user, task, return_form.cleaned_data["reason"],
                                               ip=client_ip(request))
                messages.success(request, "已退回申请人补正")
                return redirect("services:application", application.pk)
            if which == "amend" and amend_form.is_valid():
                actions.check_perform_service_step(request.user, task, "resubmit", "", _input(amend_form),
                                                   ip=client_ip(request))
                messages.success(request, "已重新提交")
                return redirect("services:application", application.pk)
        except Refusal as exc:
            form = {"decide": decision_form, "return": return_form, "amend": amend_form}.get(which)
            if form is not None:
                form.add_refusal(exc.code, exc.message)
            status = exc.status
    returned = ((task.data or {}).get("routing") or {}).get("returned") or {}
    return render(request, "services/task.html", {
        "task": task, "application": application, "node": node, "holder": holder,
        "step_title": (task.data or {}).get("title") or task.flow_task.task_title,
        "decision_form": decision_form if holder and node != "amend" else None,
        "return_form": return_form if holder and node in ("intake", "approve") else None,
        "amend_form": amend_form if holder and node == "amend" else None,
        "returned_reason": returned.get("reason", ""),
        "events": application.events.select_related("actor"), "materials": application.materials.all(),
        "form_rows": selectors.form_rows(application),
        # the kind's fragment on the step page too when it shows its own row (``record``)
        "item_template": plugged.template if plugged and plugged.record else "",
        "record": plugged.record(application, request.user) if plugged and plugged.record else None,
        "approver_notes": plugged.approver_notes(application) if plugged and plugged.approver_notes else [],
        "final_otp": final and plugged.final_otp,
    }, status=status)


# --- 主管部门 -------------------------------------------------------------------------------------------------


@login_required
def ratings(request):
    rows = selectors.ratings_for_department_heads(request.user)[:500]
    return render(request, "services/ratings.html", {"rows": rows})


def _keeper_supplies(user):
    items = ServiceItem.objects.filter(handler=ServiceItem.Handler.SUPPLIES).select_related("department__agency")
    agencies = [i.department.agency_id for i in items
                if selectors.route_people(i.intake_role, "competent_dept", i, None).filter(pk=user.pk).exists()]
    return SupplyItem.objects.filter(agency_id__in=agencies).order_by("name")


@login_required
@require_http_methods(["GET", "POST"])
def supplies(request):
    rows = _keeper_supplies(request.user)
    if request.method == "POST":
        supply = rows.filter(pk=request.POST.get("supply")).first()
        form = RestockForm(request.POST)
        if supply is None:
            raise Http404("物品不存在")
        if form.is_valid():
            actions.do_restock_supply(request.user, supply, form.cleaned_data["quantity"])
            messages.success(request, f"“{supply.name}”已入库")
            return redirect("services:supplies")
    return render(request, "services/supplies.html", {"rows": rows, "form": RestockForm()})


@login_required
def metrics(request):
    if not service_metrics_module.may_see_metrics(request.user):
        raise PermissionDenied("零跑动指标供领导、督查人员和系统管理员查看。")
    rows = service_metrics_module.service_metrics()
    if request.GET.get("format") == "xlsx":
        response = HttpResponse(service_metrics_module.metrics_xlsx(rows), content_type=(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
        response["Content-Disposition"] = "attachment; filename*=UTF-8''%E9%9B%B6%E8%B7%91%E5%8A%A8%E6%8C%87%E6%A0%87.xlsx"
        return response
    bars = service_metrics_module.bars(rows)
    return render(request, "services/metrics.html", {
        "rows": rows, "total": service_metrics_module.totals(rows), "bars": bars,
        "chart_height": 20 + 28 * len(bars)})


# --- 系统管理员 ---------------------------------------------------------------------------------------------------


def _require_sysadmin(request) -> None:
    require_admin(request.user, Role.SYSADMIN)


@login_required
def manage_items(request):
    _require_sysadmin(request)
    return render(request, "services/manage_items.html", {"items": selectors.managed_items()})


def _item_fields(data: dict) -> actions.ItemFields:
    return actions.ItemFields(
        code=data["code"], name=data["name"], handler=data["handler"], department=data["department"],
        intake_role=data["intake_role"], time_limit_days=data["time_limit_days"], result_type=data["result_type"],
        route=data["route"], materials=data["materials"], legal_basis=data["legal_basis"], guide=data["guide"],
        eligible_roles=list(data["eligible_roles"]), eligible_agencies=list(data["eligible_agencies"]),
        instant=data["instant"], zero_visit=data["zero_visit"], non_classified=data["non_classified"],
        is_active=data["is_active"])


@login_required
@require_http_methods(["GET", "POST"])
def manage_item(request, item_id: int | None = None):
    _require_sysadmin(request)
    item = None
    if item_id is not None:
        item = selectors.managed_items().filter(pk=item_id).first()
        if item is None:
            raise Http404("事项不存在")
    kwargs = {"departments": scope_departments(request.user, Role.SYSADMIN),
              "agencies": scope_agencies(request.user, Role.SYSADMIN),
              "known_codes": set(ServiceItem.objects.values_list("code", flat=True))}
    if request.method == "GET":
        form = ItemForm(initial=ItemForm.initial_for(item) if item else None, **kwargs)
        return render(request, "services/manage_item.html", {"form": form, "item": item})
    form = ItemForm(request.POST, **kwargs)
    status = 400
    if form.is_valid():
        try:
            saved = actions.check_save_item(request.user, _item_fields(form.cleaned_data), item)
        except Refusal as exc:
            form.add_refusal(exc.code, exc.message)
            status = exc.status
        else:
            messages.success(request, f"已保存事项“{saved.name}”")
            return redirect("services:manage_items")
    return render(request, "services/manage_item.html", {"form": form, "item": item}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def manage_hr_import(request):
    _require_sysadmin(request)
    form = HrImportForm(request.POST or None, request.FILES or None)
    errors, status = [], 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > HR_IMPORT_MAX_BYTES:
                errors = [f"文件过大：不能超过 {HR_IMPORT_MAX_BYTES // 1024 // 1024} MB"]
            else:
                try:
                    count = check_import_hr(request.user, parse_upload(upload.name, upload.read()),
                                            source=f"文件 {upload.name[:100]}")
                except HrDataError as exc:
                    errors = [str(e) for e in exc.errors]
                else:
                    messages.success(request, f"已导入 {count} 条人事财务记录")
                    return redirect("services:manage_hr_import")
    return render(request, "services/manage_hr_import.html", {"form": form, "errors": errors}, status=status)


urlpatterns = [
    path("", catalogue, name="catalogue"),
    path("items/<int:item_id>/", item_guide, name="guide"),
    path("items/<int:item_id>/apply", apply, name="apply"),
    path("mine/", mine, name="mine"),
    path("applications/<int:application_id>/", application_detail, name="application"),
    path("applications/<int:application_id>/certificate.pdf", certificate_pdf, name="certificate_pdf"),
    path("applications/<int:application_id>/materials/<int:material_id>", material_file, name="material"),
    path("certificates/<uuid:public_id>/verify", certificate_verify, name="certificate_verify"),
    path("tasks/<int:task_id>/", task_page, name="task"),
    path("ratings/", ratings, name="ratings"),
    path("supplies/", supplies, name="supplies"),
    path("metrics/", metrics, name="metrics"),
    path("manage/", manage_items, name="manage_items"),
    path("manage/new", manage_item, name="manage_item_new"),
    path("manage/<int:item_id>/", manage_item, name="manage_item"),
    path("manage/hr-import", manage_hr_import, name="manage_hr_import"),
]
