"""WXBizMsgCrypt: callback URL verification and message decrypt/encrypt (DOMAIN.md §4.3, docs/wecom.md).

Same algorithm as the official samples (sbzhu/weworkapi_python): signature = SHA1 of the sorted
[token, timestamp, nonce, encrypt]; AES-256-CBC with key = base64(EncodingAESKey + "="), iv = key[:16];
plaintext = 16 random bytes ‖ 4-byte big-endian length ‖ msg ‖ receiveid, PKCS#7-padded to 32 bytes.
Every failure raises WecomCryptoError carrying the official error code, so callers can answer with it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import struct
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK_SIZE = 32  # PKCS#7 block size used by WeCom (not the AES block size of 16)
MAX_XML_BYTES = 256 * 1024

# Official error codes (ierror.py of the samples). The numbers are stable: the callback answers with them.
OK = 0
VALIDATE_SIGNATURE_ERROR = -40001
PARSE_XML_ERROR = -40002
COMPUTE_SIGNATURE_ERROR = -40003
ILLEGAL_AES_KEY = -40004
VALIDATE_CORPID_ERROR = -40005
ENCRYPT_AES_ERROR = -40006
DECRYPT_AES_ERROR = -40007
ILLEGAL_BUFFER = -40008
ENCODE_BASE64_ERROR = -40009
DECODE_BASE64_ERROR = -40010
GEN_RETURN_XML_ERROR = -40011
# Ours, not the samples' (they check no freshness): outside the official range so they never collide.
TIMESTAMP_ERROR = -40101
NONCE_REPLAYED = -40102

ERROR_NAMES: dict[int, tuple[str, str]] = {
    VALIDATE_SIGNATURE_ERROR: ("ValidateSignature_Error", "签名校验失败"),
    PARSE_XML_ERROR: ("ParseXml_Error", "报文解析失败"),
    COMPUTE_SIGNATURE_ERROR: ("ComputeSignature_Error", "签名计算失败"),
    ILLEGAL_AES_KEY: ("IllegalAesKey", "EncodingAESKey 非法"),
    VALIDATE_CORPID_ERROR: ("ValidateCorpid_Error", "接收方标识（corpid）不符"),
    ENCRYPT_AES_ERROR: ("EncryptAES_Error", "AES 加密失败"),
    DECRYPT_AES_ERROR: ("DecryptAES_Error", "AES 解密失败"),
    ILLEGAL_BUFFER: ("IllegalBuffer", "解密后的报文结构非法"),
    ENCODE_BASE64_ERROR: ("EncodeBase64_Error", "Base64 编码失败"),
    DECODE_BASE64_ERROR: ("DecodeBase64_Error", "Base64 解码失败"),
    GEN_RETURN_XML_ERROR: ("GenReturnXml_Error", "生成回复报文失败"),
    TIMESTAMP_ERROR: ("Timestamp_Error", "时间戳缺失、格式错误或超出允许的时间窗口（请检查双方服务器时钟）"),
    NONCE_REPLAYED: ("Nonce_Replayed", "重复的请求：该 timestamp 与 nonce 已经用过"),
}


class WecomCryptoError(Exception):
    """A callback that cannot be trusted or read. `code` is the official WXBizMsgCrypt error number."""

    def __init__(self, code: int, detail: str = "") -> None:
        self.code = code
        self.name, self.message = ERROR_NAMES[code]
        super().__init__(f"{code} {self.name}: {self.message}{'（' + detail + '）' if detail else ''}")

    def as_dict(self) -> dict[str, object]:
        return {"errcode": self.code, "code": self.name, "message": self.message}


def _b64decode(text: str | bytes) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WecomCryptoError(DECODE_BASE64_ERROR, str(exc)) from exc


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """Lowercase hex SHA1 over the plain lexicographic sort of the four values."""
    try:
        joined = "".join(sorted([token, str(timestamp), str(nonce), encrypt]))
        return hashlib.sha1(joined.encode()).hexdigest()  # noqa: S324 - the platform's protocol, not our choice
    except (TypeError, UnicodeError) as exc:
        raise WecomCryptoError(COMPUTE_SIGNATURE_ERROR, str(exc)) from exc


def check_timestamp(timestamp: str, *, window: int, now: float | None = None) -> None:
    """Refuse a callback whose timestamp (Unix seconds) is more than `window` seconds from our clock: a
    captured request cannot be replayed later, and the nonces we remember need only cover the window."""
    text = str(timestamp or "")
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise WecomCryptoError(TIMESTAMP_ERROR, "timestamp 须为 Unix 秒数")
    skew = int(text) - (time.time() if now is None else now)
    if abs(skew) > window:
        raise WecomCryptoError(TIMESTAMP_ERROR, f"与本机时钟相差 {int(skew)} 秒，允许 ±{window} 秒")


def parse_xml(data: str | bytes) -> dict[str, str]:
    """Flat <xml><Tag>text</Tag>…</xml> → {Tag: text}. Refuses DTDs/entities outright: the body is untrusted
    until its signature is checked, and a callback never needs them."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_XML_BYTES or b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
        raise WecomCryptoError(PARSE_XML_ERROR, "报文过大或含 DTD")
    try:
        root = ET.fromstring(raw)  # noqa: S314 - DTD/entities refused above, size capped
    except ET.ParseError as exc:
        raise WecomCryptoError(PARSE_XML_ERROR, str(exc)) from exc
    return {child.tag: (child.text or "") for child in root}


def parse_json(data: str | bytes) -> dict[str, str]:
    """A flat JSON object → {key: text} (the JSON form of callbacks: `{"tousername", "encrypt", "agentid"}`
    outside, the same fields as the XML form inside). Nested values are refused: a callback never has them."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_XML_BYTES:
        raise WecomCryptoError(PARSE_XML_ERROR, "报文过大")
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WecomCryptoError(PARSE_XML_ERROR, f"JSON：{exc}") from exc
    if not isinstance(value, dict) or any(isinstance(v, (dict, list)) for v in value.values()):
        raise WecomCryptoError(PARSE_XML_ERROR, "JSON 不是扁平对象")
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def parse_message(data: str | bytes) -> dict[str, str]:
    """XML or JSON by its first character, the way the platform sends either."""
    raw = data.encode() if isinstance(data, str) else data
    return parse_json(raw) if raw.lstrip()[:1] == b"{" else parse_xml(raw)


class WXBizMsgCrypt:
    def __init__(
        self,
        token: str,
        encoding_aes_key: str,
        receive_id: str,
        *,
        random_bytes: Callable[[], bytes] | None = None,
    ) -> None:
        if len(encoding_aes_key or "") != 43:
            raise WecomCryptoError(ILLEGAL_AES_KEY, "EncodingAESKey 必须为 43 个字符")
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except (binascii.Error, ValueError) as exc:
            raise WecomCryptoError(ILLEGAL_AES_KEY, str(exc)) from exc
        if len(key) != 32:
            raise WecomCryptoError(ILLEGAL_AES_KEY, "密钥长度不是 32 字节")
        self.token = token
        self.key = key
        self.iv = key[:16]
        self.receive_id = receive_id
        # Injectable so the DOMAIN.md §4.4 encrypt vector can be reproduced byte for byte.
        self._random = random_bytes or (lambda: os.urandom(16))

    # --- primitives ---------------------------------------------------------------------------------------

    def encrypt(self, msg: str) -> str:
        try:
            body = msg.encode()
            plain = self._random() + struct.pack(">I", len(body)) + body + self.receive_id.encode()
            pad = BLOCK_SIZE - len(plain) % BLOCK_SIZE
            plain += bytes([pad]) * pad
            encryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.iv)).encryptor()
            cipher = encryptor.update(plain) + encryptor.finalize()
        except (ValueError, TypeError) as exc:
            raise WecomCryptoError(ENCRYPT_AES_ERROR, str(exc)) from exc
        try:
            return base64.b64encode(cipher).decode()
        except (binascii.Error, ValueError) as exc:  # pragma: no cover - b64encode of bytes cannot fail
            raise WecomCryptoError(ENCODE_BASE64_ERROR, str(exc)) from exc

    def decrypt(self, encrypted: str) -> str:
        cipher = _b64decode(encrypted)
        if not cipher or len(cipher) % 16:
            raise WecomCryptoError(DECRYPT_AES_ERROR, "密文长度不是 16 的整数倍")
        try:
            decryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.iv)).decryptor()
            plain = decryptor.update(cipher) + decryptor.finalize()
        except ValueError as exc:
            raise WecomCryptoError(DECRYPT_AES_ERROR, str(exc)) from exc
        pad = plain[-1]
        if not 1 <= pad <= BLOCK_SIZE or plain[-pad:] != bytes([pad]) * pad:
            raise WecomCryptoError(DECRYPT_AES_ERROR, "填充非法")
        content = plain[16:-pad]
        if len(content) < 4:
            raise WecomCryptoError(ILLEGAL_BUFFER, "报文过短")
        (length,) = struct.unpack(">I", content[:4])
        if length > len(content) - 4:
            raise WecomCryptoError(ILLEGAL_BUFFER, "长度字段越界")
        msg, receive_id = content[4 : 4 + length], content[4 + length :]
        if not hmac.compare_digest(receive_id, self.receive_id.encode()):
            raise WecomCryptoError(VALIDATE_CORPID_ERROR)
        try:
            return msg.decode()
        except UnicodeDecodeError as exc:
            raise WecomCryptoError(ILLEGAL_BUFFER, "报文不是 UTF-8") from exc

    def check_signature(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        expected = signature(self.token, timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected, (msg_signature or "").lower()):
            raise WecomCryptoError(VALIDATE_SIGNATURE_ERROR)

    # --- the three operations of the callback ---------------------------------------------------------------

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """GET verification: echostr arrives URL-decoded (Django does that); answer with the plaintext."""
        self.check_signature(msg_signature, timestamp, nonce, echostr)
        return self.decrypt(echostr)

    def decrypt_msg(self, body: str | bytes, msg_signature: str, timestamp: str, nonce: str) -> str:
        """POST body `<xml><ToUserName/><Encrypt/><AgentID/></xml>` (or its JSON form `{"encrypt": …}`) → the
        decrypted inner message."""
        fields = parse_message(body)
        encrypt = fields.get("Encrypt") or fields.get("encrypt")
        if not encrypt:
            raise WecomCryptoError(PARSE_XML_ERROR, "缺少 Encrypt")
        self.check_signature(msg_signature, timestamp, nonce, encrypt)
        return self.decrypt(encrypt)

    def encrypt_msg(self, reply: str, nonce: str | None = None, timestamp: str | None = None) -> str:
        """A passive reply, re-encrypted and signed."""
        nonce = nonce or str(secrets.randbelow(10**10))
        timestamp = timestamp or str(int(time.time()))
        encrypt = self.encrypt(reply)
        sig = signature(self.token, timestamp, nonce, encrypt)
        return (
            f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt><MsgSignature><![CDATA[{sig}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )
