"""E-seal pages and API (docs/seals.md). Thin: parse, call one selector or action, render.

Pages (namespace ``documents``):
  /documents/seals/                              印章登记 (the seals of my agencies)
  /documents/seals/new                           制章 (系统管理员, OTP verified); first-time 制章者 initialisation
  /documents/seals/authority/init                POST: create the first 制章者 (系统管理员, OTP verified)
  /documents/seals/<id>/                         印章详情: certificate facts, picture; 注销 form for 系统管理员
  /documents/seals/<id>/revoke                   POST: 注销 with a reason (系统管理员, OTP verified)
  /documents/seals/<id>/certificate.pem          the seal's X.509 certificate (public)
  /documents/seals/<id>/image.png                the seal picture
  /documents/seals/verify/                       验章: upload a PDF or pick a sealed document → report
  /documents/<id>/seal/                          用印 records of a document, and the open authorisations I can use
  /documents/<id>/seal/<authorization_id>/       stamp (POST; needs OTP verified in this session)
  /documents/<id>/seal/uses/<use_id>/download/   the sealed PDF
API (mounted at /api/documents/): POST /api/documents/verify-seal (multipart ``file``, or ``document`` id)
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from documents.actions.seals import (
    DEFAULT_AUTHORITY_ORG,
    check_create_seal,
    check_init_seal_authority,
    check_revoke_seal,
    check_stamp_document,
)
from documents.models import Seal
from documents.seals import image
from documents.selectors.documents import access_document_by_id
from documents.selectors.seals import (
    VERIFY_MAX_BYTES,
    access_authorization_by_id,
    access_seal_by_id,
    active_authority,
    agencies_for_seals,
    check_pdf_upload,
    may_manage_seals,
    open_authorizations,
    seal_certificate_facts,
    seal_uses_of,
    sealed_documents_visible_to,
    seals_visible_to,
    verify_document,
    verify_pdf,
)
from documents.uploads import MaxSizeUploadHandler
from frontend.widgets import DateInput
from integrations.storage.downloads import download_response
from oa.api.serializers import ErrorSerializer
from oa.models import Agency, Role
from oa.refusals import Refusal

TOO_LARGE = f"文件过大：验章文件不能超过 {VERIFY_MAX_BYTES // 1024 // 1024} MB"


class VerifyForm(forms.Form):
    file = forms.FileField(label="上传 PDF 文件", required=False,
                           widget=forms.FileInput(attrs={"accept": ".pdf,application/pdf"}),
                           help_text=f"任何来源的 PDF 均可验证；不超过 {VERIFY_MAX_BYTES // 1024 // 1024} MB")
    document = forms.TypedChoiceField(label="或选择已盖章的公文", required=False, coerce=int, empty_value=None)

    def __init__(self, *args, documents=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["document"].choices = [("", "（不选择）")] + [
            (d.pk, f"{d.doc_number or '未编号'} {d.title}") for d in documents
        ]


class AgencyChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.name}（{obj.doc_code}）" if obj.doc_code else obj.name


def _years_later(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


class SealCreateForm(forms.Form):
    """制章. The rules (who, validity against the 制章者, picture checks …) are check_create_seal's: its Chinese
    message is attached to the field it is about."""

    agency = AgencyChoiceField(label="所属机关", queryset=Agency.objects.none(), empty_label="（请选择机关）")
    kind = forms.ChoiceField(label="印章类型", choices=Seal.Kind.choices, initial=Seal.Kind.OFFICIAL)
    name = forms.CharField(
        label="印章名称（可不填）", required=False, max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text="不填则自动生成：公章为机关全称，业务专用章为“机关全称业务专用章”，签名章为“机关全称签名章”。"
                  "最多约21个汉字（印章证书的通用名限64字节）",
    )
    valid_from = forms.DateField(label="有效期起", widget=DateInput())
    valid_to = forms.DateField(label="有效期止", widget=DateInput(),
                               help_text="含当日；不能晚于制章者证书的有效期")
    holder_role = forms.ChoiceField(label="持章角色", choices=Role.choices, initial=Role.SEAL_KEEPER,
                                    help_text="在印章所属机关担任此角色的人才能用印，一般为印章管理员")
    algorithm = forms.ChoiceField(label="PDF 签名算法", choices=Seal.Algorithm.choices,
                                  initial=Seal.Algorithm.ECDSA_P256,
                                  help_text="GB/T 38540 电子签章另用 SM2/SM3，与此项无关")
    image = forms.FileField(
        label="印章图片（可选）", required=False, widget=forms.FileInput(attrs={"accept": "image/png,.png"}),
        help_text=f"透明背景的 PNG，正方形，{image.UPLOAD_MIN_PX}–{image.UPLOAD_MAX_PX} 像素，"
                  f"不超过 {image.UPLOAD_MAX_BYTES // 1024 // 1024} MB；不上传则按机关名称生成红色圆章",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = agencies_for_seals()
        today = timezone.localdate()
        self.fields["valid_from"].initial = today
        self.fields["valid_to"].initial = _years_later(today, 5)

    def clean_valid_to(self) -> dt.date:
        valid_to = self.cleaned_data["valid_to"]
        if valid_to < timezone.localdate():
            raise forms.ValidationError("有效期止不能早于今天")
        return valid_to


class AuthorityInitForm(forms.Form):
    name = forms.CharField(label="制章者名称", max_length=200, initial="电子印章制章者",
                           help_text="制章者根证书的通用名，如“揭阳市揭东区电子印章制章者”；最多约21个汉字")
    organization = forms.CharField(label="所属单位", max_length=64, initial=DEFAULT_AUTHORITY_ORG,
                                   help_text="根证书的单位名称（O）")


class RevokeForm(forms.Form):
    # Not required here: an empty reason reaches check_revoke_seal, whose refusal is the one every caller gets.
    reason = forms.CharField(label="注销原因", required=False, max_length=200,
                             widget=forms.Textarea(attrs={"rows": 3, "required": True}),
                             help_text="如：印章图案变更、机关更名、私钥疑似泄露。注销后不可恢复，此后的签章验章时判为无效")


# Refusal code → the form field its message is about (anything else is shown above the form).
_ERROR_FIELDS = {
    "invalid_seal_kind": "kind", "invalid_seal_algorithm": "algorithm", "invalid_holder_role": "holder_role",
    "invalid_seal_validity": "valid_to", "seal_name_too_long": "name", "seal_name_required": "agency",
    "reason_required": "reason", "authority_name_required": "name", "authority_name_too_long": "name",
    "authority_organization_required": "organization", "authority_organization_too_long": "organization",
}
OTP_REQUIRED = "制作、注销印章和初始化制章者须先完成双因素认证（动态口令）"
IMAGE_TOO_LARGE = f"印章图片不能超过 {image.UPLOAD_MAX_BYTES // 1024 // 1024} MB"


def _add_error(form: forms.Form, error: Refusal) -> None:
    field = "image" if error.code.startswith("seal_image_") else _ERROR_FIELDS.get(error.code)
    form.add_error(field if field in form.fields else None, error.message)


def _require_manager(request, message: str) -> None:
    # 403 before any form handling: the page is for 系统管理员 only (the action checks again).
    if not may_manage_seals(request.user):
        raise PermissionDenied(message)


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _end_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59, 59)))


# ---- 验章 ----------------------------------------------------------------------------------------------------

@login_required
@csrf_exempt  # the size-limiting upload handler must be installed before CsrfViewMiddleware reads the body …
def verify_page(request):
    if request.method == "POST":
        request.upload_handlers.insert(0, MaxSizeUploadHandler(request, max_bytes=VERIFY_MAX_BYTES))
    return _verify_page(request)


@csrf_protect  # … and the CSRF check still happens here (Django's documented pattern for upload handlers)
@require_http_methods(["GET", "POST"])
def _verify_page(request):
    documents = list(sealed_documents_visible_to(request.user)[:200])
    if request.method == "GET":
        initial = {"document": request.GET.get("document")} if request.GET.get("document") else None
        form = VerifyForm(initial=initial, documents=documents)
        return render(request, "documents/seals/verify.html", {"form": form})
    form = VerifyForm(request.POST, request.FILES, documents=documents)
    context: dict = {"form": form}
    status = 400
    if getattr(request, "oa_upload_too_large", False):
        form.is_valid()
        form.add_error("file", TOO_LARGE)
        status = 413
    elif form.is_valid():
        upload, document_id = form.cleaned_data["file"], form.cleaned_data["document"]
        try:
            if upload is not None:
                data = upload.read(VERIFY_MAX_BYTES + 1)
                check_pdf_upload(data)
                context.update(report=verify_pdf(data), source=upload.name)
            elif document_id is not None:
                document, report = verify_document(request.user, document_id)
                context.update(report=report, source=str(document), document=document)
            else:
                raise Refusal("file_required", "请上传 PDF 文件或选择一份已盖章的公文")
            status = 200
        except Refusal as exc:
            form.add_error("file", exc.message)
            status = exc.status
    return render(request, "documents/seals/verify.html", context, status=status)


# ---- registry ------------------------------------------------------------------------------------------------

@login_required
@require_GET
def seal_list(request):
    seals = seals_visible_to(request.user).order_by("agency__sort_order", "kind", "id")
    can_manage = may_manage_seals(request.user)
    return render(request, "documents/seals/list.html", {
        "seals": seals, "kinds": Seal.Kind, "can_manage": can_manage, "now": timezone.now(),
        "authority": active_authority() if can_manage else None,
    })


def _render_create(request, form: SealCreateForm, authority_form: AuthorityInitForm, *, status: int,
                   error_code: str = ""):
    return render(request, "documents/seals/new.html", {
        "form": form, "authority_form": authority_form, "authority": active_authority(),
        "otp_verified": request.user.is_verified(), "error_code": error_code,
    }, status=status)


@login_required
@csrf_exempt  # the size-limiting upload handler must be installed before CsrfViewMiddleware reads the body …
def seal_create(request):
    if request.method == "POST":
        request.upload_handlers.insert(0, MaxSizeUploadHandler(request, max_bytes=image.UPLOAD_MAX_BYTES))
    return _seal_create(request)


@csrf_protect  # … and the CSRF check still happens here (as on the 验章 page)
@require_http_methods(["GET", "POST"])
def _seal_create(request):
    _require_manager(request, "只有系统管理员可以制作电子印章")
    if request.method == "GET":
        return _render_create(request, SealCreateForm(), AuthorityInitForm(), status=200)
    form = SealCreateForm(request.POST, request.FILES)
    valid = form.is_valid()
    if getattr(request, "oa_upload_too_large", False):
        form.add_error("image", IMAGE_TOO_LARGE)
        return _render_create(request, form, AuthorityInitForm(), status=413, error_code="seal_image_too_large")
    if not request.user.is_verified():
        form.add_error(None, OTP_REQUIRED)
        return _render_create(request, form, AuthorityInitForm(), status=403, error_code="otp_required")
    if not valid:
        return _render_create(request, form, AuthorityInitForm(), status=400, error_code="invalid_form")
    data = form.cleaned_data
    upload = data["image"]
    try:
        seal = check_create_seal(
            request.user, agency=data["agency"], kind=data["kind"], name=data["name"], algorithm=data["algorithm"],
            valid_from=_start_of(data["valid_from"]), valid_to=_end_of(data["valid_to"]),
            holder_role=data["holder_role"],
            image_png=upload.read(image.UPLOAD_MAX_BYTES + 1) if upload is not None else None,
        )
    except Refusal as exc:
        _add_error(form, exc)
        return _render_create(request, form, AuthorityInitForm(), status=exc.status, error_code=exc.code)
    messages.success(request, f"已制作印章“{seal.name}”（编码 {seal.es_id}）")
    return redirect("documents:seals")


@login_required
@require_POST
def seal_authority_init(request):
    _require_manager(request, "只有系统管理员可以初始化电子印章制章者")
    authority_form = AuthorityInitForm(request.POST)
    if not request.user.is_verified():
        authority_form.add_error(None, OTP_REQUIRED)
        return _render_create(request, SealCreateForm(), authority_form, status=403, error_code="otp_required")
    if not authority_form.is_valid():
        return _render_create(request, SealCreateForm(), authority_form, status=400, error_code="invalid_form")
    try:
        authority = check_init_seal_authority(request.user, name=authority_form.cleaned_data["name"],
                                              organization=authority_form.cleaned_data["organization"])
    except Refusal as exc:
        _add_error(authority_form, exc)
        return _render_create(request, SealCreateForm(), authority_form, status=exc.status, error_code=exc.code)
    messages.success(request, f"已初始化电子印章制章者“{authority.name}”，现在可以制作印章")
    return redirect("documents:seal_create")


def _render_detail(request, seal: Seal, form: RevokeForm, *, status: int = 200, error_code: str = ""):
    return render(request, "documents/seals/detail.html", {
        "seal": seal, "facts": seal_certificate_facts(seal), "can_manage": may_manage_seals(request.user),
        "otp_verified": request.user.is_verified(), "form": form, "error_code": error_code, "now": timezone.now(),
    }, status=status)


@login_required
@require_GET
def seal_detail(request, seal_id: int):
    return _render_detail(request, access_seal_by_id(request.user, seal_id), RevokeForm())


@login_required
@require_POST
def seal_revoke(request, seal_id: int):
    seal = access_seal_by_id(request.user, seal_id)
    _require_manager(request, "只有系统管理员可以注销电子印章")
    form = RevokeForm(request.POST)
    if not request.user.is_verified():
        form.add_error(None, OTP_REQUIRED)
        return _render_detail(request, seal, form, status=403, error_code="otp_required")
    if not form.is_valid():
        return _render_detail(request, seal, form, status=400, error_code="invalid_form")
    try:
        seal = check_revoke_seal(request.user, seal, reason=form.cleaned_data["reason"])
    except Refusal as exc:
        _add_error(form, exc)
        return _render_detail(request, seal, form, status=exc.status, error_code=exc.code)
    messages.success(request, f"已注销印章“{seal.name}”（编码 {seal.es_id}）")
    return redirect("documents:seal_detail", seal.pk)


@login_required
@require_GET
def seal_certificate(request, seal_id: int):
    seal = access_seal_by_id(request.user, seal_id)
    response = HttpResponse(seal.cert_pem, content_type="application/x-pem-file")
    response["Content-Disposition"] = f'attachment; filename="{seal.es_id}.pem"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def seal_image(request, seal_id: int):
    seal = access_seal_by_id(request.user, seal_id)
    with seal.image.open("rb") as fh:
        response = HttpResponse(fh.read(), content_type="image/png")
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ---- 用印 ----------------------------------------------------------------------------------------------------

def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
        return target
    return ""


@login_required
@require_GET
def document_seal(request, document_id: int):
    document = access_document_by_id(request.user, document_id)
    return render(request, "documents/seals/document.html", {
        "document": document,
        "uses": seal_uses_of(document),
        "open": open_authorizations(request.user, document),
        "otp_verified": request.user.is_verified(),
        "next": _next_url(request),
    })


@login_required
@require_POST
def stamp(request, document_id: int, authorization_id: int):
    document = access_document_by_id(request.user, document_id)
    authorization = access_authorization_by_id(request.user, document, authorization_id)
    try:
        seal_id = int(request.POST.get("seal", ""))
    except ValueError:
        seal_id = 0
    seal = access_seal_by_id(request.user, seal_id) if seal_id else authorization.seal
    try:
        if seal is None:
            raise Refusal("seal_required", "请选择要使用的印章")
        use = check_stamp_document(request.user, document, seal, step_token=authorization.step_token,
                                   otp_verified=request.user.is_verified())
    except Refusal as exc:
        context = {
            "document": document, "uses": seal_uses_of(document), "open": open_authorizations(request.user, document),
            "otp_verified": request.user.is_verified(), "error": exc.message, "error_code": exc.code,
            "next": _next_url(request),
        }
        return render(request, "documents/seals/document.html", context, status=exc.status)
    messages.success(request, f"已加盖“{use.seal.name}”（{use.signed_at:%Y-%m-%d %H:%M}）")
    return redirect(_next_url(request) or reverse("documents:document_seal", args=[document.pk]))


@login_required
@require_GET
def seal_use_download(request, document_id: int, use_id: int):
    document = access_document_by_id(request.user, document_id)
    use = seal_uses_of(document).filter(pk=use_id).first()
    if use is None:
        raise Http404("用印记录不存在")
    name = f"{document.doc_number or document.title}（已盖章）.pdf"
    return download_response(use.signed_pdf, filename=name, content_type="application/pdf")


urlpatterns = [
    path("seals/", seal_list, name="seals"),
    path("seals/new", seal_create, name="seal_create"),
    path("seals/authority/init", seal_authority_init, name="seal_authority_init"),
    path("seals/<int:seal_id>/", seal_detail, name="seal_detail"),
    path("seals/<int:seal_id>/revoke", seal_revoke, name="seal_revoke"),
    path("seals/<int:seal_id>/certificate.pem", seal_certificate, name="seal_certificate"),
    path("seals/verify/", verify_page, name="seal_verify"),
    path("seals/<int:seal_id>/image.png", seal_image, name="seal_image"),
    path("<int:document_id>/seal/", document_seal, name="document_seal"),
    path("<int:document_id>/seal/<int:authorization_id>/", stamp, name="stamp"),
    path("<int:document_id>/seal/uses/<int:use_id>/download/", seal_use_download, name="seal_use_download"),
]


# ---- API -----------------------------------------------------------------------------------------------------

class VerifySealRequestSerializer(serializers.Serializer):
    file = serializers.FileField(required=False, help_text="要验证的 PDF（按内容检查 %PDF- 文件头，不超过 50 MB）")
    document = serializers.IntegerField(required=False, help_text="或：已盖章公文的编号（验证其最近一次盖章后的 PDF）")


class CheckSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="ses_signature_valid、signer_matches_seal、seal_signature_valid、maker_trusted、"
                                           "seal_valid_at_signing、signer_cert_valid、timestamp、data_hash_match")
    ok = serializers.BooleanField(allow_null=True, help_text="null = 不适用")
    label = serializers.CharField()
    detail = serializers.CharField()


class PadesResultSerializer(serializers.Serializer):
    field_name = serializers.CharField()
    ok = serializers.BooleanField()
    code = serializers.CharField(help_text="valid、modified_after_sealing、signature_invalid、untrusted、seal_revoked、"
                                           "policy_failed、signature_unreadable")
    message = serializers.CharField()
    signer_cn = serializers.CharField()
    signer_dn = serializers.CharField()
    issuer_dn = serializers.CharField()
    serial_hex = serializers.CharField()
    cert_not_before = serializers.DateTimeField(allow_null=True)
    cert_not_after = serializers.DateTimeField(allow_null=True)
    signing_time = serializers.DateTimeField(allow_null=True, help_text="签章者声明的时间（无可信时间戳）")
    md_algorithm = serializers.CharField()
    signature_mechanism = serializers.CharField()
    intact = serializers.BooleanField()
    valid = serializers.BooleanField()
    trusted = serializers.BooleanField()
    bottom_line = serializers.BooleanField()
    coverage = serializers.CharField(help_text="entire_file、entire_revision、partial、unclear")
    coverage_label = serializers.CharField()
    modification_level = serializers.CharField(help_text="none、lta_updates、form_filling、annotations、other、unknown")
    modification_label = serializers.CharField()
    revision_length = serializers.IntegerField()
    signature_value_sha256 = serializers.CharField()
    seal_name = serializers.CharField()
    es_id = serializers.CharField()
    seal_type = serializers.CharField()


class SesResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    code = serializers.CharField(help_text="valid、modified_after_sealing、signature_invalid、signer_mismatch、seal_invalid、"
                                           "untrusted、seal_expired、signer_cert_invalid、ses_unreadable")
    message = serializers.CharField()
    es_id = serializers.CharField()
    seal_name = serializers.CharField()
    seal_type = serializers.CharField()
    vid = serializers.CharField()
    version = serializers.IntegerField()
    signer_dn = serializers.CharField()
    signer_serial_hex = serializers.CharField()
    maker_dn = serializers.CharField()
    signing_time = serializers.DateTimeField(allow_null=True)
    algorithm = serializers.CharField()
    seal_valid_start = serializers.DateTimeField(allow_null=True)
    seal_valid_end = serializers.DateTimeField(allow_null=True)
    picture_type = serializers.CharField()
    picture_mm = serializers.CharField()
    hashed_length = serializers.IntegerField()
    covers_entire_file = serializers.BooleanField()
    pades_field = serializers.CharField()
    checks = CheckSerializer(many=True, help_text="GB/T 38540 §7.3 的验证步骤，按顺序")


class VerifyReportSerializer(serializers.Serializer):
    source = serializers.DictField(help_text='{"kind": "upload", "name": …} 或 {"kind": "document", "id": …, "title": …}')
    ok = serializers.BooleanField()
    code = serializers.CharField(help_text="valid、modified_after_sealing、signature_invalid、seal_revoked、seal_expired、"
                                           "untrusted、ses_missing、no_signature、not_pdf、pdf_unreadable、signature_unreadable")
    message = serializers.CharField(help_text="中文结论；盖章后被改动时为“文档在盖章后被修改”")
    modified_after_sealing = serializers.BooleanField()
    pdf_sha256 = serializers.CharField()
    pdf_size = serializers.IntegerField()
    pades = PadesResultSerializer(many=True)
    ses = SesResultSerializer(many=True)


_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="not_pdf、file_required、invalid_document"),
    401: OpenApiResponse(ErrorSerializer, description="not_authenticated / token_invalid"),
    404: OpenApiResponse(ErrorSerializer, description="not_found（公文不存在、无权查看或尚未盖章）"),
    413: OpenApiResponse(ErrorSerializer, description="file_too_large"),
}


class VerifySealApi(APIView):
    """POST a PDF (multipart ``file``) or a document id (``document``) → the 验章 report with stable codes."""

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    def initialize_request(self, request, *args, **kwargs):
        if request.method == "POST":  # before anything reads the body
            request.upload_handlers.insert(0, MaxSizeUploadHandler(request, max_bytes=VERIFY_MAX_BYTES))
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(operation_id="documents_verify_seal", summary="验章（PDF 签名 + GB/T 38540 电子签章）",
                   request={"multipart/form-data": VerifySealRequestSerializer},
                   responses={200: VerifyReportSerializer, **_ERRORS})
    def post(self, request):
        upload = request.FILES.get("file")
        if getattr(request._request, "oa_upload_too_large", False):
            raise Refusal("file_too_large", TOO_LARGE, 413)
        if upload is not None:
            data = upload.read(VERIFY_MAX_BYTES + 1)
            check_pdf_upload(data)
            report = verify_pdf(data)
            body = {"source": {"kind": "upload", "name": upload.name}}
        elif request.data.get("document"):
            try:
                document_id = int(request.data["document"])
            except (TypeError, ValueError):
                raise Refusal("invalid_document", "document 须为公文编号（整数）") from None
            document, report = verify_document(request.user, document_id)
            body = {"source": {"kind": "document", "id": document.pk, "title": document.title}}
        else:
            raise Refusal("file_required", "请上传 PDF 文件（file）或提供公文编号（document）")
        return Response({**body, **report.as_dict()})


api_urlpatterns = [
    path("verify-seal", VerifySealApi.as_view(), name="documents_api_verify_seal"),
]
