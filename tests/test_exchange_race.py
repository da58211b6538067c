"""Concurrent inbound deliveries on PostgreSQL: the same package arriving several times at once yields exactly
one 收文, and one request replayed at once is accepted exactly once."""

# ruff: noqa: F811  (fixtures imported from tests.test_exchange_inbound are parameters here)
from __future__ import annotations

import io
import uuid

import pytest
from django.db import connection
from django.utils.datastructures import CaseInsensitiveMapping

from documents.models import IncomingDocument
from integrations.exchange import protocol as P
from integrations.exchange.actions import check_receive_request
from integrations.exchange.models import ExchangeNonce, InboundPackage
from oa.models import AuditEntry
from tests.races import run_at_once
from tests.test_exchange_inbound import (  # noqa: F401  (fixtures)
    OUR_CODE,
    PEER_CODE,
    PEER_NODE_KEY,
    make_package,
    node,
    peer,
    receipt_api,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and concurrent inserts need PostgreSQL"),
]


def deliver(data: bytes, results: list, headers: dict | None = None):
    def call():
        signed = headers or P.sign_request(method="POST", path="/exchange/v1/packages", body=data, sender=PEER_CODE,
                                           receiver=OUR_CODE, key=PEER_NODE_KEY)
        status, body = check_receive_request(P.PACKAGES, method="POST", path="/exchange/v1/packages",
                                             headers=CaseInsensitiveMapping(signed), read=io.BytesIO(data).read,
                                             content_length=len(data), ip="127.0.0.1")
        results.append((status, body["status"]))
    return call


def test_concurrent_duplicate_deliveries_make_one_incoming(demo_tx, peer, receipt_api):
    package_id = uuid.uuid4()
    data = make_package(package_id=package_id)
    results: list = []
    outcomes = run_at_once([deliver(data, results) for _ in range(4)])
    assert outcomes == ["ok"] * 4
    assert sorted(results) == [(200, "accepted"), (200, "duplicate"), (200, "duplicate"), (200, "duplicate")]
    assert IncomingDocument.objects.filter(package_id=package_id).count() == 1
    assert InboundPackage.objects.filter(package_id=package_id).count() == 1
    assert len(receipt_api["started"]) == 1


def test_one_request_replayed_at_once_is_accepted_once(demo_tx, peer, receipt_api):
    data = make_package()
    headers = P.sign_request(method="POST", path="/exchange/v1/packages", body=data, sender=PEER_CODE,
                             receiver=OUR_CODE, key=PEER_NODE_KEY)
    results: list = []
    outcomes = run_at_once([deliver(data, results, headers) for _ in range(3)])
    assert sorted(outcomes) == ["ok", "replayed_request", "replayed_request"]  # refused by its stable code
    assert results == [(200, "accepted")]
    assert IncomingDocument.objects.count() == 1 and ExchangeNonce.objects.count() == 1
    assert AuditEntry.objects.filter(action="exchange.refused", changes__code="replayed_request").count() == 2
