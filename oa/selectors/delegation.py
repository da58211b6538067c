"""委托 resolution at assignment time, for any kind of work (flow-agnostic)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from oa.models import Delegation, Person
from oa.refusals import Refusal
from oa.work import delegation_scopes, work_providers


@dataclass(frozen=True)
class Assignment:
    """Who actually gets a piece of work, and for whom (B 代 A)."""

    assignee: Person
    principal: Person
    delegation: Delegation | None = None

    @property
    def delegated(self) -> bool:
        return self.delegation is not None

    def label(self) -> str:
        return on_behalf_label(self.assignee, self.principal if self.delegated else None)


def on_behalf_label(actor: Person, principal: Person | None) -> str:
    """The wording every history uses: "李娜 代 王芳 办理", or just "李娜" when acting for oneself."""
    if principal is None or principal.pk == actor.pk:
        return actor.get_full_name()
    return f"{actor.get_full_name()} 代 {principal.get_full_name()} 办理"


def active_delegation(principal: Person, work_type: str, on: dt.date | None = None) -> Delegation | None:
    """The delegation in force for `principal` on `on` (default today) covering `work_type`, if any."""
    on = on or timezone.localdate()
    candidates = Delegation.objects.filter(
        principal=principal, revoked_at__isnull=True, start_date__lte=on, end_date__gte=on, delegate__is_active=True
    ).select_related("delegate")
    for delegation in candidates.order_by("-start_date", "-id"):
        if not delegation.flow_types or work_type in delegation.flow_types:
            return delegation
    return None


def resolve_assignee(principal: Person, work_type: str, on: dt.date | None = None) -> Assignment:
    """Call when work is assigned. Delegation is not transitive: B's own delegation does not pass A's work on,
    so a chain of absences can never loop or land with someone A did not choose."""
    delegation = active_delegation(principal, work_type, on)
    if delegation is None:
        return Assignment(assignee=principal, principal=principal)
    return Assignment(assignee=delegation.delegate, principal=principal, delegation=delegation)


def delegations_visible_to(person: Person) -> QuerySet[Delegation]:
    return Delegation.objects.filter(Q(principal=person) | Q(delegate=person)).select_related("principal", "delegate")


def current_delegations_of(person: Person) -> QuerySet[Delegation]:
    """Delegations given or taken that are not revoked and not yet over (profile page)."""
    return delegations_visible_to(person).filter(
        revoked_at__isnull=True, end_date__gte=timezone.localdate()
    ).order_by("start_date", "pk")


def open_work_counts(person: Person) -> dict[str, int]:
    return {p.label: p.count_open(person) for p in work_providers()}


def _shares_an_agency(principal: Person, delegate: Person) -> bool:
    """Both hold a post (主职 or 兼职) in at least one common agency."""
    agencies = principal.appointments.values("department__agency_id")
    return delegate.appointments.filter(department__agency_id__in=agencies).exists()


def delegate_candidates(principal: Person) -> QuerySet[Person]:
    """Whom `principal` may choose as 代理人 on 我的: active colleagues of any agency they serve in."""
    agencies = principal.appointments.values("department__agency_id")
    return (
        Person.objects.filter(is_active=True, appointments__department__agency_id__in=agencies)
        .exclude(pk=principal.pk)
        .distinct()
        .order_by("name", "pk")
    )


def access_own_delegation_by_id(person: Person, delegation_id: int) -> Delegation:
    """A 委托 `person` gave that is still open (not revoked, not over); 404 for anything else."""
    delegation = (
        Delegation.objects.select_related("delegate")
        .filter(pk=delegation_id, principal=person, revoked_at__isnull=True, end_date__gte=timezone.localdate())
        .first()
    )
    if delegation is None:
        raise Http404
    return delegation


def validate_delegation(
    *,
    principal: Person,
    delegate: Person,
    start_date: dt.date,
    end_date: dt.date,
    flow_types: list[str] | None,
    reason: str,
    exclude_id: int | None = None,
) -> list[str]:
    """Refuse a 委托 that cannot be granted; returns the normalised scope (sorted flow types, [] = all work).

    Raises Refusal (stable code, Chinese message): self-delegation, dates reversed, a start before today, a
    disabled delegate, a delegate outside every agency the principal serves in, an unknown scope, no reason
    (400), or an overlap with an open delegation of the same principal whose scope could match the same work
    (409). The admin form and 我的 → 委托 call it first; `check_create_delegation` calls it again under a row
    lock."""
    if principal.pk == delegate.pk:
        raise Refusal("delegation_self", "不能委托给本人。")
    if end_date < start_date:
        raise Refusal("delegation_dates", "委托结束日期不能早于开始日期。")
    if start_date < timezone.localdate():
        # Work already assigned is not moved by a 委托: a start in the past would only misstate the record.
        raise Refusal("delegation_past", "委托开始日期不能早于今天。")
    if not delegate.is_active:
        raise Refusal("delegation_inactive", f"受托人“{delegate}”账号已停用。")
    if not _shares_an_agency(principal, delegate):
        raise Refusal("delegation_agency", f"受托人“{delegate}”不在委托人所在机关，只能委托本机关人员。")
    if not reason.strip():
        raise Refusal("delegation_reason", "请填写委托事由。")
    scope = sorted({t.strip() for t in (flow_types or []) if t.strip()})
    known = {s.key for s in delegation_scopes()}
    unknown = [t for t in scope if t not in known]
    if unknown:
        raise Refusal("delegation_scope", f"委托范围无效：{'、'.join(unknown)}。")
    overlapping = Delegation.objects.filter(
        principal=principal, revoked_at__isnull=True, start_date__lte=end_date, end_date__gte=start_date
    ).exclude(pk=exclude_id)
    for other in overlapping:
        # Two delegations may overlap only if their scopes cannot both match the same work.
        if not other.flow_types or not scope or set(other.flow_types) & set(scope):
            raise Refusal(
                "delegation_overlap",
                f"与已有委托（{other.delegate}，{other.start_date}至{other.end_date}）的时间和范围重叠。",
                409,
            )
    return scope
