"""manage.py exchange_node: new-key, export (this node's descriptor, agency keys created), add-peer (peer and its
agencies registered, refusals leave nothing), list; the exchange settings refuse a malformed node key."""

# ruff: noqa: F811  (fixtures imported from tests.test_exchange_inbound are parameters here)
from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from integrations.exchange import protocol as P
from integrations.exchange.models import AgencyExchangeKey, ExchangePeer
from integrations.exchange.package import key_id
from oa.models import Agency, AuditEntry
from oa.uscc import make_uscc
from tests.test_exchange_inbound import (  # noqa: F401  (fixtures)
    OUR_NODE_KEY,
    PEER_AGENCY_USCC,
    node,
    peer_descriptor,
)
from tests.test_settings import run_manage

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("exchange_node", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def write(tmp_path, data) -> str:
    path = tmp_path / "peer.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_new_key_prints_a_usable_key():
    text = run("new-key").strip()
    assert P.load_node_key(text) is not None and len(text) == 44


def test_export_describes_this_node_and_creates_agency_keys(node):
    assert not AgencyExchangeKey.objects.exists()
    descriptor = json.loads(run("export"))
    assert descriptor["format"] == P.DESCRIPTOR_FORMAT and descriptor["code"] == "jiedong"
    assert descriptor["base_url"] == "http://testserver"
    node_key = P.load_node_key(OUR_NODE_KEY)
    assert descriptor["node_public_key"] == P.public_pem(node_key)
    assert descriptor["node_key_id"] == key_id(node_key.public_key())
    local = Agency.objects.filter(exchange_node="", is_active=True)
    assert {a["uscc"] for a in descriptor["agencies"]} == set(local.values_list("uscc", flat=True))
    for entry in descriptor["agencies"]:
        row = AgencyExchangeKey.objects.get(agency__uscc=entry["uscc"], is_active=True)
        assert entry["key_id"] == row.key_id == key_id(P.load_public_pem(entry["public_key"]))
    again = json.loads(run("export"))  # keys are made once
    assert again["agencies"] == descriptor["agencies"]
    assert "PRIVATE" not in json.dumps(descriptor)


def test_export_needs_the_node_configured(node, settings):
    settings.OA_EXCHANGE_URL = ""
    with pytest.raises(CommandError, match="OA_EXCHANGE_URL"):
        run("export")
    settings.OA_EXCHANGE_NODE_KEY = ""
    with pytest.raises(CommandError, match="OA_EXCHANGE_NODE_KEY"):
        run("export")


def test_add_peer_registers_the_node_and_its_agencies(node, tmp_path):
    out = run("add-peer", write(tmp_path, peer_descriptor()))
    assert "已登记交换节点" in out and PEER_AGENCY_USCC in out
    peer = ExchangePeer.objects.get(code="jiexi")
    assert peer.base_url == "http://127.0.0.1:9" and peer.is_active
    [entry] = peer.agency_keys.values()
    assert entry["uscc"] == PEER_AGENCY_USCC and entry["name"] == "揭阳市揭西县人民政府办公室"
    agency = Agency.objects.get(uscc=PEER_AGENCY_USCC)
    assert agency.exchange_node == "jiexi" and agency.doc_code == "揭西府办" and agency.kind == Agency.Kind.OFFICE
    assert AuditEntry.objects.filter(action="exchange.peer.add", object_id=str(peer.pk)).exists()

    # the peer moved and gained an agency; the first one is no longer listed
    second = {**peer_descriptor()["agencies"][0], "uscc": make_uscc("11445222007190030"), "name": "揭阳市揭西县财政局",
              "doc_code": "揭东财"}  # a 代字 already used here: the 统一社会信用代码 stands in
    changed = peer_descriptor(base_url="https://oa.jiexi.gov.cn/", agencies=[second])
    assert "已更新" in run("add-peer", write(tmp_path, changed))
    peer.refresh_from_db()
    assert peer.base_url == "https://oa.jiexi.gov.cn"
    new = Agency.objects.get(uscc=second["uscc"])
    assert new.exchange_node == "jiexi" and new.doc_code == second["uscc"] and new.is_active
    assert not Agency.objects.get(uscc=PEER_AGENCY_USCC).is_active

    listing = run("list")
    assert "揭东区一网协同办公平台（jiedong）" in listing and "jiexi" in listing and "https://oa.jiexi.gov.cn" in listing


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(code="jiedong"), "本节点自己的代码"),
    (lambda d: d.update(code="Bad Code"), "节点代码"),
    (lambda d: d.update(format="other"), "格式"),
    (lambda d: d.update(base_url="ftp://x"), "地址"),
    (lambda d: d.update(node_key_id="0" * 64), "节点密钥标识"),
    (lambda d: d["agencies"][0].update(key_id="0" * 64), "密钥标识与公钥不符"),
    (lambda d: d["agencies"][0].update(uscc="123"), "统一社会信用代码"),
    (lambda d: d["agencies"][0].update(uscc=make_uscc("11445203007190030")), "是本节点的机关"),
    (lambda d: d["agencies"][0].update(name="揭阳市揭东区财政局"), "同名机关"),
    (lambda d: d.update(node_public_key="garbage"), "PEM"),
])
def test_add_peer_refusals_leave_nothing(node, tmp_path, change, message):
    data = peer_descriptor()
    change(data)
    agencies = Agency.objects.count()
    with pytest.raises(CommandError, match=message):
        run("add-peer", write(tmp_path, data))
    assert not ExchangePeer.objects.exists() and Agency.objects.count() == agencies


def test_add_peer_unreadable_file(node, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="无法读取"):
        run("add-peer", str(path))


def test_settings_refuse_a_malformed_node_key(tmp_path):
    bad = run_manage("check", env={"OA_DEBUG": "1", "OA_DATA_DIR": str(tmp_path), "OA_EXCHANGE_NODE_KEY": "abc"})
    assert bad.returncode != 0 and "OA_EXCHANGE_NODE_KEY" in bad.stderr
    code = run_manage("check", env={"OA_DEBUG": "1", "OA_DATA_DIR": str(tmp_path), "OA_EXCHANGE_NODE_CODE": "A B"})
    assert code.returncode != 0 and "OA_EXCHANGE_NODE_CODE" in code.stderr
    ok = run_manage("check", env={"OA_DEBUG": "1", "OA_DATA_DIR": str(tmp_path), "OA_EXCHANGE_NODE_CODE": "jiedong",
                                  "OA_EXCHANGE_NODE_KEY": P.new_node_key()})
    assert ok.returncode == 0, ok.stderr
