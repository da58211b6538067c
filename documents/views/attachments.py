"""附件 pages and API, and the watermarked PDF preview. Thin: every object comes through ``access_*``.

Pages (namespace ``documents``):
  /documents/<id>/attachments/                          list + upload form
  /documents/<id>/attachments/<aid>/download/           the file (after the permission check)
  /documents/<id>/attachments/<aid>/remove/             confirm (GET) and remove (POST)
  /documents/<id>/preview/ and …/attachments/<aid>/preview/   watermarked page images
API (mounted at /api/documents/, see documents/api_urls.py):
  GET/POST /api/documents/<id>/attachments, GET/DELETE …/attachments/<aid>, GET …/attachments/<aid>/download
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from documents.actions.attachments import check_add_attachment, check_remove_attachment
from documents.models import Attachment, OfficialDocument
from documents.preview import PreviewSource, max_pages, source_fonts, source_info, watermarked_page
from documents.selectors.attachments import (
    PDF_MIME,
    access_attachment_by_id,
    attachments_of,
    can_manage_attachments,
    official_pdf,
    pdf_attachments_of,
)
from documents.selectors.documents import access_document_by_id
from documents.uploads import (
    ALLOWED_TYPES_TEXT,
    KINDS,
    MaxSizeUploadHandler,
    human_size,
    kind_for_mime,
    upload_limit,
)
from integrations.storage.downloads import download_response
from oa.api.serializers import ErrorSerializer
from oa.refusals import Refusal

# Roles offered in the upload form (正文导入源文件 is written by the 正文 import, not by hand).
FORM_ROLES = (Attachment.Role.ATTACHMENT, Attachment.Role.SCAN, Attachment.Role.REFERENCE)
ACCEPT = ",".join(ext for kind in KINDS.values() for ext in kind.extensions)


class AttachmentForm(forms.Form):
    file = forms.FileField(label="选择文件", required=False, widget=forms.FileInput(attrs={"accept": ACCEPT}))
    title = forms.CharField(label="附件名称", required=False, max_length=200,
                            help_text="将写入附件说明；留空则使用文件名（不含扩展名）")
    role = forms.ChoiceField(label="用途", choices=[(r.value, r.label) for r in FORM_ROLES],
                             initial=Attachment.Role.ATTACHMENT)

    def __init__(self, *args, roles: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(r.value, r.label) for r in FORM_ROLES if r.value in roles]
        self.fields["file"].help_text = f"允许：{ALLOWED_TYPES_TEXT}；单个文件不超过 {human_size(upload_limit())}"


def _row(attachment: Attachment) -> dict:
    kind = kind_for_mime(attachment.content_type)
    return {
        "obj": attachment,
        "kind": kind.label if kind else attachment.content_type,
        "size": human_size(attachment.size),
        "is_pdf": attachment.content_type == PDF_MIME,
    }


def _roles_for(user, document: OfficialDocument) -> list[str]:
    return [r.value for r in FORM_ROLES if can_manage_attachments(user, document, r.value)]


def _list_context(request, document: OfficialDocument, form: AttachmentForm) -> dict:
    rows = [_row(a) for a in attachments_of(document)]
    for row in rows:
        row["can_remove"] = can_manage_attachments(request.user, document, row["obj"].role)
    return {
        "document": document,
        "rows": rows,
        "form": form,
        "can_add": bool(form.fields["role"].choices),
        "official": official_pdf(document),
    }


@login_required
@csrf_exempt  # so the size-limiting upload handler goes in before CsrfViewMiddleware reads the body …
def attachment_list(request, document_id: int):
    if request.method == "POST":
        request.upload_handlers.insert(0, MaxSizeUploadHandler(request))
    return _attachment_list(request, document_id)


@csrf_protect  # … and the CSRF check still happens, here (Django's documented pattern for upload handlers)
@require_http_methods(["GET", "POST"])
def _attachment_list(request, document_id: int):
    document = access_document_by_id(request.user, document_id)
    roles = _roles_for(request.user, document)
    if request.method == "GET":
        form = AttachmentForm(roles=roles)
        return render(request, "documents/attachments/list.html", _list_context(request, document, form))
    form = AttachmentForm(request.POST, request.FILES, roles=roles)
    status_code = 400
    if getattr(request, "oa_upload_too_large", False):
        form.is_valid()
        form.add_error("file", f"文件过大，单个文件不能超过 {human_size(upload_limit())}")
        status_code = 413
    elif not roles:
        form.is_valid()
        form.add_error(None, "当前环节您不能为此公文添加附件")
        status_code = 403
    elif form.is_valid():
        try:
            attachment = check_add_attachment(
                request.user, document, form.cleaned_data["file"], role=form.cleaned_data["role"],
                title=form.cleaned_data["title"],
            )
        except Refusal as exc:
            field = "title" if exc.code.startswith("title") else None if exc.status == 403 else "file"
            form.add_error(field, exc.message)
            status_code = exc.status
        else:
            messages.success(request, f"已上传“{attachment.title}”")
            return redirect("documents:attachments", document_id=document.pk)
    return render(request, "documents/attachments/list.html", _list_context(request, document, form),
                  status=status_code)


@login_required
@require_GET
def attachment_download(request, document_id: int, attachment_id: int):
    attachment = access_attachment_by_id(request.user, document_id, attachment_id)
    return download_response(attachment.file, filename=attachment.name, content_type=attachment.content_type,
                             size=attachment.size)


@login_required
@require_http_methods(["GET", "POST"])
def attachment_remove(request, document_id: int, attachment_id: int):
    attachment = access_attachment_by_id(request.user, document_id, attachment_id)
    document = attachment.document
    error = ""
    if request.method == "POST":
        try:
            check_remove_attachment(request.user, attachment)
        except Refusal as exc:
            error = exc.message
            response_status = exc.status
        else:
            messages.success(request, f"已删除“{attachment.title or attachment.name}”")
            return redirect("documents:attachments", document_id=document.pk)
    elif not can_manage_attachments(request.user, document, attachment.role):
        error, response_status = "当前环节您不能删除此附件", 403
    context = {"document": document, "row": _row(attachment), "error": error}
    return render(request, "documents/attachments/remove.html", context,
                  status=response_status if error else 200)


# ---- preview ------------------------------------------------------------------------------------------


def _document_source(document: OfficialDocument) -> PreviewSource:
    official = official_pdf(document)
    if official is None:
        raise Refusal("preview_unavailable", "此公文还没有正式 PDF（排版后生成），暂无可预览的文件；可预览 PDF 附件",
                            status=404)
    pdf = official.file
    # Storage names are not reused while the file exists (each 用印 stores a new one); updated_at also moves
    # whenever final_pdf is replaced.
    key = f"final:{pdf.name}:{document.updated_at.timestamp() if document.updated_at else ''}"
    return PreviewSource(key=key, file=pdf, label=f"{document.title}（{official.label}）")


def _attachment_source(attachment: Attachment) -> PreviewSource:
    if attachment.content_type != PDF_MIME:
        kind = kind_for_mime(attachment.content_type)
        raise Refusal(
            "preview_not_pdf",
            f"只能预览 PDF 文件；此附件是{kind.label if kind else '其他格式'}，请下载后查看",
            status=415,
        )
    return PreviewSource(key=f"sha256:{attachment.sha256}", file=attachment.file,
                         label=attachment.title or attachment.name)


def _preview_page(request, document: OfficialDocument, make_source, page_url, download_url: str = "",
                  official=None):
    context: dict = {"document": document, "download_url": download_url, "limit": max_pages(), "official": official}
    try:
        source = make_source()
        info = source_info(source)
        fonts = source_fonts(source)
    except Refusal as exc:
        context["error"] = exc.message
        context["pdf_attachments"] = [_row(a) for a in pdf_attachments_of(document)]
        return render(request, "documents/attachments/preview.html", context, status=exc.status)
    context.update(
        label=source.label,
        pages=info.pages,
        truncated=info.pages > len(info.sizes),
        fonts=fonts,
        images=[{"n": n, "url": page_url(n), "width": w, "height": h}
                for n, (w, h) in enumerate(info.sizes, start=1)],
    )
    response = render(request, "documents/attachments/preview.html", context)
    response["Cache-Control"] = "private, no-store"
    return response


def page_png_response(request: HttpRequest, make_source, page: int) -> HttpResponse:
    """One watermarked preview page as PNG (shared by the 发文 and 收文 previews)."""
    try:
        png = watermarked_page(make_source(), page, request.user)
    except Refusal as exc:
        response = HttpResponse(exc.message, status=exc.status, content_type="text/plain; charset=utf-8")
    else:
        response = HttpResponse(png, content_type="image/png")
    # Each image carries this viewer's name and this minute: never to be reused from any cache.
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def document_preview(request, document_id: int):
    document = access_document_by_id(request.user, document_id)
    official = official_pdf(document)
    return _preview_page(
        request, document, lambda: _document_source(document),
        lambda n: reverse("documents:preview_page", args=[document.pk, n]),
        official=official,
    )


@login_required
@require_GET
def document_preview_page(request, document_id: int, page: int):
    document = access_document_by_id(request.user, document_id)
    return page_png_response(request, lambda: _document_source(document), page)


@login_required
@require_GET
def attachment_preview(request, document_id: int, attachment_id: int):
    attachment = access_attachment_by_id(request.user, document_id, attachment_id)
    return _preview_page(
        request, attachment.document, lambda: _attachment_source(attachment),
        lambda n: reverse("documents:attachment_preview_page", args=[document_id, attachment.pk, n]),
        download_url=reverse("documents:attachment_download", args=[document_id, attachment.pk]),
    )


@login_required
@require_GET
def attachment_preview_page(request, document_id: int, attachment_id: int, page: int):
    attachment = access_attachment_by_id(request.user, document_id, attachment_id)
    return page_png_response(request, lambda: _attachment_source(attachment), page)


urlpatterns = [
    path("<int:document_id>/attachments/", attachment_list, name="attachments"),
    path("<int:document_id>/attachments/<int:attachment_id>/download/", attachment_download,
         name="attachment_download"),
    path("<int:document_id>/attachments/<int:attachment_id>/remove/", attachment_remove, name="attachment_remove"),
    path("<int:document_id>/attachments/<int:attachment_id>/preview/", attachment_preview,
         name="attachment_preview"),
    path("<int:document_id>/attachments/<int:attachment_id>/preview/<int:page>.png", attachment_preview_page,
         name="attachment_preview_page"),
    path("<int:document_id>/preview/", document_preview, name="preview"),
    path("<int:document_id>/preview/<int:page>.png", document_preview_page, name="preview_page"),
]


# ---- API ------------------------------------------------------------------------------------------------


def attachment_json(attachment: Attachment) -> dict:
    kind = kind_for_mime(attachment.content_type)
    doc_id = attachment.document_id
    return {
        "id": attachment.pk,
        "role": attachment.role,
        "role_label": attachment.get_role_display(),
        "position": attachment.position,
        "name": attachment.name,
        "title": attachment.title,
        "content_type": attachment.content_type,
        "kind": kind.key if kind else "",
        "kind_label": kind.label if kind else "",
        "size": attachment.size,
        "sha256": attachment.sha256,
        "uploaded_by": {"id": attachment.uploaded_by_id, "name": attachment.uploaded_by.get_full_name()},
        "uploaded_at": attachment.uploaded_at.isoformat(),
        "download_url": reverse("documents_api_attachment_download", args=[doc_id, attachment.pk]),
        "preview_url": reverse("documents:attachment_preview", args=[doc_id, attachment.pk])
        if attachment.content_type == PDF_MIME else None,
    }


class UploaderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(help_text="上传人姓名")


class AttachmentSerializer(serializers.Serializer):
    """Schema of ``attachment_json`` (documentation only: the view builds the dict itself)."""

    id = serializers.IntegerField()
    role = serializers.ChoiceField(choices=Attachment.Role.choices, help_text="用途")
    role_label = serializers.CharField()
    position = serializers.IntegerField(help_text="同一用途内的顺序号（附件说明的序号）")
    name = serializers.CharField(help_text="上传时的文件名")
    title = serializers.CharField(help_text="附件名称（写入附件说明）")
    content_type = serializers.CharField(help_text="按内容识别出的类型")
    kind = serializers.CharField(help_text="pdf、ofd、docx、xlsx、pptx、png、jpeg、tiff、text")
    kind_label = serializers.CharField()
    size = serializers.IntegerField(help_text="字节")
    sha256 = serializers.CharField()
    uploaded_by = UploaderSerializer()
    uploaded_at = serializers.DateTimeField()
    download_url = serializers.CharField()
    preview_url = serializers.CharField(allow_null=True, help_text="PDF 才有：带水印的在线预览页面")


class AttachmentListSerializer(serializers.Serializer):
    document = serializers.IntegerField()
    attachment_note = serializers.ListField(child=serializers.CharField(), help_text="附件说明（按顺序）")
    results = AttachmentSerializer(many=True)
    can_add = serializers.ListField(child=serializers.CharField(), help_text="当前用户可上传的用途")
    max_bytes = serializers.IntegerField(help_text="单个文件上限（字节）")


class AttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    title = serializers.CharField(required=False, help_text="附件名称；留空则用文件名（不含扩展名）")
    role = serializers.ChoiceField(choices=Attachment.Role.choices, required=False, default=Attachment.Role.ATTACHMENT)


_ERROR_TEXT = {
    400: "file_required、file_empty、unsupported_type、type_mismatch、zip_ratio 等（见 docs/storage.md）",
    401: "not_authenticated / token_invalid",
    403: "not_editable / permission_denied",
    404: "not_found（公文或附件不存在或无权查看）",
    413: "file_too_large",
}


def _errors(*codes: int) -> dict:
    return {c: OpenApiResponse(ErrorSerializer, description=_ERROR_TEXT[c]) for c in codes}


class AttachmentsApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    def initialize_request(self, request, *args, **kwargs):
        if request.method == "POST":  # before anything reads the body (see MaxSizeUploadHandler)
            request.upload_handlers.insert(0, MaxSizeUploadHandler(request))
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(operation_id="document_attachments_list", summary="公文的附件列表",
                   responses={200: AttachmentListSerializer, **_errors(401, 404)})
    def get(self, request, document_id: int):
        document = access_document_by_id(request.user, document_id)
        return Response({
            "document": document.pk,
            "attachment_note": document.attachment_note,
            "results": [attachment_json(a) for a in attachments_of(document)],
            "can_add": [r for r in Attachment.Role.values if can_manage_attachments(request.user, document, r)],
            "max_bytes": upload_limit(),
        })

    @extend_schema(operation_id="document_attachments_create", summary="上传附件（按内容校验类型与大小）",
                   request={"multipart/form-data": AttachmentUploadSerializer},
                   responses={201: AttachmentSerializer, **_errors(400, 401, 403, 404, 413)})
    def post(self, request, document_id: int):
        document = access_document_by_id(request.user, document_id)
        upload = request.FILES.get("file")
        if getattr(request._request, "oa_upload_too_large", False):
            raise Refusal("file_too_large", f"文件过大，单个文件不能超过 {human_size(upload_limit())}", 413)
        attachment = check_add_attachment(
            request.user, document, upload,
            role=request.data.get("role") or Attachment.Role.ATTACHMENT, title=request.data.get("title", ""),
        )
        return Response(attachment_json(attachment), status=status.HTTP_201_CREATED)


class AttachmentApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="document_attachment_detail", summary="单个附件",
                   responses={200: AttachmentSerializer, **_errors(401, 404)})
    def get(self, request, document_id: int, attachment_id: int):
        return Response(attachment_json(access_attachment_by_id(request.user, document_id, attachment_id)))

    @extend_schema(operation_id="document_attachment_delete", summary="删除附件（其余附件重新编号）",
                   responses={204: None, **_errors(401, 403, 404)})
    def delete(self, request, document_id: int, attachment_id: int):
        attachment = access_attachment_by_id(request.user, document_id, attachment_id)
        check_remove_attachment(request.user, attachment)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AttachmentDownloadApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="document_attachment_download", summary="下载附件",
        description="本机存储时直接返回文件（Content-Disposition: attachment）；MinIO 时默认 302 到有效期不超过 5 分钟的预签名链接。",
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY,
                   302: OpenApiResponse(description="预签名下载链接（Location）"), **_errors(401, 404)},
    )
    def get(self, request, document_id: int, attachment_id: int):
        attachment = access_attachment_by_id(request.user, document_id, attachment_id)
        return download_response(attachment.file, filename=attachment.name, content_type=attachment.content_type,
                                 size=attachment.size)


api_urlpatterns = [
    path("<int:document_id>/attachments", AttachmentsApi.as_view(), name="documents_api_attachments"),
    path("<int:document_id>/attachments/<int:attachment_id>", AttachmentApi.as_view(), name="documents_api_attachment"),
    path("<int:document_id>/attachments/<int:attachment_id>/download", AttachmentDownloadApi.as_view(),
         name="documents_api_attachment_download"),
]
