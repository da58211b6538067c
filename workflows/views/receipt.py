"""收文 pages (docs/receipt.md):

  /flows/incoming/                     the office's 收文 list (状态 tabs, 机关, 查找)
  /flows/incoming/<id>/                one 收文: 登记 fields, files, where it is, opinions, 传阅 (stamps 打开 for readers)
  /flows/incoming/<id>/pdf             the 正文 PDF (attachment download)
  /flows/incoming/<id>/attachments/<n> the n-th attachment
  /flows/incoming/paper/               纸质来文: register a scanned PDF (文书 only)
  /flows/receipt/tasks/<task_id>/      the step page of every ReceiptFlow task (opinion box, 常用语, 流转操作)

Thin: forms parse, workflows.actions.receipt acts; every 收文 comes through access_incoming_by_id and every task
through access_task_by_id (a step page is only for the person holding it: 404 for anyone else).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from documents.actions.incoming import COPIES_MAX, REGISTER_FIELDS, IncomingFields
from documents.models import IncomingDocument, Secrecy, Urgency
from documents.secrecy import is_classified, refuse_classified
from documents.selectors.incoming import access_incoming_by_id
from documents.uploads import MaxSizeUploadHandler, human_size, upload_limit
from frontend.widgets import CheckboxGroup, DateInput
from integrations.storage.downloads import download_response
from oa.http import client_ip
from oa.models import Department, Person
from oa.refusals import Refusal
from workflows.actions.receipt import (
    LIMIT_DAYS_MAX,
    REPLY_DOC_TYPES,
    StepInput,
    check_perform_receipt_step,
    check_register_paper_incoming,
)
from workflows.actions.routing import do_mark_task_opened
from workflows.receipt.flows import ReceiptFlow, incoming_of
from workflows.receipt.steps import STEPS, decisions_for
from workflows.routing import principal_id
from workflows.selectors.opinions import phrases_for
from workflows.selectors.reading import incoming_reading
from workflows.selectors.receipt import (
    STATUS_FILTERS,
    agency_departments,
    agency_people,
    assist_opinions,
    choosable_departments,
    department_of_people,
    handling_agencies,
    incoming_attachment,
    incoming_detail,
    incoming_file,
    incoming_list,
    leaders_of,
    paper_agencies,
)
from workflows.selectors.trace import access_task_by_id, person_choices
from workflows.views.opinions import opinion_form_field
from workflows.views.routing import routing_panel_context

FIELD_LABELS = {
    "title": "标题", "doc_number": "来文字号", "sender_name": "来文单位", "secrecy": "密级", "urgency": "紧急程度",
    "signed_date": "成文日期", "main_recipients": "主送机关", "copies": "份数", "attachment_note": "附件说明",
}


def _register_fields(initial: IncomingDocument | None = None) -> dict[str, forms.Field]:
    """The 登记 fields as form fields (the action validates again and says what may not be empty)."""
    def value(name):
        return getattr(initial, name) if initial is not None else None

    return {
        "title": forms.CharField(label="标题", max_length=300, initial=value("title"),
                                 error_messages={"required": "请填写标题"}),
        "doc_number": forms.CharField(label="来文字号", max_length=64, required=False, initial=value("doc_number"),
                                      help_text="如“揭东府办函〔2026〕12号”；没有字号的来文可不填"),
        "sender_name": forms.CharField(label="来文单位", max_length=200, initial=value("sender_name"),
                                       error_messages={"required": "请填写来文单位"}),
        "secrecy": forms.ChoiceField(label="密级", choices=Secrecy.choices, required=False, initial=value("secrecy")),
        "urgency": forms.ChoiceField(label="紧急程度", choices=Urgency.choices, required=False,
                                     initial=value("urgency")),
        "signed_date": forms.DateField(label="成文日期", required=False, initial=value("signed_date"),
                                       widget=DateInput(),
                                       error_messages={"invalid": "成文日期格式须为 YYYY-MM-DD"}),
        "main_recipients": forms.CharField(label="主送机关", max_length=500, required=False,
                                           initial=value("main_recipients")),
        "copies": forms.IntegerField(label="份数", min_value=1, max_value=COPIES_MAX, initial=value("copies") or 1,
                                     error_messages={"required": "请填写份数", "invalid": "份数须为正整数",
                                                     "min_value": "份数至少为 1",
                                                     "max_value": f"份数不能超过 {COPIES_MAX}"}),
        "attachment_note": forms.CharField(label="附件说明", max_length=500, required=False,
                                           initial=value("attachment_note")),
    }


def _task_for_holder(user: Person, task_id: int) -> Task:
    """The 收文 task through the shared access rule; its step page is only for the person holding it."""
    task = access_task_by_id(user, task_id)
    if task.process.flow_class is not ReceiptFlow or task.owner_id != user.pk:
        raise Http404("事项不存在或不由您办理")
    return task


def _people_field(label: str, people: list[Person], initial=None, help_text: str = "") -> forms.Field:
    """传阅人员: a checkbox group, one toggle per department."""
    departments = department_of_people(people)

    def group_of(pk) -> tuple[str, str] | None:
        dept = departments.get(int(pk))
        return (f"dept-{dept.pk}", dept.name) if dept else None

    return forms.TypedMultipleChoiceField(
        label=label, choices=person_choices(people), coerce=int, required=False, initial=initial or [],
        widget=CheckboxGroup(group_of=group_of, empty_text="本机关没有可传阅的人员。"), help_text=help_text,
        error_messages={"invalid_choice": "所选传阅人员须为本机关在职人员。"})


_DEPT_INVALID = "所选部门不可选：须为本机关在用、且有部门负责人的部门。"


class _DepartmentNames(forms.ModelMultipleChoiceField):
    """协办部门 of one agency by name alone; of several (区政府 and 区府办), as “区府办·秘书科”."""

    def label_from_instance(self, obj: Department) -> str:
        return obj.name if self.single_agency else str(obj)


def _headless_note(agencies: list, departments) -> str:
    """Say which departments are left out for having no 部门负责人 (so nobody hunts for them)."""
    headless = [d.name for d in agency_departments(agencies).exclude(pk__in=departments.values("pk"))]
    return f"没有部门负责人的部门不能选，未列出：{'、'.join(headless)}。" if headless else ""


def _host_field(label: str, departments, *, required: bool, help_text: str, initial=None) -> forms.Field:
    return forms.ModelChoiceField(
        label=label, queryset=departments, required=required, initial=initial, empty_label="请选择",
        error_messages={"required": "请选择主办部门", "invalid_choice": _DEPT_INVALID}, help_text=help_text)


class StepForm(forms.Form):
    decision = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, task: Task, node: str, incoming: IncomingDocument, **kwargs):
        super().__init__(*args, **kwargs)
        data = task.process.data or {}
        agency = incoming.agency
        agencies = handling_agencies(incoming)
        step = STEPS[node]
        departments = choosable_departments(agencies)
        if node == "sign":
            self.fields["copies"] = _register_fields(incoming)["copies"]
            self.fields["copies"].label = "签收份数"
            self.fields["copies"].required = False  # blank: as many as the sender said
            self.fields["copies"].help_text = "收到的份数；不填则按来文标注的份数"
        elif node == "register":
            self.fields.update(_register_fields(incoming))
        elif node == "propose":
            leaders = leaders_of(agency)
            self.fields["leader"] = forms.TypedChoiceField(
                label="呈批领导", coerce=int, choices=[("", "请选择"), *person_choices(leaders)],
                error_messages={"required": "请选择批办领导"}, help_text="拟请哪位领导阅示、批办")
            self.fields["host_department"] = _host_field(
                "拟主办部门", departments, required=False,
                help_text="供领导批办时参考，可不选。" + _headless_note(agencies, departments))
            self.fields["readers"] = _people_field("拟传阅人员", agency_people(agencies),
                                                   help_text="供领导批办时参考，可不选")
        elif node == "instruct":
            note = _headless_note(agencies, departments)
            self.fields["host_department"] = _host_field("主办部门", departments, required=True, help_text=note,
                                                         initial=data.get("proposed_host_id"))
            assist = _DepartmentNames(
                label="协办部门", queryset=departments, required=False,
                widget=CheckboxGroup(group_of=(lambda d: (f"agency-{d.agency_id}", str(d.agency)))
                                     if len(agencies) > 1 else None, empty_text="本机关没有可协办的部门。"),
                help_text="可不选；选中主办部门本身的会被忽略。" + note,
                error_messages={"invalid_choice": _DEPT_INVALID, "invalid_pk_value": _DEPT_INVALID})
            assist.single_agency = len(agencies) == 1
            self.fields["assist_departments"] = assist
            self.fields["limit_days"] = forms.IntegerField(
                label="办理时限（工作日）", min_value=1, max_value=LIMIT_DAYS_MAX, initial=10,
                error_messages={"required": "请填写办理时限", "min_value": "办理时限至少 1 个工作日",
                                "max_value": f"办理时限不能超过 {LIMIT_DAYS_MAX} 个工作日"},
                help_text="按工作日计算，节假日顺延")
            self.fields["readers"] = _people_field("传阅人员", agency_people(agencies), initial=data.get("readers"),
                                                   help_text="承办完毕后由办公室送传阅；可不选")
        elif node == "circulate":
            self.fields["readers"] = _people_field("传阅人员", agency_people(agencies), initial=data.get("readers"),
                                                   help_text="不选则不传阅，直接进入办结")
            self.fields["note"] = forms.CharField(label="传阅说明", max_length=500, required=False)
        elif node == "close":
            self.fields["result"] = forms.CharField(
                label="办理结果", max_length=2000, widget=forms.Textarea(attrs={"rows": 4, "maxlength": 2000}),
                error_messages={"required": "请填写办理结果"})
            self.fields["reply"] = forms.BooleanField(
                label="需要答复来文单位（生成答复文稿，由您拟稿后送审发文）", required=False)
            self.fields["reply_doc_type"] = forms.ChoiceField(
                label="答复文种", choices=[(t.value, t.label) for t in REPLY_DOC_TYPES], required=False)
            self.fields["reply_title"] = forms.CharField(
                label="答复标题", max_length=300, required=False, help_text=f"不填则为“关于{incoming.title}的复函”")
        label = step.opinion_label
        if node == "handle" and (task.data or {}).get("role") == "assist":
            label = "协办意见"
        self.fields["opinion"] = opinion_form_field(label)

    def register_changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in REGISTER_FIELDS if name in self.cleaned_data}


def _step_context(request: HttpRequest, task: Task, form: StepForm, error: str = "") -> dict:
    node = task.flow_task.name
    step = STEPS[node]
    incoming = incoming_of(task.process)
    principal = principal_id(task)
    panel = routing_panel_context(request.user, task)  # 退回、转办、加签、催办 (workflows/_routing_panel.html)
    panel.pop("step", None)
    role = (task.data or {}).get("role", "")
    return {
        **panel,
        "task": task, "node": node, "step": step, "incoming": incoming, "form": form, "error": error,
        "decisions": decisions_for(node, role, cc=incoming.kind == IncomingDocument.Kind.CC), "role": role, "dept": (task.data or {}).get("dept", ""),
        "on_behalf_of": Person.objects.filter(pk=principal).first() if principal != task.owner_id else None,
        "phrases": phrases_for(request.user, step.label),
        "deadline": (task.data or {}).get("deadline"),
        "assists": assist_opinions(task.process) if node in ("handle", "close") and role != "assist" else [],
        "register_fields": [form[name] for name in REGISTER_FIELDS if name in form.fields] if node == "register" else [],
        **incoming_reading(task.process, incoming),  # 正文, 要素, 附件, earlier opinions (above the opinion box)
    }


def _input(request: HttpRequest, form: StepForm) -> StepInput:
    data = form.cleaned_data
    host = data.get("host_department")
    return StepInput(
        decision=request.POST.get("decision", ""), opinion=data.get("opinion", ""), copies=data.get("copies"),
        fields=form.register_changes() if "title" in form.fields else {}, leader_id=data.get("leader"),
        host_department_id=host.pk if host else None,
        assist_department_ids=[d.pk for d in data.get("assist_departments") or []],
        limit_days=data.get("limit_days"), reader_ids=list(data.get("readers") or []), note=data.get("note", ""),
        result=data.get("result", ""), reply=bool(data.get("reply")),
        reply_doc_type=data.get("reply_doc_type") or REPLY_DOC_TYPES[0].value, reply_title=data.get("reply_title", ""),
        ip=client_ip(request))


@login_required
@require_http_methods(["GET", "POST"])
def step_view(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _task_for_holder(request.user, task_id)
    node = task.flow_task.name
    step = STEPS[node]
    incoming = incoming_of(task.process)
    if task.status not in (STATUS.ASSIGNED, STATUS.STARTED):
        messages.info(request, "该事项已办结")
        return redirect("workflows:incoming_detail", incoming.pk)
    form = StepForm(request.POST or None, task=task, node=node, incoming=incoming)
    template = "workflows/receipt/step.html"
    if request.method == "GET":
        do_mark_task_opened(task, request.user)  # 取回 is refused from now on
        return render(request, template, _step_context(request, task, form))
    if not form.is_valid():
        return render(request, template, _step_context(request, task, form), status=400)
    try:
        check_perform_receipt_step(request.user, task, _input(request, form))
    except Refusal as exc:
        field = _step_error_field(exc.code)
        if field in form.fields:  # said beside the field it is about, the form kept as posted
            form.add_error(field, exc.message)
        return render(request, template, _step_context(request, task, form, "" if field in form.fields else
                                                       exc.message), status=exc.status)
    except PermissionDenied as exc:
        return render(request, template, _step_context(request, task, form, str(exc) or "您不能办理该事项。"),
                      status=403)
    incoming.refresh_from_db()
    if node == "close" and incoming.reply_document_id:
        messages.success(request, "已办结。答复文稿已生成，请撰写正文后送审发文。")
        return redirect("documents:detail", incoming.reply_document_id)
    messages.success(request, f"“{step.label}”已办理")
    return redirect("workflows:incoming_detail", incoming.pk)


_STEP_ERROR_FIELDS = {
    "leader_required": "leader", "leader_invalid": "leader",
    "host_required": "host_department", "host_invalid": "host_department", "host_no_head": "host_department",
    "assist_invalid": "assist_departments", "assist_no_head": "assist_departments",
    "limit_days_invalid": "limit_days", "readers_too_many": "readers", "reader_invalid": "readers",
    "opinion_required": "opinion", "opinion_too_long": "opinion", "return_reason_required": "opinion",
    "reason_required": "opinion", "reason_too_long": "opinion", "result_required": "result",
    "result_too_long": "result", "reply_doc_type_invalid": "reply_doc_type", "copies_invalid": "copies",
    "title_unbreakable": "reply_title",  # 答复文稿's title (do_create_document refuses what §7.3.1 cannot break)
}


def _step_error_field(code: str) -> str | None:
    """Which control of a step form a refusal belongs to (登记 fields by their code prefix)."""
    return _STEP_ERROR_FIELDS.get(code) or _register_error_field(code)


# --- list, detail, files ---------------------------------------------------------------------------------------


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@login_required
@require_GET
def incoming_list_view(request: HttpRequest) -> HttpResponse:
    listing = incoming_list(request.user, status=request.GET.get("status", "open"),
                            agency_id=_int(request.GET.get("agency")), q=request.GET.get("q", ""))
    tabs = [{"key": key, "label": label, "count": listing.counts[key]} for key, (label, _) in STATUS_FILTERS.items()]
    return render(request, "workflows/receipt/list.html", {
        "listing": listing, "tabs": tabs, "q": request.GET.get("q", "")[:100],
        "can_register_paper": bool(paper_agencies(request.user)),
    })


@login_required
@require_GET
def incoming_detail_view(request: HttpRequest, incoming_id: int) -> HttpResponse:
    incoming = access_incoming_by_id(request.user, incoming_id)
    from workflows.actions.circulation import do_mark_circulation_opened
    from workflows.selectors.circulation import circulation_panel

    do_mark_circulation_opened(incoming, request.user)  # 传阅 readers: 打开 is recorded, every time
    context = {"incoming": incoming, "classified": is_classified(incoming), **incoming_detail(request.user, incoming),
               **circulation_panel(request.user, incoming)}
    return render(request, "workflows/receipt/detail.html", context)


@login_required
@require_GET
def incoming_pdf(request: HttpRequest, incoming_id: int) -> HttpResponse:
    incoming = access_incoming_by_id(request.user, incoming_id)
    refuse_classified(incoming, "下载正文")  # 非涉密 only (docs/security.md §12)
    if not incoming.pdf:
        raise Http404("该收文没有正文 PDF")
    name = f"{incoming.receipt_number or incoming.doc_number or '收文'}-{incoming.title}"[:120] + ".pdf"
    return download_response(incoming.pdf, filename=name, content_type="application/pdf")


@login_required
@require_GET
def incoming_attachment_view(request: HttpRequest, incoming_id: int, index: int) -> HttpResponse:
    incoming = access_incoming_by_id(request.user, incoming_id)
    refuse_classified(incoming, "下载附件")
    item = incoming_attachment(incoming, index)
    return download_response(incoming_file(incoming, item["key"]), filename=str(item.get("name") or "附件"),
                             content_type=str(item.get("content_type") or "application/octet-stream"),
                             size=item.get("size"))


# --- 纸质来文 --------------------------------------------------------------------------------------------------


class PaperForm(forms.Form):
    scan = forms.FileField(label="来文扫描件（PDF）", required=False, allow_empty_file=True,  # the action says why
                           widget=forms.FileInput(attrs={"accept": "application/pdf,.pdf"}))

    def __init__(self, *args, agencies, **kwargs):
        super().__init__(*args, **kwargs)
        if len(agencies) > 1:
            self.fields["agency"] = forms.TypedChoiceField(
                label="收文机关", coerce=int, choices=[(a.pk, a.name) for a in agencies])
        self.fields.update(_register_fields())
        self.fields["scan"].help_text = (f"仅接受 PDF，单个文件不超过 {human_size(upload_limit())}。"
                                         "密级为秘密、机密、绝密的来文不上传扫描件，只登记信息")
        self.order_fields(["agency", "scan"])


def _paper_context(form: PaperForm, agencies) -> dict:
    return {"form": form, "agencies": agencies,
            "register_fields": [form[name] for name in REGISTER_FIELDS], "limit": upload_limit()}


@login_required
@csrf_exempt  # so the size-limiting upload handler goes in before CsrfViewMiddleware reads the body …
def paper_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        request.upload_handlers.insert(0, MaxSizeUploadHandler(request))
    return _paper_view(request)


@csrf_protect  # … and the CSRF check still happens, here (documents.views.attachments does the same)
@require_http_methods(["GET", "POST"])
def _paper_view(request: HttpRequest) -> HttpResponse:
    agencies = paper_agencies(request.user)
    if not agencies:
        raise PermissionDenied("只有机关文书可以登记纸质来文")
    template = "workflows/receipt/paper.html"
    if request.method == "GET":
        return render(request, template, _paper_context(PaperForm(agencies=agencies), agencies))
    form = PaperForm(request.POST, request.FILES, agencies=agencies)
    if getattr(request, "oa_upload_too_large", False):
        form.is_valid()
        form.add_error("scan", f"文件过大，单个文件不能超过 {human_size(upload_limit())}")
        return render(request, template, _paper_context(form, agencies), status=413)
    if not form.is_valid():
        return render(request, template, _paper_context(form, agencies), status=400)
    data = form.cleaned_data
    agency_id = data.get("agency") or agencies[0].pk
    agency = next(a for a in agencies if a.pk == agency_id)
    fields = IncomingFields(
        title=data["title"], sender_name=data["sender_name"], doc_number=data.get("doc_number", ""),
        secrecy=data.get("secrecy", ""), urgency=data.get("urgency", ""), signed_date=data.get("signed_date"),
        main_recipients=data.get("main_recipients", ""), copies=data["copies"],
        attachment_note=data.get("attachment_note", ""), metadata={"登记方式": "纸质来文扫描",
                                                                  "登记时间": timezone.now().isoformat()})
    try:
        incoming = check_register_paper_incoming(request.user, agency, fields, data.get("scan"))
    except Refusal as exc:
        form.add_error(_paper_error_field(exc.code), exc.message)
        return render(request, template, _paper_context(form, agencies), status=exc.status)
    messages.success(request, "纸质来文已登记签收，请继续登记编号")
    return redirect("workflows:incoming_detail", incoming.pk)


def _register_error_field(code: str) -> str | None:
    """The 登记 field a refusal of documents.actions.incoming is about, if any."""
    for name in REGISTER_FIELDS:
        if code.startswith(name):
            return name
    return {"invalid_secrecy": "secrecy", "invalid_urgency": "urgency", "invalid_date": "signed_date"}.get(code)


def _paper_error_field(code: str) -> str:
    """Which control a refusal belongs to, so the message sits beside it (file checks → the scan)."""
    return _register_error_field(code) or "scan"


urlpatterns = [
    path("incoming/", incoming_list_view, name="incoming_list"),
    path("incoming/paper/", paper_view, name="incoming_paper"),
    path("incoming/<int:incoming_id>/", incoming_detail_view, name="incoming_detail"),
    path("incoming/<int:incoming_id>/pdf", incoming_pdf, name="incoming_pdf"),
    path("incoming/<int:incoming_id>/attachments/<int:index>", incoming_attachment_view, name="incoming_attachment"),
    path("receipt/tasks/<int:task_id>/", step_view, name="receipt_step"),
]
