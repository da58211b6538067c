"""Two live deployments on loopback (issue 6, point 7): 揭东区 (node A) and 揭西县 (node B), each its own
PostgreSQL database, data directory, node key, uvicorn and scheduler, talking only over the exchange protocol.

  1. A issues a 函 to B's 县府办 → B has exactly one 收文 → B's 文书 signs → A sees 已签收 (who, when).
  2. B is stopped while A sends → A's outbox retries with backoff → B comes back → exactly one 收文.
  3. A tampered package (PDF changed after signing) → B answers package_tampered, quarantines it with the
     reason, and creates no 收文.
"""

from __future__ import annotations

import json

import pytest

from tests.live_nodes import Node, prepare_pair, wait_for

pytestmark = pytest.mark.live_nodes


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    work = tmp_path_factory.mktemp("live-exchange")
    a = Node("jiedong", "揭阳市揭东区一网协同办公平台", work)
    b = Node("jiexi", "揭阳市揭西县一网协同办公平台", work)
    try:
        b_info = prepare_pair(a, b, work)
        a.start()
        b.start()
        yield a, b, b_info
    finally:
        for node in (a, b):
            node.stop()
        for node in (a, b):
            node.drop_database()


def _recipient(a: Node, document_id: int) -> dict:
    return a.script("status_a", document_ids=[document_id])["recipients"][0]


def test_a_issues_to_b_b_signs_a_sees_signed(nodes):
    a, b, b_info = nodes
    doc = a.script("issue_a", recipients=[b_info["agency_uscc"]], title="关于协同做好榕江流域防汛工作的函")["documents"][0]
    received = wait_for(lambda: [i for i in b.script("incoming_b")["incoming"] if i["title"] == "关于协同做好榕江流域防汛工作的函"],
                        timeout=60, what="B's 收文")
    assert len(received) == 1
    incoming = received[0]
    assert incoming["source"] == "exchange" and incoming["status"] == "pending"
    assert incoming["doc_number"] == doc["doc_number"] and incoming["sender"] == "揭阳市揭东区人民政府办公室"
    assert _recipient(a, doc["id"])["status"] == "pending"
    assert b.script("sign_b")["signed"] == [incoming["id"]]
    signed = wait_for(lambda: (r := _recipient(a, doc["id"]))["status"] == "signed" and r, timeout=60,
                      what="A to see 已签收")
    assert signed["status_by"] == "陈文" and signed["status_at"]


def test_b_down_while_sending_then_exactly_one_incoming(nodes):
    a, b, b_info = nodes
    b.stop()
    try:
        doc = a.script("issue_a", recipients=[b_info["agency_uscc"]], title="关于联合开展安全生产检查的函")["documents"][0]
        failed = wait_for(lambda: [m for m in a.script("status_a", document_ids=[doc["id"]])["outbox"]
                                   if m["kind"] == "package" and m["attempts"] >= 1 and m["state"] != "sent"],
                          timeout=60, what="A's first failed attempt")
        assert failed[-1]["last_error"]
    finally:
        b.start()
    rows = wait_for(lambda: [i for i in b.script("incoming_b")["incoming"] if i["title"] == "关于联合开展安全生产检查的函"],
                    timeout=90, what="the retried package at B")
    outbox = a.script("status_a", document_ids=[doc["id"]])["outbox"]
    package = next(m for m in outbox if m["kind"] == "package" and m["state"] == "sent" and m["attempts"] >= 2)
    assert package
    # Give any second attempt time to land: still exactly one 收文 and one accepted package for it.
    b.manage("shell", "-c", "import time; time.sleep(3)")
    final = b.script("incoming_b")
    assert len([i for i in final["incoming"] if i["title"] == "关于联合开展安全生产检查的函"]) == 1
    assert len([p for p in final["packages"] if p["package_id"] == rows[0]["package_id"] and p["status"] == "accepted"]) == 1


def test_tampered_package_is_quarantined_with_the_reason(nodes):
    a, b, b_info = nodes
    doc = a.script("issue_a", recipients=[b_info["agency_uscc"]], title="关于报送防汛物资储备情况的函")["documents"][0]
    wait_for(lambda: [i for i in b.script("incoming_b")["incoming"] if i["title"] == "关于报送防汛物资储备情况的函"],
             timeout=60, what="the genuine package at B")
    before = b.script("incoming_b")
    sent = a.script("send_tampered_a", document_id=doc["id"], peer=b.code)
    assert sent["status"] == 422 and sent["code"] == "package_tampered", json.dumps(sent, ensure_ascii=False)
    after = b.script("incoming_b")
    assert len(after["incoming"]) == len(before["incoming"])
    quarantined = [p for p in after["packages"] if p["package_id"] == sent["package_id"]]
    assert len(quarantined) == 1 and quarantined[0]["status"] == "quarantined"
    assert quarantined[0]["code"] == "package_tampered" and quarantined[0]["reason"]
