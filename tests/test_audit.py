"""The hash-chained audit log: append, verify, tamper detection, DB guard, retention, auditor view."""

from __future__ import annotations

import csv
import datetime as dt
import io
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.test import override_settings
from django.utils import timezone

from oa.actions.audit import AuditRetentionError, do_purge_audit, do_record_audit
from oa.hashing import sm3_hex
from oa.models import AuditChainHead, AuditEntry
from oa.selectors.audit import entry_hash, verify_audit_chain

pytestmark = pytest.mark.django_db
on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL trigger")


def _raw_update(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_entries_chain_and_verify(cast):
    first = do_record_audit(actor=cast.zhangwei, action="test.one", object_repr="甲", changes={"a": 1}, ip="10.0.0.1")
    second = do_record_audit(actor=cast.lina, action="test.two", on_behalf_of=cast.wangfang, object_repr="乙")
    assert second.pk == first.pk + 1
    assert second.prev_hash == first.hash
    assert second.on_behalf_of_name == "王芳"
    assert entry_hash(AuditEntry.objects.get(pk=second.pk)) == second.hash
    assert (second.chain, second.seq) == (first.chain, first.seq + 1)  # one transaction at a time: one chain
    head = AuditChainHead.objects.get(pk=second.chain)
    assert (head.last_seq, head.last_hash) == (second.seq, second.hash)
    report = verify_audit_chain()
    assert report.ok and report.checked >= 2


def test_sm3_is_selectable(cast):
    assert sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    with override_settings(OA_AUDIT_HASH="sm3"):
        entry = do_record_audit(actor=cast.zhangwei, action="test.sm3")
    assert entry.algorithm == "sm3"
    assert entry.hash == entry_hash(entry)
    assert verify_audit_chain().ok


def test_entry_rolls_back_with_the_act(cast):
    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        do_record_audit(actor=cast.zhangwei, action="test.rollback")
        raise RuntimeError
    assert AuditEntry.objects.count() == before
    assert verify_audit_chain().ok


def _tamper(entry_id: int, sql: str, params: list) -> None:
    if connection.vendor == "postgresql":
        # Fire the deferred FK checks first: PostgreSQL refuses ALTER TABLE with trigger events pending.
        _raw_update("SET CONSTRAINTS ALL IMMEDIATE", [])
        _raw_update("ALTER TABLE oa_auditentry DISABLE TRIGGER oa_audit_guard", [])
        _raw_update(sql, params)
        _raw_update("ALTER TABLE oa_auditentry ENABLE TRIGGER oa_audit_guard", [])
    else:
        _raw_update(sql, params)


def test_edited_row_is_named_by_verify_audit(cast):
    entries = [do_record_audit(actor=cast.zhangwei, action="test.tamper", object_repr=f"#{i}") for i in range(5)]
    victim = entries[2]
    _tamper(victim.pk, "UPDATE oa_auditentry SET object_repr = %s WHERE id = %s", ["被改过", victim.pk])
    report = verify_audit_chain()
    assert not report.ok and report.first_broken_id == victim.pk
    assert (report.chain, report.seq) == (victim.chain, victim.seq)
    with pytest.raises(CommandError, match=f"链 {victim.chain} 第 {victim.seq} 条（记录 #{victim.pk}）"):
        call_command("verify_audit")


def test_deleted_row_is_detected_even_if_the_rest_is_rehashed(cast):
    entries = [do_record_audit(actor=cast.zhangwei, action="test.delete") for _ in range(3)]
    _tamper(entries[1].pk, "DELETE FROM oa_auditentry WHERE id = %s", [entries[1].pk])
    report = verify_audit_chain()
    assert not report.ok and (report.chain, report.seq) == (entries[1].chain, entries[1].seq)
    assert "已被删除" in report.reason


def test_truncated_tail_is_detected(cast):
    entries = [do_record_audit(actor=cast.zhangwei, action="test.tail") for _ in range(3)]
    _tamper(entries[-1].pk, "DELETE FROM oa_auditentry WHERE id = %s", [entries[-1].pk])
    assert not verify_audit_chain().ok


def test_verify_command_passes_on_a_clean_chain(cast):
    do_record_audit(actor=cast.zhangwei, action="test.clean")
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "审计日志完整" in out.getvalue()


@on_postgres
def test_postgres_refuses_update_and_young_delete(cast):
    entry = do_record_audit(actor=cast.zhangwei, action="test.guard")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(object_repr="x")
    with pytest.raises(DatabaseError, match="younger than 180 days"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.filter(pk=entry.pk, object_repr="").exists()


def _old_entries(cast, days_ago: int, n: int) -> list[AuditEntry]:
    stamp = timezone.now() - dt.timedelta(days=days_ago)
    with mock.patch("oa.actions.audit.timezone.now", return_value=stamp):
        return [do_record_audit(actor=cast.zhangwei, action="test.old") for _ in range(n)]


def test_retention_refuses_purge_of_young_entries(cast):
    do_record_audit(actor=cast.zhangwei, action="test.young")
    with pytest.raises(AuditRetentionError, match="至少保留 180 天"):
        do_purge_audit(actor=None, before=timezone.now() - dt.timedelta(days=30))
    with pytest.raises(CommandError, match="至少保留"):
        call_command("purge_audit", "--older-than-days", "179")


def test_purge_of_old_prefix_keeps_the_chain_verifiable(cast):
    # Start from an empty chain (the demo's entries are young) so that the old entries form the prefix.
    _tamper(0, "DELETE FROM oa_auditentry", [])
    AuditChainHead.objects.all().delete()
    old = _old_entries(cast, 400, 3)
    young = do_record_audit(actor=cast.zhangwei, action="test.young")
    deleted = do_purge_audit(actor=None, before=timezone.now() - dt.timedelta(days=200))
    assert deleted == 3
    assert not AuditEntry.objects.filter(pk__in=[e.pk for e in old]).exists()
    assert AuditEntry.objects.filter(pk=young.pk).exists()
    head = AuditChainHead.objects.get(pk=old[-1].chain)
    assert (head.anchor_seq, head.anchor_hash) == (old[-1].seq, old[-1].hash)
    assert verify_audit_chain().ok
    assert AuditEntry.objects.filter(action="audit.purge").exists()


class TestAuditorView:
    def test_only_auditors_see_it(self, client, cast):
        client.force_login(cast.zhangwei)
        assert client.get("/audit/").status_code == 403

    def test_filters_and_csv_export(self, client, cast):
        auditor = cast.yanghui  # 审计管理员
        do_record_audit(actor=cast.zhangwei, action="test.view", object_repr="关于开展安全检查的通知")
        do_record_audit(actor=cast.lina, action="other.view", object_repr="别的")
        from tests.clients import login

        client = login(auditor, otp=True)  # the 审计管理员 passes 2FA like the other two
        page = client.get("/audit/", {"action": "test.view"})
        assert page.status_code == 200
        html = page.content.decode()
        assert "关于开展安全检查的通知" in html and "别的" not in html
        bad = client.get("/audit/", {"since": "2026-12-01", "until": "2026-11-01"})
        assert "起始日期不能晚于截止日期" in bad.content.decode()
        export = client.get("/audit/export.csv", {"text": "安全检查"})
        assert export["Content-Disposition"].startswith("attachment")
        body = b"".join(export.streaming_content).decode("utf-8")
        rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
        assert rows[0][0] == "序号"
        assert [r[7] for r in rows[1:]] == ["关于开展安全检查的通知"]
        assert AuditEntry.objects.filter(action="audit.export", actor=auditor).exists()
