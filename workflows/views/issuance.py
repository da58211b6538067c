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
from django.views.decorators.debug import sensitive_post_parameters
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from documents.actions.documents import EDITABLE_FIELDS
from documents.checker import summarise_gbt9704
from documents.models import OfficialDocument
from documents.selectors.attachments import official_pdf
from documents.selectors.documents import access_document_by_id
from documents.views.documents import EditElementsForm
from frontend.widgets import CheckboxGroup, DateInput
from oa.actions.auth import check_otp_code
from oa.forms import OtpCodeForm
from oa.http import client_ip
from oa.models import Agency, Department, Person
from oa.refusals import Refusal
from oa.selectors.auth import confirmed_devices
from oa.selectors.directory import agency_category, with_department_head
from workflows.actions.issuance import (
    StartOptions,
    StepInput,
    check_issuance_step_input,
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
from workflows.selectors.reading import issuance_reading
from workflows.selectors.receipt import receivable_agencies
from workflows.selectors.trace import access_task_by_id
from workflows.views.opinions import opinion_form_field
from workflows.views.routing import routing_panel_context

# Refusal code → the field its message is shown beside, on a 要素 step (False) and at 分发 (True).
_ERROR_FIELDS = {"cc_overlaps_main": {False: "cc", True: "cc_agencies"}}
# … on every step page (the opinion box, 分发's agencies, 归档's 保管期限).
_STEP_ERROR_FIELDS = {
    "opinion_required": "opinion", "return_reason_required": "opinion", "opinion_too_long": "opinion",
    "opinion_date_invalid": "signed_date", "recipients_required": "main_agencies",
    "recipient_invalid": "main_agencies", "recipient_is_sender": "main_agencies", "invalid_retention": "retention",
    "title_required": "title", "title_too_long": "title", "title_unbreakable": "title",  # 核稿/修改 steps' 标题
}
# … on the 送审 page.
_START_ERROR_FIELDS = {
    "countersign_department_no_head": "countersign_departments",
    "countersign_department_invalid": "countersign_departments",
    "countersign_mode_invalid": "countersign_mode", "countersign_policy_invalid": "countersign_policy",
    "countersign_required_invalid": "countersign_required",
}
RETENTIONS = (("permanent", "永久"), ("30y", "30年"), ("10y", "10年"))


def _parent_group(department: Department) -> tuple[str, str] | None:
    """会签部门 are grouped by their parent department where the agency has sub-departments."""
    return (f"dept-{department.parent_id}", department.parent.name) if department.parent_id else None


class DepartmentChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Department) -> str:
        return obj.name


class StartForm(forms.Form):
    countersign_departments = DepartmentChoiceField(
        label="会签部门", queryset=Department.objects.none(), required=False,
        widget=CheckboxGroup(group_of=_parent_group, empty_text="本机关没有其他可会签的部门。"),
        error_messages={"invalid_choice": "所选会签部门不可选：须为本机关在用、且有部门负责人的部门。",
                        "invalid_pk_value": "所选会签部门不可选：须为本机关在用、且有部门负责人的部门。"})
    countersign_mode = forms.ChoiceField(label="会签方式", choices=(("parallel", "并行（同时会签）"),
                                                                  ("sequential", "依次（按顺序会签）")))
    countersign_policy = forms.ChoiceField(label="会签规则", choices=(("all", "全部同意"), ("n_of_m", "N 个同意即可"),
                                                                    ("veto", "一票否决")))
    countersign_required = forms.IntegerField(label="N（“N 个同意”时填写）", required=False, min_value=1)
    jump_back = forms.BooleanField(label="被退回修改后直接送回退回人（不再逐级审核）", required=False, initial=True)

    def __init__(self, *args, document: OfficialDocument, **kwargs):
        super().__init__(*args, **kwargs)
        candidates = Department.objects.filter(agency=document.agency, is_active=True).exclude(
            pk=document.department_id).select_related("parent").order_by("sort_order", "pk")
        field = self.fields["countersign_departments"]
        field.queryset = with_department_head(candidates)
        headless = [d.name for d in candidates.exclude(pk__in=field.queryset.values("pk"))]
        field.help_text = "不选则不会签；联合行文机关的负责人自动会签。" + (
            f"没有部门负责人的部门不能会签，未列出：{'、'.join(headless)}。" if headless else "")


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
            except Refusal as exc:  # beside the field it is about where there is one; the form kept as posted
                form.add_error(_START_ERROR_FIELDS.get(exc.code), exc.message)
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
        initial = {name: getattr(document, name) for name in EditElementsForm.base_fields}
        initial["number_series"] = document.number_series_id
        base = EditElementsForm(initial=initial, agency=document.agency)
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
            # Only agencies that can receive (a 文书 to sign, or another deployment's); grouped 区直单位 / 镇街.
            agencies = receivable_agencies(Agency.objects.filter(is_active=True).exclude(
                pk=document.agency_id)).order_by("sort_order", "pk")
            main = [a.pk for a in agencies if agency_named_in(a, document.main_recipients)]
            invalid = "所选机关不可选：须为在用且能签收公文（有办公室文书）的机关。"
            self.fields["main_agencies"] = forms.ModelMultipleChoiceField(
                label="主送机关", queryset=agencies, required=False, initial=main,
                widget=CheckboxGroup(group_of=agency_category, empty_text="没有可分发的机关。"),
                error_messages={"invalid_choice": invalid, "invalid_pk_value": invalid})
            self.fields["cc_agencies"] = forms.ModelMultipleChoiceField(
                label="抄送机关", queryset=agencies, required=False,
                initial=[a.pk for a in agencies if agency_named_in(a, document.cc) and a.pk not in main],
                widget=CheckboxGroup(group_of=agency_category, empty_text="没有可分发的机关。"),
                help_text="抄送机关收到的收文为“抄送”件，供阅知，不进入拟办、批办、承办。",
                error_messages={"invalid_choice": invalid, "invalid_pk_value": invalid})
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
        **issuance_reading(task.process, document),  # 正文 + 痕迹, 要素, 附件, earlier opinions (above the box)
    }


def _confirm_page(request: HttpRequest, task: Task, code_form: OtpCodeForm, status: int = 200) -> HttpResponse:
    """签发确认: what is about to be signed, and the 动态口令 that signs it. Everything the step page posted rides
    along as hidden fields, so 确认签发 completes the step and 返回修改 brings the page back as it was."""
    step = STEPS[task.flow_task.name]
    decision = request.POST.get("decision", "")
    carried = [(name, value) for name in request.POST if name not in ("csrfmiddlewaretoken", "code", "back")
               for value in request.POST.getlist(name)]
    return render(request, "workflows/issuance/confirm.html", {
        "task": task, "step": step, "document": document_of(task.process), "code_form": code_form,
        "decision_label": dict(step.decisions).get(decision, ""), "opinion": request.POST.get("opinion", ""),
        "signed_date": request.POST.get("signed_date", ""), "carried": carried,
        "has_device": bool(confirmed_devices(request.user)),
    }, status=status)


@sensitive_post_parameters("code")
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
    step_input = StepInput(
        decision=request.POST.get("decision", ""), opinion=data.get("opinion", ""),
        fields=form.element_changes(step), signed_date=data.get("signed_date"), recipients=recipients,
        retention=data.get("retention", ""), otp_verified=request.user.is_verified(), ip=client_ip(request))
    try:
        if step.confirm_code:
            if request.POST.get("back"):  # 返回修改 from the confirmation: the step page with what was posted
                return render(request, "workflows/issuance/step.html", _step_context(request, task, form))
            check_issuance_step_input(request.user, task, step_input)  # a missing 签发意见 is said before the code is asked
            code_form = OtpCodeForm(request.POST if "code" in request.POST else None)
            if not code_form.is_bound:
                return _confirm_page(request, task, code_form)
            if not code_form.is_valid():
                return _confirm_page(request, task, code_form, status=400)
            error, device = check_otp_code(request, request.user, code_form.cleaned_data["code"])
            if device is None:
                code_form.add_error("code", error)
                return _confirm_page(request, task, code_form, status=400)
            step_input.otp_verified = True  # the 动态口令 was checked for this very act
        check_perform_issuance_step(request.user, task, step_input)
    except Refusal as exc:
        field = _ERROR_FIELDS.get(exc.code, {}).get(node == "distribute") or _STEP_ERROR_FIELDS.get(exc.code)
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
