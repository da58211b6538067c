"""Reads of the audit log: verification and the auditor's filtered list."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from oa.hashing import digest
from oa.models import AuditChainHead, AuditEntry


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    reason: str = ""


def verify_audit_chain() -> ChainReport:
    """Walk the chain from the anchor: ids contiguous, each prev_hash links, each hash recomputes."""
    head = AuditChainHead.objects.filter(pk=1).first()
    expected_prev = head.anchor_hash if head else GENESIS
    expected_id = (head.anchor_id if head else 0) + 1
    checked = 0
    for entry in AuditEntry.objects.filter(id__gte=expected_id).order_by("id").iterator(chunk_size=2000):
        if entry.pk != expected_id:
            return ChainReport(False, checked, expected_id, f"缺少第 {expected_id} 条记录（已被删除）")
        if entry.prev_hash != expected_prev:
            return ChainReport(False, checked, entry.pk, "前一条摘要不匹配（链条被改动）")
        if entry_hash(entry) != entry.hash:
            return ChainReport(False, checked, entry.pk, "记录内容与摘要不符（记录被篡改）")
        checked += 1
        expected_prev = entry.hash
        expected_id += 1
    if head and (head.last_id != expected_id - 1 or (checked and head.last_hash != expected_prev)):
        return ChainReport(False, checked, expected_id, f"链尾缺失：链头记录到第 {head.last_id} 条")
    return ChainReport(True, checked)


def audit_entries(
    *,
    actor_id: int | None = None,
    action: str = "",
    object_type: str = "",
    text: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[AuditEntry]:
    qs = AuditEntry.objects.all()
    if actor_id:
        qs = qs.filter(Q(actor_id=actor_id) | Q(on_behalf_of_id=actor_id))
    if action:
        qs = qs.filter(action__startswith=action)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if text:
        qs = qs.filter(Q(object_repr__icontains=text) | Q(actor_name__icontains=text))
    if since:
        qs = qs.filter(at__date__gte=since)
    if until:
        qs = qs.filter(at__date__lte=until)
    return qs.order_by("-id")


def may_view_audit(user) -> bool:
    """Auditors (Django permission oa.view_auditentry, e.g. via a group 审计员) and 系统管理员."""
    if not user.is_authenticated:
        return False
    from oa.models import Role
    from oa.selectors.directory import held_roles

    return Role.SYSADMIN in held_roles(user) or user.has_perm("oa.view_auditentry")


GENESIS = "0" * 64


def canonical_payload(entry: AuditEntry) -> bytes:
    """The bytes that are hashed: every field of the entry except the hashes, as canonical JSON."""
    body = {
        "id": entry.pk,
        "at": entry.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "on_behalf_of_id": entry.on_behalf_of_id,
        "on_behalf_of_name": entry.on_behalf_of_name,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "object_repr": entry.object_repr,
        "changes": entry.changes,
        "ip": entry.ip,
        "algorithm": entry.algorithm,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def entry_hash(entry: AuditEntry) -> str:
    return digest(entry.algorithm, entry.prev_hash.encode() + canonical_payload(entry))
