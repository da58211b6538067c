"""Private keys at rest: AES-256-GCM under the key-encryption key (KEK) from ``OA_SEAL_KEK``.

Blob layout (all binary): ``b"OAK1"`` ‖ key id (8 bytes) ‖ nonce (12 bytes) ‖ ciphertext ‖ GCM tag (16 bytes).
The key id is derived from the KEK itself (first 8 bytes of SHA-256 over a label and the key), so it needs no
naming and a wrong KEK is recognised before decryption is even tried. The associated data binds each blob to the
row and purpose it belongs to (e.g. ``seal:<esID>:sm2``), so a blob copied onto another seal does not decrypt.

Rotation: put the new key in ``OA_SEAL_KEK`` and the old one in ``OA_SEAL_KEK_PREVIOUS`` (comma-separated), run
``manage.py seal_ca rotate-kek`` (re-encrypts every private key under the new KEK), then drop the old key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from oa.refusals import Refusal

MAGIC = b"OAK1"
KEY_ID_BYTES = 8
NONCE_BYTES = 12
HEADER = len(MAGIC) + KEY_ID_BYTES + NONCE_BYTES


class KekError(Refusal):
    """The KEK is missing, malformed, or is not the key a stored private key was encrypted with."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, status=500)


@dataclass(frozen=True)
class Kek:
    key: bytes

    @property
    def key_id(self) -> str:
        return hashlib.sha256(b"oa-seal-kek-id:" + self.key).digest()[:KEY_ID_BYTES].hex()


def parse_kek(raw: str) -> Kek:
    """A KEK is 32 random bytes written as base64 (standard or URL-safe alphabet, 44 characters)."""
    text = raw.strip()
    try:
        key = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise KekError("seal_kek_invalid", "OA_SEAL_KEK 格式错误：须为 32 字节随机数的 base64 编码（44 个字符）") from None
    if len(key) != 32:
        raise KekError("seal_kek_invalid", f"OA_SEAL_KEK 长度错误：须为 32 字节（当前 {len(key)} 字节）")
    return Kek(key)


def generate_kek() -> str:
    """A fresh KEK for OA_SEAL_KEK (``manage.py seal_ca new-kek`` prints one)."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class Keyring:
    current: Kek
    previous: tuple[Kek, ...] = ()

    def by_id(self, key_id: str) -> Kek | None:
        for kek in (self.current, *self.previous):
            if kek.key_id == key_id:
                return kek
        return None


def keyring_from_settings() -> Keyring:
    from django.conf import settings

    raw = getattr(settings, "SEAL_KEK", "") or os.environ.get("OA_SEAL_KEK", "")
    if not raw:
        raise KekError("seal_kek_missing", "未配置 OA_SEAL_KEK（印章私钥加密密钥），无法使用电子印章")
    previous = tuple(parse_kek(p) for p in getattr(settings, "SEAL_KEK_PREVIOUS", []) if p.strip())
    return Keyring(parse_kek(raw), previous)


def blob_key_id(blob: bytes) -> str:
    blob = bytes(blob)
    if len(blob) < HEADER + 16 or not blob.startswith(MAGIC):
        raise KekError("seal_key_corrupt", "印章私钥密文格式错误（不是本系统的加密格式），可能已被篡改")
    return blob[len(MAGIC) : len(MAGIC) + KEY_ID_BYTES].hex()


def encrypt(plaintext: bytes, *, context: str, keyring: Keyring | None = None) -> bytes:
    kek = (keyring or keyring_from_settings()).current
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(kek.key).encrypt(nonce, plaintext, context.encode())
    return MAGIC + bytes.fromhex(kek.key_id) + nonce + sealed


def decrypt(blob: bytes, *, context: str, keyring: Keyring | None = None) -> bytes:
    keyring = keyring or keyring_from_settings()
    blob = bytes(blob)
    key_id = blob_key_id(blob)
    kek = keyring.by_id(key_id)
    if kek is None:
        raise KekError(
            "seal_kek_mismatch",
            f"印章私钥无法解密：它由密钥标识为 {key_id} 的 KEK 加密，而当前 OA_SEAL_KEK 的密钥标识为 "
            f"{keyring.current.key_id}。请配置正确的 OA_SEAL_KEK；轮换期间须把旧密钥放入 OA_SEAL_KEK_PREVIOUS。",
        )
    nonce = blob[len(MAGIC) + KEY_ID_BYTES : HEADER]
    try:
        return AESGCM(kek.key).decrypt(nonce, blob[HEADER:], context.encode())
    except InvalidTag:
        raise KekError("seal_key_corrupt", "印章私钥密文校验失败（密文或其归属已被篡改），拒绝使用") from None


def reencrypt(blob: bytes, *, context: str, keyring: Keyring | None = None) -> bytes:
    """The same plaintext under the current KEK (rotation); unchanged blobs are returned as they are."""
    keyring = keyring or keyring_from_settings()
    if blob_key_id(blob) == keyring.current.key_id:
        return bytes(blob)
    return encrypt(decrypt(blob, context=context, keyring=keyring), context=context, keyring=keyring)
