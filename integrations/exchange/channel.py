"""The outbox sender of the "exchange" channel: sign and POST a package, a receipt or a withdrawal request to
the peer. Success is any 2xx (a duplicate package is a 200 "duplicate"); a network error or a 5xx is retried
with the outbox's exponential backoff; a refusal that cannot succeed later (e.g. a quarantined package) makes
the row dead at once, which is an incident on the administrators' page (/exchange/incidents/)."""

from __future__ import annotations

import logging

from django.core.files.storage import default_storage

from documents.selectors.archive import sha256_hex
from oa.actions.outbox import OutboxSendError, SendResult
from oa.models import OutboxMessage

from . import client
from . import protocol as P
from .models import ExchangePeer
from .package import canonical
from .selectors import KIND_PACKAGE, KIND_RECEIPT, KIND_WITHDRAW, node_identity

logger = logging.getLogger(__name__)

# 4xx answers worth another attempt: clock or nonce trouble, or our node not yet registered over there.
RETRYABLE_CODES = {"stale_request", "replayed_request", "unknown_peer", "exchange_disabled"}
# Refusals that mean "already done": success for the outbox.
DONE_CODES = {"duplicate_package"}


def _body(message: OutboxMessage) -> tuple[str, bytes, str]:
    payload = message.payload
    if message.kind == KIND_PACKAGE:
        try:
            with default_storage.open(payload["blob"], "rb") as fh:
                data = fh.read()
        except (OSError, KeyError) as exc:
            raise OutboxSendError(f"交换包文件丢失：{exc}", retryable=False) from None
        if sha256_hex(data) != payload.get("sha256"):
            raise OutboxSendError("交换包文件与登记的摘要不符（存储中的文件已损坏）", retryable=False)
        return P.PACKAGES, data, "application/zip"
    if message.kind == KIND_RECEIPT:
        return P.RECEIPTS, canonical(payload["body"]), "application/json"
    if message.kind == KIND_WITHDRAW:
        package = OutboxMessage.objects.filter(pk=payload.get("package_message")).first()
        if package is None or package.state == OutboxMessage.State.DEAD:
            raise OutboxSendError("要取回的交换包未能送达对方（已放弃），取回申请无从发出", retryable=False)
        if package.state != OutboxMessage.State.SENT:
            # The request must not overtake its package: the receiver would not know the 收文 yet.
            raise OutboxSendError("交换包尚未送达对方，取回申请稍后再发")
        return P.WITHDRAWALS, canonical(payload["body"]), "application/json"
    raise OutboxSendError(f"未知的交换消息类型：{message.kind}", retryable=False)


def send_outbox_message(message: OutboxMessage) -> SendResult:
    code = message.payload.get("peer", "")
    peer = ExchangePeer.objects.filter(code=code).first()
    if peer is None:
        raise OutboxSendError(f"交换节点“{code}”未登记", retryable=False)
    if not peer.is_active:
        raise OutboxSendError(f"交换节点“{peer.name}”已停用", retryable=False)
    try:
        node = node_identity()
    except P.ProtocolError as exc:
        raise OutboxSendError(exc.message) from None
    endpoint, body, content_type = _body(message)
    try:
        response = client.post(peer, endpoint, body, content_type=content_type, node=node)
    except client.ExchangeTransportError as exc:
        raise OutboxSendError(f"无法连接交换节点“{peer.name}”：{exc}") from None
    if 200 <= response.status < 300 or response.code in DONE_CODES:
        if message.kind == KIND_WITHDRAW:
            from .actions import do_apply_withdraw_answer

            do_apply_withdraw_answer(message, response.data)
        return SendResult(external_id=str(message.payload.get("package_id", "")),
                          result={"http": response.status, "status": str(response.data.get("status") or "")})
    text = f"HTTP {response.status} {response.code}：{response.message}".strip()
    if response.status == 429:
        raise OutboxSendError(text, rate_limited=True)
    if response.status >= 500 or response.status in (408, 425) or response.code in RETRYABLE_CODES:
        raise OutboxSendError(text)
    raise OutboxSendError(text, retryable=False)
