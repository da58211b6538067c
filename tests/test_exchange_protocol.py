"""The exchange request protocol (integrations/exchange/protocol.py): signing round trip and every way a
request is refused before the database is even asked. Pure: no database."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils.datastructures import CaseInsensitiveMapping

from integrations.exchange import protocol as P
from oa.uscc import make_uscc

PATH = "/exchange/v1/packages"
BODY = b"PK\x03\x04 a package" * 10
NOW = 1_790_000_000


@pytest.fixture(scope="module")
def key():
    return Ed25519PrivateKey.generate()


def signed(key, **over) -> dict[str, str]:
    args = dict(method="POST", path=PATH, body=BODY, sender="jiexi", receiver="jiedong", key=key, timestamp=NOW,
                nonce="0123456789abcdef0123456789abcdef")
    args.update(over)
    return P.sign_request(**args)


def verify(key, headers, **over):
    args = dict(method="POST", path=PATH, headers=CaseInsensitiveMapping(headers), body=BODY,
                public_key=key.public_key(), receiver="jiedong", now=NOW + 5, skew=300)
    args.update(over)
    return P.verify_request(**args)


def refused(code: str, status: int, call) -> P.ProtocolError:
    with pytest.raises(P.ProtocolError) as info:
        call()
    assert info.value.code == code and info.value.status == status
    assert any("\u4e00" <= ch <= "\u9fff" for ch in info.value.message)  # people read Chinese
    return info.value


def test_round_trip(key):
    headers = signed(key)
    assert set(headers) == set(P.SIGNED_HEADERS)
    assert headers[P.H_SHA256] == P.body_sha256(BODY)
    got = verify(key, headers)
    assert (got.sender, got.receiver, got.timestamp, got.nonce) == ("jiexi", "jiedong", NOW, headers[P.H_NONCE])
    # headers are matched case-insensitively, as they arrive through Django's request.headers
    verify(key, {k.lower(): v for k, v in headers.items()})


def test_canonical_string_is_documented_form():
    text = P.canonical_request(method="post", path=PATH, sender="a", receiver="b", timestamp=1, nonce="n" * 16,
                               content_sha256="0" * 64).decode()
    assert text.split("\n") == ["OA-EXCHANGE/1", "POST", PATH, "a", "b", "1", "n" * 16, "0" * 64]


def test_fresh_nonce_and_time_by_default(key):
    a, b = P.sign_request(method="POST", path=PATH, body=b"", sender="a", receiver="b", key=key), \
        P.sign_request(method="POST", path=PATH, body=b"", sender="a", receiver="b", key=key)
    assert a[P.H_NONCE] != b[P.H_NONCE] and P.NONCE_RE.match(a[P.H_NONCE])


@pytest.mark.parametrize("change", ["path", "method", "body", "sender", "other_key", "signature_bytes"])
def test_any_change_breaks_the_signature(key, change):
    headers = signed(key)
    kwargs = {}
    if change == "path":
        kwargs["path"] = "/exchange/v1/receipts"
    elif change == "method":
        kwargs["method"] = "PUT"
    elif change == "body":
        # the attacker fixes the hash header too; only the signature catches it
        kwargs["body"] = BODY + b"!"
        headers[P.H_SHA256] = P.body_sha256(BODY + b"!")
    elif change == "sender":
        headers[P.H_FROM] = "other-node"
    elif change == "other_key":
        headers = signed(Ed25519PrivateKey.generate())
    else:
        raw = bytearray(base64.b64decode(headers[P.H_SIGNATURE]))
        raw[0] ^= 1
        headers[P.H_SIGNATURE] = base64.b64encode(bytes(raw)).decode()
    refused("bad_request_signature", 401, lambda: verify(key, headers, **kwargs))


def test_body_hash_mismatch(key):
    refused("body_hash_mismatch", 400, lambda: verify(key, signed(key), body=BODY + b"x"))


def test_wrong_receiving_node(key):
    refused("wrong_node", 403, lambda: verify(key, signed(key, receiver="elsewhere")))


@pytest.mark.parametrize("offset", [-301, 301, -10_000])
def test_stale_or_future_timestamp(key, offset):
    refused("stale_request", 401, lambda: verify(key, signed(key, timestamp=NOW + offset), now=NOW))


def test_timestamp_inside_the_window(key):
    verify(key, signed(key, timestamp=NOW - 300), now=NOW)
    verify(key, signed(key, timestamp=NOW + 300), now=NOW)


@pytest.mark.parametrize("header", P.SIGNED_HEADERS)
def test_missing_header(key, header):
    headers = signed(key)
    del headers[header]
    refused("signature_missing", 401, lambda: verify(key, headers))


@pytest.mark.parametrize(("header", "value"), [
    (P.H_TIMESTAMP, "yesterday"), (P.H_NONCE, "short"), (P.H_NONCE, "has space in it 0123"),
    (P.H_SHA256, "abc"), (P.H_SIGNATURE, "not base64!"), (P.H_FROM, "Upper_Case"), (P.H_TO, "-x" * 30),
])
def test_malformed_header(key, header, value):
    headers = signed(key)
    headers[header] = value
    refused("bad_header", 400, lambda: verify(key, headers))


def test_node_keys():
    text = P.new_node_key()
    key = P.load_node_key(text)
    assert P.load_public_pem(P.public_pem(key)).public_bytes_raw() == key.public_key().public_bytes_raw()
    assert P.load_private_der(P.private_der(key)).private_bytes_raw() == key.private_bytes_raw()
    refused("node_key_invalid", 500, lambda: P.load_node_key("***"))
    refused("node_key_invalid", 500, lambda: P.load_node_key(base64.b64encode(b"short").decode()))
    refused("public_key_invalid", 400, lambda: P.load_public_pem("-----BEGIN PUBLIC KEY-----\nxx\n"))


RECEIVER = make_uscc("11445222007190010")


def receipt(**over):
    data = {"package_id": "0b7c2d1e-4f5a-4b6c-8d9e-0f1a2b3c4d5e", "document": "5f0c8a52-1c5e-4d8e-9a42-6f0b9d7c1a33",
            "receiver_uscc": RECEIVER, "action": "signed", "actor": "陈文", "timestamp": "2026-03-05T09:30:00+08:00",
            "reason": "", "copies": 2}
    data.update(over)
    return data


def test_receipt_parse_and_round_trip():
    parsed = P.parse_receipt(receipt())
    assert parsed.action == "signed" and parsed.copies == 2 and parsed.timestamp.utcoffset().total_seconds() == 8 * 3600
    assert P.parse_receipt(parsed.as_body()) == parsed
    assert P.parse_receipt(receipt(action="returned", reason="文种使用不当", copies=None)).reason == "文种使用不当"


@pytest.mark.parametrize("over", [
    {"action": "lost"}, {"action": "returned", "reason": ""}, {"action": "returned", "reason": "  "},
    {"package_id": "nope"}, {"document": None}, {"receiver_uscc": "123"}, {"timestamp": "2026-03-05T09:30:00"},
    {"timestamp": "soon"}, {"copies": 0}, {"copies": "2"}, {"copies": True}, {"actor": ""}, {"actor": "x" * 51},
    {"reason": "x" * 501, "action": "returned"},
])
def test_receipt_refusals(over):
    refused("receipt_invalid", 400, lambda: P.parse_receipt(receipt(**over)))
    refused("receipt_invalid", 400, lambda: P.parse_receipt(["not", "an", "object"]))


def test_withdrawal_parse():
    body = {"request_id": "1b7c2d1e-4f5a-4b6c-8d9e-0f1a2b3c4d5e", "package_id": "0b7c2d1e-4f5a-4b6c-8d9e-0f1a2b3c4d5e",
            "document": "5f0c8a52-1c5e-4d8e-9a42-6f0b9d7c1a33", "sender_uscc": make_uscc("11445203MB2C33333"),
            "receiver_uscc": RECEIVER, "reason": "发错了", "timestamp": "2026-03-05T09:30:00+08:00"}
    parsed = P.parse_withdrawal(body)
    assert P.parse_withdrawal(parsed.as_body()) == parsed
    refused("withdrawal_invalid", 400, lambda: P.parse_withdrawal({**body, "sender_uscc": "x"}))
