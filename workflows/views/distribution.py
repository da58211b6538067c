"""分发情况 (the sender's view) and 取回, as a page and as JSON.

  /flows/distribution/<document id>/                         page: per recipient status, who, when, reason
  /flows/distribution/recipients/<id>/withdraw               取回 (POST reason)
  /flows/distribution/recipients/<id>/reissue                补发 to the agency that returned it (POST)
  /flows/distribution/recipients/<id>/redirect               改送 to another agency (POST agency)
  /api/flows/distribution/<document id>                      the same list, JSON
  /api/flows/distribution/recipients/<id>/withdraw           取回, JSON
  /api/flows/distribution/recipients/<id>/reissue            补发, JSON
  /api/flows/distribution/recipients/<id>/redirect           改送, JSON {"agency": id}
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from oa.actions.auth import client_ip
from oa.api.serializers import ErrorSerializer
from oa.models import Agency
from oa.refusals import Refusal
from workflows.actions.distribution import (
    check_redirect_distribution,
    check_reissue_distribution,
    check_withdraw_distribution,
)
from workflows.models import DistributionRecipient
from workflows.selectors.distribution import access_recipient_by_id, distribution_summary

REASON_MAX = 500


def _row_json(row: DistributionRecipient) -> dict:
    return {
        "id": row.pk, "agency": row.agency.name, "agency_uscc": row.agency.uscc,
        "remote": bool(row.agency.exchange_node), "kind": row.kind, "status": row.status,
        "status_label": row.get_status_display(), "sent_at": row.sent_at.isoformat(),
        "status_at": row.status_at.isoformat() if row.status_at else None, "status_by": row.status_by,
        "reason": row.reason, "copies": row.copies,
        "withdraw_requested_at": row.withdraw_requested_at.isoformat() if row.withdraw_requested_at else None,
        "replaces": row.replaces_id,
        "delivering": bool(getattr(row, "delivering", False)),
    }


@login_required
@require_GET
def distribution_page(request, document_id: int):
    return render(request, "workflows/distribution/status.html", distribution_summary(request.user, document_id))


@login_required
@require_POST
def withdraw_recipient(request, recipient_id: int):
    row = access_recipient_by_id(request.user, recipient_id)
    reason = (request.POST.get("reason") or "").strip()[:REASON_MAX]
    try:
        row = check_withdraw_distribution(request.user, row, reason=reason, ip=client_ip(request))
    except (Refusal, PermissionDenied) as exc:
        messages.error(request, getattr(exc, "message", None) or str(exc))
    else:
        if row.status == DistributionRecipient.Status.WITHDRAWN:
            messages.success(request, f"已从{row.agency.name}取回。")
        else:
            messages.success(request, f"已向{row.agency.name}所在系统申请取回，等待对方回执。")
    return redirect("workflows:distribution", row.document_id)


@login_required
@require_POST
def reissue_recipient(request, recipient_id: int):
    row = access_recipient_by_id(request.user, recipient_id)
    try:
        new = check_reissue_distribution(request.user, row, ip=client_ip(request))
    except Refusal as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已向{new.agency.name}补发。" if not new.agency.exchange_node
                         else f"已向{new.agency.name}补发，交换包已排队发往对方系统。")
    return redirect("workflows:distribution", row.document_id)


def _redirect_target(value) -> Agency:
    try:
        return Agency.objects.get(pk=int(value))
    except (TypeError, ValueError, Agency.DoesNotExist):
        raise Refusal("recipient_invalid", "请选择改送的收文机关。", status=400) from None


@login_required
@require_POST
def redirect_recipient(request, recipient_id: int):
    row = access_recipient_by_id(request.user, recipient_id)
    try:
        new = check_redirect_distribution(request.user, row, _redirect_target(request.POST.get("agency")),
                                          ip=client_ip(request))
    except Refusal as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已将{row.agency.name}退回的公文改送{new.agency.name}。")
    return redirect("workflows:distribution", row.document_id)


class DistributionRecipientSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    agency = serializers.CharField(help_text="收文机关")
    agency_uscc = serializers.CharField(help_text="统一社会信用代码")
    remote = serializers.BooleanField(help_text="是否在其他系统（经交换分发）")
    kind = serializers.ChoiceField(choices=DistributionRecipient.Kind.choices)
    status = serializers.ChoiceField(choices=DistributionRecipient.Status.choices)
    status_label = serializers.CharField()
    sent_at = serializers.DateTimeField()
    status_at = serializers.DateTimeField(allow_null=True)
    status_by = serializers.CharField(help_text="签收/退回人")
    reason = serializers.CharField(help_text="退回或取回原因")
    copies = serializers.IntegerField(allow_null=True, help_text="签收份数")
    withdraw_requested_at = serializers.DateTimeField(allow_null=True, help_text="已申请取回、等待对方回执")
    replaces = serializers.IntegerField(allow_null=True, help_text="补发/改送时所替代的（被退回的）分发记录")
    delivering = serializers.BooleanField(help_text="送达中：对方收文已生成，收文流程正在启动（对方尚不可见）")


class DeliveryProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="本系统内的收文机关数（不含经交换发往其他系统的）")
    delivered = serializers.IntegerField(help_text="已送达：对方收文流程已启动，文书可签收")
    delivering = serializers.IntegerField(help_text="送达中：收文流程正在启动")


class DistributionSerializer(serializers.Serializer):
    document_id = serializers.IntegerField()
    recipients = DistributionRecipientSerializer(many=True)
    delivery = DeliveryProgressSerializer(help_text="送达进度")


class DistributionWithdrawRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=REASON_MAX)


class DistributionApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="distribution_status", summary="分发情况", responses={200: DistributionSerializer})
    def get(self, request, document_id: int):
        summary = distribution_summary(request.user, document_id)
        return Response({"document_id": summary["document"].pk, "recipients": [_row_json(r) for r in summary["recipients"]],
                         "delivery": summary["delivery"]})


class WithdrawApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="distribution_withdraw", summary="取回（对方签收前）", request=DistributionWithdrawRequestSerializer,
                   responses={200: DistributionRecipientSerializer,
                              403: OpenApiResponse(ErrorSerializer, description="permission_denied：不是发文机关的文书"),
                              404: OpenApiResponse(ErrorSerializer, description="not_found：分发记录不存在或无权查看"),
                              409: OpenApiResponse(ErrorSerializer, description="withdraw_not_pending、withdraw_signed、"
                                                                                "withdraw_requested")})
    def post(self, request, recipient_id: int):
        row = access_recipient_by_id(request.user, recipient_id)
        body = DistributionWithdrawRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row = check_withdraw_distribution(request.user, row, reason=body.validated_data.get("reason", ""),
                                          ip=client_ip(request))
        return Response(_row_json(row))


class RedirectRequestSerializer(serializers.Serializer):
    agency = serializers.IntegerField(help_text="改送的收文机关")


_REDISTRIBUTE_ERRORS = {
    403: OpenApiResponse(ErrorSerializer, description="distribution_not_allowed：不是发文机关的文书"),
    404: OpenApiResponse(ErrorSerializer, description="not_found：分发记录不存在或无权查看"),
    409: OpenApiResponse(ErrorSerializer, description="redistribute_not_returned：对方没有退回；recipient_exists："
                                                      "该机关已是收文机关"),
}


class ReissueApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="distribution_reissue", summary="补发（对方退回后再次发给该机关）", request=None,
                   responses={201: DistributionRecipientSerializer, **_REDISTRIBUTE_ERRORS})
    def post(self, request, recipient_id: int):
        row = access_recipient_by_id(request.user, recipient_id)
        return Response(_row_json(check_reissue_distribution(request.user, row, ip=client_ip(request))), status=201)


class RedirectApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="distribution_redirect", summary="改送（对方退回后改发其他机关）",
                   request=RedirectRequestSerializer,
                   responses={201: DistributionRecipientSerializer,
                              400: OpenApiResponse(ErrorSerializer, description="recipient_invalid、recipient_is_sender、"
                                                                                "redirect_same_agency"),
                              **_REDISTRIBUTE_ERRORS})
    def post(self, request, recipient_id: int):
        row = access_recipient_by_id(request.user, recipient_id)
        body = RedirectRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        new = check_redirect_distribution(request.user, row, _redirect_target(body.validated_data["agency"]),
                                          ip=client_ip(request))
        return Response(_row_json(new), status=201)


urlpatterns = [
    path("distribution/<int:document_id>/", distribution_page, name="distribution"),
    path("distribution/recipients/<int:recipient_id>/withdraw", withdraw_recipient, name="distribution_withdraw"),
    path("distribution/recipients/<int:recipient_id>/reissue", reissue_recipient, name="distribution_reissue"),
    path("distribution/recipients/<int:recipient_id>/redirect", redirect_recipient, name="distribution_redirect"),
]
api_urlpatterns = [
    path("distribution/<int:document_id>", DistributionApi.as_view(), name="api_distribution"),
    path("distribution/recipients/<int:recipient_id>/withdraw", WithdrawApi.as_view(), name="api_distribution_withdraw"),
    path("distribution/recipients/<int:recipient_id>/reissue", ReissueApi.as_view(), name="api_distribution_reissue"),
    path("distribution/recipients/<int:recipient_id>/redirect", RedirectApi.as_view(), name="api_distribution_redirect"),
]
