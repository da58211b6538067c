"""workflows.transports: the agency's node chooses the road; integrations.exchange registers itself in ready()."""

from __future__ import annotations

import pytest

from oa.models import Agency
from oa.refusals import Refusal
from workflows import transports


def test_exchange_registers_itself_as_the_remote_transport():
    from integrations.exchange.transport import ExchangeTransport

    assert isinstance(transports.transport_named(transports.REMOTE), ExchangeTransport)
    assert isinstance(transports.transport_for(Agency(name="外区财政局", exchange_node="node-b")), ExchangeTransport)


def test_local_agency_has_no_transport():
    assert transports.transport_for(Agency(name="区财政局", exchange_node="")) is None


def test_remote_agency_without_a_registered_transport_is_refused(monkeypatch):
    monkeypatch.setattr(transports, "_transports", {})
    with pytest.raises(Refusal) as refused:
        transports.transport_for(Agency(name="外区财政局", exchange_node="node-b"))
    assert (refused.value.code, refused.value.status) == ("transport_missing", 500)
    assert "未配置跨系统公文交换" in refused.value.message


def test_a_registered_transport_is_used(monkeypatch):
    monkeypatch.setattr(transports, "_transports", {})
    sent = []

    class Recorder:
        def send_withdraw(self, recipient, *, reason=""):
            sent.append((recipient, reason))

    transports.register_transport(transports.REMOTE, Recorder())
    transports.transport_for(Agency(exchange_node="node-b")).send_withdraw("row", reason="发错了")
    assert sent == [("row", "发错了")]
