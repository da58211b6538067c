"""委托 and 工作交接 writes."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from oa.actions.audit import do_record_audit
from oa.models import Delegation, Person
from oa.refusals import Refusal
from oa.selectors.delegation import validate_delegation
from oa.work import MovedWork, work_providers


def check_create_delegation(
    *,
    actor: Person,
    principal: Person,
    delegate: Person,
    start_date: dt.date,
    end_date: dt.date,
    flow_types: list[str] | None = None,
    reason: str,
    via: str = "api",
) -> Delegation:
    with transaction.atomic():
        # Lock the principal's open delegations, then check: two concurrent grants cannot both pass.
        list(Delegation.objects.select_for_update().filter(principal=principal, revoked_at__isnull=True))
        scope = validate_delegation(principal=principal, delegate=delegate, start_date=start_date,
                                    end_date=end_date, flow_types=flow_types, reason=reason)
        delegation = Delegation.objects.create(
            principal=principal,
            delegate=delegate,
            start_date=start_date,
            end_date=end_date,
            flow_types=scope,
            reason=reason.strip(),
            created_by=actor,
        )
        do_record_audit(
            actor=actor,
            action="delegation.create",
            obj=delegation,
            on_behalf_of=principal if actor.pk != principal.pk else None,
            changes={
                "principal": principal.username,
                "delegate": delegate.username,
                "start": start_date,
                "end": end_date,
                "scope": scope,
                "via": via,
            },
        )
    return delegation


def do_revoke_delegation(*, actor: Person, delegation: Delegation, via: str = "api") -> None:
    with transaction.atomic():
        delegation.revoked_at = timezone.now()
        delegation.revoked_by = actor
        delegation.save(update_fields=["revoked_at", "revoked_by"])
        do_record_audit(actor=actor, action="delegation.revoke", obj=delegation, changes={"via": via})


def check_handover(
    *, actor: Person | None, source: Person, target: Person, reason: str, ip: str | None = None, via: str = "api"
) -> list[MovedWork]:
    """工作交接: move every piece of open work of `source` to `target`, across all registered work kinds.

    One transaction: either everything moves and the audit entry says what, or nothing does.
    """
    if source.pk == target.pk:
        raise Refusal("handover_self", "交接双方不能是同一人。")
    if not target.is_active:
        raise Refusal("handover_inactive", f"接收人“{target}”账号已停用。")
    with transaction.atomic():
        moved = [MovedWork(p.kind, p.label, p.move_open(source, target)) for p in work_providers()]
        # Delegations that point at the leaver would route new work to them: end them.
        now = timezone.now()
        ended = Delegation.objects.filter(delegate=source, revoked_at__isnull=True, end_date__gte=now.date()).update(
            revoked_at=now, revoked_by=actor
        )
        do_record_audit(
            actor=actor,
            action="handover.execute",
            obj=source,
            ip=ip,
            changes={
                "from": source.username,
                "to": target.username,
                "reason": reason,
                "moved": {m.kind: m.moved for m in moved},
                "delegations_ended": ended,
                "via": via,
            },
        )
    return moved
