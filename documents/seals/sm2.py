"""SM2 signatures (GB/T 32918) with SM3 (GB/T 32905): gmssl for the curve arithmetic, OpenSSL for SM3.

Pitfalls handled here (STACK.md §9):
- gmssl has no key generation API and its default nonce comes from ``random.choice``; a predictable nonce leaks
  the private key, so ``d`` and every ``k`` come from ``secrets``.
- ``CryptSM2`` strips the characters "0" and "4" (not the prefix "04") from public keys, and does so whenever the
  key *starts* with "04" — also an unprefixed key whose x happens to begin with 0x04. We keep public keys as 128 hex
  digits without the prefix and set the attribute after construction, bypassing that code (``_engine``).
- ``sign_with_sm3`` hashes Z_A ‖ M with gmssl's pure-Python SM3, which is slow for a seal carrying its PNG, so
  e = SM3(Z_A ‖ M) is computed with ``cryptography`` (OpenSSL) and only the curve step goes through gmssl. The
  result is the standard SM2-with-SM3 signature with the default user ID "1234567812345678" (GM/T 0009); the tests
  cross-check it against gmssl's own ``sign_with_sm3``/``verify_with_sm3``.
- Signature values are DER ``SM2Signature ::= SEQUENCE { r INTEGER, s INTEGER }`` (GB/T 35276), not raw r‖s.
"""

from __future__ import annotations

import secrets

from asn1crypto import algos
from cryptography.hazmat.primitives import hashes
from gmssl import sm2 as _gm

CURVE = _gm.default_ecc_table
P = int(CURVE["p"], 16)
A = int(CURVE["a"], 16)
B = int(CURVE["b"], 16)
N = int(CURVE["n"], 16)
G = CURVE["g"]
DEFAULT_ID = b"1234567812345678"

OID_SM2_CURVE = "1.2.156.10197.1.301"  # sm2p256v1 (public key parameters)
OID_SM3 = "1.2.156.10197.1.401"
OID_SM2_SM3 = "1.2.156.10197.1.501"  # SM2-with-SM3 signature (signAlgID of GB/T 38540)


class SM2Error(ValueError):
    """A malformed SM2 key or signature encoding."""


def sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def _nonce() -> str:
    return f"{secrets.randbelow(N - 2) + 1:064x}"


def is_on_curve(public_hex: str) -> bool:
    if len(public_hex) != 128:
        return False
    try:
        x, y = int(public_hex[:64], 16), int(public_hex[64:], 16)
    except ValueError:
        return False
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def check_public_key(public_hex: str) -> str:
    """Normalise to 128 lower-case hex digits (x‖y, no 04 prefix) and refuse points off the curve."""
    key = public_hex.strip().lower()
    if len(key) == 130 and key.startswith("04"):
        key = key[2:]
    if not is_on_curve(key):
        raise SM2Error("SM2 公钥无效（不在 SM2 曲线上）")
    return key


def public_key_of(private_hex: str) -> str:
    d = int(private_hex, 16)
    if not 1 <= d <= N - 2:
        raise SM2Error("SM2 私钥超出范围")
    return _gm.CryptSM2(private_key=private_hex, public_key="")._kg(d, G)


def generate_keypair() -> tuple[str, str]:
    """(private key as 64 hex digits, public key as 128 hex digits x‖y without the 04 prefix)."""
    private_hex = f"{secrets.randbelow(N - 2) + 1:064x}"  # d ∈ [1, n−2]
    return private_hex, public_key_of(private_hex)


def z_a(public_hex: str, uid: bytes = DEFAULT_ID) -> bytes:
    """Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA)."""
    entl = (len(uid) * 8).to_bytes(2, "big")
    return sm3(entl + uid + bytes.fromhex(CURVE["a"] + CURVE["b"] + G + public_hex))


def digest_for_signing(public_hex: str, message: bytes) -> bytes:
    return sm3(z_a(public_hex) + message)


def encode_signature(r: int, s: int) -> bytes:
    return algos.DSASignature({"r": r, "s": s}).dump()


def decode_signature(der: bytes) -> tuple[int, int]:
    try:
        parsed = algos.DSASignature.load(der, strict=True)
        r, s = parsed["r"].native, parsed["s"].native
    except (ValueError, TypeError) as exc:
        raise SM2Error("SM2 签名值不是 DER 编码的 SM2Signature") from exc
    if not (1 <= r < N and 1 <= s < N):
        raise SM2Error("SM2 签名值超出范围")
    return r, s


def _engine(private_hex: str, public_hex: str) -> _gm.CryptSM2:
    engine = _gm.CryptSM2(private_key=private_hex, public_key="")
    engine.public_key = public_hex
    return engine


def sign(private_hex: str, public_hex: str, message: bytes) -> bytes:
    """SM2-with-SM3 over ``message`` (Z_A with the default ID); DER SM2Signature."""
    e = digest_for_signing(public_hex, message)
    signer = _engine(private_hex, public_hex)
    while True:  # gmssl returns None for the (negligible) r = 0, r + k = n or s = 0 cases: retry with a fresh k
        raw = signer.sign(e, _nonce())
        if raw:
            return encode_signature(int(raw[:64], 16), int(raw[64:], 16))


def verify(public_hex: str, message: bytes, signature_der: bytes) -> bool:
    try:
        key = check_public_key(public_hex)
        r, s = decode_signature(signature_der)
    except SM2Error:
        return False
    e = digest_for_signing(key, message)
    try:
        return bool(_engine("", key).verify(f"{r:064x}{s:064x}", e))
    except (TypeError, ValueError):  # a point at infinity on the way: not a valid signature
        return False
