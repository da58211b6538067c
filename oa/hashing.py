"""Digest functions for the audit chain: SHA-256 (default) or SM3 (GB/T 32905).

SM3 goes through the fastest implementation this machine has (measured, docs/performance.md § 审计日志): the
OpenSSL behind ``hashlib`` when it offers "sm3" (~7 µs for a 600-byte entry), else ``cryptography``'s bundled
OpenSSL (``hashes.SM3``, ~8 µs), else gmssl's pure-Python ``sm3_hash`` (~4.8 ms, 600× slower). All three give
the same digests (tests/test_audit_chains.py checks the GB/T 32905 vectors against each).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from gmssl import sm3 as _gmssl_sm3


def sm3_hex_pure(data: bytes) -> str:
    """The pure-Python fallback (gmssl)."""
    return _gmssl_sm3.sm3_hash(list(data))


def _hashlib_sm3() -> Callable[[bytes], str] | None:
    try:
        hashlib.new("sm3", b"")
    except ValueError:  # this OpenSSL build has no SM3 (e.g. a FIPS-only provider)
        return None
    return lambda data: hashlib.new("sm3", data).hexdigest()


def _cryptography_sm3() -> Callable[[bytes], str] | None:
    try:
        from cryptography.hazmat.primitives import hashes

        hashes.Hash(hashes.SM3()).finalize()
    except Exception:  # no SM3 in the OpenSSL cryptography was built against
        return None

    def sm3(data: bytes) -> str:
        h = hashes.Hash(hashes.SM3())
        h.update(data)
        return h.finalize().hex()

    return sm3


SM3_IMPLEMENTATIONS: dict[str, Callable[[bytes], str]] = {
    name: impl
    for name, impl in (("hashlib", _hashlib_sm3()), ("cryptography", _cryptography_sm3()), ("gmssl", sm3_hex_pure))
    if impl is not None
}
SM3_IMPLEMENTATION = next(iter(SM3_IMPLEMENTATIONS))
sm3_hex: Callable[[bytes], str] = SM3_IMPLEMENTATIONS[SM3_IMPLEMENTATION]


def digest(algorithm: str, data: bytes) -> str:
    if algorithm == "sha256":
        return hashlib.sha256(data).hexdigest()
    if algorithm == "sm3":
        return sm3_hex(data)
    raise ValueError(f"unknown digest algorithm {algorithm!r}")
