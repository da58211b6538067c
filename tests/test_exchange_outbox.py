"""Outgoing exchange: 分发 to another deployment's agency builds one signed package per peer into the outbox;
the "exchange" sender POSTs it to a live loopback peer (real HTTP, signatures checked there); failures retry
with backoff, then die as an incident that an administrator retries by hand; receipts and 取回 go out the same
way."""

# ruff: noqa: F811  (fixtures imported from tests.test_exchange_inbound are parameters here)
from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.datastructures import CaseInsensitiveMapping

from documents.models import Attachment
from documents.selectors.archive import core_metadata
from integrations.exchange import protocol as P
from integrations.exchange.actions import (
    do_enqueue_package,
    do_enqueue_receipt,
    do_ensure_agency_key,
)
from integrations.exchange.models import ExchangePeer
from integrations.exchange.package import read_package
from oa.actions.outbox import do_deliver_due_outbox
from oa.models import Agency, AuditEntry, OutboxMessage
from oa.refusals import Refusal
from tests.clients import login
from tests.test_exchange_inbound import (  # noqa: F401  (fixtures)
    OUR_NODE_KEY,
    PEER_AGENCY_USCC,
    PEER_CODE,
    make_package,
    node,
    peer,
    receipt_api,
    sent_document,
    signed_post,
)
from workflows.actions.distribution import check_withdraw_distribution
from workflows.models import DistributionRecipient
from workflows.selectors.distribution import final_pdf_field

pytestmark = pytest.mark.django_db


class LoopbackPeer:
    """The peer node on 127.0.0.1: checks every request's signature against our node key and answers from a
    script (per endpoint, first in first out; then 200)."""

    def __init__(self) -> None:
        self.script: dict[str, list[tuple[int, dict]]] = {}
        self.requests: list[dict] = []
        self.public_key = P.load_node_key(OUR_NODE_KEY).public_key()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    P.verify_request(method="POST", path=self.path, headers=CaseInsensitiveMapping(dict(self.headers)),
                                     body=body, public_key=outer.public_key, receiver=PEER_CODE, now=time.time(),
                                     skew=300)
                    verified = True
                except P.ProtocolError:
                    verified = False
                outer.requests.append({"path": self.path, "body": body, "verified": verified,
                                       "content_type": self.headers.get("Content-Type")})
                queue = outer.script.get(self.path) or []
                status, answer = queue.pop(0) if queue else (200, {"status": "accepted"})
                if not verified:
                    status, answer = 401, {"code": "bad_request_signature", "message": "签名错误"}
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def loopback(peer):
    server = LoopbackPeer()
    ExchangePeer.objects.filter(pk=peer.pk).update(base_url=server.url)
    yield server
    server.stop()


@pytest.fixture
def remote(cast, peer):
    doc, rows = sent_document(cast, [Agency.objects.get(uscc=PEER_AGENCY_USCC)])
    return doc, rows


def deliver() -> dict[str, int]:
    return do_deliver_due_outbox(channels=["exchange"])


def make_due(message: OutboxMessage) -> None:
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())


PACKAGES = "/exchange/v1/packages"


def test_distribution_builds_one_signed_package_per_peer(cast, remote):
    doc, rows = remote
    do_enqueue_package(doc, rows, actor=cast.liuyang)
    message = OutboxMessage.objects.get(channel="exchange", kind="package")
    payload = message.payload
    assert payload["peer"] == PEER_CODE and payload["recipients"] == [PEER_AGENCY_USCC]
    assert payload["document"] == str(doc.identifier) and message.idempotency_key == f"exchange:package:{payload['package_id']}"
    with default_storage.open(payload["blob"], "rb") as fh:
        data = fh.read()
    # what the peer will verify: signed by 区府办's exchange key (created on first use, private half encrypted)
    key = do_ensure_agency_key(doc.agency)
    assert bytes(key.private_key_encrypted)[:4] == b"OAK1" and b"PRIVATE" not in bytes(key.private_key_encrypted)
    package = read_package(data, max_bytes=10**8,
                           trusted_keys={key.key_id: (doc.agency.uscc, P.load_public_pem(key.public_key))})
    assert str(package.package_id) == payload["package_id"] and package.recipients == [PEER_AGENCY_USCC]
    assert package.metadata["公文标识"] == str(doc.identifier) == core_metadata(doc)["公文标识"]
    with final_pdf_field(doc).open("rb") as fh:
        assert package.pdf == fh.read()  # the stamped PDF
    assert package.ses_signatures == [bytes(u.ses_signature) for u in doc.seal_uses.all()]
    # the 附件 travel inside the sealed PDF (套红 merges them: tests/test_attachment_pages.py), never as loose files
    assert doc.attachments.filter(role=Attachment.Role.ATTACHMENT).count() == 1 and package.attachments == []
    assert AuditEntry.objects.filter(action="exchange.package.enqueue", object_id=str(doc.pk)).exists()
    # enqueueing the same delivery again is the same package
    do_enqueue_package(doc, rows, actor=cast.liuyang)
    assert OutboxMessage.objects.filter(channel="exchange").count() == 1


@pytest.mark.parametrize("state", ["unknown", "inactive"])
def test_unknown_or_inactive_peer_refuses_distribution(cast, remote, state):
    doc, rows = remote
    if state == "unknown":
        Agency.objects.filter(uscc=PEER_AGENCY_USCC).update(exchange_node="nowhere")
        rows[0].agency.refresh_from_db()
    else:
        ExchangePeer.objects.update(is_active=False)
    with pytest.raises(Refusal) as info:
        do_enqueue_package(doc, rows, actor=cast.liuyang)
    assert info.value.code == "exchange_peer_unknown" and "交换节点" in info.value.message
    assert not OutboxMessage.objects.filter(channel="exchange").exists()


def test_node_not_configured_refuses_distribution(cast, remote, settings):
    doc, rows = remote
    settings.OA_EXCHANGE_NODE_KEY = ""
    with pytest.raises(Refusal) as info:
        do_enqueue_package(doc, rows, actor=cast.liuyang)
    assert info.value.code == "exchange_disabled"


def test_failures_back_off_then_die_then_manual_retry_sends(cast, remote, loopback, settings, client):
    settings.OA_OUTBOX_MAX_ATTEMPTS = 3
    doc, rows = remote
    do_enqueue_package(doc, rows, actor=cast.liuyang)
    message = OutboxMessage.objects.get(channel="exchange")
    loopback.script[PACKAGES] = [(503, {"code": "busy"})] * 3

    delays = []
    for expected in ("retried", "retried", "dead"):
        before = timezone.now()
        assert deliver() == {expected: 1}
        message.refresh_from_db()
        delays.append((message.next_attempt_at - before).total_seconds())
        if expected != "dead":
            make_due(message)
    assert message.state == OutboxMessage.State.DEAD and message.attempts == 3
    assert "HTTP 503" in message.last_error
    # exponential backoff: 30 s then 60 s (±20 % jitter)
    assert 24 <= delays[0] <= 36 and 48 <= delays[1] <= 72
    assert all(r["verified"] and r["content_type"] == "application/zip" for r in loopback.requests)

    # the incident page: administrators only
    assert login(cast.zhangwei).get("/exchange/incidents/").status_code == 403
    assert login(cast.zhangwei).post(f"/exchange/incidents/{message.pk}/retry").status_code == 404
    admin = login(cast.sunhao, otp=True)  # 系统管理员 must pass 2FA
    page = admin.get("/exchange/incidents/").content.decode()
    assert "已放弃" in page and doc.title in page and "HTTP 503" in page and "手动重试" in page
    assert f"/exchange/incidents/{message.pk}/retry" in page and "已尝试 3 次" in page
    home = admin.get("/").content.decode()
    assert "交换异常" in home  # the administrators' tile

    response = admin.post(f"/exchange/incidents/{message.pk}/retry")
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.state == OutboxMessage.State.PENDING and message.attempts == 0
    assert AuditEntry.objects.filter(action="outbox.retry", object_id=str(message.pk), actor=cast.sunhao).exists()
    assert deliver() == {"sent": 1}
    message.refresh_from_db()
    assert message.state == OutboxMessage.State.SENT and message.result["status"] == "accepted"
    assert len(loopback.requests) == 4
    assert len({r["body"] for r in loopback.requests}) == 1  # the same bytes every time
    assert "已放弃" not in admin.get("/exchange/incidents/").content.decode()


@pytest.mark.parametrize(("answer", "outcome", "state"), [
    ((422, {"code": "package_tampered", "message": "已隔离", "status": "quarantined"}), "dead", "dead"),
    ((403, {"code": "wrong_node", "message": "节点不符"}), "dead", "dead"),
    ((200, {"status": "duplicate"}), "sent", "sent"),
    ((401, {"code": "stale_request", "message": "时钟"}), "retried", "failed"),
    ((403, {"code": "unknown_peer", "message": "未登记"}), "retried", "failed"),
    ((500, {}), "retried", "failed"),
    ((429, {"code": "throttled"}), "rate_limited", "pending"),
])
def test_answers_are_classified(cast, remote, loopback, answer, outcome, state):
    doc, rows = remote
    do_enqueue_package(doc, rows, actor=cast.liuyang)
    loopback.script[PACKAGES] = [answer]
    assert deliver() == {outcome: 1}
    message = OutboxMessage.objects.get(channel="exchange")
    assert message.state == state
    if state == "dead":
        assert message.attempts == 1 and answer[1]["code"] in message.last_error


def test_peer_down_is_retried(cast, remote, loopback):
    doc, rows = remote
    do_enqueue_package(doc, rows, actor=cast.liuyang)
    loopback.stop()
    assert deliver() == {"retried": 1}
    message = OutboxMessage.objects.get(channel="exchange")
    assert message.state == OutboxMessage.State.FAILED and "无法连接" in message.last_error


def test_peer_deactivated_makes_the_message_dead(cast, remote, loopback):
    doc, rows = remote
    do_enqueue_package(doc, rows, actor=cast.liuyang)
    ExchangePeer.objects.update(is_active=False)
    assert deliver() == {"dead": 1}


# ---- receipts and 取回 ----------------------------------------------------------------------------------


def test_receipt_goes_back_to_the_sending_node(client, loopback, receipt_api):
    from documents.models import IncomingDocument

    data = make_package()
    assert signed_post(client, "/v1/packages", data).status_code == 200
    incoming = IncomingDocument.objects.get()
    with pytest.raises(Refusal) as info:
        do_enqueue_receipt(incoming, "returned", actor_name="钱敏", reason=" ")
    assert info.value.code == "receipt_reason_required"
    do_enqueue_receipt(incoming, "signed", actor_name="钱敏", copies=2)
    do_enqueue_receipt(incoming, "signed", actor_name="钱敏", copies=2)  # the same receipt once
    message = OutboxMessage.objects.get(channel="exchange", kind="receipt")
    assert deliver() == {"sent": 1}
    [request] = loopback.requests
    assert request["path"] == "/exchange/v1/receipts" and request["verified"]
    body = P.parse_receipt(json.loads(request["body"]))
    assert body.action == "signed" and body.actor == "钱敏" and body.copies == 2
    assert body.package_id == str(incoming.package_id) and body.document == incoming.metadata["核心元数据"]["公文标识"]
    assert body.receiver_uscc == incoming.agency.uscc and body.timestamp.utcoffset() == timedelta(hours=8)
    message.refresh_from_db()
    assert message.state == OutboxMessage.State.SENT


def test_withdraw_waits_for_its_package_then_applies_the_answer(cast, remote, loopback, receipt_api):
    doc, [row] = remote
    do_enqueue_package(doc, [row], actor=cast.liuyang)
    loopback.script[PACKAGES] = [(503, {})]
    check_withdraw_distribution(cast.liuyang, row, reason="发错了")
    row.refresh_from_db()
    assert row.withdraw_requested_at is not None and row.status == DistributionRecipient.Status.PENDING
    withdraw = OutboxMessage.objects.get(channel="exchange", kind="withdraw")
    # the package failed in this round, so the 取回 request does not overtake it
    assert deliver() == {"retried": 2}
    withdraw.refresh_from_db()
    assert "尚未送达" in withdraw.last_error
    assert [r["path"] for r in loopback.requests] == [PACKAGES]

    OutboxMessage.objects.filter(channel="exchange").update(next_attempt_at=timezone.now())
    loopback.script["/exchange/v1/withdrawals"] = [(200, {"status": "withdrawn", "receipt": {
        "action": "withdrawn", "actor": "揭阳市揭西县人民政府办公室"}})]
    assert deliver() == {"sent": 2}
    request = loopback.requests[-1]
    assert request["path"] == "/exchange/v1/withdrawals" and request["verified"]
    sent = P.parse_withdrawal(json.loads(request["body"]))
    assert sent.receiver_uscc == PEER_AGENCY_USCC and sent.reason == "发错了" and sent.document == str(doc.identifier)
    row.refresh_from_db()
    assert row.status == DistributionRecipient.Status.WITHDRAWN and row.withdraw_requested_at is None
    assert row.status_by == "揭阳市揭西县人民政府办公室"


def test_withdraw_refused_answer_clears_the_request(cast, remote, loopback, receipt_api):
    doc, [row] = remote
    do_enqueue_package(doc, [row], actor=cast.liuyang)
    assert deliver() == {"sent": 1}
    check_withdraw_distribution(cast.liuyang, row)
    loopback.script["/exchange/v1/withdrawals"] = [(200, {"status": "withdraw_refused", "receipt": {}})]
    assert deliver() == {"sent": 1}
    row.refresh_from_db()
    assert row.status == DistributionRecipient.Status.PENDING and row.withdraw_requested_at is None
