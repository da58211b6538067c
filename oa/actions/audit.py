"""The only writer of the hash-chained audit log."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from oa.models import AuditChainHead, AuditEntry, Person
from oa.selectors.audit import entry_hash


def lock_audit_chain() -> AuditChainHead:
    """Serialise appends. Callers that will audit after taking other row locks may take this first, so every
    writer locks in the same order (chain head, then their own rows) and none can deadlock on it."""
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        AuditChainHead.objects.get_or_create(pk=1)
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    return head


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
) -> AuditEntry:
    """Append one entry. Call it inside the transaction of the act it records, so both commit or neither.

    Appends are serialised by a row lock on the chain head; that is the price of a verifiable order.
    """
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
        object_repr = object_repr or str(obj)
    # Normalise through JSON once, so what is hashed is exactly what the JSON column gives back.
    clean_changes = json.loads(json.dumps(changes or {}, cls=DjangoJSONEncoder, ensure_ascii=False))
    with transaction.atomic():
        head = lock_audit_chain()
        entry = AuditEntry(
            pk=head.last_id + 1,
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
            prev_hash=head.last_hash,
        )
        entry.hash = entry_hash(entry)
        entry.save(force_insert=True)
        head.last_id = entry.pk
        head.last_hash = entry.hash
        head.save(update_fields=["last_id", "last_hash"])
    return entry


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
    """Delete the oldest entries older than `before`, never younger than the retention period.

    The chain stays verifiable: the head keeps the hash of the last purged entry as its anchor.
    """
    limit = timezone.now() - dt.timedelta(days=settings.OA_AUDIT_RETENTION_DAYS)
    if before > limit:
        raise AuditRetentionError(
            f"审计日志至少保留 {settings.OA_AUDIT_RETENTION_DAYS} 天，不能清理 {limit:%Y-%m-%d} 之后的记录。"
        )
    with transaction.atomic():
        head = lock_audit_chain()
        # Only a prefix of the chain may go: stop at the first entry that is still too young.
        first_young = AuditEntry.objects.filter(at__gte=before).order_by("id").values_list("id", flat=True).first()
        doomed = AuditEntry.objects.filter(id__gt=head.anchor_id)
        if first_young is not None:
            doomed = doomed.filter(id__lt=first_young)
        last = doomed.order_by("-id").first()
        if last is None:
            return 0
        count = doomed.count()
        head.anchor_id, head.anchor_hash = last.pk, last.hash
        doomed.delete()
        head.save(update_fields=["anchor_id", "anchor_hash"])
    do_record_audit(
        actor=actor,
        action="audit.purge",
        object_type="oa.auditentry",
        object_repr=f"清理至 #{last.pk}",
        changes={"deleted": count, "anchor_id": last.pk, "before": before},
    )
    return count
