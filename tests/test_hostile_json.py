"""Hostile JSON bodies (issue 11 point 4): the API (/api/auth/token, /api/notifications/read) and the exchange
(/exchange/v1/receipts, /exchange/v1/withdrawals) answer a clear error code, never a 500, whatever the body:
``[`` × 100000, huge numbers, NaN/Infinity, lone surrogates, NUL, bytes that are not UTF-8. The exchange audits
every refusal as ``exchange.refused``. One hypothesis fuzz test per entry point (docs/security.md).
"""

# ruff: noqa: F811  (fixtures imported from tests.test_exchange_inbound are parameters here)
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.exchange import protocol as P
from oa import jsonsafe
from oa.models import AuditEntry
from tests.test_api import TOKEN, assert_error
from tests.test_exchange_inbound import (  # noqa: F401  (fixtures)
    PEER_CODE,
    delivered,
    node,
    peer,
    receipt_api,
    receipt_body,
    remote_recipient,
    signed_post,
    withdrawal_body,
)
from tests.test_inbox import api

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parent.parent / "docs"
READ = "/api/notifications/read"
DEEP = b"[" * 100_000
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def documented_codes(page: str) -> set[str]:
    """Every `code` named in a docs page: a response code the tests accept must be documented there."""
    return set(re.findall(r"`([a-z][a-z0-9_]*)`", (DOCS / page).read_text(encoding="utf-8")))


# ---- the loader ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "code"), [
    (DEEP, "json_too_deep"),
    (b'{"a":' * 5000 + b"1" + b"}" * 5000, "json_too_deep"),
    (b"[" * 40 + b"]" * 40, "json_too_deep"),  # parses, but deeper than MAX_DEPTH
    (b"NaN", "invalid_json"),
    (b'{"ids": [Infinity]}', "invalid_json"),
    (b"9" * 5000, "invalid_json"),
    (b'"\\ud800"', "invalid_json"),
    (b'{"\\udfff": 1}', "invalid_json"),
    (b'{"actor": "a\\u0000b"}', "invalid_json"),
    (b"\xff\xfe{}", "invalid_json"),
    (b"{bad", "invalid_json"),
])
def test_loader_refuses_with_a_code(data, code):
    with pytest.raises(jsonsafe.JsonRefused) as info:
        jsonsafe.loads(data)
    assert info.value.code == code and re.search(r"[\u4e00-\u9fff]", info.value.message)
    assert isinstance(info.value, ValueError)  # callers catching json's ValueError keep working


def test_loader_accepts_ordinary_json_and_limits_size():
    assert jsonsafe.loads('{"ids": [1, 2], "all": false, "名": "张伟\\ud83d\\ude00"}') == {
        "ids": [1, 2], "all": False, "名": "张伟😀"}
    assert jsonsafe.loads(b"[" * 32 + b"]" * 32) is not None
    with pytest.raises(jsonsafe.JsonRefused) as info:
        jsonsafe.loads(b"[1]" + b" " * 100, max_bytes=100)
    assert info.value.code == "json_too_large"


# ---- strategies shared by the fuzz tests ------------------------------------------------------------------

leaves = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
          | st.text(max_size=30))
values = st.recursive(leaves, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids,
                                                                                        max_size=4), max_leaves=25)
depths = st.integers(min_value=20, max_value=50_000)
hostile_text = st.one_of(
    depths.map(lambda n: "[" * n),
    depths.map(lambda n: "[" * n + "]" * n),
    depths.map(lambda n: '{"a":' * n + "0" + "}" * n),
    st.integers(min_value=4000, max_value=6000).map(lambda n: "9" * n),
    st.sampled_from(["NaN", "-Infinity", '{"ids": [NaN]}', '{"all": Infinity}', '"\\ud800"', '{"\\udc00": 1}',
                     '{"username": "a\\u0000"}', "", "{", "[1,]", "\ufeff{}", "null", "[]", '"x"']),
    st.text(max_size=200),
)
# Bytes: arbitrary JSON values, hostile texts, and raw bytes that are not JSON (or not even UTF-8).
hostile_bytes = st.one_of(values.map(lambda v: json.dumps(v, ensure_ascii=False).encode()),
                          hostile_text.map(lambda t: t.encode("utf-8", "surrogatepass")), st.binary(max_size=200))


def with_fields(names: list[str], base: dict | None = None) -> st.SearchStrategy[bytes]:
    """JSON objects shaped like the endpoint's body (some fields right, some hostile), serialised."""
    field_values = st.one_of(values, hostile_text, st.integers(min_value=-(10**30), max_value=10**30))
    return st.fixed_dictionaries({}, optional={n: field_values for n in names}).map(
        lambda d: json.dumps({**(base or {}), **d}, ensure_ascii=False).encode("utf-8", "surrogatepass"))


# ---- API -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [TOKEN, READ])
def test_api_deeply_nested_body_is_refused(cast, url):
    client = api(cast.zhangwei) if url == READ else Client()
    assert_error(client.post(url, DEEP, content_type="application/json"), 400, "json_too_deep")
    assert_error(client.post(url, b"[" * 40 + b"]" * 40, content_type="application/json"), 400, "json_too_deep")


@pytest.mark.parametrize("url", [TOKEN, READ])
def test_api_oversize_body_is_refused(cast, url, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = api(cast.zhangwei) if url == READ else Client()
    body = json.dumps({"username": "x" * 2000, "ids": [1]}).encode()
    assert_error(client.post(url, body, content_type="application/json"), 413, "json_too_large")


def test_api_non_json_constants_and_bad_unicode(cast):
    client = api(cast.zhangwei)
    for body in (b'{"ids": [NaN]}', b'{"all": Infinity}', b'{"ids": [1], "x": "\\ud800"}', b"\xff{}"):
        assert_error(client.post(READ, body, content_type="application/json"), 400, "parse_error")


def _api_outcome(response, codes: set[str]) -> None:
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        body = response.json()
        assert body["code"] in codes, body
        assert re.search(r"[\u4e00-\u9fff]", body["message"]), body


@settings(FUZZ, max_examples=30)  # a well-formed login costs a password hash (~0.2 s), even for no such account
@given(body=st.one_of(hostile_bytes, with_fields(["username", "password", "otp", "device_name"],
                                                 {"username": "nobody-here", "password": "x"})))
def test_fuzz_token_endpoint(db, body):
    cache.clear()  # the token endpoint's IP throttle would otherwise answer 429 before the body is read
    _api_outcome(Client().post(TOKEN, body, content_type="application/json", REMOTE_ADDR="10.9.8.7"),
                 documented_codes("api.md"))


@pytest.fixture
def reader(cast) -> Client:
    return api(cast.zhangwei)


@FUZZ
@given(body=st.one_of(hostile_bytes, with_fields(["ids", "all"])))
def test_fuzz_notifications_read(reader, body):
    _api_outcome(reader.post(READ, body, content_type="application/json"), documented_codes("api.md"))


# ---- exchange --------------------------------------------------------------------------------------------


def _refusals() -> int:
    return AuditEntry.objects.filter(action="exchange.refused").count()


def _exchange_outcome(response, refusals_before: int, codes: set[str]) -> None:
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        body = response.json()
        assert body["code"] in codes and re.search(r"[\u4e00-\u9fff]", body["message"]), body
        entry = AuditEntry.objects.filter(action="exchange.refused").order_by("-id").first()
        assert _refusals() == refusals_before + 1 and entry.changes["code"] == body["code"]
        assert entry.changes["peer"] == PEER_CODE


@pytest.mark.parametrize("endpoint", [P.RECEIPTS, P.WITHDRAWALS])
def test_exchange_deeply_nested_body_is_refused_and_audited(client, peer, endpoint):
    before = _refusals()
    response = signed_post(client, endpoint, DEEP, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["code"] == "json_too_deep" and "嵌套" in response.json()["message"]
    entry = AuditEntry.objects.filter(action="exchange.refused").order_by("-id").first()
    assert _refusals() == before + 1 and entry.changes["code"] == "json_too_deep"
    assert entry.changes["path"] == "/exchange" + endpoint


def test_exchange_text_the_database_cannot_store_is_refused(client, remote_recipient, delivered):
    """U+0000 in the 经办人 of a receipt or the reason of a 取回: PostgreSQL cannot store it (a 500 before)."""
    before = _refusals()
    body = json.dumps(receipt_body(remote_recipient, actor="陈\u0000文")).encode()
    response = signed_post(client, P.RECEIPTS, body, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "receipt_invalid", response.content
    body = json.dumps(withdrawal_body(delivered, reason="发错了\u0000")).encode()
    response = signed_post(client, P.WITHDRAWALS, body, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "withdrawal_invalid", response.content
    assert _refusals() == before + 2


@FUZZ
@given(data=st.data())
def test_fuzz_exchange_receipts(client, remote_recipient, data):
    body = data.draw(st.one_of(hostile_bytes, with_fields(list(receipt_body(remote_recipient)),
                                                          receipt_body(remote_recipient))))
    before = _refusals()
    response = signed_post(client, P.RECEIPTS, body, content_type="application/json")
    _exchange_outcome(response, before, documented_codes("exchange.md"))


@FUZZ
@given(data=st.data())
def test_fuzz_exchange_withdrawals(client, delivered, data):
    base = withdrawal_body(delivered)
    body = data.draw(st.one_of(hostile_bytes, with_fields(list(base), base)))
    before = _refusals()
    response = signed_post(client, P.WITHDRAWALS, body, content_type="application/json")
    _exchange_outcome(response, before, documented_codes("exchange.md"))



# ---- the other readers of outside JSON ---------------------------------------------------------------------


def test_a_peer_answering_deep_json_is_an_empty_answer_not_a_crash(peer, monkeypatch):
    """The outbox worker reads the peer's answer: a hostile peer must not crash delivery."""
    from integrations.exchange import client as exchange_client
    from integrations.exchange.selectors import node_identity

    class Answer:
        status, data = 200, DEEP

    monkeypatch.setattr(exchange_client._pool, "request", lambda *a, **kw: Answer())
    answer = exchange_client.post(peer, P.RECEIPTS, b"{}", content_type="application/json", node=node_identity())
    assert answer.status == 200 and answer.data == {}


def test_archive_verification_reports_deep_json():
    """verify_archive_package promises to report, never raise, whatever the bytes."""
    import io
    import zipfile

    from documents.selectors.archive import sha256_hex, sm3_hex, verify_archive_package

    for member in ("manifest.json", "audit/audit.json"):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            manifest = {"files": [{"path": "audit/audit.json", "size": len(DEEP), "sha256": sha256_hex(DEEP),
                                   "sm3": sm3_hex(DEEP)}]}
            zf.writestr("manifest.json", DEEP if member == "manifest.json" else json.dumps(manifest))
            zf.writestr("audit/audit.json", DEEP)
        report = verify_archive_package(buf.getvalue())
        assert not report.ok and report.problems
