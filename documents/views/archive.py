"""归档 pages and API: archive a document, see and download its package, the clerk's archive list.

Thin: every document is fetched through access_document_by_id (404 when invisible); the rules live in
documents.selectors.archive and documents.actions.archive.
"""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_http_methods
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from documents.actions.archive import check_archive_document, do_record_archive_download
from documents.models import ArchivePackage
from documents.selectors.archive import (
    access_archive_package,
    archive_refusal,
    is_agency_clerk,
    packages_visible_to,
    verify_stored_package,
)
from documents.selectors.documents import access_document_by_id
from integrations.storage.downloads import download_response
from oa.api.serializers import ErrorSerializer
from oa.api.views import errors
from oa.http import client_ip
from oa.models import Agency, Role, RoleAssignment
from oa.refusals import Refusal


class ArchiveForm(forms.Form):
    retention = forms.ChoiceField(
        label="保管期限", choices=ArchivePackage.Retention.choices, widget=forms.RadioSelect,
        error_messages={"required": "请选择保管期限。", "invalid_choice": "保管期限须为永久、30年或10年。"},
    )


def package_filename(package: ArchivePackage) -> str:
    doc = package.document
    return f"归档包-{doc.doc_number or doc.identifier}.zip"


def _page_context(request: HttpRequest, document, form: ArchiveForm | None = None) -> dict:
    package = ArchivePackage.objects.filter(document=document).select_related("created_by").first()
    clerk = is_agency_clerk(request.user, document.agency_id)
    refusal = archive_refusal(request.user, document) if package is None else None
    verification = verify_stored_package(package) if package is not None and clerk and request.GET.get("verify") else None
    return {
        "document": document,
        "package": package,
        "is_clerk": clerk,
        "refusal": refusal,
        "form": form or ArchiveForm(initial={"retention": ArchivePackage.Retention.PERMANENT}),
        "verification": verification,
    }


@login_required
@require_http_methods(["GET", "POST"])
def archive_view(request: HttpRequest, document_id: int) -> HttpResponse:
    document = access_document_by_id(request.user, document_id)
    if request.method == "GET":
        return render(request, "documents/archive/document.html", _page_context(request, document))
    form = ArchiveForm(request.POST)
    if not form.is_valid():
        return render(request, "documents/archive/document.html", _page_context(request, document, form), status=400)
    try:
        package = check_archive_document(request.user, document, retention=form.cleaned_data["retention"])
    except Refusal as exc:
        form.add_error(None, exc.message)
        return render(request, "documents/archive/document.html", _page_context(request, document, form),
                      status=exc.status)
    messages.success(request, f"已归档，保管期限{package.get_retention_display()}。公文已冻结，不能再修改。")
    return redirect("documents:archive", document_id=document.pk)


@login_required
@require_GET
def archive_download_view(request: HttpRequest, document_id: int) -> HttpResponse:
    package = access_archive_package(request.user, document_id)
    do_record_archive_download(request.user, package, ip=client_ip(request))
    return download_response(package.file, filename=package_filename(package), content_type="application/zip",
                             size=package.file.size)


class ArchiveListFilter(forms.Form):
    year = forms.TypedChoiceField(label="年度（成文日期）", choices=(), coerce=int, empty_value=None, required=False)
    agency = forms.ModelChoiceField(label="机关", queryset=Agency.objects.none(), required=False,
                                    empty_label="我负责的全部机关")

    def __init__(self, user, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        this = datetime.date.today().year
        self.fields["year"].choices = [("", "全部年度"), *((str(y), f"{y}年") for y in range(this, this - 15, -1))]
        ids = RoleAssignment.objects.filter(person=user, role=Role.CLERK).values("agency_id")
        self.fields["agency"].queryset = Agency.objects.filter(pk__in=ids)


@login_required
@require_GET
def archive_list_view(request: HttpRequest) -> HttpResponse:
    form = ArchiveListFilter(request.user, request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    agency = data.get("agency")
    packages = packages_visible_to(request.user, agency_id=agency.pk if agency else None, year=data.get("year"))
    page = Paginator(packages, 30).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    is_clerk = RoleAssignment.objects.filter(person=request.user, role=Role.CLERK).exists()
    return render(request, "documents/archive/list.html",
                  {"form": form, "page": page, "query": query.urlencode(), "is_clerk": is_clerk})


urlpatterns = [
    path("archive/", archive_list_view, name="archive_list"),
    path("<int:document_id>/archive/", archive_view, name="archive"),
    path("<int:document_id>/archive/package.zip", archive_download_view, name="archive_download"),
]


# ---- API ---------------------------------------------------------------------------------------------------


class ArchiveRequestSerializer(serializers.Serializer):
    retention = serializers.ChoiceField(choices=ArchivePackage.Retention.choices,
                                        help_text="保管期限：permanent 永久 · 30y 30年 · 10y 10年")


class ArchiveFileSerializer(serializers.Serializer):
    path = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    sm3 = serializers.CharField()
    description = serializers.CharField()


class ArchivePackageSerializer(serializers.Serializer):
    document = serializers.IntegerField(source="document_id")
    identifier = serializers.UUIDField(source="document.identifier", help_text="公文标识")
    retention = serializers.CharField()
    retention_label = serializers.CharField(source="get_retention_display")
    sha256 = serializers.CharField(help_text="整个归档包（ZIP）的 SHA-256")
    archived_at = serializers.DateTimeField(source="document.archived_at")
    archived_by = serializers.CharField(source="created_by.get_full_name")
    files = ArchiveFileSerializer(source="manifest.files", many=True)


def _api_package(user, document_id: int) -> ArchivePackage:
    return access_archive_package(user, document_id)


class ArchiveApiView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="documents_archive_read", summary="归档包信息（本机关文书）",
                   responses={200: ArchivePackageSerializer, **errors(401, 403, 404)})
    def get(self, request, document_id: int):
        return Response(ArchivePackageSerializer(_api_package(request.user, document_id)).data)

    @extend_schema(operation_id="documents_archive_create", summary="归档公文（本机关文书；已办结的公文）",
                   request=ArchiveRequestSerializer,
                   responses={201: ArchivePackageSerializer, **errors(400, 401, 403, 404),
                              409: OpenApiResponse(ErrorSerializer, description="already_archived / not_final")})
    def post(self, request, document_id: int):
        document = access_document_by_id(request.user, document_id)
        body = ArchiveRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        package = check_archive_document(request.user, document, retention=body.validated_data["retention"])
        return Response(ArchivePackageSerializer(package).data, status=status.HTTP_201_CREATED)


class ArchivePackageApiView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="documents_archive_package", summary="下载归档包（ZIP）",
                   responses={(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="归档包"),
                              **errors(401, 403, 404)})
    def get(self, request, document_id: int):
        package = _api_package(request.user, document_id)
        do_record_archive_download(request.user, package, ip=client_ip(request._request), via="api")
        return download_response(package.file, filename=package_filename(package), content_type="application/zip",
                                 size=package.file.size)


api_urlpatterns = [
    path("<int:document_id>/archive", ArchiveApiView.as_view(), name="api_documents_archive"),
    path("<int:document_id>/archive/package", ArchivePackageApiView.as_view(), name="api_documents_archive_package"),
]
