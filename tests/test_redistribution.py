"""补发 and 改送: after a receiving agency refused (退回) a 收文 we distributed, the sender's 文书 sends it again to
the same agency (a new 收文; the refused one stays with its reason) or instead to another agency of the directory
(the refused row marked 已改送). Both roads: inside this deployment and through the exchange (PostgreSQL)."""

# ruff: noqa: F811  (fixtures imported from tests.test_exchange_inbound are parameters here)
from __future__ import annotations

import pytest

from documents.models import IncomingDocument
from integrations.exchange import protocol as P
from oa.models import Agency, AuditEntry, OutboxMessage, WorkItem
from oa.refusals import Refusal
from tests.clients import login
from tests.issued import issue_to
from tests.test_exchange_inbound import (  # noqa: F401  (fixtures)
    PEER_AGENCY_USCC,
    node,
    peer,
    post_json,
    sent_document,
)
from tests.test_receipt import edu, finance, open_task, register_fields, step  # noqa: F401  (fixtures)
from workflows.actions.distribution import (
    RETURNED,
    SIGNED,
    check_redirect_distribution,
    check_reissue_distribution,
    do_apply_receipt,
)
from workflows.models import DistributionRecipient
from workflows.receipt.flows import ReceiptFlow

pytestmark = pytest.mark.django_db
Status = DistributionRecipient.Status
REASON = "不属于本机关职权范围，请改送区审计局。"


@pytest.fixture
def stats():
    return Agency.objects.get(doc_code="揭东审")


def refuse(cast, incoming: IncomingDocument, reason: str = REASON) -> None:
    """教育局 signs, registers and at 初审 returns the 收文 to the sender, through its pages."""
    clerk = login(cast.edu05, otp=True)
    assert step(clerk, open_task(incoming, ReceiptFlow.sign), "sign").status_code == 302
    assert step(clerk, open_task(incoming, ReceiptFlow.register), "register",
                **register_fields(incoming)).status_code == 302
    office = login(cast.edu03, otp=True)
    assert step(office, open_task(incoming, ReceiptFlow.review), "return_sender", reason).status_code == 302


@pytest.fixture
def refused(cast, edu, finance):
    doc, _ = issue_to([edu, finance], title="关于统计教育设施数据的函")
    row = DistributionRecipient.objects.get(document=doc, agency=edu)
    refuse(cast, row.incoming)
    row.refresh_from_db()
    assert row.status == Status.RETURNED and row.reason == REASON
    return row


def snapshot(doc) -> dict:
    return {"rows": list(DistributionRecipient.objects.filter(document=doc).order_by("id")
                         .values_list("id", "agency_id", "status", "incoming_id", "replaces_id")),
            "incoming": IncomingDocument.objects.filter(document=doc).count(),
            "audit": AuditEntry.objects.filter(action__in=["distribution.reissue", "distribution.redirect"]).count(),
            "work": WorkItem.objects.count()}


def test_reissue_over_http_is_a_new_incoming_and_keeps_the_refused_one(cast, edu, refused):
    doc, old_incoming = refused.document, refused.incoming
    clerk = login(cast.liuyang)
    page = clerk.get(f"/flows/distribution/{doc.pk}/").content.decode()
    assert REASON in page and "补发" in page and "改送" in page and 'aria-label="补发给' in page
    done = clerk.post(f"/flows/distribution/recipients/{refused.pk}/reissue", follow=True)
    html = done.content.decode()
    assert done.status_code == 200 and f"已向{edu.name}补发。" in html

    refused.refresh_from_db()
    assert refused.status == Status.REISSUED and refused.reason == REASON  # history keeps the refusal
    new = DistributionRecipient.objects.get(document=doc, agency=edu, status=Status.PENDING)
    assert new.replaces_id == refused.pk and new.kind == refused.kind and new.sent_by == cast.liuyang
    assert new.incoming_id not in (None, old_incoming.pk) and new.package_id != refused.package_id
    old_incoming.refresh_from_db()
    assert old_incoming.status == IncomingDocument.Status.RETURNED and old_incoming.returned_reason == REASON
    assert new.incoming.status == IncomingDocument.Status.PENDING and new.incoming.agency == edu
    # the new 收文 waits for 签收 in 教育局's 待办
    assert WorkItem.objects.filter(owner=cast.edu05, state=WorkItem.State.OPEN, box=WorkItem.Box.TODO,
                                   title__contains=doc.title).exists()
    entry = AuditEntry.objects.get(action="distribution.reissue", object_id=str(doc.pk))
    assert entry.changes["agency"] == edu.name and entry.changes["returned_reason"] == REASON
    # the page lists both: the refused copy as 已补发 with its reason, the new one 待签收; counts only live rows
    assert "已补发" in html and REASON in html and "共分发 2 个机关" in html
    # a receipt for the refused 收文 (e.g. late) cannot touch the new row; the new 收文's receipts reach it
    assert do_apply_receipt(refused, SIGNED, actor_name="x") is False
    clerk2 = login(cast.edu05, otp=True)
    assert step(clerk2, open_task(new.incoming, ReceiptFlow.sign), "sign").status_code == 302
    new.refresh_from_db()
    refused.refresh_from_db()
    assert new.status == Status.SIGNED and refused.status == Status.REISSUED


def test_redirect_over_http_sends_to_another_agency(cast, edu, stats, refused):
    doc = refused.document
    clerk = login(cast.liuyang)
    page = clerk.get(f"/flows/distribution/{doc.pk}/").content.decode()
    assert f'<option value="{stats.pk}">{stats.name}</option>' in page
    assert f'<option value="{refused.agency_id}">' not in page  # already a recipient: not offered
    done = clerk.post(f"/flows/distribution/recipients/{refused.pk}/redirect", {"agency": stats.pk}, follow=True)
    html = done.content.decode()
    assert f"已将{edu.name}退回的公文改送{stats.name}。" in html
    refused.refresh_from_db()
    assert refused.status == Status.REDIRECTED and refused.reason == REASON
    new = DistributionRecipient.objects.get(document=doc, agency=stats)
    assert new.status == Status.PENDING and new.replaces_id == refused.pk
    assert new.incoming.agency == stats and new.incoming.status == IncomingDocument.Status.PENDING
    assert "已改送" in html and f" 改送{stats.name}" in html and f"改送（原送{edu.name}）" in html
    entry = AuditEntry.objects.get(action="distribution.redirect", object_id=str(doc.pk))
    assert entry.changes["from"] == edu.name and entry.changes["to"] == stats.name
    # the agency that refused can be sent the document again later (its row is history now)
    assert DistributionRecipient.objects.filter(document=doc, agency=edu).count() == 1
    api = clerk.get(f"/api/flows/distribution/{doc.pk}").json()
    assert {r["agency"]: r["status"] for r in api["recipients"]}[stats.name] == "pending"


def test_refusals_change_nothing(cast, edu, finance, stats, refused):
    doc = refused.document
    pending = DistributionRecipient.objects.get(document=doc, agency=finance)
    before = snapshot(doc)
    clerk = login(cast.liuyang)
    cases = [
        (pending.pk, "reissue", {}, 409, "redistribute_not_returned"),
        (pending.pk, "redirect", {"agency": stats.pk}, 409, "redistribute_not_returned"),
        (refused.pk, "redirect", {"agency": finance.pk}, 409, "recipient_exists"),
        (refused.pk, "redirect", {"agency": edu.pk}, 400, "redirect_same_agency"),
        (refused.pk, "redirect", {"agency": doc.agency_id}, 400, "recipient_is_sender"),
        (refused.pk, "redirect", {"agency": 987654}, 400, "recipient_invalid"),
    ]
    for pk, verb, body, status, code in cases:
        answer = clerk.post(f"/api/flows/distribution/recipients/{pk}/{verb}", body, content_type="application/json")
        assert answer.status_code == status and answer.json()["code"] == code, (verb, answer.content)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in answer.json()["message"])
    # the drafter is not the office's 文书
    drafter = login(cast.zhangwei)
    answer = drafter.post(f"/api/flows/distribution/recipients/{refused.pk}/reissue")
    assert answer.status_code == 403 and answer.json()["code"] == "distribution_not_allowed"
    # someone of another agency does not learn the row exists
    assert login(cast.finance06).post(f"/flows/distribution/recipients/{refused.pk}/reissue").status_code == 404
    # the page shows the refusal beside the list, in Chinese, naming the agency
    page = clerk.post(f"/flows/distribution/recipients/{pending.pk}/reissue", follow=True).content.decode()
    assert f"{finance.name}的状态为“待签收”，只有被退回的公文可以补发或改送。" in page
    assert snapshot(doc) == before


def test_a_failing_delivery_rolls_the_redirect_back(cast, refused, stats):
    """改送 to an agency of another deployment whose node is not registered: refused, and nothing is written."""
    doc = refused.document
    Agency.objects.filter(pk=stats.pk).update(exchange_node="nowhere")
    before = snapshot(doc)
    with pytest.raises(Refusal) as err:
        check_redirect_distribution(cast.liuyang, refused, stats)
    assert err.value.code == "exchange_peer_unknown" and "nowhere" in err.value.message
    assert snapshot(doc) == before


# ---- through the exchange ---------------------------------------------------------------------------------


def test_reissue_to_another_deployment_is_a_new_package(client, cast, peer):
    agency = Agency.objects.get(uscc=PEER_AGENCY_USCC)
    doc, [row] = sent_document(cast, [agency])
    from workflows.actions.distribution import do_send_remote

    do_send_remote(doc, [row], actor=cast.liuyang)
    row.refresh_from_db()
    first = OutboxMessage.objects.get(channel="exchange", kind="package")
    assert str(row.package_id) == first.payload["package_id"]

    def receipt(package_id, action, reason=""):
        return post_json(client, P.RECEIPTS, {
            "package_id": str(package_id), "document": str(doc.identifier), "receiver_uscc": agency.uscc,
            "action": action, "actor": "陈文", "timestamp": "2026-03-05T09:30:00+08:00", "reason": reason,
            "copies": None})

    assert receipt(row.package_id, RETURNED, "文种使用不当").json()["recipient_status"] == "returned"
    new = check_reissue_distribution(cast.liuyang, row)
    packages = OutboxMessage.objects.filter(channel="exchange", kind="package").order_by("id")
    assert packages.count() == 2
    second = packages.last()
    assert second.payload["recipients"] == [agency.uscc] and second.payload["package_id"] != first.payload["package_id"]
    assert str(new.package_id) == second.payload["package_id"] and new.incoming_id is None
    # a receipt naming the refused package is the refused row's (ignored now); the new package's reaches the new row
    assert receipt(row.package_id, SIGNED).json() == {"status": "ignored", "recipient_status": "reissued"}
    assert receipt(new.package_id, SIGNED).json() == {"status": "applied", "recipient_status": "signed"}
    row.refresh_from_db()
    new.refresh_from_db()
    assert (row.status, row.reason, new.status) == (Status.REISSUED, "文种使用不当", Status.SIGNED)
    assert AuditEntry.objects.get(action="distribution.reissue").changes["remote"] is True
