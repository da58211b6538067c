"""发文 pages: 送审 from a draft, and the step page every 发文 task opens on (/flows/issuance/tasks/<id>/).

Thin: forms parse, workflows.actions.issuance acts. A task is shown only to its holder (404 for anyone else).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from documents.actions.documents import EDITABLE_FIELDS
from documents.checker import summarise_gbt9704
from documents.models import OfficialDocument
from documents.selectors.attachments import official_pdf
from documents.selectors.documents import access_document_by_id
from documents.views.documents import EditElementsForm
from frontend.widgets import DateInput
from oa.http import client_ip
from oa.models import Agency, Department, Person
from oa.refusals import Refusal
from workflows.actions.issuance import (
    StartOptions,
    StepInput,
    check_perform_issuance_step,
    check_start_issuance,
)
from workflows.actions.routing import do_mark_task_opened
from workflows.issuance.flows import IssuanceFlow, document_of
from workflows.issuance.steps import STEPS
from workflows.models import DistributionRecipient
from workflows.routing import principal_id
from workflows.selectors.distribution import agency_named_in
from workflows.selectors.issuance import preview_check
from workflows.selectors.opinions import phrases_for
from workflows.selectors.trace import access_task_by_id
from workflows.views.opinions import opinion_form_field
from workflows.views.routing import routing_panel_context

# Refusal code → the field its message is shown beside, on a 要素 step (False) and at 分发 (True).
_ERROR_FIELDS = {"cc_overlaps_main": {False: "cc", True: "cc_agencies"}}
RETENTIONS = (("permanent", "永久"), ("30y", "30年"), ("10y", "10年"))


class StartForm(forms.Form):
    countersign_departments = forms.ModelMultipleChoiceField(
        label="会签部门", queryset=Department.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple, help_text="不选则不会签；联合行文机关的负责人自动会签")
    countersign_mode = forms.ChoiceField(label="会签方式", choices=(("parallel", "并行（同时会签）"),
                                                                  ("sequential", "依次（按顺序会签）")))
    countersign_policy = forms.ChoiceField(label="会签规则", choices=(("all", "全部同意"), ("n_of_m", "N 个同意即可"),
                                                                    ("veto", "一票否决")))
    countersign_required = forms.IntegerField(label="N（“N 个同意”时填写）", required=False, min_value=1)
    jump_back = forms.BooleanField(label="被退回修改后直接送回退回人（不再逐级审核）", required=False, initial=True)

    def __init__(self, *args, document: OfficialDocument, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["countersign_departments"].queryset = Department.objects.filter(
            agency=document.agency, is_active=True).exclude(pk=document.department_id).order_by("sort_order", "pk")


def _start_form_context(request: HttpRequest, document: OfficialDocument, form: StartForm) -> dict:
    return {"document": document, "form": form}


@login_required
def start_view(request: HttpRequest, document_id: int) -> HttpResponse:
    document = access_document_by_id(request.user, document_id)
    if document.created_by_id != request.user.pk:
        raise PermissionDenied("只有拟稿人可以送审")
    form = StartForm(request.POST or None, document=document)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            options = StartOptions(
                countersign_department_ids=[d.pk for d in data["countersign_departments"]],
                countersign_mode=data["countersign_mode"], countersign_policy=data["countersign_policy"],
                countersign_required=data["countersign_required"], jump_back=data["jump_back"])
            try:
                process = check_start_issuance(request.user, document, options)
            except Refusal as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                messages.success(request, "已送审，进入发文流程")
                return redirect("workflows:process", process.pk)
        else:
            status = 400
    return render(request, "workflows/issuance/start.html", _start_form_context(request, document, form), status=status)


def _task_for_holder(user: Person, task_id: int) -> Task:
    """The 发文 task through the shared access rule; its step page is only for the person holding it."""
    task = access_task_by_id(user, task_id)
    if task.process.flow_class is not IssuanceFlow or task.owner_id != user.pk:
        raise Http404("事项不存在或不由您办理")
    return task


class StepForm(forms.Form):
    decision = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, step, node: str, document: OfficialDocument, user: Person, **kwargs):
        super().__init__(*args, **kwargs)
        base = EditElementsForm(initial={name: getattr(document, name) for name in EditElementsForm.base_fields})
        for name in [n for n in EditElementsForm.field_order if n in step.fields]:
            if name in base.fields:
                self.fields[name] = base.fields[name]
                self.fields[name].required = False  # the action says what may not be empty (标题 …)
                self.initial[name] = base.initial.get(name)
        if node == "signoff":
            self.fields["signed_date"] = forms.DateField(
                label="签发日期", initial=timezone.localdate(), required=False, widget=DateInput(),
                help_text="签发人签署的完整日期，作为成文日期（不填为今天）")
        if node == "distribute":
            # The 分发 checkboxes are named main_agencies/cc_agencies: "main_recipients"/"cc" are the document's
            # 主送/抄送 要素 (text), a different field that 分发 may not change.
            agencies = Agency.objects.filter(is_active=True).exclude(pk=document.agency_id).order_by("sort_order", "pk")
            main = [a.pk for a in agencies if agency_named_in(a, document.main_recipients)]
            self.fields["main_agencies"] = forms.ModelMultipleChoiceField(
                label="主送机关", queryset=agencies, required=False, widget=forms.CheckboxSelectMultiple,
                initial=main)
            self.fields["cc_agencies"] = forms.ModelMultipleChoiceField(
                label="抄送机关", queryset=agencies, required=False, widget=forms.CheckboxSelectMultiple,
                initial=[a.pk for a in agencies if agency_named_in(a, document.cc) and a.pk not in main])
        if node == "archive":
            self.fields["retention"] = forms.ChoiceField(label="保管期限", choices=RETENTIONS, initial="30y")
        self.fields["opinion"] = opinion_form_field("办理意见" if node != "signoff" else "签发意见")

    def element_changes(self, step) -> dict:
        """The 要素 the person changed. The page posts every element field (marker "elements"); an API-like
        post without the marker changes only the fields it names (an absent checkbox is not a "no")."""
        posted = set(step.fields) if self.data.get("elements") else set(self.data)
        return {name: self.cleaned_data[name] for name in step.fields
                if name in self.cleaned_data and name in self.changed_data and name in posted}


def _step_context(request: HttpRequest, task: Task, form: StepForm, error: str = "") -> dict:
    node = task.flow_task.name
    step = STEPS[node]
    document = document_of(task.process)
    principal = principal_id(task)
    checks, checks_error = None, ""
    if node == "office_check":
        try:
            checks = preview_check(document)
        except Refusal as exc:  # 要素 the typesetter refuses: say so on the page, the step stays usable
            checks, checks_error = [], exc.message
    panel = routing_panel_context(request.user, task)  # 退回、转办、加签、催办 (workflows/_routing_panel.html)
    panel.pop("step", None)
    return {
        **panel,
        "task": task, "node": node, "step": step, "document": document, "form": form, "error": error,
        "element_fields": [form[name] for name in step.fields if name in form.fields],
        "on_behalf_of": Person.objects.filter(pk=principal).first() if principal != task.owner_id else None,
        "phrases": phrases_for(request.user, step.label),
        "checks": checks, "checks_error": checks_error,
        "checks_summary": summarise_gbt9704(checks) if checks else None,
        "checks_failed": checks is not None and (bool(checks_error) or not all(c.passed for c in checks)),
        "deadline": (task.data or {}).get("deadline"),
        "recipients": DistributionRecipient.objects.filter(document=document).select_related("agency"),
        "otp_verified": request.user.is_verified(),
        "official": official_pdf(document),  # the sealed PDF after 用印, else the draft labelled 未盖章
    }


@login_required
def step_view(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _task_for_holder(request.user, task_id)
    node = task.flow_task.name
    step = STEPS[node]
    document = document_of(task.process)
    if task.status not in (STATUS.ASSIGNED, STATUS.STARTED):
        messages.info(request, "该事项已办结")
        return redirect("workflows:process", task.process_id)
    form = StepForm(request.POST or None, step=step, node=node, document=document, user=request.user)
    if request.method == "GET":
        do_mark_task_opened(task, request.user)  # 取回 is refused from now on
        return render(request, "workflows/issuance/step.html", _step_context(request, task, form))
    not_allowed = [name for name in EDITABLE_FIELDS if name in request.POST and name not in step.fields]
    if not_allowed:
        labels = "、".join(str(OfficialDocument._meta.get_field(n).verbose_name) for n in not_allowed)
        return render(request, "workflows/issuance/step.html",
                      _step_context(request, task, form, f"“{step.label}”环节不允许修改：{labels}。未作任何更改。"),
                      status=403)
    if not form.is_valid():
        return render(request, "workflows/issuance/step.html", _step_context(request, task, form), status=400)
    data = form.cleaned_data
    recipients = [(a.pk, "main") for a in data.get("main_agencies", [])] + \
        [(a.pk, "cc") for a in data.get("cc_agencies", [])]
    try:
        check_perform_issuance_step(request.user, task, StepInput(
            decision=request.POST.get("decision", ""), opinion=data.get("opinion", ""),
            fields=form.element_changes(step), signed_date=data.get("signed_date"), recipients=recipients,
            retention=data.get("retention", ""), otp_verified=request.user.is_verified(), ip=client_ip(request)))
    except Refusal as exc:
        field = _ERROR_FIELDS.get(exc.code, {}).get(node == "distribute")
        if field in form.fields:  # said beside the field it is about, the form kept as posted
            form.add_error(field, exc.message)
        return render(request, "workflows/issuance/step.html",
                      _step_context(request, task, form, "" if field in form.fields else exc.message),
                      status=exc.status)
    messages.success(request, f"“{step.label}”已办理")
    return redirect(reverse("workflows:process", args=[task.process_id]))


urlpatterns = [
    path("issuance/start/<int:document_id>/", start_view, name="issuance_start"),
    path("issuance/tasks/<int:task_id>/", step_view, name="issuance_step"),
]
