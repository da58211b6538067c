"""The only writer of the hash-chained audit log."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from oa.models import AuditChainHead, AuditEntry, Person
from oa.selectors.audit import CHECKPOINT, entry_hash
from oa.sqlwrites import insert_statement


class _Pin:
    """The chain head this transaction holds, cached so that further appends skip the SELECT. Valid while its
    on_commit sentinel is still queued: a rollback (of the transaction, or of the savepoint the last append ran
    in) drops the sentinel, and the next append reads the head again."""

    def __init__(self, head: AuditChainHead) -> None:
        self.head = head
        self.sentinel = None

    def arm(self) -> None:
        def sentinel() -> None:  # nothing to do on commit; its presence in the queue is the signal
            return None

        self.sentinel = sentinel
        transaction.on_commit(sentinel)

    def valid(self) -> bool:
        return connection.in_atomic_block and any(cb is self.sentinel for _, cb, _ in connection.run_on_commit)


def _take_chain() -> AuditChainHead:
    """Lock a chain head for this transaction without waiting: the one this connection used last if it is free
    (so the entries of one act stay together and in order), else the lowest free one, else a new chain.

    FOR UPDATE SKIP LOCKED never waits on a head another transaction holds, so appenders do not queue behind each
    other and cannot deadlock through the audit log (a head already locked by this transaction is not skipped).
    A new head row is invisible to other transactions until commit, so it is this one's alone. Only past
    OA_AUDIT_MAX_CHAINS chains does an append wait, on the lowest chain. On SQLite (one writer at a time)
    select_for_update is a no-op and everything lands in the lowest chain.
    """
    pin: _Pin | None = getattr(connection, "_oa_audit_pin", None)
    if pin is not None and pin.valid():
        return pin.head
    free = AuditChainHead.objects.select_for_update(skip_locked=True)
    hint = pin.head.pk if pin is not None else None
    head = free.filter(pk=hint).first() if hint else None
    if head is None:
        head = free.order_by("id").first()
    if head is None:
        if AuditChainHead.objects.count() < settings.OA_AUDIT_MAX_CHAINS:
            head = AuditChainHead.objects.create()
        else:
            head = AuditChainHead.objects.select_for_update().order_by("id").first()
    pin = connection._oa_audit_pin = _Pin(head)
    pin.arm()
    return head


def reserve_audit_chain() -> None:
    """Take this transaction's chain now (never waits). Actions that hold a hot lock until commit (the 文号
    sequence row) call it before taking that lock, so the append inside their critical section costs one
    statement."""
    _take_chain()


Write = tuple[str, list]  # one INSERT/UPDATE/DELETE statement and its parameters (oa.sqlwrites)


def _write(entry: AuditEntry, head: AuditChainHead, also: Sequence[Write] = ()) -> None:
    """INSERT the entry and move the head: one statement on PostgreSQL (a data-modifying CTE, which also carries
    the ``also`` writes of the act being recorded), separate statements elsewhere."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            for sql, params in also:
                cursor.execute(sql, params)
        entry.save(force_insert=True)
        AuditChainHead.objects.filter(pk=head.pk).update(last_seq=entry.seq, last_hash=entry.hash)
        return
    insert, values = insert_statement(entry)
    # Every part of a WITH runs exactly once, whether or not the final INSERT reads it (PostgreSQL docs, 7.8.4).
    ctes = ["h AS (UPDATE oa_auditchainhead SET last_seq = %s, last_hash = %s WHERE id = %s)"]
    params: list = [entry.seq, entry.hash, head.pk]
    for n, (sql, write_params) in enumerate(also):
        ctes.append(f"w{n} AS ({sql})")
        params.extend(write_params)
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(ctes)} {insert} RETURNING id", [*params, *values])
        entry.pk = cursor.fetchone()[0]
    entry._state.adding = False


def _append(head: AuditChainHead, entry: AuditEntry, also: Sequence[Write] = ()) -> AuditEntry:
    entry.chain = head.pk
    entry.seq = head.last_seq + 1
    entry.prev_hash = head.last_hash
    entry.layout = AuditEntry.LAYOUT
    entry.hash = entry_hash(entry)
    _write(entry, head, also)
    head.last_seq, head.last_hash = entry.seq, entry.hash
    connection._oa_audit_pin.arm()  # a rollback of this append must drop the cached head
    return entry


def do_record_audit(
    *,
    actor: Person | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    object_repr: str = "",
    changes: dict[str, Any] | None = None,
    ip: str | None = None,
    on_behalf_of: Person | None = None,
    actor_name: str = "",
    also: Sequence[Write] = (),
) -> AuditEntry:
    """Append one entry. Call it inside the transaction of the act it records, so both commit or neither.

    ``also``: writes of that act (oa.sqlwrites statements) sent in the same statement as the append on PostgreSQL,
    so an act that holds a hot lock until commit (the 文号 sequence row) spends one round trip on all its writes.

    The entry goes into whichever chain is free (see _take_chain); that chain's head stays locked until commit.
    No savepoint: a failed append must fail the act that it records anyway.
    """
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
        object_repr = object_repr or str(obj)
    # Normalise through JSON once, so what is hashed is exactly what the JSON column gives back.
    clean_changes = json.loads(json.dumps(changes or {}, cls=DjangoJSONEncoder, ensure_ascii=False))
    with transaction.atomic(savepoint=False):
        head = _take_chain()
        entry = _append(head, AuditEntry(
            at=timezone.now(),
            actor=actor,
            actor_name=actor_name or (actor.get_full_name() if actor else "系统"),
            on_behalf_of=on_behalf_of,
            on_behalf_of_name=on_behalf_of.get_full_name() if on_behalf_of else "",
            action=action,
            object_type=object_type,
            object_id=str(object_id)[:64],
            object_repr=object_repr[:200],
            changes=clean_changes,
            ip=ip or None,
            algorithm=settings.OA_AUDIT_HASH,
        ), also)
        if entry.seq % settings.OA_AUDIT_CHECKPOINT_EVERY == 0:
            _append(head, _checkpoint_entry(head))
    return entry


def _checkpoint_entry(head: AuditChainHead) -> AuditEntry:
    """An entry recording the committed head (seq, hash) of every other chain: verification checks each recorded
    position against that chain, so a chain cut back or rewritten behind a checkpoint is found from the others."""
    heads = {
        str(pk): [seq, h]
        for pk, seq, h in AuditChainHead.objects.exclude(pk=head.pk).filter(last_seq__gt=0)
        .order_by("id").values_list("pk", "last_seq", "last_hash")
    }
    return AuditEntry(
        at=timezone.now(), actor=None, actor_name="系统", action=CHECKPOINT, object_type="oa.auditchainhead",
        object_repr=f"检查点：{len(heads) + 1} 条链", changes={"heads": heads}, algorithm=settings.OA_AUDIT_HASH,
    )


def do_audit_checkpoint() -> AuditEntry:
    """Link all chains now (the periodic job, and after a purge)."""
    with transaction.atomic():
        head = _take_chain()
        return _append(head, _checkpoint_entry(head))


def do_record_audit_export(*, actor: Person, filters: dict[str, Any], ip: str | None = None) -> AuditEntry:
    """The auditor's CSV export is itself audited, with the filters it used."""
    return do_record_audit(
        actor=actor,
        action="audit.export",
        object_type="oa.auditentry",
        object_repr="导出审计日志",
        changes={k: v for k, v in filters.items() if v},
        ip=ip,
    )


def do_record_audit_verify(*, actor: Person, ok: bool, checked: int, first_broken_id: int | None,
                           ip: str | None = None) -> AuditEntry:
    """The 审计管理员 checked the chain from the page: the check and its result are on record too."""
    return do_record_audit(
        actor=actor,
        action="audit.verify",
        object_type="oa.auditentry",
        object_repr="校验审计链",
        changes={"ok": ok, "checked": checked, **({"first_broken_id": first_broken_id} if not ok else {})},
        ip=ip,
    )


class AuditRetentionError(Exception):
    pass


def do_purge_audit(*, actor: Person | None, before: dt.datetime) -> int:
    """Delete, chain by chain, the oldest entries older than `before`, never younger than the retention period.

    Each chain stays verifiable: its head keeps the position and hash of its last purged entry as its anchor.
    """
    limit = timezone.now() - dt.timedelta(days=settings.OA_AUDIT_RETENTION_DAYS)
    if before > limit:
        raise AuditRetentionError(
            f"审计日志至少保留 {settings.OA_AUDIT_RETENTION_DAYS} 天，不能清理 {limit:%Y-%m-%d} 之后的记录。"
        )
    count = 0
    anchors: dict[str, int] = {}
    with transaction.atomic():
        # Rare and deliberate: wait for every chain (in id order, as nothing else waits on two heads).
        for head in AuditChainHead.objects.select_for_update().order_by("id"):
            in_chain = AuditEntry.objects.filter(chain=head.pk)
            # Only a prefix of the chain may go: stop at the first entry that is still too young.
            first_young = in_chain.filter(at__gte=before).order_by("seq").values_list("seq", flat=True).first()
            doomed = in_chain.filter(seq__gt=head.anchor_seq)
            if first_young is not None:
                doomed = doomed.filter(seq__lt=first_young)
            last = doomed.order_by("-seq").first()
            if last is None:
                continue
            count += doomed.count()
            head.anchor_seq, head.anchor_hash = last.seq, last.hash
            doomed.delete()
            head.save(update_fields=["anchor_seq", "anchor_hash"])
            anchors[str(head.pk)] = last.seq
        if not count:
            return 0
        do_record_audit(
            actor=actor,
            action="audit.purge",
            object_type="oa.auditentry",
            object_repr="清理至 " + "、".join(f"链 {c} 第 {s} 条" for c, s in anchors.items()),
            changes={"deleted": count, "anchors": anchors, "before": before},
        )
    return count
