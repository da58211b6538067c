"""公文 pages: list (/documents/), 拟稿 (/documents/new), detail with the 正文 editor, versions and 痕迹
(/documents/<id>/), and the 要素 form (/documents/<id>/edit). Thin: parse, call one action or selector, render."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.core.validators import RegexValidator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, re_path, reverse
from django.views.decorators.http import require_GET

from documents.actions.documents import check_update_document, do_create_document
from documents.actions.templates import check_create_from_template
from documents.body import LEVEL_NAMES, MAX_BLOCKS, MAX_BODY_CHARS, MAX_TABLE_COLS, MAX_TABLE_ROWS
from documents.body_templates import TEMPLATE_CHOICES
from documents.docx_import import max_upload_bytes
from documents.models import (
    UPWARD_DOC_TYPES,
    Attachment,
    DocType,
    Layout,
    Publicity,
    Secrecy,
    Urgency,
)
from documents.selectors.attachments import official_pdf
from documents.selectors.body import body_diff, body_versions, current_number, display_blocks, markup_range
from documents.selectors.documents import access_document_by_id, can_edit_document, documents_visible_to
from documents.selectors.numbering import numbering_agencies_for, series_of_agency
from documents.validators import refuse_control_chars
from frontend.widgets import DateInput
from integrations.storage.downloads import download_response
from oa.models import Agency
from oa.refusals import Refusal
from oa.selectors.directory import primary_appointment

PAGE_SIZE = 20
VERSIONS_SHOWN = 50

# ---------------------------------------------------------------- forms

COPY_NUMBER_MESSAGE = "份号须为6位阿拉伯数字（如 000001，不足6位前面补0）"
_SPLIT = re.compile(r"[\n\r,，、;；]+")


class ListField(forms.CharField):
    """Names (主送、抄送、签发人…) one per line, or separated by 、，, — stored as a list."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:
        return [part.strip() for part in _SPLIT.split(value or "") if part.strip()]


class ElementsForm(forms.Form):
    """The 要素 a person sets. Rules (份号 for 涉密, 保密期限 needs 密级 …) are the action's: its Chinese message is
    attached to the field it names."""

    doc_type = forms.ChoiceField(label="文种", choices=DocType.choices, initial=DocType.NOTICE)
    title = forms.CharField(label="标题", max_length=300, help_text="发文机关名称 + 事由 + 文种",
                            widget=forms.TextInput(attrs={"autocomplete": "off"}))
    is_upward = forms.BooleanField(label="上行文（须标注签发人）", required=False,
                                   help_text="报告、请示、议案 自动按上行文处理")
    is_important = forms.BooleanField(label="重要公文", required=False)
    # 非涉密 only: a 密级 is refused by the action with its message beside this field (docs/security.md §12).
    secrecy = forms.ChoiceField(label="密级", choices=Secrecy.choices, required=False,
                                help_text="本系统只处理非涉密公文；涉密公文请在涉密网络或以纸质方式办理")
    secrecy_period = forms.CharField(label="保密期限", max_length=20, required=False, help_text="用阿拉伯数字，如“1年”")
    copy_number = forms.CharField(label="份号", max_length=6, required=False,
                                  validators=[RegexValidator(r"^[0-9]{6}$", COPY_NUMBER_MESSAGE)],
                                  error_messages={"max_length": COPY_NUMBER_MESSAGE},
                                  help_text="如需标注，用6位阿拉伯数字，如 000001（GB/T 9704 §7.2.1）",
                                  widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
    urgency = forms.ChoiceField(label="紧急程度", choices=Urgency.choices, required=False)
    main_recipients = ListField(label="主送机关", required=False, help_text="每行一个，或用顿号、逗号分隔")
    cc = ListField(label="抄送机关", required=False,
                   help_text="每行一个，按版记顺序；本区机关写全称或简称（分发时自动勾选），其他单位照写；不得与主送重复")
    publicity = forms.ChoiceField(label="发布层次", choices=Publicity.choices, initial=Publicity.NOT_PUBLIC)
    notes = forms.CharField(label="附注", max_length=500, required=False, help_text="如：此件公开发布")
    written_date = forms.DateField(label="成文日期", required=False, widget=DateInput(),
                                   help_text="一般为签发日期；可在签发时填写")
    # 纪要 (GB/T 9704 §10.3): printed after the 正文 as 出席：/请假：/列席：.
    attendees = ListField(label="出席（纪要）", required=False, help_text="仅纪要填写：每行一人，写“单位 姓名”")
    absentees = ListField(label="请假（纪要）", required=False, help_text="仅纪要填写：每行一人，写“单位 姓名”")
    observers = ListField(label="列席（纪要）", required=False, help_text="仅纪要填写：每行一人，写“单位 姓名”")
    number_series = forms.TypedChoiceField(
        label="文号序列", required=False, coerce=int, empty_value=None, choices=[("", "按文种自动选择")],
        help_text="函、纪要等按本机关设置的序列编号；同一机关有多个纪要序列（如常务会议、专题会议）时请选择")

    def __init__(self, *args: Any, agency: Agency | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        series = series_of_agency(agency) if agency is not None else []
        self.fields["number_series"].choices = [("", "按文种自动选择")] + [
            (s.pk, f"{s.name}（{'、'.join(DocType(t).label for t in s.doc_types)}）") for s in series]
        # Text that will be typeset: refused inline when it carries control or bidi characters (step forms copy
        # these fields, validators included).
        for field in self.fields.values():
            if isinstance(field, forms.CharField):
                field.validators.append(refuse_control_chars)


class CreateForm(ElementsForm):
    template = forms.ChoiceField(label="拟稿模板", choices=TEMPLATE_CHOICES, required=False,
                                 help_text="按文种给出正文的基本结构（“……”处由您填写）；模板须与所选文种一致")

    field_order = ["doc_type", "number_series", "template"]


class EditElementsForm(ElementsForm):
    layout = forms.ChoiceField(label="版式", choices=Layout.choices)
    signers = ListField(label="签发人", required=False, help_text="上行文须标注；按发文机关顺序")
    issuer_mark = forms.CharField(label="发文机关标志", max_length=200, required=False)
    signature = forms.CharField(label="发文机关署名", max_length=200, required=False)
    attachment_note = ListField(label="附件说明", required=False, help_text="附件名称，每行一个，按顺序；名称后不加标点")
    seal_required = forms.BooleanField(label="加盖印章", required=False, help_text="纪要不加盖印章")
    printing_org = forms.CharField(label="印发机关", max_length=200, required=False)
    printing_date = forms.DateField(label="印发日期", required=False, widget=DateInput())

    field_order = ["doc_type", "number_series", "layout", "title", "is_upward", "is_important", "secrecy",
                   "secrecy_period", "copy_number", "urgency", "issuer_mark", "signers", "main_recipients",
                   "attachment_note", "signature", "written_date", "seal_required", "notes", "cc", "attendees",
                   "absentees", "observers", "printing_org", "printing_date", "publicity"]


# Refusal code → the field its message is about (anything else is shown above the form).
_ERROR_FIELDS = {
    "title_required": "title", "title_too_long": "title", "title_unbreakable": "title", "invalid_doc_type": "doc_type", "invalid_layout": "layout",
    "invalid_publicity": "publicity", "invalid_secrecy": "secrecy", "invalid_urgency": "urgency",
    "invalid_copy_number": "copy_number", "copy_number_required": "copy_number",
    "secrecy_period_without_level": "secrecy_period", "cc_overlaps_main": "cc",
    "template_doc_type": "template", "unknown_template": "template",
    "classified_not_allowed": "secrecy", "attendance_only_minutes": "attendees",
    "invalid_number_series": "number_series",
}


def _add_error(form: forms.Form, error: Refusal) -> None:
    field = _ERROR_FIELDS.get(error.code)
    form.add_error(field if field in form.fields else None, error.message)


def _form_values(form: forms.Form) -> dict[str, Any]:
    data = dict(form.cleaned_data)
    for name in ("secrecy", "urgency", "secrecy_period", "copy_number", "notes"):
        if name in data:
            data[name] = data[name] or ""
    return data


# ---------------------------------------------------------------- pages


@login_required
@require_GET
def document_list(request: HttpRequest) -> HttpResponse:
    documents = documents_visible_to(request.user).select_related("agency", "created_by", "current_body")
    page = Paginator(documents, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "documents/list.html", {
        "page": page,
        "can_draft": primary_appointment(request.user) is not None,
        "has_ledger": bool(numbering_agencies_for(request.user)),  # 文号台账 only where it would open (not a 404)
    })


@login_required
def document_create(request: HttpRequest) -> HttpResponse:
    appointment = primary_appointment(request.user)
    if appointment is None:
        raise PermissionDenied("您没有任职信息，不能拟稿")
    form = CreateForm(request.POST or None, agency=appointment.department.agency)
    if request.method == "POST" and form.is_valid():
        data = _form_values(form)
        template = data.pop("template", "")
        # 报告、请示、议案 are 上行文 by nature; the box can only add the flag to other 文种.
        data["is_upward"] = data["is_upward"] or data["doc_type"] in UPWARD_DOC_TYPES
        try:
            if template:
                document = check_create_from_template(actor=request.user, agency=appointment.department.agency,
                                                      department=appointment.department, template=template, **data)
            else:
                document = do_create_document(actor=request.user, agency=appointment.department.agency,
                                              department=appointment.department, **data)
        except Refusal as error:
            _add_error(form, error)
        else:
            messages.success(request, "公文已创建，请撰写正文")
            return redirect(reverse("documents:detail", args=[document.pk]) + "#body")
    return render(request, "documents/form.html", {
        "form": form, "title": "拟稿", "agency": appointment.department.agency, "department": appointment.department,
    }, status=400 if form.errors else 200)


def _int_or_none(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 10 else None


@login_required
@require_GET
def document_detail(request: HttpRequest, document_id: int) -> HttpResponse:
    document = access_document_by_id(request.user, document_id)
    versions = list(body_versions(document)[:VERSIONS_SHOWN])
    for version in versions:
        version.markup = markup_range(version)
    diff = diff_error = None
    lo, hi = _int_or_none(request.GET.get("from")), _int_or_none(request.GET.get("to"))
    if lo is not None and hi is not None:
        try:
            diff = body_diff(document, lo, hi)
        except Refusal as error:
            diff_error = error.message
    number = current_number(document)
    context = {
        "document": document,
        "can_edit": can_edit_document(request.user, document),
        "blocks": display_blocks(document),
        "version_number": number,
        # If-Match for the editor and the 清稿/导入 forms: "5", or "5.3" once autosaves amended 第5版.
        "version_tag": document.current_body.etag if document.current_body_id else "0",
        "current": document.current_body,
        "versions": versions,
        "more_versions": number > VERSIONS_SHOWN,
        "all_numbers": list(range(number, 0, -1)),
        "diff": diff,
        "diff_error": diff_error,
        "diff_from": lo if lo is not None else (versions[-1].number if versions else None),
        "diff_to": hi if hi is not None else number,
        "attachments": document.attachments.filter(role=Attachment.Role.ATTACHMENT),
        "official": official_pdf(document),
        "level_names": LEVEL_NAMES,
        "limits": {"blocks": MAX_BLOCKS, "chars": MAX_BODY_CHARS, "rows": MAX_TABLE_ROWS, "cols": MAX_TABLE_COLS,
                   "upload_mb": max_upload_bytes() // (1024 * 1024)},
    }
    return render(request, "documents/detail.html", context)


@login_required
def document_edit(request: HttpRequest, document_id: int) -> HttpResponse:
    document = access_document_by_id(request.user, document_id)
    if not can_edit_document(request.user, document):
        raise PermissionDenied("您现在不能修改此公文的要素")
    initial = {name: getattr(document, name) for name in EditElementsForm.base_fields}
    initial["number_series"] = document.number_series_id
    form = EditElementsForm(request.POST or None, initial=initial, agency=document.agency)
    if request.method == "POST" and form.is_valid():
        try:
            check_update_document(request.user, document, _form_values(form))
        except Refusal as error:
            _add_error(form, error)
        else:
            messages.success(request, "要素已保存")
            return redirect("documents:detail", document.pk)
    return render(request, "documents/form.html", {
        "form": form, "title": "修改要素", "document": document, "agency": document.agency,
    }, status=400 if form.errors else 200)


DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@login_required
@require_GET
def final_download(request: HttpRequest, document_id: str, ext: str) -> HttpResponse:
    """The 正式文件 after the access check: the sealed PDF once 用印 is done, before that the typeset PDF named as an
    unsealed draft. The DOCX is the typeset layout and never carries the seal, so it is always named so."""
    document = access_document_by_id(request.user, int(document_id))
    stem = document.doc_number or document.title
    if ext == "pdf":
        official = official_pdf(document)
        if official is None:
            raise Http404("尚未排版，没有正式文件")
        return download_response(official.file, filename=f"{stem}{official.name_suffix}.pdf",
                                 content_type="application/pdf")
    if not document.final_docx:
        raise Http404("尚未排版，没有正式文件")
    suffix = "（排版稿，不含印章）" if document.seal_required else ""
    return download_response(document.final_docx, filename=f"{stem}{suffix}.docx", content_type=DOCX_TYPE)


urlpatterns = [
    path("", document_list, name="list"),
    re_path(r"^(?P<document_id>[0-9]+)/final\.(?P<ext>pdf|docx)$", final_download, name="final"),
    path("new", document_create, name="create"),
    path("<int:document_id>/", document_detail, name="detail"),
    path("<int:document_id>/edit", document_edit, name="edit"),
]
