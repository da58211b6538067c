"""Digest functions for the audit chain: SHA-256 (default) or SM3 (GB/T 32905)."""

from __future__ import annotations

import hashlib

from gmssl import sm3 as _sm3


def sm3_hex(data: bytes) -> str:
    return _sm3.sm3_hash(list(data))


def digest(algorithm: str, data: bytes) -> str:
    if algorithm == "sha256":
        return hashlib.sha256(data).hexdigest()
    if algorithm == "sm3":
        return sm3_hex(data)
    raise ValueError(f"unknown digest algorithm {algorithm!r}")
