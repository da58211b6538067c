"""The audit log as several chains linked by checkpoints (docs/security.md § 审计链): verification finds a
tampered, deleted or reordered entry in any chain, a chain cut back behind a checkpoint, and a rewritten
checkpoint; SM3 gives the GB/T 32905 digests through every implementation; the 文号 allocator's split indexing
stores what a full re-index would."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from django.db import DatabaseError, connection, transaction

from oa import hashing
from oa.actions.audit import do_audit_checkpoint, do_record_audit
from oa.models import AuditChainHead, AuditEntry
from oa.selectors.audit import canonical_payload, entry_hash, verify_audit_chain
from tests.test_audit import _tamper

pytestmark = pytest.mark.django_db

# GB/T 32905-2016 附录 A: "abc" and "abcd" × 16.
SM3_VECTORS = [
    (b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
    (b"abcd" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),
]


@pytest.mark.parametrize("name", sorted(hashing.SM3_IMPLEMENTATIONS))
def test_every_sm3_implementation_gives_the_standard_vectors(name):
    sm3 = hashing.SM3_IMPLEMENTATIONS[name]
    for data, expected in SM3_VECTORS:
        assert sm3(data) == expected
    payload = "审计记录 ".encode() * 50
    assert sm3(payload) == hashing.sm3_hex_pure(payload)


def test_the_pure_python_fallback_is_kept_and_a_fast_one_is_picked_here():
    assert "gmssl" in hashing.SM3_IMPLEMENTATIONS
    assert hashing.SM3_IMPLEMENTATION in {"hashlib", "cryptography"}  # this machine's OpenSSL offers SM3


def _second_chain() -> AuditChainHead:
    return AuditChainHead.objects.create()


def _append_in(head: AuditChainHead, cast, n: int, action: str = "test.chain") -> list[AuditEntry]:
    """Appends landing in ``head``'s chain, as they would from a second transaction holding it."""
    head.refresh_from_db()
    with mock.patch("oa.actions.audit._take_chain", return_value=head):
        return [do_record_audit(actor=cast.zhangwei, action=action, object_repr=f"#{i}") for i in range(n)]


def _two_chains(cast) -> tuple[list[AuditEntry], list[AuditEntry]]:
    first = [do_record_audit(actor=cast.zhangwei, action="test.a", object_repr=f"甲{i}") for i in range(3)]
    other = _second_chain()
    second = _append_in(other, cast, 4)
    first += [do_record_audit(actor=cast.lina, action="test.a", object_repr="甲3")]
    assert {e.chain for e in first} == {first[0].chain} and {e.chain for e in second} == {other.pk}
    assert [e.seq for e in second] == [1, 2, 3, 4] and second[0].prev_hash == "0" * 64
    return first, second


def _rehash_from(entry: AuditEntry) -> None:
    """What an attacker with write access does to hide an edit: recompute the rest of the chain and its head."""
    rows = [entry, *AuditEntry.objects.filter(chain=entry.chain, seq__gt=entry.seq).order_by("seq")]
    prev = AuditEntry.objects.get(chain=entry.chain, seq=entry.seq - 1).hash if entry.seq > 1 else "0" * 64
    for row in rows:
        row.prev_hash = prev
        row.hash = entry_hash(row)
        _tamper(row.pk, "UPDATE oa_auditentry SET prev_hash = %s, hash = %s, changes = %s WHERE id = %s",
                [row.prev_hash, row.hash, json.dumps(row.changes), row.pk])
        prev = row.hash
    AuditChainHead.objects.filter(pk=entry.chain).update(last_seq=rows[-1].seq, last_hash=prev)


def test_two_chains_and_a_checkpoint_verify(cast):
    _, second = _two_chains(cast)
    checkpoint = do_audit_checkpoint()
    assert checkpoint.changes["heads"][str(second[0].chain)] == [4, second[-1].hash]
    report = verify_audit_chain()
    assert report.ok, report
    assert report.chains >= 2 and report.checkpoints >= 1


def test_a_tampered_entry_in_the_second_chain_is_found(cast):
    _, second = _two_chains(cast)
    _tamper(second[1].pk, "UPDATE oa_auditentry SET object_repr = %s WHERE id = %s", ["改过", second[1].pk])
    report = verify_audit_chain()
    assert not report.ok and (report.chain, report.seq, report.first_broken_id) == (second[1].chain, 2, second[1].pk)
    assert "篡改" in report.reason


def test_a_deleted_entry_in_the_second_chain_is_found(cast):
    _, second = _two_chains(cast)
    _tamper(second[2].pk, "DELETE FROM oa_auditentry WHERE id = %s", [second[2].pk])
    report = verify_audit_chain()
    assert not report.ok and (report.chain, report.seq) == (second[2].chain, 3) and "删除" in report.reason


def test_reordered_entries_in_a_chain_are_found(cast):
    _, second = _two_chains(cast)
    a, b = second[1], second[2]
    # Swap their positions (through a free position, the pair is unique).
    _tamper(a.pk, "UPDATE oa_auditentry SET seq = -1 WHERE id = %s", [a.pk])
    _tamper(b.pk, "UPDATE oa_auditentry SET seq = %s WHERE id = %s", [a.seq, b.pk])
    _tamper(a.pk, "UPDATE oa_auditentry SET seq = %s WHERE id = %s", [b.seq, a.pk])
    report = verify_audit_chain()
    assert not report.ok and report.chain == a.chain and report.seq == a.seq


def test_an_entry_moved_to_another_chain_is_found(cast):
    first, second = _two_chains(cast)
    last = first[-1]
    _tamper(last.pk, "UPDATE oa_auditentry SET chain = %s, seq = 5, prev_hash = %s WHERE id = %s",
            [second[0].chain, second[-1].hash, last.pk])
    AuditChainHead.objects.filter(pk=second[0].chain).update(last_seq=5, last_hash=last.hash)
    AuditChainHead.objects.filter(pk=last.chain).update(last_seq=last.seq - 1, last_hash=first[-2].hash)
    report = verify_audit_chain()
    assert not report.ok and report.first_broken_id == last.pk and "篡改" in report.reason


def test_a_chain_cut_back_behind_a_checkpoint_is_found_from_the_checkpoint(cast):
    _, second = _two_chains(cast)
    do_audit_checkpoint()  # lands in the first chain, records the second at seq 4
    # Cut the second chain's last two entries and make its head agree: the chain alone now looks whole.
    _tamper(0, "DELETE FROM oa_auditentry WHERE id IN (%s, %s)", [second[2].pk, second[3].pk])
    AuditChainHead.objects.filter(pk=second[0].chain).update(last_seq=2, last_hash=second[1].hash)
    report = verify_audit_chain()
    assert not report.ok and report.chain == second[0].chain and "检查点" in report.reason


def test_a_deleted_chain_is_found_from_the_checkpoint(cast):
    _, second = _two_chains(cast)
    do_audit_checkpoint()
    _tamper(0, "DELETE FROM oa_auditentry WHERE chain = %s", [second[0].chain])
    AuditChainHead.objects.filter(pk=second[0].chain).delete()
    report = verify_audit_chain()
    assert not report.ok and report.chain == second[0].chain and "链头缺失" in report.reason


def test_a_rewritten_checkpoint_is_found_even_when_its_chain_is_rehashed(cast):
    _, second = _two_chains(cast)
    checkpoint = do_audit_checkpoint()
    forged = AuditEntry.objects.get(pk=checkpoint.pk)
    forged.changes = {"heads": {**forged.changes["heads"], str(second[0].chain): [4, "f" * 64]}}
    _rehash_from(forged)
    report = verify_audit_chain()
    assert not report.ok and report.chain == second[0].chain and f"检查点 #{checkpoint.pk}" in report.reason


def test_a_checkpoint_is_written_every_so_many_entries(cast, settings):
    settings.OA_AUDIT_CHECKPOINT_EVERY = 3
    before = AuditEntry.objects.filter(action="audit.checkpoint").count()
    for i in range(7):
        do_record_audit(actor=cast.zhangwei, action="test.many", object_repr=str(i))
    assert AuditEntry.objects.filter(action="audit.checkpoint").count() - before >= 2
    assert verify_audit_chain().ok


def test_legacy_entries_keep_their_hashes(cast):
    """Entries written before chains (layout 1) hash their id; they verify as chain 1 with seq = id."""
    entry = do_record_audit(actor=cast.zhangwei, action="test.legacy")
    legacy = AuditEntry.objects.get(pk=entry.pk)
    legacy.layout = AuditEntry.LEGACY_LAYOUT
    assert b'"id":' in canonical_payload(legacy)
    assert entry_hash(legacy) != entry.hash  # the layout is part of what is hashed: flipping it is tampering
    _tamper(entry.pk, "UPDATE oa_auditentry SET layout = 1 WHERE id = %s", [entry.pk])
    report = verify_audit_chain()
    assert not report.ok and report.first_broken_id == entry.pk


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the row-locking path")
def test_appends_of_one_transaction_stay_in_one_chain(cast):
    entries = [do_record_audit(actor=cast.zhangwei, action="test.one_tx") for _ in range(3)]
    assert len({e.chain for e in entries}) == 1
    assert [e.seq for e in entries] == [entries[0].seq, entries[0].seq + 1, entries[0].seq + 2]


def test_allocation_indexes_the_number_as_a_full_reindex_would(cast):
    from documents.actions.documents import do_create_document
    from documents.actions.numbering import do_allocate_doc_number
    from documents.models import OfficialDocument
    from documents.search import index_text, index_tokens
    from oa.models import Agency

    office = Agency.objects.get(doc_code="揭东府办")
    doc = do_create_document(actor=cast.zhangwei, agency=office, title="关于做好冬季安全生产工作的通知")
    entry = do_allocate_doc_number(cast.liuyang, doc, year=2033)
    stored = OfficialDocument.objects.get(pk=doc.pk)
    assert stored.doc_number == entry.number
    assert stored.search_text == " ".join(index_tokens(index_text(stored)))
    assert "2033" in stored.search_text.split()


def test_writes_sent_with_an_append_land_with_it_and_fail_with_it(cast):
    """``also``: the act's own writes travel in the append's statement (one round trip on PostgreSQL); they commit
    together, and a failing write leaves neither the entry nor a moved chain head."""
    from oa.models import Agency
    from oa.sqlwrites import update_statement

    agency = Agency.objects.get(doc_code="揭东府办")
    write = update_statement(Agency, agency.pk, {"short_name": "写入同一语句"})
    entry = do_record_audit(actor=cast.zhangwei, action="test.also", obj=agency, also=[write])
    assert Agency.objects.get(pk=agency.pk).short_name == "写入同一语句"
    assert AuditEntry.objects.get(pk=entry.pk).hash == entry.hash

    head_before = AuditChainHead.objects.get(pk=entry.chain)
    count = AuditEntry.objects.count()
    other = Agency.objects.exclude(pk=agency.pk).first()
    broken = update_statement(Agency, agency.pk, {"id": other.pk})  # a primary key already taken
    with pytest.raises(DatabaseError), transaction.atomic():
        do_record_audit(actor=cast.zhangwei, action="test.also", obj=agency, also=[broken])
    assert AuditEntry.objects.count() == count
    head = AuditChainHead.objects.get(pk=entry.chain)
    assert (head.last_seq, head.last_hash) == (head_before.last_seq, head_before.last_hash)
    assert verify_audit_chain().ok
