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
    first_broken_id: int | None = None  # the entry where the break shows (None when the entry itself is gone)
    reason: str = ""
    chain: int | None = None
    seq: int | None = None
    chains: int = 0
    checkpoints: int = 0

    @property
    def where(self) -> str:
        """Where the break is, for people: the chain position, and the entry id when there is one."""
        if self.chain is None:
            return f"第 {self.first_broken_id} 条记录" if self.first_broken_id else "审计链"
        place = f"链 {self.chain} 第 {self.seq} 条"
        return f"{place}（记录 #{self.first_broken_id}）" if self.first_broken_id else place


def _broken(checked: int, chain: int, seq: int, reason: str, entry_id: int | None = None) -> ChainReport:
    return ChainReport(False, checked, entry_id, reason, chain, seq)


def verify_audit_chain() -> ChainReport:
    """Walk every chain from its anchor: positions contiguous, each prev_hash links, each hash recomputes, the
    head matches the last entry; then every checkpoint's record of the other chains' heads must match the
    entries at those positions (so chains cut back, rewritten or deleted behind a checkpoint are found).
    Reads only the database: nothing here needs a key or a server (docs/security.md § 审计链)."""
    heads = {h.pk: h for h in AuditChainHead.objects.all()}
    chains = sorted(set(heads) | set(AuditEntry.objects.values_list("chain", flat=True).distinct()))
    # Claims made by checkpoints: (chain, seq) -> [(hash, checkpoint entry id)]. Checkpoints are few.
    claims: dict[tuple[int, int], list[tuple[str, int]]] = {}
    checkpoints = 0
    for cp in AuditEntry.objects.filter(action=CHECKPOINT).only("id", "changes").iterator(chunk_size=2000):
        checkpoints += 1
        recorded = (cp.changes or {}).get("heads", {}) if isinstance(cp.changes, dict) else {}
        for chain, pos in (recorded.items() if isinstance(recorded, dict) else []):
            try:
                claims.setdefault((int(chain), int(pos[0])), []).append((str(pos[1]), cp.pk))
            except (TypeError, ValueError, IndexError):
                return ChainReport(False, 0, cp.pk, "检查点内容无法解析（记录被篡改）")
    for chain, _seq in claims:
        if chain not in chains:
            chains.append(chain)
    checked = 0
    for chain in sorted(chains):
        head = heads.get(chain)
        if head is None:
            return _broken(checked, chain, 1, f"链 {chain} 的链头缺失（整条链被删除或链头被删除）")
        expected_prev, expected_seq = head.anchor_hash, head.anchor_seq + 1
        for (c, s), recorded in claims.items():
            if c == chain and s == head.anchor_seq and any(h != head.anchor_hash for h, _ in recorded):
                return _broken(checked, chain, s, "检查点记录的链头与清理锚点不符")
        entries = AuditEntry.objects.filter(chain=chain, seq__gte=expected_seq).order_by("seq")
        for entry in entries.iterator(chunk_size=2000):
            if entry.seq != expected_seq:
                return _broken(checked, chain, expected_seq, f"链 {chain} 缺少第 {expected_seq} 条记录（已被删除）")
            if entry.prev_hash != expected_prev:
                return _broken(checked, chain, entry.seq, "前一条摘要不匹配（链条被改动或顺序被调换）", entry.pk)
            if entry.layout == AuditEntry.LEGACY_LAYOUT and (entry.pk != entry.seq or chain != 1):
                return _broken(checked, chain, entry.seq, "旧格式记录的位置被改动", entry.pk)
            if entry_hash(entry) != entry.hash:
                return _broken(checked, chain, entry.seq, "记录内容与摘要不符（记录被篡改）", entry.pk)
            for recorded_hash, cp_id in claims.get((chain, entry.seq), ()):
                if recorded_hash != entry.hash:
                    return _broken(checked, chain, entry.seq,
                                   f"与检查点 #{cp_id} 记录的链头不符（本链或检查点被改写）", entry.pk)
            checked += 1
            expected_prev = entry.hash
            expected_seq += 1
        last = expected_seq - 1
        if head.last_seq != last or (last > head.anchor_seq and head.last_hash != expected_prev):
            return _broken(checked, chain, last + 1, f"链尾缺失：链头记录到第 {head.last_seq} 条")
        beyond = [s for (c, s) in claims if c == chain and s > last]
        if beyond:
            return _broken(checked, chain, min(beyond), f"链尾缺失：检查点记录本链已到第 {max(beyond)} 条")
    return ChainReport(True, checked, chains=len(chains), checkpoints=checkpoints)


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
    """Only the 审计管理员 (三员分立, docs/security.md): not the 系统管理员, not the 安全管理员, and not a Django
    permission or superuser flag (the emergency admin account reads the log only in the Django admin)."""
    from oa.models import Role
    from oa.selectors.manage import holds_admin_role

    return holds_admin_role(user, Role.AUDITADMIN)


GENESIS = "0" * 64
CHECKPOINT = "audit.checkpoint"


def canonical_payload(entry: AuditEntry) -> bytes:
    """The bytes that are hashed: every field of the entry except the hashes, as canonical JSON. The position is
    (chain, seq); entries of the legacy layout (written before chains) carry their id instead."""
    position = {"id": entry.pk} if entry.layout == AuditEntry.LEGACY_LAYOUT else {
        "chain": entry.chain, "seq": entry.seq, "layout": entry.layout}
    body = {
        **position,
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
