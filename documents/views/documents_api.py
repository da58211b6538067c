"""REST: the 公文 record itself (/api/documents/, /api/documents/<id>). Thin: serializers parse, actions write.

The 18 要素 travel under the names of docs/documents.md; status, 公文标识 and outputs are read-only.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from documents.actions.documents import EDITABLE_FIELDS, check_update_document, do_create_document
from documents.models import DocType, OfficialDocument
from documents.selectors.documents import access_document_by_id, can_edit_document, documents_visible_to
from oa.api.serializers import ErrorSerializer
from oa.selectors.directory import primary_appointment


class DocumentSerializer(serializers.ModelSerializer):
    agency = serializers.CharField(source="agency.name", read_only=True)
    created_by = serializers.CharField(source="created_by.name", read_only=True)
    doc_type_label = serializers.CharField(source="get_doc_type_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    body_version = serializers.IntegerField(source="current_body.number", read_only=True, allow_null=True)
    has_final_pdf = serializers.SerializerMethodField()
    can_edit = serializers.SerializerMethodField()

    class Meta:
        model = OfficialDocument
        fields = ["id", "identifier", "direction", "status", "status_label", "doc_type", "doc_type_label", "agency",
                  "created_by", "created_at", "updated_at", "doc_number", "body_version", "has_final_pdf",
                  "can_edit", *EDITABLE_FIELDS]
        read_only_fields = fields

    def get_has_final_pdf(self, obj: OfficialDocument) -> bool:
        return bool(obj.final_pdf)

    def get_can_edit(self, obj: OfficialDocument) -> bool:
        return can_edit_document(self.context["request"].user, obj)


class DocumentWriteSerializer(serializers.Serializer):
    """Accepts any subset of the editable 要素; the action validates them (Chinese messages, stable codes)."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("请求内容须为 JSON 对象")
        unknown = sorted(set(data) - set(EDITABLE_FIELDS))
        if unknown:
            raise serializers.ValidationError({name: ["不可设置的字段"] for name in unknown})
        return dict(data)


class DocumentCreateSerializer(DocumentWriteSerializer):
    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        if not values.get("title"):
            raise serializers.ValidationError({"title": ["标题不能为空"]})
        return values


class _Pages(PageNumberPagination):
    page_size = 20
    max_page_size = 100
    page_size_query_param = "page_size"


class DocumentsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="documents_list", summary="我可查看的公文", responses={200: DocumentSerializer(many=True)})
    def get(self, request):
        queryset = documents_visible_to(request.user).select_related("agency", "created_by", "current_body")
        pages = _Pages()
        page = pages.paginate_queryset(queryset, request, view=self)
        return pages.get_paginated_response(DocumentSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(operation_id="documents_create", summary="拟稿（主办机关、拟稿部门取本人主职）",
                   request=DocumentCreateSerializer,
                   responses={201: DocumentSerializer, 400: OpenApiResponse(ErrorSerializer), 403: ErrorSerializer})
    def post(self, request):
        appointment = primary_appointment(request.user)
        if appointment is None:
            raise PermissionDenied("您没有任职信息，不能拟稿")
        data = DocumentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        title = values.pop("title")
        doc_type = values.pop("doc_type", DocType.NOTICE)
        document = do_create_document(actor=request.user, agency=appointment.department.agency,
                                      department=appointment.department, title=title, doc_type=doc_type, **values)
        return Response(DocumentSerializer(document, context={"request": request}).data, status=201)


class DocumentApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="documents_retrieve", summary="公文要素",
                   responses={200: DocumentSerializer, 404: ErrorSerializer})
    def get(self, request, document_id: int):
        document = access_document_by_id(request.user, document_id)
        return Response(DocumentSerializer(document, context={"request": request}).data)

    @extend_schema(operation_id="documents_update", summary="修改要素（拟稿人在拟稿时，或环节授权的人）",
                   request=DocumentWriteSerializer,
                   responses={200: DocumentSerializer, 400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer})
    def patch(self, request, document_id: int):
        document = access_document_by_id(request.user, document_id)
        data = DocumentWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        document = check_update_document(request.user, document, data.validated_data)
        return Response(DocumentSerializer(document, context={"request": request}).data)


api_urlpatterns = [
    path("", DocumentsApi.as_view(), name="api_documents"),
    path("<int:document_id>", DocumentApi.as_view(), name="api_document"),
]
