"""Inbound exchange over HTTP (POST /exchange/v1/...): signed requests from a registered peer, every refusal
(specific code, nothing created, audited), quarantine of bad packages, duplicates, receipts and withdrawals.

Requests are crafted here exactly as a peer node signs them (integrations.exchange.protocol.sign_request).
Shared helpers for the other exchange tests live here too.
"""

from __future__ import annotations

import io
import json
import sys
import time
import types
import uuid
import zipfile

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from viewflow.workflow.status import STATUS

from documents.models import DocType, IncomingDocument, OfficialDocument
from integrations.exchange import protocol as P
from integrations.exchange.actions import check_add_peer, check_receive_request
from integrations.exchange.models import ExchangeNonce, ExchangePeer, InboundPackage
from integrations.exchange.package import build_package, key_id
from oa.models import Agency, AuditEntry
from oa.uscc import make_uscc
from tests.test_archive import add_seal_use, pdf_bytes
from tests.test_exchange_package import METADATA, PDF
from tests.test_search import make_document, p
from workflows.models import DistributionRecipient

pytestmark = pytest.mark.django_db

# The peer: another deployment (揭西县) with its node key and one agency (its 县府办) with an exchange key.
PEER_CODE = "jiexi"
PEER_NODE_KEY = Ed25519PrivateKey.generate()
PEER_AGENCY_KEY = Ed25519PrivateKey.generate()
PEER_AGENCY_USCC = make_uscc("11445222007190010")
PEER_AGENCY_NAME = "揭阳市揭西县人民政府办公室"
OUR_CODE = "jiedong"
OUR_NODE_KEY = P.new_node_key()
FINANCE_USCC = make_uscc("11445203007190030")  # 揭东区财政局, a local agency of the demo district
XLSX = b"PK\x03\x04" + b"spreadsheet" * 40


def peer_descriptor(**over) -> dict:
    data = {
        "format": P.DESCRIPTOR_FORMAT, "code": PEER_CODE, "name": "揭西县一网协同办公平台",
        "base_url": "http://127.0.0.1:9", "node_key_id": key_id(PEER_NODE_KEY.public_key()),
        "node_public_key": P.public_pem(PEER_NODE_KEY),
        "agencies": [{"uscc": PEER_AGENCY_USCC, "name": PEER_AGENCY_NAME, "short_name": "县府办", "doc_code": "揭西府办",
                      "kind": "office", "key_id": key_id(PEER_AGENCY_KEY.public_key()),
                      "public_key": P.public_pem(PEER_AGENCY_KEY)}],
    }
    data.update(over)
    return data


@pytest.fixture
def node(settings):
    """This deployment is exchange node "jiedong"."""
    settings.OA_EXCHANGE_NODE_CODE = OUR_CODE
    settings.OA_EXCHANGE_NODE_NAME = "揭东区一网协同办公平台"
    settings.OA_EXCHANGE_NODE_KEY = OUR_NODE_KEY
    settings.OA_EXCHANGE_URL = "http://testserver"
    settings.OA_OUTBOX_KICK = False
    return settings


@pytest.fixture
def peer(node) -> ExchangePeer:
    registered, created, agencies = check_add_peer(peer_descriptor())
    assert created and [a.uscc for a in agencies] == [PEER_AGENCY_USCC]
    return registered


@pytest.fixture
def receipt_api(monkeypatch):
    """The ReceiptFlow functions behind workflows.inbound (workflows.actions.receipt), replaced by
    recorders so these tests pin the exchange's side of the contract only."""
    try:
        import workflows.actions.receipt as module
    except ImportError:
        module = types.ModuleType("workflows.actions.receipt")
        monkeypatch.setitem(sys.modules, "workflows.actions.receipt", module)
    calls: dict[str, list] = {"started": [], "withdrawn": []}

    def start(incoming):
        calls["started"].append(incoming.pk)

    def withdraw(incoming, *, reason=""):
        calls["withdrawn"].append((incoming.pk, reason))
        if incoming.status != IncomingDocument.Status.PENDING:
            return False
        IncomingDocument.objects.filter(pk=incoming.pk).update(status=IncomingDocument.Status.WITHDRAWN)
        return True

    monkeypatch.setattr(module, "do_start_receipt", start, raising=False)
    monkeypatch.setattr(module, "do_withdraw_incoming", withdraw, raising=False)
    return calls


def make_package(*, package_id: uuid.UUID | None = None, key=PEER_AGENCY_KEY, sender=PEER_AGENCY_USCC,
                 recipients=(FINANCE_USCC,), pdf=PDF, metadata=None) -> bytes:
    return build_package(metadata=metadata or METADATA, pdf=pdf, ses_signatures=[b"\x30\x03\x02\x01\x01"],
                         attachments=[("附件1 预算表.xlsx", XLSX)], sender_uscc=sender, recipients=list(recipients),
                         signing_key=key, package_id=package_id or uuid.uuid4())


def signed_post(client: Client, endpoint: str, body: bytes, *, key=PEER_NODE_KEY, sender=PEER_CODE,
                receiver=OUR_CODE, content_type="application/zip", headers=None, **sign):
    signed = P.sign_request(method="POST", path="/exchange" + endpoint, body=body, sender=sender, receiver=receiver,
                            key=key, **sign)
    signed.update(headers or {})
    return client.post("/exchange" + endpoint, data=body, content_type=content_type, headers=signed)


def post_json(client: Client, endpoint: str, data: dict, **kw):
    return signed_post(client, endpoint, json.dumps(data, ensure_ascii=False).encode(),
                       content_type="application/json", **kw)


def stored_files(folder: str) -> int:
    try:
        return len(default_storage.listdir(folder)[1])
    except FileNotFoundError:
        return 0


def counts() -> dict[str, int]:
    return {"files": stored_files("exchange/quarantine") + stored_files("incoming"),"inbound": InboundPackage.objects.count(), "incoming": IncomingDocument.objects.count(),
            "nonces": ExchangeNonce.objects.count(), "distribution": DistributionRecipient.objects.exclude(
                status=DistributionRecipient.Status.PENDING).count()}


def sent_document(cast, agencies: list[Agency]) -> tuple[OfficialDocument, list[DistributionRecipient]]:
    """A sealed 区府办 通知 with an attachment, distributed to ``agencies`` (rows as 分发 writes them)."""
    from viewflow.workflow.models import Process

    from workflows.issuance.flows import IssuanceFlow

    doc = make_document(cast.zhangwei, title="关于开展跨县区公文交换测试的函", department="秘书科",
                        doc_type=DocType.NOTICE, main_recipients="揭西县人民政府办公室", number_year=2026,
                        body=[p("为做好跨县区协同工作，现将有关事项函告如下。")],
                        attachment=("协作清单.docx", "协作清单", "协作事项清单"), index=False)
    doc.final_pdf.save("final.pdf", ContentFile(pdf_bytes("final letter")), save=False)
    doc.save(update_fields=["final_pdf"])
    add_seal_use(doc, cast.zhoumin, cast.liuyang)
    doc.refresh_from_db()
    process = Process.objects.create(flow_class=IssuanceFlow, status=STATUS.NEW)
    rows = [DistributionRecipient.objects.create(document=doc, process=process, agency=a, sent_by=cast.liuyang)
            for a in agencies]
    return doc, rows


def refusal_audit(code: str) -> AuditEntry:
    entry = AuditEntry.objects.filter(action="exchange.refused").order_by("-id").first()
    assert entry is not None and entry.changes["code"] == code, entry and entry.changes
    return entry


# ---- packages ------------------------------------------------------------------------------------------


def test_a_package_becomes_one_incoming_per_local_recipient(client, peer, receipt_api):
    package_id = uuid.uuid4()
    data = make_package(package_id=package_id)
    response = signed_post(client, P.PACKAGES, data)
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "accepted", "package_id": str(package_id), "incoming": 1}

    incoming = IncomingDocument.objects.get(package_id=package_id)
    assert incoming.agency.uscc == FINANCE_USCC and incoming.source == IncomingDocument.Source.EXCHANGE
    assert incoming.status == IncomingDocument.Status.PENDING
    assert incoming.title == METADATA["标题"] and incoming.doc_number == METADATA["发文字号"]
    assert incoming.sender_name == PEER_AGENCY_NAME and incoming.sender_uscc == PEER_AGENCY_USCC
    assert incoming.metadata["核心元数据"]["公文标识"] == METADATA["公文标识"]
    with incoming.pdf.open("rb") as fh:
        assert fh.read() == PDF
    [att] = incoming.attachments
    assert att["name"] == "附件1 预算表.xlsx" and att["size"] == len(XLSX)
    with default_storage.open(att["key"], "rb") as fh:
        assert fh.read() == XLSX
    assert receipt_api["started"] == [incoming.pk]  # the ReceiptFlow starts at 签收

    inbound = InboundPackage.objects.get(package_id=package_id)
    assert inbound.status == InboundPackage.Status.ACCEPTED and inbound.peer == peer
    assert inbound.incoming_ids == [incoming.pk] and inbound.size == len(data)
    with default_storage.open(inbound.blob_key, "rb") as fh:
        assert fh.read() == data  # the package as it arrived, SES signatures included
    assert AuditEntry.objects.filter(action="exchange.package.accepted", object_id=str(inbound.pk)).exists()
    assert ExchangeNonce.objects.filter(peer=peer).count() == 1


def test_two_local_recipients_get_their_own_incoming(client, peer, receipt_api):
    office = make_uscc("11445203007190010")
    response = signed_post(client, P.PACKAGES, make_package(recipients=[FINANCE_USCC, office]))
    assert response.status_code == 200 and response.json()["incoming"] == 2
    assert sorted(IncomingDocument.objects.values_list("agency__uscc", flat=True)) == sorted([FINANCE_USCC, office])


def test_duplicate_delivery_creates_nothing_more(client, peer, receipt_api):
    package_id = uuid.uuid4()
    data = make_package(package_id=package_id)
    assert signed_post(client, P.PACKAGES, data).status_code == 200
    before = counts()
    again = signed_post(client, P.PACKAGES, data)  # a fresh request (new nonce): the sender retried
    assert again.status_code == 200 and again.json() == {"status": "duplicate", "package_id": str(package_id)}
    assert IncomingDocument.objects.filter(package_id=package_id).count() == 1
    assert counts() == {**before, "nonces": before["nonces"] + 1}
    assert receipt_api["started"] == [IncomingDocument.objects.get(package_id=package_id).pk]


def test_same_package_id_with_other_content_is_quarantined(client, peer, receipt_api):
    package_id = uuid.uuid4()
    assert signed_post(client, P.PACKAGES, make_package(package_id=package_id)).status_code == 200
    other = make_package(package_id=package_id, pdf=PDF + b"\n% changed\n")
    response = signed_post(client, P.PACKAGES, other)
    assert response.status_code == 422 and response.json()["code"] == "package_conflict"
    assert IncomingDocument.objects.filter(package_id=package_id).count() == 1


def _flip_member(data: bytes, name: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == name:
                body = body[:-10] + bytes([body[-10] ^ 1]) + body[-9:]
            dst.writestr(info, body)
    return out.getvalue()


QUARANTINE_CASES = {
    "malformed": (lambda: b"this is not a zip file at all", "package_malformed"),
    "tampered": (lambda: _flip_member(make_package(), "document.pdf"), "package_tampered"),
    "unknown_key": (lambda: make_package(key=Ed25519PrivateKey.generate()), "unknown_sender_key"),
    "sender_mismatch": (lambda: make_package(sender=make_uscc("11445222007190020")), "sender_mismatch"),
    "unknown_recipient": (lambda: make_package(recipients=[make_uscc("11445299007190990")]), "unknown_recipient"),
    "remote_recipient": (lambda: make_package(recipients=[PEER_AGENCY_USCC]), "unknown_recipient"),
    "not_pdf": (lambda: make_package(pdf=b"GIF89a not a pdf"), "package_malformed"),
    # 非涉密 only (docs/security.md §12): the exchange carries no classified document.
    "classified": (lambda: make_package(metadata={**METADATA, "密级和保密期限": {"密级": "机密", "保密期限": "1年"}}),
                   "package_classified"),
}


@pytest.mark.parametrize("case", list(QUARANTINE_CASES))
def test_bad_package_is_quarantined_and_never_becomes_incoming(client, peer, receipt_api, case):
    build, code = QUARANTINE_CASES[case]
    data = build()
    response = signed_post(client, P.PACKAGES, data)
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == code and body["status"] == "quarantined" and body["message"]
    assert IncomingDocument.objects.count() == 0 and receipt_api["started"] == []
    row = InboundPackage.objects.get()
    assert row.status == InboundPackage.Status.QUARANTINED and row.code == code and row.reason == body["message"]
    assert row.peer == peer and row.size == len(data)
    with default_storage.open(row.blob_key, "rb") as fh:
        assert fh.read() == data  # kept for review
    if case != "malformed":
        assert row.package_id is not None  # what the envelope claims, for the incident list
    entry = AuditEntry.objects.get(action="exchange.quarantined", object_id=str(row.pk))
    assert entry.changes["code"] == code and entry.changes["peer"] == PEER_CODE and entry.ip == "127.0.0.1"


def test_quarantined_then_good_copy_is_accepted(client, peer, receipt_api):
    package_id = uuid.uuid4()
    good = make_package(package_id=package_id)
    assert signed_post(client, P.PACKAGES, _flip_member(good, "metadata.json")).status_code == 422
    assert signed_post(client, P.PACKAGES, good).status_code == 200
    assert IncomingDocument.objects.filter(package_id=package_id).count() == 1


# ---- request refusals ------------------------------------------------------------------------------------


def _refused(response, code: str, status: int) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and any("\u4e00" <= ch <= "\u9fff" for ch in body["message"])
    refusal_audit(code)


REFUSALS = {
    "unknown_peer": (dict(sender="nobody", key=Ed25519PrivateKey.generate()), "unknown_peer", 403),
    "wrong_signature": (dict(key=Ed25519PrivateKey.generate()), "bad_request_signature", 401),
    # Offsets from the moment the request is signed (not from collection time, which may be minutes earlier).
    "stale": (dict(timestamp_offset=-301), "stale_request", 401),
    "future": (dict(timestamp_offset=400), "stale_request", 401),
    "wrong_node": (dict(receiver="elsewhere"), "wrong_node", 403),
    "hash_mismatch": (dict(headers={P.H_SHA256: "0" * 64}), "body_hash_mismatch", 400),
    "no_signature": (dict(headers={P.H_SIGNATURE: ""}), "signature_missing", 401),
    "bad_nonce": (dict(headers={P.H_NONCE: "x"}), "bad_header", 400),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refused_request_creates_nothing_and_is_logged(client, peer, receipt_api, case, caplog):
    kwargs, code, status = REFUSALS[case]
    kwargs = dict(kwargs)
    if "timestamp_offset" in kwargs:
        kwargs["timestamp"] = int(time.time()) + kwargs.pop("timestamp_offset")
    before = counts()
    with caplog.at_level("WARNING", logger="integrations.exchange.actions"):
        response = signed_post(client, P.PACKAGES, make_package(), **kwargs)
    _refused(response, code, status)
    assert counts() == before
    entry = refusal_audit(code)
    assert entry.ip == "127.0.0.1" and entry.changes["path"] == "/exchange/v1/packages"
    assert entry.changes["peer"] == kwargs.get("sender", PEER_CODE)
    assert any(code in r.getMessage() for r in caplog.records)


def test_inactive_peer_is_unknown(client, peer, receipt_api):
    ExchangePeer.objects.filter(pk=peer.pk).update(is_active=False)
    _refused(signed_post(client, P.PACKAGES, make_package()), "unknown_peer", 403)


def test_replayed_request_is_refused(client, peer, receipt_api):
    data = make_package()
    headers = P.sign_request(method="POST", path="/exchange/v1/packages", body=data, sender=PEER_CODE,
                             receiver=OUR_CODE, key=PEER_NODE_KEY)
    first = client.post("/exchange/v1/packages", data=data, content_type="application/zip", headers=headers)
    assert first.status_code == 200
    before = counts()
    replay = client.post("/exchange/v1/packages", data=data, content_type="application/zip", headers=headers)
    _refused(replay, "replayed_request", 409)
    assert counts() == before


def test_oversize_request_is_refused_before_reading(client, peer, receipt_api, settings):
    settings.OA_EXCHANGE_MAX_BYTES = 2000
    data = make_package()
    assert len(data) > 2000
    before = counts()
    _refused(signed_post(client, P.PACKAGES, data), "request_too_large", 413)
    assert counts() == before


def test_body_longer_than_its_content_length_is_cut_off(peer, receipt_api, settings):
    settings.OA_EXCHANGE_MAX_BYTES = 1000
    data = b"x" * 5000
    headers = P.sign_request(method="POST", path="/exchange/v1/packages", body=data, sender=PEER_CODE,
                             receiver=OUR_CODE, key=PEER_NODE_KEY)
    stream = io.BytesIO(data)
    read_sizes = []

    def read(n: int) -> bytes:
        read_sizes.append(n)
        return stream.read(n)

    with pytest.raises(P.ProtocolError) as info:
        check_receive_request(P.PACKAGES, method="POST", path="/exchange/v1/packages",
                              headers={k.lower(): v for k, v in headers.items()} | headers, read=read,
                              content_length=None, ip="127.0.0.1")
    assert info.value.code == "request_too_large"
    assert sum(read_sizes) <= 1001 and stream.tell() <= 1001  # never read the rest


def test_exchange_not_configured(client, peer, receipt_api, settings):
    settings.OA_EXCHANGE_NODE_CODE = ""
    _refused(signed_post(client, P.PACKAGES, make_package()), "exchange_disabled", 503)


def test_only_post(client, peer):
    response = client.get("/exchange/v1/packages")
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"


# ---- receipts --------------------------------------------------------------------------------------------


@pytest.fixture
def remote_recipient(cast, peer):
    _, [row] = sent_document(cast, [Agency.objects.get(uscc=PEER_AGENCY_USCC)])
    return row


def receipt_body(row: DistributionRecipient, **over) -> dict:
    data = {"package_id": str(uuid.uuid4()), "document": str(row.document.identifier),
            "receiver_uscc": row.agency.uscc, "action": "signed", "actor": "陈文",
            "timestamp": "2026-03-05T09:30:00+08:00", "reason": "", "copies": 2}
    data.update(over)
    return data


def test_signed_receipt_is_applied_once(client, remote_recipient):
    response = post_json(client, P.RECEIPTS, receipt_body(remote_recipient))
    assert response.status_code == 200 and response.json() == {"status": "applied", "recipient_status": "signed"}
    remote_recipient.refresh_from_db()
    assert remote_recipient.status == DistributionRecipient.Status.SIGNED
    assert remote_recipient.status_by == "陈文" and remote_recipient.copies == 2
    assert remote_recipient.status_at.isoformat().startswith("2026-03-05T01:30:00")  # +08:00 kept as the instant
    again = post_json(client, P.RECEIPTS, receipt_body(remote_recipient))
    assert again.status_code == 200 and again.json()["status"] == "ignored"


def test_returned_receipt_needs_a_reason(client, remote_recipient):
    before = counts()
    _refused(post_json(client, P.RECEIPTS, receipt_body(remote_recipient, action="returned", reason="")),
             "receipt_invalid", 400)
    assert counts() == before
    ok = post_json(client, P.RECEIPTS, receipt_body(remote_recipient, action="returned", reason="文种使用不当"))
    assert ok.status_code == 200 and ok.json()["recipient_status"] == "returned"
    remote_recipient.refresh_from_db()
    assert remote_recipient.reason == "文种使用不当"


def test_receipt_for_unknown_distribution(client, cast, remote_recipient):
    _refused(post_json(client, P.RECEIPTS, receipt_body(remote_recipient, document=str(uuid.uuid4()))),
             "unknown_distribution", 404)
    # a peer may only answer for the agencies it hosts
    _, [local_row] = sent_document(cast, [Agency.objects.get(uscc=FINANCE_USCC)])
    _refused(post_json(client, P.RECEIPTS, receipt_body(local_row)), "unknown_distribution", 404)


def test_receipt_not_json(client, remote_recipient):
    _refused(signed_post(client, P.RECEIPTS, b"\xff\xfe", content_type="application/json"), "receipt_invalid", 400)


# ---- withdrawals -----------------------------------------------------------------------------------------


def withdrawal_body(package_id: uuid.UUID, **over) -> dict:
    data = {"request_id": str(uuid.uuid4()), "package_id": str(package_id), "document": METADATA["公文标识"],
            "sender_uscc": PEER_AGENCY_USCC, "receiver_uscc": FINANCE_USCC, "reason": "发错了",
            "timestamp": "2026-03-05T10:00:00+08:00"}
    data.update(over)
    return data


@pytest.fixture
def delivered(client, peer, receipt_api) -> uuid.UUID:
    package_id = uuid.uuid4()
    assert signed_post(client, P.PACKAGES, make_package(package_id=package_id)).status_code == 200
    return package_id


def test_withdrawal_before_signing(client, delivered, receipt_api):
    response = post_json(client, P.WITHDRAWALS, withdrawal_body(delivered))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "withdrawn" and body["receipt"]["action"] == "withdrawn"
    assert body["receipt"]["receiver_uscc"] == FINANCE_USCC and body["receipt"]["timestamp"].endswith("+08:00")
    incoming = IncomingDocument.objects.get(package_id=delivered)
    assert incoming.status == IncomingDocument.Status.WITHDRAWN and receipt_api["withdrawn"] == [(incoming.pk, "发错了")]
    assert AuditEntry.objects.filter(action="exchange.withdrawal", object_id=str(incoming.pk)).exists()
    # asked again (our answer was lost on the way): the same answer, nothing done twice
    again = post_json(client, P.WITHDRAWALS, withdrawal_body(delivered))
    assert again.json()["status"] == "withdrawn" and len(receipt_api["withdrawn"]) == 1


def test_withdrawal_after_signing_is_refused_by_answer(client, delivered, receipt_api):
    IncomingDocument.objects.filter(package_id=delivered).update(status=IncomingDocument.Status.SIGNED)
    response = post_json(client, P.WITHDRAWALS, withdrawal_body(delivered))
    assert response.status_code == 200 and response.json()["status"] == "withdraw_refused"
    assert IncomingDocument.objects.get(package_id=delivered).status == IncomingDocument.Status.SIGNED


def test_withdrawal_of_unknown_incoming(client, delivered):
    _refused(post_json(client, P.WITHDRAWALS, withdrawal_body(uuid.uuid4())), "unknown_incoming", 404)
    _refused(post_json(client, P.WITHDRAWALS, withdrawal_body(delivered, receiver_uscc=make_uscc("11445203007190010"))),
             "unknown_incoming", 404)
    _refused(post_json(client, P.WITHDRAWALS, {**withdrawal_body(delivered), "package_id": "x"}), "withdrawal_invalid", 400)


def test_receiving_agency_that_cannot_take_the_incoming_refuses_the_package(client, peer, receipt_api, monkeypatch):
    """A refusal from further in (the 收文 flow cannot start) rolls everything back and answers with its code."""
    import workflows.actions.receipt as module
    from oa.refusals import Refusal

    def cannot_start(incoming):
        raise Refusal("no_clerk", "收文机关没有文书，无法签收", 409)

    monkeypatch.setattr(module, "do_start_receipt", cannot_start)
    before = counts()
    _refused(signed_post(client, P.PACKAGES, make_package()), "no_clerk", 409)
    assert counts() == before


@pytest.mark.django_db(transaction=True)
async def test_through_the_asgi_handler(demo_tx, settings, monkeypatch):
    """The same request through Django's ASGI handler (what uvicorn serves): body streaming and headers work
    there too."""
    from asgiref.sync import sync_to_async
    from django.db import connection
    from django.test import AsyncClient

    settings.OA_EXCHANGE_NODE_CODE, settings.OA_EXCHANGE_NODE_KEY = OUR_CODE, OUR_NODE_KEY
    settings.OA_OUTBOX_KICK = False
    import workflows.actions.receipt as module

    monkeypatch.setattr(module, "do_start_receipt", lambda incoming: None)
    await sync_to_async(check_add_peer)(peer_descriptor())
    package_id = uuid.uuid4()
    data = make_package(package_id=package_id)
    headers = P.sign_request(method="POST", path="/exchange/v1/packages", body=data, sender=PEER_CODE,
                             receiver=OUR_CODE, key=PEER_NODE_KEY)
    client = AsyncClient()
    try:
        response = await client.post("/exchange/v1/packages", data=data, content_type="application/zip",
                                     headers=headers)
        assert response.status_code == 200, response.content
        assert json.loads(response.content)["status"] == "accepted"
        replay = await client.post("/exchange/v1/packages", data=data, content_type="application/zip",
                                   headers=headers)
        assert replay.status_code == 409 and json.loads(replay.content)["code"] == "replayed_request"
        assert await IncomingDocument.objects.filter(package_id=package_id).acount() == 1
    finally:
        await sync_to_async(lambda: connection.close())()  # the handler's thread keeps a connection otherwise


def test_an_addressee_named_in_the_cc_metadata_gets_a_cc_incoming(client, peer, receipt_api):
    office = make_uscc("11445203007190010")  # 区府办: 主送 (by 全称); 区财政局: 抄送 (by 简称)
    metadata = {**METADATA, "主送机关": ["揭阳市揭东区人民政府办公室"], "抄送机关": "区委办、区财政局"}
    response = signed_post(client, P.PACKAGES, make_package(recipients=[FINANCE_USCC, office], metadata=metadata))
    assert response.status_code == 200
    kinds = dict(IncomingDocument.objects.values_list("agency__uscc", "kind"))
    assert kinds == {FINANCE_USCC: IncomingDocument.Kind.CC, office: IncomingDocument.Kind.MAIN}
