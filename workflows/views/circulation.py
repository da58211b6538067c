"""传阅 pages and JSON (docs/circulation.md 页面与接口).

  /flows/incoming/<id>/circulation/              传阅情况: the panel on its own page (GET; does not count as 打开)
  /flows/incoming/<id>/circulation/acknowledge   阅知 (POST comment, back)
  /flows/incoming/<id>/circulation/urge          催阅 (POST reader… (none = every unacknowledged reader), back)
  /flows/circulation/unread/                     the 文书's 未阅 list (GET agency, reader, department, page)
  /api/flows/incoming/<id>/circulation           GET the reading list (送阅人/文书: all rows; a reader: their own)
  /api/flows/incoming/<id>/circulation/acknowledge   POST {"comment"}
  /api/flows/incoming/<id>/circulation/urge          POST {"readers": [ids]?}

Thin: the 收文 comes through access_incoming_by_id (404 when invisible), workflows.actions.circulation decides and
refuses (Refusal → its status and Chinese message; PermissionDenied → 403). The 收文 detail page shows the panel
with ``context.update(circulation_panel(user, incoming))`` and
``{% include "workflows/circulation/_panel.html" with circ_back="detail" %}``, and calls
do_mark_circulation_opened(incoming, user) on every GET.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from documents.models import IncomingDocument
from documents.selectors.incoming import access_incoming_by_id
from oa.actions.auth import client_ip
from oa.api.serializers import ErrorSerializer
from oa.refusals import Refusal
from workflows.actions.circulation import (
    check_acknowledge_circulation,
    check_urge_circulation,
    register_circulation_kind,
)
from workflows.models import CirculationRead
from workflows.selectors.circulation import (
    STATE_LABELS,
    circulation_panel,
    circulation_rows,
    incoming_detail_url,
    is_clerk,
    may_track_circulation,
    read_state,
    unread_departments,
    unread_page,
)

PAGE_SIZE = 30
UNREAD_FILTERS = ("agency", "reader", "department")


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _back(request: HttpRequest, incoming: IncomingDocument):
    """Where a form post returns: the 收文 detail page, the 未阅 list (with its filters) or the 传阅情况 page."""
    back = request.POST.get("back")
    if back == "detail":
        return redirect(incoming_detail_url(incoming))
    if back == "unread":
        query = QueryDict(mutable=True)
        for key in UNREAD_FILTERS:
            value = _int(request.POST.get(f"back_{key}"))
            if value is not None:
                query[key] = str(value)
        url = reverse("workflows:circulation_unread")
        return redirect(f"{url}?{query.urlencode()}" if query else url)
    return redirect("workflows:circulation", incoming.pk)


def _render_page(request: HttpRequest, incoming: IncomingDocument, *, error: str = "", comment: str = "",
                 status: int = 200) -> HttpResponse:
    context = {"incoming": incoming, **circulation_panel(request.user, incoming), "circ_error": error,
               "circ_comment": comment, "circ_back": "circulation", "detail_url": incoming_detail_url(incoming)}
    return render(request, "workflows/circulation/page.html", context, status=status)


@login_required
@require_GET
def circulation_page(request: HttpRequest, incoming_id: int) -> HttpResponse:
    return _render_page(request, access_incoming_by_id(request.user, incoming_id))


@login_required
@require_POST
def acknowledge(request: HttpRequest, incoming_id: int) -> HttpResponse:
    incoming = access_incoming_by_id(request.user, incoming_id)
    comment = request.POST.get("comment") or ""
    try:
        check_acknowledge_circulation(request.user, incoming, comment=comment, ip=client_ip(request))
    except Refusal as exc:
        return _render_page(request, incoming, error=exc.message, comment=comment, status=exc.status)
    except PermissionDenied as exc:
        return _render_page(request, incoming, error=str(exc), status=403)
    messages.success(request, f"已阅知：{incoming.title}")
    return _back(request, incoming)


@login_required
@require_POST
def urge(request: HttpRequest, incoming_id: int) -> HttpResponse:
    incoming = access_incoming_by_id(request.user, incoming_id)
    ids = [i for i in (_int(v) for v in request.POST.getlist("reader")) if i is not None]
    try:
        count = check_urge_circulation(request.user, incoming, ids or None, ip=client_ip(request))
    except Refusal as exc:
        messages.error(request, exc.message)
        return _back(request, incoming)
    except PermissionDenied as exc:
        return _render_page(request, incoming, error=str(exc), status=403)
    messages.success(request, f"已催阅 {count} 人。")
    return _back(request, incoming)


@login_required
@require_GET
def unread_list(request: HttpRequest) -> HttpResponse:
    filters = {f"{key}_id": _int(request.GET.get(key)) for key in UNREAD_FILTERS}
    data = unread_page(request.user, **filters)
    page = Paginator(data["rows"], PAGE_SIZE).get_page(request.GET.get("page"))
    departments = unread_departments(list(page), data["agency"])
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        **data, "page": page, "query": query.urlencode(), "now": timezone.now(),
        "items": [{"row": r, "department": departments.get(r.reader_id, ""), "state_label": STATE_LABELS[read_state(r)],
                   "state": read_state(r)} for r in page],
        "selected": {"agency": data["agency"].pk, "reader": filters["reader_id"],
                     "department": filters["department_id"]},
        "filtered": bool(filters["reader_id"] or filters["department_id"]),
    }
    return render(request, "workflows/circulation/unread.html", context)


def connect() -> None:
    """Called from WorkflowsConfig.ready(): the 传阅 work kind (阅知 on the workbench) and the 未阅清单 tile."""
    from oa.tiles import Tile, register_tile

    register_circulation_kind()
    register_tile(Tile("circulation_unread", "未阅清单", "workflows:circulation_unread", "toread", order=30,
                       visible=is_clerk, description="已送传阅、尚未阅知的人员，可催阅"))


urlpatterns = [
    path("incoming/<int:incoming_id>/circulation/", circulation_page, name="circulation"),
    path("incoming/<int:incoming_id>/circulation/acknowledge", acknowledge, name="circulation_acknowledge"),
    path("incoming/<int:incoming_id>/circulation/urge", urge, name="circulation_urge"),
    path("circulation/unread/", unread_list, name="circulation_unread"),
]


# --- JSON API (mounted at /api/flows/) -------------------------------------------------------------------------


def _at(value) -> str | None:
    return value.isoformat() if value else None


def row_json(row: CirculationRead) -> dict[str, Any]:
    state = read_state(row)
    return {
        "id": row.pk, "reader": {"id": row.reader_id, "name": row.reader.get_full_name()},
        "sent_by": {"id": row.sent_by_id, "name": row.sent_by.get_full_name()}, "note": row.note,
        "state": state, "state_label": STATE_LABELS[state], "delivered_at": _at(row.delivered_at),
        "first_opened_at": _at(row.first_opened_at), "last_opened_at": _at(row.last_opened_at),
        "open_count": row.open_count, "acknowledged_at": _at(row.acknowledged_at), "comment": row.comment,
        "urge_count": row.urge_count, "last_urged_at": _at(row.last_urged_at),
    }


class CirculationPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CirculationRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reader = CirculationPersonSerializer()
    sent_by = CirculationPersonSerializer()
    note = serializers.CharField()
    state = serializers.CharField(help_text="acknowledged 已阅知 / opened 已打开未阅知 / unopened 未打开")
    state_label = serializers.CharField()
    delivered_at = serializers.DateTimeField()
    first_opened_at = serializers.DateTimeField(allow_null=True)
    last_opened_at = serializers.DateTimeField(allow_null=True)
    open_count = serializers.IntegerField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    comment = serializers.CharField()
    urge_count = serializers.IntegerField()
    last_urged_at = serializers.DateTimeField(allow_null=True)


class CirculationListSerializer(serializers.Serializer):
    incoming_id = serializers.IntegerField()
    rows = CirculationRowSerializer(many=True)


class CirculationUrgeResultSerializer(serializers.Serializer):
    urged = serializers.IntegerField(help_text="催阅的人数")


API_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="comment_too_long 等"),
    403: OpenApiResponse(ErrorSerializer, description="permission_denied：不在传阅名单中（阅知），或不是送阅人/文书（催阅）"),
    404: OpenApiResponse(ErrorSerializer, description="not_found：收文不存在或无权查看"),
    409: OpenApiResponse(ErrorSerializer, description="already_acknowledged、nothing_to_urge"),
}


class CirculationAcknowledgeRequestSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False,
                                    help_text="阅知意见（选填）")


class CirculationUrgeRequestSerializer(serializers.Serializer):
    readers = serializers.ListField(child=serializers.IntegerField(), required=False, allow_null=True, default=None,
                                    help_text="要催阅的人员编号；缺省为全部未阅知的人员")


class CirculationApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="flow_circulation_list", summary="传阅情况（送阅人/文书：全部；传阅对象：本人）",
                   responses={200: CirculationListSerializer, **API_ERRORS})
    def get(self, request, incoming_id: int):
        incoming = access_incoming_by_id(request.user, incoming_id)
        rows = circulation_rows(incoming)
        if not may_track_circulation(request.user, incoming):
            rows = rows.filter(reader=request.user)
        return Response({"incoming_id": incoming.pk, "rows": [row_json(r) for r in rows]})


class AcknowledgeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="flow_circulation_acknowledge", summary="阅知", request=CirculationAcknowledgeRequestSerializer,
                   responses={200: CirculationRowSerializer, **API_ERRORS})
    def post(self, request, incoming_id: int):
        incoming = access_incoming_by_id(request.user, incoming_id)
        body = CirculationAcknowledgeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row = check_acknowledge_circulation(request.user, incoming, comment=body.validated_data["comment"],
                                            ip=client_ip(request))
        row = circulation_rows(incoming).get(pk=row.pk)
        return Response(row_json(row))


class UrgeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="flow_circulation_urge", summary="催阅", request=CirculationUrgeRequestSerializer,
                   responses={200: CirculationUrgeResultSerializer, **API_ERRORS})
    def post(self, request, incoming_id: int):
        incoming = access_incoming_by_id(request.user, incoming_id)
        body = CirculationUrgeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        count = check_urge_circulation(request.user, incoming, body.validated_data["readers"], ip=client_ip(request))
        return Response({"urged": count})


api_urlpatterns = [
    path("incoming/<int:incoming_id>/circulation", CirculationApi.as_view(), name="api_circulation"),
    path("incoming/<int:incoming_id>/circulation/acknowledge", AcknowledgeApi.as_view(),
         name="api_circulation_acknowledge"),
    path("incoming/<int:incoming_id>/circulation/urge", UrgeApi.as_view(), name="api_circulation_urge"),
]
