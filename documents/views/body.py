"""正文 endpoints: the editor's JSON endpoint (GET/PUT with ETag/If-Match), 清稿 and .docx import forms, and the
same operations in the REST API (/api/documents/<id>/body…, token or session auth). Thin: parse, call one action
or selector, answer. Documents are always loaded through ``access_document_by_id`` (404 when invisible).
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from documents.actions.body import VersionConflict, check_clean_body, check_import_body, check_save_body
from documents.docx_import import max_upload_bytes
from documents.models import BodyVersion
from documents.selectors.body import (
    body_diff,
    body_state,
    body_versions,
    current_number,
    current_version,
    version_info,
)
from documents.selectors.documents import access_document_by_id, can_edit_document
from documents.uploads import read_upload
from oa.api.serializers import ErrorSerializer
from oa.refusals import Refusal

_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,9})(?:\.(\d{1,9}))?"?\s*$')


def etag(version: BodyVersion | None) -> str:
    """"5" for 第5版 as first saved, "5.3" once three autosaves of one editing session amended it; "0" for none."""
    return f'"{version.etag if version else 0}"'


def parse_if_match(value: str | None) -> tuple[int, int] | None:
    """(version, revision) from an If-Match header ("5", 5, W/"5", "5.3"); None when absent."""
    if value is None or value.strip() == "":
        return None
    match = _ETAG.match(value)
    if not match:
        raise Refusal("if_match_invalid", "If-Match 头格式错误：应为正在编辑的版本号，如 \"5\"")
    return int(match.group(1)), int(match.group(2) or 0)


def _form_if_match(request: HttpRequest) -> int | None:
    raw = request.POST.get("if_match", "")
    return parse_if_match(raw) if raw else None


def _read_upload(upload) -> bytes:
    # Size first (empty, oversize) without reading a huge file whole; the content checks are in docx_import.
    return read_upload(upload, max_upload_bytes())


# ---------------------------------------------------------------- pages' forms (POST, then back to the document)


def _back(document_id: int, anchor: str) -> HttpResponse:
    return redirect(reverse("documents:detail", args=[document_id]) + anchor)


@login_required
@require_POST
def clean_view(request: HttpRequest, document_id: int) -> HttpResponse:
    document = access_document_by_id(request.user, document_id)
    try:
        version = check_clean_body(request.user, document, if_match=_form_if_match(request))
    except Refusal as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"已清稿：生成第{version.number}版（清稿），第{version.marked_up_from.number}版花脸稿保留可查")
    return _back(document.pk, "#versions")


@login_required
@require_POST
def import_view(request: HttpRequest, document_id: int) -> HttpResponse:
    document = access_document_by_id(request.user, document_id)
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise Refusal("file_required", "请选择要导入的 .docx 文件")
        data = _read_upload(upload)
        version = check_import_body(request.user, document, data, filename=upload.name,
                                    if_match=_form_if_match(request))
    except Refusal as error:
        messages.error(request, f"导入失败：{error.message}")
        return _back(document.pk, "#import")
    messages.success(request, f"已从“{upload.name}”导入正文，生成第{version.number}版")
    return _back(document.pk, "#body")


# ---------------------------------------------------------------- JSON (the editor) and REST API


def _conflict_body(error: VersionConflict) -> dict[str, Any]:
    return {"code": error.code, "message": error.message, "current": version_info(error.current)}


class _DocumentAPIView(APIView):
    permission_classes = [IsAuthenticated]

    def handle_exception(self, exc):
        if isinstance(exc, VersionConflict):
            headers = {"ETag": etag(exc.current)} if exc.current else {}
            return Response(_conflict_body(exc), status=409, headers=headers)
        return super().handle_exception(exc)  # other refusals: oa.api.exceptions gives {code, message}

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"  # 正文 never sits in a shared or browser cache
        return response


ERRORS = {code: OpenApiResponse(ErrorSerializer) for code in (400, 401, 403, 404, 409, 413, 428)}


def _errors(*codes: int) -> dict:
    return {c: ERRORS[c] for c in codes}


class BodyView(_DocumentAPIView):
    """GET the current 正文 (ETag = version number); PUT a new one with If-Match = the version edited."""

    @extend_schema(operation_id="document_body", summary="当前正文（ETag 为版本号）", responses={200: dict, **_errors(401, 404)})
    def get(self, request, document_id: int):
        document = access_document_by_id(request.user, document_id)
        data = {**body_state(document), "can_edit": can_edit_document(request.user, document)}
        return Response(data, headers={"ETag": etag(current_version(document))})

    @extend_schema(
        operation_id="document_body_save", summary="保存正文为新版本（须带 If-Match: 正在编辑的版本号）",
        parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=True)],
        request=dict, responses={200: dict, **_errors(400, 401, 403, 404, 409, 428)},
    )
    def put(self, request, document_id: int):
        document = access_document_by_id(request.user, document_id)
        if_match = parse_if_match(request.headers.get("If-Match"))
        if if_match is None:
            raise Refusal("if_match_required", "缺少 If-Match 头：请带上正在编辑的版本号（新正文为 0）", status=428)
        before = current_number(document)
        # X-Edit-Session: the editor page's session id; autosaves within one session amend one version.
        version = check_save_body(request.user, document, request.data, if_match=if_match,
                                  session=request.headers.get("X-Edit-Session", ""))
        body = {"version": version_info(version), "content": version.content, "created": version.number != before}
        return Response(body, headers={"ETag": etag(version)})


class BodyVersionsView(_DocumentAPIView):
    @extend_schema(operation_id="document_body_versions", summary="正文版本列表（新到旧）",
                   responses={200: dict, **_errors(401, 404)})
    def get(self, request, document_id: int):
        document = access_document_by_id(request.user, document_id)
        versions = [
            {**version_info(v), "marked_up_from": v.marked_up_from.number if v.marked_up_from else None,
             "baseline": (v.baseline or v).number}
            for v in body_versions(document)
        ]
        return Response({"results": versions}, headers={"ETag": etag(current_version(document))})


def _int_param(request, name: str) -> int:
    raw = request.query_params.get(name, "")
    if not raw.isdigit():
        raise Refusal("invalid", f"参数 {name} 须为版本号（正整数）")
    return int(raw)


def _change(change: dict[str, Any] | None) -> dict[str, Any] | None:
    if change is None:
        return None
    return {"version": change["version"], "author": change["author"], "at": change["at"].isoformat()}


def _diff_json(diff: dict[str, Any]) -> dict[str, Any]:
    def item(node: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in node.items() if k not in ("by", "spans", "rows", "cells")}
        if "by" in node:
            out["by"] = _change(node["by"])
        for key in ("level_change", "header_change"):
            if node.get(key):
                out[key] = {**node[key], "by": _change(node[key]["by"])}
        if "spans" in node:
            out["spans"] = [{"kind": s["kind"], "text": s["text"], "by": _change(s["by"])} for s in node["spans"]]
        for key in ("rows", "cells"):
            if key in node:
                out[key] = [item(child) for child in node[key]]
        return out

    return {
        "from": version_info(diff["from"]), "to": version_info(diff["to"]), "changes": diff["changes"],
        "authors": [{"name": a["name"], "versions": [v["number"] for v in a["versions"]]} for a in diff["authors"]],
        "blocks": [item(b) for b in diff["blocks"]],
    }


class BodyDiffView(_DocumentAPIView):
    @extend_schema(
        operation_id="document_body_diff", summary="两个版本之间的痕迹（按修改人归属）",
        parameters=[OpenApiParameter("from", int, required=True), OpenApiParameter("to", int, required=True)],
        responses={200: dict, **_errors(400, 401, 404)},
    )
    def get(self, request, document_id: int):
        document = access_document_by_id(request.user, document_id)
        diff = body_diff(document, _int_param(request, "from"), _int_param(request, "to"))
        return Response(_diff_json(diff))


class BodyCleanView(_DocumentAPIView):
    @extend_schema(
        operation_id="document_body_clean", summary="清稿（生成清稿版本，花脸稿保留）",
        parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER)],
        request=None, responses={201: dict, **_errors(401, 403, 404, 409)},
    )
    def post(self, request, document_id: int):
        document = access_document_by_id(request.user, document_id)
        version = check_clean_body(request.user, document, if_match=parse_if_match(request.headers.get("If-Match")))
        return Response({"version": version_info(version), "marked_up_from": version.marked_up_from.number},
                        status=201, headers={"ETag": etag(version)})


class BodyImportView(_DocumentAPIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="document_body_import", summary="从 .docx 导入正文（multipart 字段 file）",
        parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER)],
        request={"multipart/form-data": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}},
        responses={201: dict, **_errors(400, 401, 403, 404, 409, 413)},
    )
    def post(self, request, document_id: int):
        document = access_document_by_id(request.user, document_id)
        upload = request.FILES.get("file")
        if upload is None:
            raise Refusal("file_required", "请在 file 字段上传 .docx 文件")
        version = check_import_body(request.user, document, _read_upload(upload), filename=upload.name,
                                    if_match=parse_if_match(request.headers.get("If-Match")))
        return Response({"version": version_info(version), "content": version.content},
                        status=201, headers={"ETag": etag(version)})


class EditorBodyView(BodyView):
    """The same endpoint for the page's editor (session + CSRF); documented once, under /api/."""

    schema = None


urlpatterns = [
    path("<int:document_id>/body", EditorBodyView.as_view(), name="body"),
    path("<int:document_id>/body/clean", clean_view, name="body_clean"),
    path("<int:document_id>/body/import", import_view, name="body_import"),
]

api_urlpatterns = [
    path("<int:document_id>/body", BodyView.as_view(), name="api_document_body"),
    path("<int:document_id>/body/versions", BodyVersionsView.as_view(), name="api_document_body_versions"),
    path("<int:document_id>/body/diff", BodyDiffView.as_view(), name="api_document_body_diff"),
    path("<int:document_id>/body/clean", BodyCleanView.as_view(), name="api_document_body_clean"),
    path("<int:document_id>/body/import", BodyImportView.as_view(), name="api_document_body_import"),
]
