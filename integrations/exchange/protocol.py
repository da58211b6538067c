"""The HTTP exchange protocol between deployments: request signing and verification, node keys, and the JSON
bodies of receipts and withdrawals. Pure: no database, no settings, no network. See docs/exchange.md「协议」.

Every request carries the sending node's code, the receiving node's code, a Unix timestamp, a random nonce and
the body's SHA-256 in headers, and an Ed25519 signature by the sending node's key over the canonical string

    OA-EXCHANGE/1 \\n METHOD \\n PATH \\n FROM \\n TO \\n TIMESTAMP \\n NONCE \\n BODY-SHA256

so a request cannot be moved to another path, another receiving node or another body, and a replay within the
timestamp window is caught by the nonce (the receiver remembers nonces for longer than the window).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import re
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.core.exceptions import ValidationError

from oa.refusals import Refusal
from oa.uscc import validate_uscc

SCHEME = "OA-EXCHANGE/1"
H_FROM = "X-OA-Exchange-From"
H_TO = "X-OA-Exchange-To"
H_TIMESTAMP = "X-OA-Exchange-Timestamp"
H_NONCE = "X-OA-Exchange-Nonce"
H_SHA256 = "X-OA-Exchange-Content-SHA256"
H_SIGNATURE = "X-OA-Exchange-Signature"
SIGNED_HEADERS = (H_FROM, H_TO, H_TIMESTAMP, H_NONCE, H_SHA256, H_SIGNATURE)

# The endpoints, relative to the exchange root ("/exchange" on a default deployment).
PACKAGES = "/v1/packages"
RECEIPTS = "/v1/receipts"
WITHDRAWALS = "/v1/withdrawals"

NODE_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
DESCRIPTOR_FORMAT = "oa-exchange-node/1"

SIGNED, RETURNED, WITHDRAWN, WITHDRAW_REFUSED = "signed", "returned", "withdrawn", "withdraw_refused"
RECEIPT_ACTIONS = (SIGNED, RETURNED, WITHDRAWN, WITHDRAW_REFUSED)
BEIJING = datetime.timezone(datetime.timedelta(hours=8))


class ProtocolError(Refusal):
    """A refused exchange request: the one refusal type (``code`` for the API and audit log, Chinese ``message``,
    HTTP ``status``), named apart so the exchange views can audit it as ``exchange.refused``."""


# ---- keys ------------------------------------------------------------------------------------------------


def new_node_key() -> str:
    """A fresh Ed25519 private key as OA_EXCHANGE_NODE_KEY wants it: base64 of the 32 raw bytes."""
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return base64.b64encode(raw).decode("ascii")


def load_node_key(text: str) -> Ed25519PrivateKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError("node_key_invalid", "OA_EXCHANGE_NODE_KEY 格式错误：须为 Ed25519 私钥 32 字节的 base64 编码",
                            500) from None
    if len(raw) != 32:
        raise ProtocolError("node_key_invalid", f"OA_EXCHANGE_NODE_KEY 长度错误：须为 32 字节（当前 {len(raw)} 字节）", 500)
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public_pem(pem: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError):
        raise ProtocolError("public_key_invalid", "公钥不是有效的 PEM 格式") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ProtocolError("public_key_invalid", "公钥须为 Ed25519 公钥")
    return key


def private_der(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_private_der(der: bytes) -> Ed25519PrivateKey:
    key = serialization.load_der_private_key(der, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ProtocolError("agency_key_invalid", "机关交换密钥不是 Ed25519 私钥", 500)
    return key


# ---- signing ---------------------------------------------------------------------------------------------


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def canonical_request(*, method: str, path: str, sender: str, receiver: str, timestamp: int, nonce: str,
                      content_sha256: str) -> bytes:
    return "\n".join([SCHEME, method.upper(), path, sender, receiver, str(timestamp), nonce,
                      content_sha256]).encode("utf-8")


def sign_request(*, method: str, path: str, body: bytes, sender: str, receiver: str, key: Ed25519PrivateKey,
                 timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
    """The headers of a signed request (the caller adds Content-Type)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    nonce = nonce or secrets.token_hex(16)
    digest = body_sha256(body)
    signature = key.sign(canonical_request(method=method, path=path, sender=sender, receiver=receiver,
                                           timestamp=timestamp, nonce=nonce, content_sha256=digest))
    return {H_FROM: sender, H_TO: receiver, H_TIMESTAMP: str(timestamp), H_NONCE: nonce, H_SHA256: digest,
            H_SIGNATURE: base64.b64encode(signature).decode("ascii")}


@dataclass(frozen=True)
class SignedHeaders:
    sender: str
    receiver: str
    timestamp: int
    nonce: str
    content_sha256: str
    signature: bytes


def parse_headers(headers: Mapping[str, str]) -> SignedHeaders:
    """The signature headers, checked for presence and form (``headers`` must be case-insensitive, as Django's
    request.headers is)."""
    missing = [h for h in SIGNED_HEADERS if not headers.get(h)]
    if missing:
        raise ProtocolError("signature_missing", f"请求缺少签名头：{'、'.join(missing)}", 401)
    sender, receiver = headers[H_FROM].strip(), headers[H_TO].strip()
    if not NODE_CODE_RE.match(sender) or not NODE_CODE_RE.match(receiver):
        raise ProtocolError("bad_header", "节点代码格式错误（小写字母、数字和连字符，至多 40 个字符）")
    try:
        timestamp = int(headers[H_TIMESTAMP].strip())
    except ValueError:
        raise ProtocolError("bad_header", f"{H_TIMESTAMP} 须为 Unix 时间戳（秒）") from None
    nonce = headers[H_NONCE].strip()
    if not NONCE_RE.match(nonce):
        raise ProtocolError("bad_header", f"{H_NONCE} 须为 16～64 个字母、数字、“-”或“_”")
    digest = headers[H_SHA256].strip().lower()
    if not SHA256_RE.match(digest):
        raise ProtocolError("bad_header", f"{H_SHA256} 须为 64 位十六进制 SHA-256 摘要")
    try:
        signature = base64.b64decode(headers[H_SIGNATURE].strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError("bad_header", f"{H_SIGNATURE} 须为 base64 编码的 Ed25519 签名") from None
    return SignedHeaders(sender, receiver, timestamp, nonce, digest, signature)


def check_timestamp(timestamp: int, *, now: float, skew: int) -> None:
    if abs(now - timestamp) > skew:
        raise ProtocolError("stale_request", f"请求时间与本节点时间相差超过 {skew} 秒（请核对双方服务器时钟），已拒绝", 401)


def check_body(signed: SignedHeaders, body: bytes) -> None:
    if body_sha256(body) != signed.content_sha256:
        raise ProtocolError("body_hash_mismatch", "请求体的 SHA-256 与签名头不一致，可能在传输中被篡改")


def verify_signature(signed: SignedHeaders, *, method: str, path: str, public_key: Ed25519PublicKey) -> None:
    message = canonical_request(method=method, path=path, sender=signed.sender, receiver=signed.receiver,
                                timestamp=signed.timestamp, nonce=signed.nonce, content_sha256=signed.content_sha256)
    try:
        public_key.verify(signed.signature, message)
    except InvalidSignature:
        raise ProtocolError("bad_request_signature", "请求签名验证失败：不是该节点的密钥签署的，或内容已被改动", 401) from None


def verify_request(*, method: str, path: str, headers: Mapping[str, str], body: bytes,
                   public_key: Ed25519PublicKey, receiver: str, now: float, skew: int) -> SignedHeaders:
    """All the checks a receiver makes that need no database (the nonce is checked by the caller)."""
    signed = parse_headers(headers)
    if signed.receiver != receiver:
        raise ProtocolError("wrong_node", f"请求发往节点“{signed.receiver}”，本节点为“{receiver}”", 403)
    check_timestamp(signed.timestamp, now=now, skew=skew)
    check_body(signed, body)
    verify_signature(signed, method=method, path=path, public_key=public_key)
    return signed


# ---- message bodies --------------------------------------------------------------------------------------


def beijing_now() -> str:
    return datetime.datetime.now(BEIJING).isoformat(timespec="seconds")


def _uuid(value: Any, what: str, code: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        raise ProtocolError(code, f"{what}不是有效的 UUID") from None


def _uscc(value: Any, what: str, code: str) -> str:
    if not isinstance(value, str):
        raise ProtocolError(code, f"{what}缺失")
    try:
        validate_uscc(value)
    except ValidationError:
        raise ProtocolError(code, f"{what}“{value[:20]}”不是有效的统一社会信用代码") from None
    return value


def _time(value: Any, code: str) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(str(value))
    except ValueError:
        raise ProtocolError(code, "时间须为 ISO 8601 格式") from None
    if moment.utcoffset() is None:
        raise ProtocolError(code, "时间须带时区（+08:00）")
    return moment


def _text(value: Any, limit: int, what: str, code: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ProtocolError(code, f"{what}须为文本")
    if len(value) > limit:
        raise ProtocolError(code, f"{what}超过 {limit} 个字符")
    return value.strip()


@dataclass(frozen=True)
class Receipt:
    """DOMAIN.md §2.4: the receiver signed (签收), returned (退回, with a reason) or acknowledged a 取回."""

    package_id: str
    document: str  # 公文标识
    receiver_uscc: str
    action: str
    actor: str
    timestamp: datetime.datetime
    reason: str = ""
    copies: int | None = None

    def as_body(self) -> dict[str, Any]:
        return {"package_id": self.package_id, "document": self.document, "receiver_uscc": self.receiver_uscc,
                "action": self.action, "actor": self.actor, "timestamp": self.timestamp.isoformat(),
                "reason": self.reason, "copies": self.copies}


def parse_receipt(data: Any) -> Receipt:
    code = "receipt_invalid"
    if not isinstance(data, dict):
        raise ProtocolError(code, "回执须为 JSON 对象")
    action = data.get("action")
    if action not in RECEIPT_ACTIONS:
        raise ProtocolError(code, f"回执类型“{str(action)[:20]}”无效，应为 {'、'.join(RECEIPT_ACTIONS)}")
    reason = _text(data.get("reason"), 500, "理由", code)
    if action == RETURNED and not reason:
        raise ProtocolError(code, "退回回执必须说明理由")
    copies = data.get("copies")
    if copies is not None and (not isinstance(copies, int) or isinstance(copies, bool) or not 1 <= copies <= 9999):
        raise ProtocolError(code, "签收份数须为 1～9999 的整数")
    actor = _text(data.get("actor"), 50, "经办人", code)
    if not actor:
        raise ProtocolError(code, "回执缺少经办人")
    return Receipt(
        package_id=_uuid(data.get("package_id"), "交换包标识", code),
        document=_uuid(data.get("document"), "公文标识", code),
        receiver_uscc=_uscc(data.get("receiver_uscc"), "接收机关", code),
        action=action, actor=actor, timestamp=_time(data.get("timestamp"), code), reason=reason, copies=copies,
    )


@dataclass(frozen=True)
class Withdrawal:
    """The sender asks the receiving node to 取回 one recipient's copy of a package (before 签收)."""

    request_id: str
    package_id: str
    document: str
    sender_uscc: str
    receiver_uscc: str
    reason: str
    timestamp: datetime.datetime

    def as_body(self) -> dict[str, Any]:
        return {"request_id": self.request_id, "package_id": self.package_id, "document": self.document,
                "sender_uscc": self.sender_uscc, "receiver_uscc": self.receiver_uscc, "reason": self.reason,
                "timestamp": self.timestamp.isoformat()}


def parse_withdrawal(data: Any) -> Withdrawal:
    code = "withdrawal_invalid"
    if not isinstance(data, dict):
        raise ProtocolError(code, "取回申请须为 JSON 对象")
    return Withdrawal(
        request_id=_uuid(data.get("request_id"), "申请标识", code),
        package_id=_uuid(data.get("package_id"), "交换包标识", code),
        document=_uuid(data.get("document"), "公文标识", code),
        sender_uscc=_uscc(data.get("sender_uscc"), "发送机关", code),
        receiver_uscc=_uscc(data.get("receiver_uscc"), "接收机关", code),
        reason=_text(data.get("reason"), 500, "取回理由", code),
        timestamp=_time(data.get("timestamp"), code),
    )
