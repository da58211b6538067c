"""Exchange actions: agency keys, outgoing packages / receipts / withdrawals (into the outbox), the inbound
protocol (authenticate, accept or quarantine, apply), and peer registration. See docs/exchange.md.

Every outgoing thing is an OutboxMessage on the "exchange" channel written in the caller's transaction; the
sender (integrations.exchange.channel) signs and POSTs it. Every inbound request is handled in one transaction:
the nonce, the InboundPackage row and the 收文 commit together, and a refused request leaves only its audit entry.
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
import uuid
import zipfile
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from documents.actions.incoming import fields_from_metadata, kind_from_metadata
from documents.models import IncomingDocument, OfficialDocument
from documents.seals.keys import decrypt, encrypt, keyring_from_settings
from documents.secrecy import CLASSIFIED_LEVELS, refuse_classified
from documents.selectors.archive import core_metadata, sha256_hex
from documents.uploads import read_member, sniff_type
from oa import jsonsafe
from oa.actions.audit import do_record_audit
from oa.actions.directory import check_upsert_agency, do_update_agency
from oa.actions.outbox import do_enqueue_outbox
from oa.models import Agency, OutboxMessage, Person
from oa.refusals import Refusal
from oa.uscc import validate_uscc
from workflows.inbound import package_pdf, receive_package, receive_receipt, receive_withdrawal
from workflows.models import DistributionRecipient

from . import protocol as P
from .client import signed_path
from .models import AgencyExchangeKey, ExchangeNonce, ExchangePeer, InboundPackage
from .package import PackageError, build_package, key_id, read_package
from .selectors import (
    KIND_PACKAGE,
    KIND_RECEIPT,
    KIND_WITHDRAW,
    OUTBOX_CHANNEL,
    active_peer,
    inbound_package_of,
    local_agencies,
    node_identity,
    peer_public_key,
    sender_name,
    sent_package_for,
    trusted_keys,
)

logger = logging.getLogger(__name__)

# Package ids are derived (document, peer, recipients): building the same delivery twice is one package.
_PACKAGE_NS = uuid.UUID("9d3f6a0e-2b7c-4f1d-8e5a-3c1b7d9e0f24")
NONCE_MARGIN = 60  # seconds nonces are kept beyond the window in which their timestamp is still accepted


# ---- agency keys -----------------------------------------------------------------------------------------


def _key_context(kid: str) -> str:
    return f"exchange-agency:{kid}"


def do_ensure_agency_key(agency: Agency) -> AgencyExchangeKey:
    """The agency's active exchange key, created on first use (Ed25519; private half under OA_SEAL_KEK)."""
    existing = AgencyExchangeKey.objects.filter(agency=agency, is_active=True).first()
    if existing is not None:
        return existing
    private = Ed25519PrivateKey.generate()
    kid = key_id(private.public_key())
    keyring = keyring_from_settings()
    row = AgencyExchangeKey(agency=agency, key_id=kid, public_key=P.public_pem(private),
                            private_key_encrypted=encrypt(P.private_der(private), context=_key_context(kid),
                                                          keyring=keyring),
                            kek_id=keyring.current.key_id)
    try:
        with transaction.atomic():  # savepoint: a concurrent first use keeps the other key
            row.save()
    except IntegrityError:
        return AgencyExchangeKey.objects.get(agency=agency, is_active=True)
    do_record_audit(actor=None, action="exchange.agency_key.create", obj=row,
                    changes={"agency": agency.name, "uscc": agency.uscc, "key_id": kid})
    return row


def agency_signing_key(agency: Agency) -> Ed25519PrivateKey:
    row = do_ensure_agency_key(agency)
    return P.load_private_der(decrypt(bytes(row.private_key_encrypted), context=_key_context(row.key_id)))


# ---- sending side ----------------------------------------------------------------------------------------


def do_enqueue_package(document: OfficialDocument, recipients: list[DistributionRecipient], *,
                       actor: Person) -> dict[int, uuid.UUID]:
    """分发 to agencies of other deployments: one signed package per peer, stored and put in the outbox, in the
    caller's transaction. An unknown or inactive peer refuses the whole 分发 (Refusal). Returns the package id
    of each recipient row (by pk)."""
    if not recipients:
        return {}
    refuse_classified(document, "通过公文交换发送")  # 非涉密 only (docs/security.md §12)
    by_peer: dict[str, list[DistributionRecipient]] = {}
    for row in recipients:
        by_peer.setdefault(row.agency.exchange_node, []).append(row)
    if "" in by_peer:
        raise Refusal("exchange_not_remote", "本节点的机关不经交换分发。", status=500)
    peers = {p.code: p for p in ExchangePeer.objects.filter(code__in=list(by_peer), is_active=True)}
    for code, rows in by_peer.items():
        if code not in peers:
            names = "、".join(r.agency.name for r in rows)
            raise Refusal("exchange_peer_unknown",
                            f"{names}所在的交换节点“{code}”未登记或已停用，不能分发。请系统管理员先登记该节点。", status=409)
    try:
        node_identity()
    except P.ProtocolError as exc:
        raise Refusal(exc.code, f"{exc.message}，不能分发到其他系统的机关。", status=409) from None
    pdf_field = package_pdf(document)
    if not pdf_field:
        raise Refusal("final_pdf_missing", "公文尚未生成正式 PDF，不能分发。", status=409)
    with pdf_field.open("rb") as fh:
        pdf = fh.read()
    ses = [bytes(use.ses_signature) for use in document.seal_uses.order_by("signed_at", "id")]
    metadata = core_metadata(document)
    try:
        signing_key = agency_signing_key(document.agency)
    except Refusal as exc:  # KEK missing or wrong: the key cannot be used
        raise Refusal(exc.code, exc.message, status=500) from None
    created = timezone.now()
    sent: dict[int, uuid.UUID] = {}
    for code in sorted(by_peer):
        rows = by_peer[code]
        usccs = sorted({r.agency.uscc for r in rows})
        name = f"{document.identifier}:{code}:{','.join(usccs)}"
        # 补发/改送 (a row replacing a refused one) is a new delivery: a new package even to the same agency.
        again = sorted(str(r.pk) for r in rows if getattr(r, "replaces_id", None))
        if again:
            name += f":{','.join(again)}"
        package_id = uuid.uuid5(_PACKAGE_NS, name)
        sent.update({r.pk: package_id for r in rows})
        idempotency_key = f"exchange:package:{package_id}"
        if OutboxMessage.objects.filter(idempotency_key=idempotency_key).exists():
            continue
        try:
            # No attachments/ entries: the 附件 are pages of the sealed PDF, so none travels outside the seal's
            # signature. read_package still accepts them from peers that send originals.
            data = build_package(metadata=metadata, pdf=pdf, ses_signatures=ses, attachments=[],
                                 sender_uscc=document.agency.uscc, recipients=usccs, signing_key=signing_key,
                                 package_id=package_id, created_at=created)
        except PackageError as exc:
            raise Refusal(exc.code, exc.message, status=409) from None
        if len(data) > settings.OA_EXCHANGE_MAX_BYTES:
            raise Refusal("package_too_large", f"交换包 {len(data)} 字节，超过上限 {settings.OA_EXCHANGE_MAX_BYTES} 字节，"
                                                 "不能通过交换分发。", status=409)
        blob = default_storage.save(f"exchange/outbound/{uuid.uuid4().hex}.zip", ContentFile(data))
        do_enqueue_outbox(OUTBOX_CHANNEL, KIND_PACKAGE, idempotency_key, {
            "peer": code, "package_id": str(package_id), "document": str(document.identifier),
            "document_id": document.pk, "title": document.title[:200], "doc_number": document.doc_number,
            "recipients": usccs, "agencies": [r.agency.name for r in rows], "blob": blob, "size": len(data),
            "sha256": sha256_hex(data),
        })
        do_record_audit(actor=actor, action="exchange.package.enqueue", obj=document, changes={
            "peer": code, "package_id": str(package_id), "recipients": usccs, "size": len(data),
            "sha256": sha256_hex(data)})
    return sent


def do_enqueue_receipt(incoming: IncomingDocument, action: str, *, actor_name: str, reason: str = "",
                       copies: int | None = None) -> None:
    """The receiver signed (签收) or returned (退回) a 收文 that came from a peer: a receipt to that peer."""
    if action not in P.RECEIPT_ACTIONS:
        raise Refusal("receipt_action_invalid", f"未知的回执类型：{action}", status=400)
    reason = (reason or "").strip()
    if action == P.RETURNED and not reason:
        raise Refusal("receipt_reason_required", "退回来文单位必须说明理由。", status=400)
    inbound = inbound_package_of(incoming.package_id) if incoming.package_id else None
    if inbound is None or inbound.peer is None:
        # A 收文 marked "exchange" always has its package row; without it there is nobody to tell.
        logger.error("exchange receipt for incoming #%s: no accepted package %s", incoming.pk, incoming.package_id)
        return
    document = str((incoming.metadata.get("核心元数据") or {}).get("公文标识") or "")
    receipt = P.Receipt(package_id=str(incoming.package_id), document=document, receiver_uscc=incoming.agency.uscc,
                        action=action, actor=(actor_name or incoming.agency.name)[:50],
                        timestamp=timezone.now().astimezone(P.BEIJING).replace(microsecond=0),
                        reason=reason[:500], copies=copies)
    do_enqueue_outbox(OUTBOX_CHANNEL, KIND_RECEIPT,
                      f"exchange:receipt:{incoming.package_id}:{incoming.agency.uscc}:{action}", {
                          "peer": inbound.peer.code, "package_id": str(incoming.package_id), "document": document,
                          "title": incoming.title[:200], "action": action, "body": receipt.as_body()})
    do_record_audit(actor=None, actor_name=receipt.actor, action="exchange.receipt.enqueue", obj=incoming,
                    changes={"peer": inbound.peer.code, "receipt": action, "reason": reason, "copies": copies})


def do_enqueue_withdraw(recipient: DistributionRecipient, *, reason: str = "") -> None:
    """取回 of a copy held by another deployment: a withdrawal request to its node. The answer (取回 done or
    refused because it was signed) comes back in the response and is applied by the sender."""
    message = sent_package_for(recipient)
    if message is None:
        raise Refusal("exchange_package_unknown", f"找不到发往{recipient.agency.name}的交换包，无法申请取回。", status=409)
    request_id = uuid.uuid4()
    package_id = message.payload["package_id"]
    body = P.Withdrawal(request_id=str(request_id), package_id=package_id,
                        document=str(recipient.document.identifier), sender_uscc=recipient.document.agency.uscc,
                        receiver_uscc=recipient.agency.uscc, reason=(reason or "").strip()[:500],
                        timestamp=timezone.now().astimezone(P.BEIJING).replace(microsecond=0)).as_body()
    do_enqueue_outbox(OUTBOX_CHANNEL, KIND_WITHDRAW,
                      f"exchange:withdraw:{package_id}:{recipient.agency.uscc}:{request_id}", {
                          "peer": recipient.agency.exchange_node, "package_id": package_id,
                          "package_message": message.pk, "recipient_id": recipient.pk,
                          "document": str(recipient.document.identifier), "title": recipient.document.title[:200],
                          "agency": recipient.agency.name, "body": body})


def do_apply_withdraw_answer(message: OutboxMessage, answer: dict[str, Any]) -> bool:
    """The receiving node answered our 取回: record it on the recipient (idempotent, like any receipt)."""
    recipient = DistributionRecipient.objects.filter(pk=message.payload.get("recipient_id")).first()
    action = answer.get("status")
    if recipient is None or action not in (P.WITHDRAWN, P.WITHDRAW_REFUSED):
        return False
    receipt = answer.get("receipt") or {}
    return receive_receipt(recipient, action, actor_name=str(receipt.get("actor") or recipient.agency.name)[:50],
                            reason=str(message.payload.get("body", {}).get("reason") or ""))


# ---- receiving side --------------------------------------------------------------------------------------


def do_record_refusal(exc: P.ProtocolError, *, peer_code: str, ip: str | None, path: str) -> None:
    """A refused request leaves this and nothing else: an audit entry and a warning in the log."""
    peer = peer_code if P.NODE_CODE_RE.match(peer_code or "") else (peer_code or "")[:40].encode(
        "unicode_escape").decode("ascii")
    logger.warning("exchange request refused: %s (peer=%r ip=%s path=%s): %s", exc.code, peer, ip, path, exc.message)
    do_record_audit(actor=None, actor_name=f"交换节点 {peer}" if peer else "交换请求（来源不明）",
                    action="exchange.refused", object_type="exchange.request", object_repr=f"交换请求 {path}"[:200],
                    changes={"code": exc.code, "peer": peer, "ip": ip, "path": path[:200], "message": exc.message},
                    ip=ip)


def _read_body(read: Callable[[int], bytes], content_length: int | None, limit: int) -> bytes:
    if content_length is not None and content_length > limit:
        raise P.ProtocolError("request_too_large", f"请求体 {content_length} 字节，超过上限 {limit} 字节", 413)
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = read(min(1024 * 1024, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:  # a lying or missing Content-Length: stop reading right past the limit
            raise P.ProtocolError("request_too_large", f"请求体超过上限 {limit} 字节", 413)
    return b"".join(chunks)


def _authenticate(*, method: str, sig_path: str, headers: Mapping[str, str], read: Callable[[int], bytes],
                  content_length: int | None) -> tuple[ExchangePeer, bytes]:
    node = node_identity()
    if method != "POST":
        raise P.ProtocolError("method_not_allowed", "交换接口只接受 POST 请求", 405)
    signed = P.parse_headers(headers)
    peer = active_peer(signed.sender)
    if peer is None:
        raise P.ProtocolError("unknown_peer", f"交换节点“{signed.sender}”未在本节点登记或已停用", 403)
    if signed.receiver != node.code:
        raise P.ProtocolError("wrong_node", f"请求发往节点“{signed.receiver}”，本节点为“{node.code}”", 403)
    P.check_timestamp(signed.timestamp, now=time.time(), skew=settings.OA_EXCHANGE_CLOCK_SKEW)
    body = _read_body(read, content_length, settings.OA_EXCHANGE_MAX_BYTES)
    P.check_body(signed, body)
    P.verify_signature(signed, method=method, path=sig_path, public_key=peer_public_key(peer))
    try:
        with transaction.atomic():
            ExchangeNonce.objects.create(peer=peer, nonce=signed.nonce)
    except IntegrityError:
        raise P.ProtocolError("replayed_request", "该请求的一次性随机数（nonce）已经用过：重放的请求已拒绝", 409) from None
    return peer, body


def check_receive_request(endpoint: str, *, method: str, path: str, headers: Mapping[str, str],
                          read: Callable[[int], bytes], content_length: int | None,
                          ip: str | None) -> tuple[int, dict[str, Any]]:
    """One inbound request: (HTTP status, JSON answer). A ProtocolError is a refusal: the transaction is rolled
    back, the refusal is audited and logged, and the error goes back to the view. ``path`` is the request's
    path as it arrived (for the log); the signature covers the logical path of ``endpoint``."""
    handler = _HANDLERS[endpoint]
    try:
        with transaction.atomic():
            peer, body = _authenticate(method=method, sig_path=signed_path(endpoint), headers=headers, read=read,
                                       content_length=content_length)
            return handler(peer, body, ip)
    except P.ProtocolError as exc:
        do_record_refusal(exc, peer_code=str(headers.get(P.H_FROM) or ""), ip=ip, path=path)
        raise
    except Refusal as exc:
        # Refused further in (e.g. the receiving agency cannot start its 收文 flow): same treatment, so the sender
        # sees a code and an administrator sees the incident.
        refusal = P.ProtocolError(exc.code, exc.message, exc.status if 400 <= exc.status < 600 else 500)
        do_record_refusal(refusal, peer_code=str(headers.get(P.H_FROM) or ""), ip=ip, path=path)
        raise refusal from exc


def _json(body: bytes, code: str) -> Any:
    """The body of a signed request. Signed by a registered peer is not harmless: a compromised or buggy node
    can still send ``[`` × 100000 or text the database cannot store, refused here like any bad body."""
    try:
        return jsonsafe.loads(body)
    except jsonsafe.JsonRefused as refused:
        if refused.code == jsonsafe.TOO_DEEP:
            raise P.ProtocolError("json_too_deep", f"请求体有误：{refused.message}") from None
        raise P.ProtocolError(code, f"请求体有误：{refused.message}") from None


def _peek_envelope(body: bytes) -> tuple[uuid.UUID | None, str]:
    """The package id and sender a refused package claims, for the quarantine list only (never trusted)."""
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            envelope = json.loads(read_member(archive, "envelope.json", limit=64 * 1024))
        package_id = uuid.UUID(str(envelope.get("package_id")))
    except Exception:  # anything at all: a broken package has no trustworthy envelope
        return None, ""
    sender = envelope.get("sender_uscc")
    return package_id, sender if isinstance(sender, str) and re.fullmatch(r"[0-9A-Z]{18}", sender) else ""


def _quarantine(peer: ExchangePeer, body: bytes, digest: str, exc: PackageError,
                ip: str | None) -> tuple[int, dict[str, Any]]:
    package_id, sender = _peek_envelope(body)
    blob = default_storage.save(f"exchange/quarantine/{uuid.uuid4().hex}.zip", ContentFile(body))
    row = InboundPackage.objects.create(
        package_id=package_id, peer=peer, sender_uscc=sender, status=InboundPackage.Status.QUARANTINED,
        code=exc.code[:40], reason=exc.message[:500], size=len(body), sha256=digest, blob_key=blob)
    logger.warning("exchange package from %s quarantined: %s (%s) package=%s", peer.code, exc.code, exc.message,
                   package_id)
    do_record_audit(actor=None, actor_name=f"交换节点 {peer.code}", action="exchange.quarantined", obj=row, ip=ip,
                    changes={"code": exc.code, "peer": peer.code, "ip": ip, "package_id": str(package_id or ""),
                             "reason": exc.message, "sha256": digest, "size": len(body)})
    return 422, {"code": exc.code, "message": exc.message, "status": "quarantined"}


def _addressees(recipients: list[str]) -> list[Agency]:
    found = {a.uscc: a for a in local_agencies().filter(uscc__in=recipients)}
    unknown = [u for u in recipients if u not in found]
    if unknown:
        raise PackageError("unknown_recipient", f"接收机关 {'、'.join(unknown)} 不是本节点的机关，交换包已隔离")
    return [found[u] for u in dict.fromkeys(recipients)]


def _duplicate(peer: ExchangePeer, accepted: InboundPackage, body: bytes, digest: str,
               ip: str | None) -> tuple[int, dict[str, Any]]:
    if accepted.sha256 != digest:
        # Same id, other bytes: a sender bug or a forgery by a key holder; never silently "already have it".
        return _quarantine(peer, body, digest, PackageError(
            "package_conflict", f"交换包 {accepted.package_id} 已接收过内容不同的版本，本次到达的包已隔离"), ip)
    logger.info("exchange package %s from %s: duplicate delivery", accepted.package_id, peer.code)
    return 200, {"status": "duplicate", "package_id": str(accepted.package_id)}


def _store(prefix: str, data: bytes, stored: list[str]) -> str:
    name = default_storage.save(f"{prefix}{uuid.uuid4().hex}", ContentFile(data))
    stored.append(name)
    return name


def _receive_package(peer: ExchangePeer, body: bytes, ip: str | None) -> tuple[int, dict[str, Any]]:
    digest = sha256_hex(body)
    try:
        package = read_package(body, max_bytes=settings.OA_EXCHANGE_MAX_BYTES, trusted_keys=trusted_keys(peer))
        if not package.pdf.startswith(b"%PDF-"):
            raise PackageError("package_malformed", "交换包格式错误：正文（document.pdf）不是 PDF 文件")
        level = (package.metadata.get("密级和保密期限") or {}) if isinstance(package.metadata, dict) else {}
        level = str(level.get("密级") or "") if isinstance(level, dict) else ""
        if level in CLASSIFIED_LEVELS.values():
            raise PackageError("package_classified", f"交换包标注为“{level}”：公文交换只传输非涉密公文，拒收")
        agencies = _addressees(package.recipients)
    except PackageError as exc:
        return _quarantine(peer, body, digest, exc, ip)
    accepted = inbound_package_of(package.package_id)
    if accepted is not None:
        return _duplicate(peer, accepted, body, digest, ip)
    try:
        # Two deliveries of one package at once: the second insert waits for the first transaction on the unique
        # index (accepted once per package id) and then fails, so exactly one of them creates 收文.
        with transaction.atomic():
            inbound = InboundPackage.objects.create(
                package_id=package.package_id, peer=peer, sender_uscc=package.sender_uscc,
                status=InboundPackage.Status.ACCEPTED, size=len(body), sha256=digest)
    except IntegrityError:
        accepted = inbound_package_of(package.package_id)
        if accepted is None:  # cannot happen (the winner committed), but never answer "duplicate" for nothing
            raise P.ProtocolError("busy", "同一交换包正在另一请求中处理，请稍后重试", 503) from None
        return _duplicate(peer, accepted, body, digest, ip)

    stored: list[str] = []
    try:
        name = sender_name(peer, package.key_id, package.sender_uscc)
        pdf_key = _store("incoming/", package.pdf, stored)
        attachments = []
        for att_name, data in package.attachments:
            try:
                content_type = sniff_type(data).mime
            except Refusal:
                content_type = "application/octet-stream"
            attachments.append({"name": re.split(r"[\\/]", att_name)[-1][:255] or "附件",
                                "key": _store("incoming/", data, stored), "sha256": sha256_hex(data),
                                "size": len(data), "content_type": content_type})
        inbound.blob_key = _store("exchange/inbound/", body, stored)
        ids = []
        for agency in agencies:
            fields = fields_from_metadata(package.metadata, sender_name=name, sender_uscc=package.sender_uscc)
            fields.kind = kind_from_metadata(package.metadata, agency)  # 抄送件 ends in 阅知 (docs/receipt.md)
            incoming, _ = receive_package(
                agency=agency, fields=fields,
                package_id=package.package_id, pdf_name=pdf_key, pdf_sha256=sha256_hex(package.pdf),
                attachments=attachments)
            ids.append(incoming.pk)
        inbound.incoming_ids = ids
        inbound.save(update_fields=["blob_key", "incoming_ids"])
        do_record_audit(actor=None, actor_name=f"交换节点 {peer.code}", action="exchange.package.accepted",
                        obj=inbound, ip=ip, changes={
                            "peer": peer.code, "package_id": str(package.package_id), "sender": package.sender_uscc,
                            "recipients": package.recipients, "incoming": ids, "sha256": digest})
    except BaseException:
        for name in stored:  # storage is not transactional: do not leave files of a rolled-back package
            try:
                default_storage.delete(name)
            except Exception:
                logger.exception("could not delete %s after a failed exchange delivery", name)
        raise
    return 200, {"status": "accepted", "package_id": str(package.package_id), "incoming": len(ids)}


def _receive_receipt(peer: ExchangePeer, body: bytes, ip: str | None) -> tuple[int, dict[str, Any]]:
    receipt = P.parse_receipt(_json(body, "receipt_invalid"))
    rows = (DistributionRecipient.objects.filter(document__identifier=receipt.document,
                                                 agency__uscc=receipt.receiver_uscc, agency__exchange_node=peer.code)
            .select_related("agency", "document").order_by("id"))
    # The row of the package the receipt names (after a 补发 one agency has several); rows sent before package ids
    # were kept have none.
    row = rows.filter(package_id=receipt.package_id).first() or rows.filter(package_id__isnull=True).first()
    if row is None:
        raise P.ProtocolError("unknown_distribution", "本节点没有该公文发往该机关的分发记录", 404)
    applied = receive_receipt(row, receipt.action, actor_name=receipt.actor, reason=receipt.reason,
                               copies=receipt.copies, at=receipt.timestamp)
    row.refresh_from_db(fields=["status"])
    return 200, {"status": "applied" if applied else "ignored", "recipient_status": row.status}


def _receive_withdrawal(peer: ExchangePeer, body: bytes, ip: str | None) -> tuple[int, dict[str, Any]]:
    request = P.parse_withdrawal(_json(body, "withdrawal_invalid"))
    incoming = None
    if InboundPackage.objects.filter(package_id=request.package_id, peer=peer,
                                     status=InboundPackage.Status.ACCEPTED).exists():
        incoming = (IncomingDocument.objects.filter(
            package_id=request.package_id, agency__uscc=request.receiver_uscc, agency__exchange_node="",
            source=IncomingDocument.Source.EXCHANGE).select_related("agency").first())
    if incoming is None:
        raise P.ProtocolError("unknown_incoming", "本节点没有该交换包发给该机关的收文", 404)
    if incoming.status == IncomingDocument.Status.WITHDRAWN:
        done = True  # asked again (our answer was lost): the same answer
    else:
        done = receive_withdrawal(incoming, reason=request.reason)
    action = P.WITHDRAWN if done else P.WITHDRAW_REFUSED
    do_record_audit(actor=None, actor_name=f"交换节点 {peer.code}", action="exchange.withdrawal", obj=incoming,
                    ip=ip, changes={"peer": peer.code, "package_id": request.package_id, "result": action,
                                    "reason": request.reason, "request_id": request.request_id})
    receipt = P.Receipt(package_id=request.package_id, document=request.document,
                        receiver_uscc=request.receiver_uscc, action=action, actor=incoming.agency.name[:50],
                        timestamp=timezone.now().astimezone(P.BEIJING).replace(microsecond=0))
    return 200, {"status": action, "receipt": receipt.as_body()}


_HANDLERS: dict[str, Callable[[ExchangePeer, bytes, str | None], tuple[int, dict[str, Any]]]] = {
    P.PACKAGES: _receive_package,
    P.RECEIPTS: _receive_receipt,
    P.WITHDRAWALS: _receive_withdrawal,
}


def do_prune_nonces() -> int:
    """Forget nonces whose requests would be refused by their timestamp anyway."""
    cutoff = timezone.now() - timedelta(seconds=2 * settings.OA_EXCHANGE_CLOCK_SKEW + NONCE_MARGIN)
    deleted, _ = ExchangeNonce.objects.filter(seen_at__lt=cutoff).delete()
    return deleted


# ---- node descriptor and peers ---------------------------------------------------------------------------


def do_export_node() -> dict[str, Any]:
    """This node's descriptor for peers (creating missing agency keys): what `exchange_node add-peer` reads."""
    node = node_identity()
    if not node.base_url:
        raise P.ProtocolError("exchange_url_missing", "未配置 OA_EXCHANGE_URL（对端访问本节点的地址）", 500)
    agencies = []
    for agency in local_agencies().order_by("sort_order", "id"):
        row = do_ensure_agency_key(agency)
        agencies.append({"uscc": agency.uscc, "name": agency.name, "short_name": agency.short_name,
                         "doc_code": agency.doc_code, "kind": agency.kind, "key_id": row.key_id,
                         "public_key": row.public_key})
    return {"format": P.DESCRIPTOR_FORMAT, "code": node.code, "name": node.name, "base_url": node.base_url,
            "node_key_id": key_id(node.key.public_key()), "node_public_key": P.public_pem(node.key),
            "agencies": agencies}


def _invalid(message: str) -> P.ProtocolError:
    return P.ProtocolError("descriptor_invalid", f"节点描述无效：{message}")


def _checked_descriptor(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or data.get("format") != P.DESCRIPTOR_FORMAT:
        raise _invalid(f"须为 {P.DESCRIPTOR_FORMAT} 格式的 JSON 对象")
    code, name, url = data.get("code"), data.get("name"), data.get("base_url")
    if not isinstance(code, str) or not P.NODE_CODE_RE.match(code):
        raise _invalid("节点代码须为小写字母、数字和连字符（至多 40 个字符）")
    if code == settings.OA_EXCHANGE_NODE_CODE:
        raise _invalid(f"“{code}”是本节点自己的代码")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise _invalid("节点名称缺失或超过 100 个字符")
    if not isinstance(url, str) or not re.match(r"^https?://[^\s/]+", url) or len(url) > 300:
        raise _invalid("地址须为 http:// 或 https:// 开头的网址")
    node_key = P.load_public_pem(str(data.get("node_public_key") or ""))
    if data.get("node_key_id") not in (None, key_id(node_key)):
        raise _invalid("节点密钥标识与节点公钥不符")
    agencies = data.get("agencies")
    if not isinstance(agencies, list):
        raise _invalid("缺少机关列表")
    checked = []
    for entry in agencies:
        if not isinstance(entry, dict):
            raise _invalid("机关条目须为对象")
        uscc, agency_name = entry.get("uscc"), entry.get("name")
        try:
            validate_uscc(uscc)
        except Exception:
            raise _invalid(f"机关统一社会信用代码“{str(uscc)[:20]}”无效") from None
        if not isinstance(agency_name, str) or not agency_name.strip() or len(agency_name) > 100:
            raise _invalid(f"机关 {uscc} 的名称缺失或超过 100 个字符")
        public = P.load_public_pem(str(entry.get("public_key") or ""))
        kid = key_id(public)
        if entry.get("key_id") not in (None, kid):
            raise _invalid(f"机关 {agency_name} 的密钥标识与公钥不符")
        checked.append({**entry, "uscc": uscc, "name": agency_name.strip(), "key_id": kid})
    if len({e["uscc"] for e in checked}) != len(checked):
        raise _invalid("机关重复")
    return {"code": code, "name": name.strip(), "base_url": url.rstrip("/"), "node_key_id": key_id(node_key),
            "node_public_key": P.public_pem(node_key), "agencies": checked}


def check_add_peer(descriptor: Any, *, actor: Person | None = None) -> tuple[ExchangePeer, bool, list[Agency]]:
    """Register (or update) a peer from its exported descriptor, and its agencies as Agency rows hosted by it
    (so 分发 can choose them). Returns (peer, created, agencies)."""
    data = _checked_descriptor(descriptor)
    code = data["code"]
    for entry in data["agencies"]:
        existing = Agency.objects.filter(uscc=entry["uscc"]).first()
        if existing is not None and not existing.exchange_node:
            raise _invalid(f"{existing.name}（{entry['uscc']}）是本节点的机关，不能登记为节点“{code}”的机关")
        if existing is not None and existing.exchange_node != code:
            raise _invalid(f"{existing.name}（{entry['uscc']}）已登记在节点“{existing.exchange_node}”")
        if Agency.objects.filter(name=entry["name"]).exclude(uscc=entry["uscc"]).exists():
            raise _invalid(f"本节点已有同名机关“{entry['name']}”")
    with transaction.atomic():
        peer, created = ExchangePeer.objects.update_or_create(code=code, defaults={
            "name": data["name"], "base_url": data["base_url"], "node_key_id": data["node_key_id"],
            "node_public_key": data["node_public_key"], "is_active": True,
            "agency_keys": {e["key_id"]: {"uscc": e["uscc"], "name": e["name"], "public_key": P.public_pem(
                P.load_public_pem(e["public_key"]))} for e in data["agencies"]},
        })
        agencies = []
        for entry in data["agencies"]:
            doc_code = str(entry.get("doc_code") or "")[:20]
            if not doc_code or Agency.objects.filter(doc_code=doc_code).exclude(uscc=entry["uscc"]).exists():
                doc_code = entry["uscc"]  # unique by construction; it is never used to number our documents
            kind = entry.get("kind") if entry.get("kind") in Agency.Kind.values else Agency.Kind.OTHER
            agency = check_upsert_agency(actor=actor, name=entry["name"],
                                         short_name=str(entry.get("short_name") or entry["name"])[:50],
                                         doc_code=doc_code, uscc=entry["uscc"], kind=kind, sort_order=900,
                                         via="exchange")
            do_update_agency(actor=actor, via="exchange", agency=agency,
                             fields={"exchange_node": code, "is_active": True})
            agencies.append(agency)
        # Agencies the peer no longer lists can no longer be chosen at 分发.
        gone = Agency.objects.filter(exchange_node=code, is_active=True).exclude(pk__in=[a.pk for a in agencies])
        for agency in gone:
            do_update_agency(actor=actor, via="exchange", agency=agency, fields={"is_active": False})
        do_record_audit(actor=actor, action="exchange.peer.add" if created else "exchange.peer.update", obj=peer,
                        changes={"code": code, "base_url": data["base_url"], "node_key_id": data["node_key_id"],
                                 "agencies": [f"{a.name}（{a.uscc}）" for a in agencies]})
    return peer, created, agencies
