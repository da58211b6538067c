"""Reads for the administrators' own pages (/manage/, docs/security.md 三员分立).

Three roles, each with its own pages: 系统管理员 the directory and 工作交接, 安全管理员 roles, delegations,
password and 2FA resets and unlocking, 审计管理员 the audit log. A role is held for an agency; its scope is that agency and every agency
below it (Agency.parent), so a grant at the district government covers the whole district. The Django superuser
is not one of the three and has no page here: the Django admin is its (emergency) tool.

`require_admin` answers 403 to anyone without the role; `access_managed_*_by_id` answer 404 for an object outside
the administrator's scope, exactly as for a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from oa.models import ADMIN_ROLES, Agency, Delegation, Department, Person, Role, RoleAssignment

# What each administrator may not do, in the words of the 403 page.
FORBIDDEN = {
    Role.SYSADMIN: "只有系统管理员可以维护机构和人员目录。",
    Role.SECADMIN: "只有安全管理员可以管理角色、委托、密码重置、双因素认证和账号锁定。",
    Role.AUDITADMIN: "只有审计管理员可以查看和校验审计日志。",
}


def admin_roles_of(user) -> set[str]:
    """Which of the three administrator roles `user` holds (at most one, 三员分立)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    return set(user.role_assignments.filter(role__in=ADMIN_ROLES).values_list("role", flat=True))


def holds_admin_role(user, role: str) -> bool:
    return role in admin_roles_of(user)


def require_admin(user, role: str) -> None:
    """403 (PermissionDenied with a Chinese reason) unless `user` holds `role`."""
    if not holds_admin_role(user, role):
        raise PermissionDenied(FORBIDDEN[role])


def _descendants(agency_ids: set[int]) -> set[int]:
    ids, frontier = set(agency_ids), list(agency_ids)
    while frontier:
        children = list(Agency.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        frontier = [c for c in children if c not in ids]
        ids.update(frontier)
    return ids


def scope_agency_ids(user, role: str) -> set[int]:
    """The agencies `user` administers in `role`: each agency the role is granted for, and those below it."""
    if not holds_admin_role(user, role):
        return set()
    granted = set(RoleAssignment.objects.filter(person=user, role=role).values_list("agency_id", flat=True))
    return _descendants(granted)


def covers_root(agency_ids: set[int]) -> bool:
    """Does the scope include a top agency (the whole deployment)? Only then are people with no post in reach."""
    return Agency.objects.filter(pk__in=agency_ids, parent__isnull=True).exists()


def scope_agencies(user, role: str) -> QuerySet[Agency]:
    return Agency.objects.filter(pk__in=scope_agency_ids(user, role)).order_by("sort_order", "pk")


def scope_departments(user, role: str) -> QuerySet[Department]:
    return (Department.objects.filter(agency_id__in=scope_agency_ids(user, role))
            .select_related("agency", "parent").order_by("agency__sort_order", "sort_order", "pk"))


def _people_in(agency_ids: set[int]) -> QuerySet[Person]:
    in_scope = Q(appointments__department__agency_id__in=agency_ids)
    if covers_root(agency_ids):
        in_scope |= Q(appointments__isnull=True)
    return Person.objects.filter(in_scope).distinct()


def people_in_scope(user, role: str) -> QuerySet[Person]:
    """Everyone `user` administers in `role` (a queryset, for filtering other tables by person)."""
    return _people_in(scope_agency_ids(user, role))


def managed_people(user, role: str, text: str = "", *, include_inactive: bool = True, limit: int = 100) -> list[Person]:
    """People in the administrator's scope, found by name, username or mobile prefix."""
    qs = _people_in(scope_agency_ids(user, role))
    if not include_inactive:
        qs = qs.filter(is_active=True)
    text = text.strip()
    if text:
        qs = qs.filter(Q(name__icontains=text) | Q(username__icontains=text) | Q(mobile__startswith=text))
    return list(qs.prefetch_related("appointments__department__agency", "appointments__post")
                .order_by("name", "pk")[:limit])


def access_managed_person_by_id(user, role: str, person_id: int) -> Person:
    """A person in `user`'s scope for `role`: 403 without the role, 404 outside the scope or missing."""
    require_admin(user, role)
    person = _people_in(scope_agency_ids(user, role)).filter(pk=person_id).first()
    if person is None:
        raise Http404
    return person


def access_managed_department_by_id(user, role: str, department_id: int) -> Department:
    require_admin(user, role)
    department = scope_departments(user, role).filter(pk=department_id).first()
    if department is None:
        raise Http404
    return department


def in_scope(user, role: str, agency: Agency) -> bool:
    return agency.pk in scope_agency_ids(user, role)


def person_in_scope(user, role: str, person: Person) -> bool:
    return _people_in(scope_agency_ids(user, role)).filter(pk=person.pk).exists()


def open_delegations_managed_by(user) -> list[Delegation]:
    """委托 not revoked and not over whose 委托人 is in the 安全管理员's scope, soonest first."""
    people = _people_in(scope_agency_ids(user, Role.SECADMIN)).values("pk")
    return list(
        Delegation.objects.filter(principal_id__in=people, revoked_at__isnull=True, end_date__gte=timezone.localdate())
        .select_related("principal", "delegate", "created_by").order_by("start_date", "pk")
    )


def access_managed_delegation_by_id(user, delegation_id: int) -> Delegation:
    """An open 委托 of someone in the 安全管理员's scope; 403 without the role, 404 for anything else."""
    require_admin(user, Role.SECADMIN)
    for delegation in open_delegations_managed_by(user):
        if delegation.pk == delegation_id:
            return delegation
    raise Http404


@dataclass(frozen=True)
class Section:
    title: str
    url_name: str
    description: str


SECTIONS = {
    Role.SYSADMIN: [
        Section("人员管理", "manage_people", "查找、新增、修改和停用人员，调整所在部门和职务，工作交接"),
        Section("部门管理", "manage_departments", "新增和修改各机关的部门"),
        Section("统一身份关联", "manage_sso", "将省统一身份认证账号关联到人员、解除关联、批量导入"),
    ],
    Role.SECADMIN: [
        Section("角色管理", "manage_roles", "为人员授予或撤销角色及其范围"),
        Section("委托管理", "manage_delegations", "查看、代为设置和撤销委托"),
        Section("账号安全", "manage_security", "重置密码、重置双因素认证、解除账号锁定"),
    ],
    Role.AUDITADMIN: [
        Section("审计日志", "audit", "查询、导出审计记录，校验审计链"),
    ],
}


def manage_sections(user) -> list[tuple[str, list[Section]]]:
    """The /manage/ index for `user`: (role label, its pages) for the administrator role held, then the apps' pages
    the user may open (oa.manage_pages, e.g. 信息报送职责 for a unit's 办公室/文书); empty for others."""
    from oa.manage_pages import APP_SECTION_LABEL, manage_pages_for

    sections = [(Role(role).label, SECTIONS[role]) for role in ADMIN_ROLES if holds_admin_role(user, role)]
    app_pages = [Section(p.title, p.url_name, p.description) for p in manage_pages_for(user)]
    if app_pages:
        sections.append((APP_SECTION_LABEL, app_pages))
    return sections


def access_managed_role_assignment_by_id(user, assignment_id: int) -> RoleAssignment:
    """A grant held by someone in the 安全管理员's scope, for an agency in that scope; else 404."""
    require_admin(user, Role.SECADMIN)
    agencies = scope_agency_ids(user, Role.SECADMIN)
    people = _people_in(agencies).values("pk")
    assignment = (RoleAssignment.objects.select_related("person", "agency", "department")
                  .filter(pk=assignment_id, agency_id__in=agencies, person_id__in=people).first())
    if assignment is None:
        raise Http404
    return assignment


def grantable_roles() -> list[tuple[str, str]]:
    return list(Role.choices)


@dataclass(frozen=True)
class AccountSecurity:
    """What the 安全管理员 sees of an account: whether 2FA is needed and enrolled, and the lock — never a secret."""

    otp_required: bool
    devices: int
    enrolled_at: object
    failed_login_count: int
    locked_until: object

    @property
    def locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > timezone.now()


def account_security(person: Person) -> AccountSecurity:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from oa.selectors.directory import requires_two_factor

    confirmed = TOTPDevice.objects.filter(user=person, confirmed=True).order_by("created_at")
    first = confirmed.values_list("created_at", flat=True).first()
    return AccountSecurity(otp_required=requires_two_factor(person), devices=confirmed.count(), enrolled_at=first,
                           failed_login_count=person.failed_login_count, locked_until=person.locked_until)


# --- 工作交接 (系统管理员) ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HandoverPreview:
    """What 工作交接 would move: the count per kind of work (each registered provider's own count) and the inbox
    rows those kinds keep for the person (the 待办/待阅 do_move_work_items moves)."""

    counts: list[tuple[str, int]]  # (label, open items)
    items: list  # WorkItem rows, most urgent and oldest first

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)

    @property
    def summary(self) -> str:
        """e.g. 流程待办 2 项 (kinds with nothing open left out)."""
        return "，".join(f"{label} {n} 项" for label, n in self.counts if n)


def handover_preview(person: Person) -> HandoverPreview:
    from oa.models import WorkItem
    from oa.work import work_providers

    providers = work_providers()
    items = list(
        WorkItem.objects.filter(owner=person, state=WorkItem.State.OPEN, box__in=[WorkItem.Box.TODO, WorkItem.Box.TOREAD],
                                kind__in=[p.kind for p in providers])
        .select_related("on_behalf_of").order_by("-urgency", "created_at", "pk")
    )
    return HandoverPreview(counts=[(p.label, p.count_open(person)) for p in providers], items=items)


def handover_agency_ids(person: Person) -> set[int]:
    """The agencies a 工作交接 receiver must share with `person`: those of the person's current posts."""
    return set(person.appointments.values_list("department__agency_id", flat=True))


def handover_receivers(user, person: Person) -> list[Person]:
    """Whom the 系统管理员 may pick as receiver: active colleagues of `person`'s agencies, in the admin's scope."""
    agencies = handover_agency_ids(person) & scope_agency_ids(user, Role.SYSADMIN)
    return list(
        Person.objects.filter(is_active=True, appointments__department__agency_id__in=agencies)
        .exclude(pk=person.pk).distinct().order_by("name", "pk")
    )
