"""Exchange endpoints (docs/exchange.md). Thin: parse, call one action or selector, answer.

  POST /exchange/v1/packages      a signed exchange package (application/zip)
  POST /exchange/v1/receipts      a receipt for a package we sent (application/json)
  POST /exchange/v1/withdrawals   the sender asks to 取回 a copy it sent us (application/json)
  GET  /exchange/incidents/       administrators: failing/dead outgoing messages, quarantined packages
  POST /exchange/incidents/<id>/retry   手动重试 of one outgoing message
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from oa.actions.outbox import do_retry_outbox
from oa.http import client_ip

from . import protocol as P
from .actions import check_receive_request
from .selectors import (
    access_incident_by_id,
    exchange_peers,
    incident_rows,
    may_manage_exchange,
    quarantined_packages,
)


def _json(data: dict, status: int) -> JsonResponse:
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


def _receive(request: HttpRequest, endpoint: str) -> JsonResponse:
    if request.method != "POST":
        return _json({"code": "method_not_allowed", "message": "交换接口只接受 POST 请求"}, 405)
    try:
        length = int(request.META["CONTENT_LENGTH"]) if request.META.get("CONTENT_LENGTH") else None
    except ValueError:
        length = None
    try:
        status, data = check_receive_request(endpoint, method=request.method, path=request.path,
                                             headers=request.headers, read=request.read, content_length=length,
                                             ip=client_ip(request))
    except P.ProtocolError as exc:
        return _json({"code": exc.code, "message": exc.message}, exc.status)
    return _json(data, status)


# csrf_exempt only because these are not browser requests: each one is authenticated by the peer node's
# Ed25519 signature over method, path, timestamp, nonce and body hash (checked before anything is done).
@csrf_exempt
def receive_package(request: HttpRequest) -> JsonResponse:
    return _receive(request, P.PACKAGES)


@csrf_exempt
def receive_receipt(request: HttpRequest) -> JsonResponse:
    return _receive(request, P.RECEIPTS)


@csrf_exempt
def receive_withdrawal(request: HttpRequest) -> JsonResponse:
    return _receive(request, P.WITHDRAWALS)


@login_required
def incidents(request: HttpRequest) -> HttpResponse:
    if not may_manage_exchange(request.user):
        raise PermissionDenied("只有系统管理员可以查看公文交换异常。")
    return render(request, "exchange/incidents.html", {
        "incidents": incident_rows(), "quarantined": quarantined_packages()[:200], "peers": exchange_peers()})


@login_required
@require_POST
def retry_incident(request: HttpRequest, message_id: int) -> HttpResponse:
    message = access_incident_by_id(request.user, message_id)
    count = do_retry_outbox(request.user, [message.pk], ip=client_ip(request))
    if count:
        messages.success(request, "已安排立即重试，稍后刷新查看结果。")
    else:
        messages.warning(request, "该消息已发送或已撤销，无需重试。")
    return redirect("exchange:incidents")
