"""REST API views (docs/api.md): thin — parse, call one selector or action, serialize."""

from __future__ import annotations

import functools

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from oa.actions.auth import client_ip
from oa.actions.notifications import do_mark_read
from oa.actions.tokens import check_token_login, do_issue_ws_ticket, do_revoke_token
from oa.actions.work import check_perform_work_action, do_open_work_item
from oa.api import serializers as s
from oa.api.auth import BearerTokenAuthentication
from oa.api.lean import lean_work_list
from oa.pagination import CountedPaginator
from oa.refusals import Refusal
from oa.selectors.directory import agencies_of, requires_two_factor
from oa.selectors.notifications import events_after, unread_count
from oa.selectors.tokens import token_for_raw
from oa.selectors.work import (
    access_work_item_by_id,
    box_counts,
    inbox,
    unfiltered_box_count,
    work_item_actions,
)

ERRORS = {
    400: OpenApiResponse(s.ErrorSerializer, description="invalid 等"),
    401: OpenApiResponse(s.ErrorSerializer, description="not_authenticated / token_invalid"),
    403: OpenApiResponse(s.ErrorSerializer, description="permission_denied / csrf_failed"),
    404: OpenApiResponse(s.ErrorSerializer, description="not_found"),
    429: OpenApiResponse(s.ErrorSerializer, description="throttled"),
}


def errors(*codes: int) -> dict:
    return {c: ERRORS[c] for c in codes}


class TokenEndpointThrottle(AnonRateThrottle):
    """Per client address, before any password is checked (the login controls then count failures)."""

    scope = "auth_token"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request._request) or "unknown"}


class InboxPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    invalid_page_message = "页码无效。"


class TokenView(APIView):
    permission_classes = [AllowAny]

    def get_throttles(self):
        return [TokenEndpointThrottle()] if self.request.method == "POST" else super().get_throttles()

    @extend_schema(
        operation_id="auth_token_create", summary="登录并取得访问令牌", request=s.TokenRequestSerializer,
        responses={201: s.TokenSerializer, 403: ERRORS[403], 429: ERRORS[429], 400: ERRORS[400]}, auth=[],
    )
    def post(self, request):
        data = s.TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        raw, token = check_token_login(  # a Refusal is rendered by oa.api.exceptions
            request._request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
            otp=data.validated_data["otp"],
            name=data.validated_data["device_name"],
        )
        body = s.TokenSerializer({"token": raw, "expires_at": token.expires_at}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="auth_token_revoke", summary="吊销当前令牌", responses={204: None, **errors(400, 401)})
    def delete(self, request):
        if not request.user.is_authenticated:
            raise Refusal("not_authenticated", "请先登录或提供有效的访问令牌。", 401)
        raw = request.auth if isinstance(request.auth, str) else None  # BearerTokenAuthentication's raw token
        token = token_for_raw(raw, request.user)
        if token is None:
            raise Refusal("not_token_auth", "当前请求未使用访问令牌，没有可吊销的令牌。", 400)
        do_revoke_token(actor=request.user, token=token, ip=client_ip(request._request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WsTicketView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="ws_ticket_create", summary="申请 websocket 连接票据（一次有效，60 秒内使用）", request=None,
        responses={201: s.WsTicketSerializer, **errors(401, 403)},
    )
    def post(self, request):
        if isinstance(request.successful_authenticator, BearerTokenAuthentication):
            token, session_key = token_for_raw(request.auth, request.user), None
        else:
            token, session_key = None, request.session.session_key
        raw, expires_at = do_issue_ws_ticket(request.user, token=token, session_key=session_key)
        body = s.WsTicketSerializer({"ticket": raw, "expires_at": expires_at}).data
        return Response(body, status=status.HTTP_201_CREATED)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="me", summary="当前用户", responses={200: s.MeSerializer, **errors(401)})
    def get(self, request):
        user = request.user
        body = {
            "id": user.pk,
            "username": user.username,
            "name": user.get_full_name(),
            "agencies": [{"id": a.pk, "name": a.name} for a in agencies_of(user)],
            "two_factor": requires_two_factor(user),
            "counts": box_counts(user),
            "unread": unread_count(user),
        }
        return Response(s.MeSerializer(body).data)


# The plain 待办 request (bearer token, no filter) is answered by oa.api.lean without DRF's machinery; tests
# switch this off to compare with the DRF answer.
LEAN_WORK_LIST = True


class WorkListView(APIView):
    permission_classes = [IsAuthenticated]

    @classmethod
    def as_view(cls, **initkwargs):
        drf_view = super().as_view(**initkwargs)

        @functools.wraps(drf_view)  # keeps cls/initkwargs (the schema generator) and csrf_exempt
        def view(request, *args, **kwargs):
            if LEAN_WORK_LIST:
                response = lean_work_list(request, cls)
                if response is not None:
                    return response
            return drf_view(request, *args, **kwargs)

        return view

    @extend_schema(
        operation_id="work_list", summary="工作箱（待办/待阅/已办/已阅/我发起）",
        parameters=[s.InboxQuerySerializer],
        responses={200: s.WorkItemSerializer(many=True), **errors(400, 401)},
    )
    def get(self, request):
        query = s.InboxQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        p = query.validated_data
        items = inbox(
            request.user,
            p["box"],
            kind=p.get("kind") or None,
            urgency=p.get("urgency"),
            overdue=p.get("overdue"),
            agency_id=p.get("agency"),
            q=p.get("q"),
        )
        paginator = InboxPagination()
        filtered = any(p.get(name) not in (None, "") for name in ("kind", "urgency", "overdue", "agency", "q"))
        total = None if filtered else unfiltered_box_count(request.user, p["box"])
        paginator.django_paginator_class = functools.partial(CountedPaginator, known_count=total)
        page = paginator.paginate_queryset(items, request, view=self)
        return paginator.get_paginated_response(s.WorkItemSerializer(page, many=True).data)


class WorkCountsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="work_counts", summary="各工作箱数量", responses={200: s.CountsSerializer, **errors(401)})
    def get(self, request):
        return Response(s.CountsSerializer(box_counts(request.user)).data)


def _detail(item, user) -> dict:
    data = s.WorkItemSerializer(item).data
    data["actions"] = s.WorkActionSerializer(work_item_actions(item, user), many=True).data
    return data


class WorkDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="work_detail", summary="工作事项详情（含可执行操作）；首次打开记录打开时间",
        responses={200: s.WorkItemDetailSerializer, **errors(401, 404)},
    )
    def get(self, request, item_id: int):
        item = access_work_item_by_id(request.user, item_id)
        do_open_work_item(request.user, item)
        return Response(_detail(item, request.user))


class WorkActionView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="work_action", summary="对工作事项执行操作（如 complete 办理完成）",
        request=s.WorkActionRequestSerializer,
        responses={
            200: s.WorkItemDetailSerializer,
            409: OpenApiResponse(s.ErrorSerializer, description="work_closed / busy"),
            **errors(400, 401, 403, 404),
        },
    )
    def post(self, request, item_id: int, action_key: str):
        item = access_work_item_by_id(request.user, item_id)
        body = s.WorkActionRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = {**body.validated_data, "ip": client_ip(request._request)}
        item = check_perform_work_action(request.user, item, action_key, data)
        return Response(_detail(item, request.user))


class NotificationListView(APIView):
    permission_classes = [IsAuthenticated]
    limit = 100

    @extend_schema(
        operation_id="notifications_list", summary="通知（事件）列表，按编号从旧到新",
        parameters=[OpenApiParameter("after", int, description="只取编号大于此值的事件；缺省从 0 开始")],
        responses={200: s.NotificationListSerializer, **errors(400, 401)},
    )
    def get(self, request):
        raw = request.query_params.get("after") or "0"
        if not raw.isdigit():
            raise Refusal("invalid", "参数 after 必须是非负整数。", 400)
        results, more = events_after(request.user, int(raw), self.limit)
        return Response({"results": results, "more": more, "unread": unread_count(request.user)})


class NotificationReadView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="notifications_read", summary="标记通知已读", request=s.MarkReadSerializer,
        responses={200: s.MarkReadResultSerializer, **errors(400, 401, 403)},
    )
    def post(self, request):
        body = s.MarkReadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ids = None if body.validated_data.get("all") else body.validated_data["ids"]
        marked = do_mark_read(request.user, ids)
        return Response({"marked": marked, "unread": unread_count(request.user)})


class TilesView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="tiles", summary="工作台磁贴", responses={200: s.TileSerializer(many=True), **errors(401)})
    def get(self, request):
        from oa.tiles import tiles_for

        return Response([t.as_dict() for t in tiles_for(request.user)])


@extend_schema(exclude=True)
class NotFoundView(APIView):
    """Any other path under /api/: the same JSON error shape instead of Django's HTML 404."""

    permission_classes = [AllowAny]
    authentication_classes = []

    def initial(self, request, *args, **kwargs):
        raise Http404
