"""Writes from the administrators' own pages (/manage/, docs/security.md 三员分立).

Each `check_*` first makes sure the actor holds the administrator role the act belongs to and that every object
is in that administrator's scope (oa.selectors.manage), then calls the one action that already does the act for
everyone (directory, delegation, auth actions): the same validation, the same audit entry, with "via": "manage".
A refusal is a Refusal (stable code, Chinese message); nothing is written when one is raised.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from oa.actions.auth import do_reset_two_factor, do_unlock_account
from oa.actions.delegation import check_create_delegation, check_handover, do_revoke_delegation
from oa.actions.directory import (
    check_assign_role,
    check_reset_password,
    do_appoint,
    do_create_department,
    do_create_person,
    do_disable_person,
    do_enable_person,
    do_end_appointment,
    do_revoke_role,
    do_set_initial_password,
    do_update_department,
    do_update_person,
)
from oa.models import ADMIN_ROLES, Agency, Delegation, Department, Person, Post, Role, RoleAssignment
from oa.refusals import Refusal
from oa.selectors.directory import department_descendant_ids, primary_appointment
from oa.selectors.manage import (
    FORBIDDEN,
    handover_agency_ids,
    handover_preview,
    holds_admin_role,
    in_scope,
    person_in_scope,
)
from oa.work import MovedWork

VIA = "manage"


def _require(actor: Person, role: str) -> None:
    if not holds_admin_role(actor, role):
        raise Refusal("manage_forbidden", FORBIDDEN[role], 403)


def _require_agency(actor: Person, role: str, agency: Agency) -> None:
    if not in_scope(actor, role, agency):
        raise Refusal("manage_out_of_scope", f"“{agency}”不在您的管理范围内。", 403)


def _require_person(actor: Person, role: str, person: Person) -> None:
    if not person_in_scope(actor, role, person):
        raise Refusal("manage_out_of_scope", f"“{person}”不在您的管理范围内。", 403)


# --- 系统管理员: people and departments --------------------------------------------------------------------


def _check_post(actor: Person, department: Department, post: Post) -> None:
    _require_agency(actor, Role.SYSADMIN, department.agency)
    if not department.is_active:
        raise Refusal("manage_department_inactive", f"部门“{department.name}”已停用，不能在此任职。")


def check_manage_create_person(
    *, actor: Person, username: str, name: str, mobile: str, department: Department, post: Post, password: str,
) -> Person:
    """系统管理员 adds a person with a primary post and a temporary password (changed at the first login)."""
    _require(actor, Role.SYSADMIN)
    _check_post(actor, department, post)
    username, name = username.strip(), name.strip()
    if not name:
        raise Refusal("person_name_required", "请填写姓名。")
    if Person.objects.filter(username__iexact=username).exists():
        raise Refusal("person_username_taken", f"用户名“{username}”已被使用。", 409)
    person = Person(username=username, name=name, mobile=mobile.strip())
    try:
        validate_password(password, person)
    except ValidationError as exc:
        raise Refusal("person_password", " ".join(exc.messages)) from exc
    do_set_initial_password(person, password, must_change=True)
    with transaction.atomic():
        do_create_person(actor=actor, via=VIA, person=person, detail={"must_change_password": True})
        do_appoint(actor=actor, via=VIA, person=person, department=department, post=post, primary=True)
    return person


def check_manage_update_person(
    *, actor: Person, person: Person, name: str, mobile: str, department: Department, post: Post,
) -> list[str]:
    """Change name, mobile and the primary post (the old primary post ends; 兼职 stay). Returns what changed."""
    _require(actor, Role.SYSADMIN)
    _require_person(actor, Role.SYSADMIN, person)
    _check_post(actor, department, post)
    if not name.strip():
        raise Refusal("person_name_required", "请填写姓名。")
    changed = []
    with transaction.atomic():
        changed += do_update_person(actor=actor, via=VIA, person=person,
                                    fields={"name": name.strip(), "mobile": mobile.strip()})
        old = primary_appointment(person)
        if old is None or (old.department_id, old.post_id) != (department.pk, post.pk):
            new = do_appoint(actor=actor, via=VIA, person=person, department=department, post=post, primary=True)
            if old is not None and old.pk != new.pk:
                old.refresh_from_db()
                do_end_appointment(actor=actor, via=VIA, appointment=old)
            changed.append("appointment")
    return changed


def check_manage_set_person_active(*, actor: Person, person: Person, active: bool, reason: str) -> None:
    """停用 / 启用. Nobody deactivates their own account (the last administrator could lock everyone out)."""
    _require(actor, Role.SYSADMIN)
    _require_person(actor, Role.SYSADMIN, person)
    if not reason.strip():
        raise Refusal("person_reason_required", "请填写原因。")
    if person.pk == actor.pk:
        raise Refusal("person_self_disable", "不能停用自己的账号。")
    if active == person.is_active:
        raise Refusal("person_state_unchanged", "该账号已启用。" if active else "该账号已停用。", 409)
    if active:
        do_enable_person(actor=actor, via=VIA, person=person, reason=reason.strip())
    else:
        do_disable_person(actor=actor, via=VIA, person=person, reason=reason.strip())


def check_manage_handover(
    *, actor: Person, source: Person, target: Person | None, reason: str, ip: str | None = None,
) -> list[MovedWork]:
    """工作交接 (e.g. the person is transferred): all open work of `source` to a colleague of the same agency.

    A personnel matter, so the 系统管理员's (docs/security.md §11). Refused, with nothing moved: no receiver, a
    receiver outside the administrator's scope or outside every agency `source` holds a post in, the same person,
    an inactive receiver (check_handover), no reason, nothing to hand over. Audited by check_handover as
    `handover.execute` (what moved, per kind), with the administrator as actor and "via": "manage"."""
    _require(actor, Role.SYSADMIN)
    _require_person(actor, Role.SYSADMIN, source)
    if target is None:
        raise Refusal("handover_target_required", "请选择接收人。")
    if not reason.strip():
        raise Refusal("handover_reason", "请填写交接原因。")
    if target.pk == source.pk:
        raise Refusal("handover_self", "接收人不能是移交人本人。")
    if not person_in_scope(actor, Role.SYSADMIN, target) or not (
        handover_agency_ids(source) & set(target.appointments.values_list("department__agency_id", flat=True))
    ):
        raise Refusal("handover_agency", f"接收人“{target}”不在{source.get_full_name()}所在机关，只能交接给同一机关的人员。")
    if handover_preview(source).total == 0:
        raise Refusal("handover_nothing", f"{source.get_full_name()}没有未办结的工作，无需交接。", 409)
    return check_handover(actor=actor, source=source, target=target, reason=reason.strip(), ip=ip, via=VIA)


def _check_department_fields(actor: Person, agency: Agency, parent: Department | None, name: str,
                             department: Department | None = None) -> None:
    _require_agency(actor, Role.SYSADMIN, agency)
    if not name.strip():
        raise Refusal("department_name_required", "请填写部门名称。")
    if parent is not None:
        if parent.agency_id != agency.pk:
            raise Refusal("department_parent_agency", f"上级部门“{parent.name}”不属于“{agency}”。")
        if department is not None and parent.pk in department_descendant_ids(department):
            raise Refusal("department_parent_cycle", "上级部门不能是本部门或其下级部门。")
    clash = Department.objects.filter(agency=agency, parent=parent, name=name.strip())
    if department is not None:
        clash = clash.exclude(pk=department.pk)
    if clash.exists():
        raise Refusal("department_name_taken", f"“{agency}”同一上级下已有部门“{name.strip()}”。", 409)


def check_manage_create_department(
    *, actor: Person, agency: Agency, parent: Department | None, name: str, sort_order: int,
) -> Department:
    _require(actor, Role.SYSADMIN)
    _check_department_fields(actor, agency, parent, name)
    return do_create_department(actor=actor, via=VIA, fields={
        "agency": agency, "parent": parent, "name": name.strip(), "sort_order": sort_order})


def check_manage_update_department(
    *, actor: Person, department: Department, parent: Department | None, name: str, sort_order: int, is_active: bool,
) -> list[str]:
    """Rename, move within its agency, reorder, deactivate. A department people still hold posts in stays active."""
    _require(actor, Role.SYSADMIN)
    _check_department_fields(actor, department.agency, parent, name, department)
    if not is_active and department.is_active and department.appointments.filter(person__is_active=True).exists():
        raise Refusal("department_has_members", f"“{department.name}”还有在职人员，请先调整他们的任职再停用。", 409)
    return do_update_department(actor=actor, via=VIA, department=department, fields={
        "parent": parent, "name": name.strip(), "sort_order": sort_order, "is_active": is_active})


# --- 安全管理员: roles, delegations, 2FA, locks ----------------------------------------------------------------


def check_manage_grant_role(
    *, actor: Person, person: Person, role: str, agency: Agency, department: Department | None,
) -> RoleAssignment:
    """Grant a role in a scope. Not to oneself (nobody raises their own rights); 三员分立 is check_assign_role's."""
    _require(actor, Role.SECADMIN)
    _require_person(actor, Role.SECADMIN, person)
    _require_agency(actor, Role.SECADMIN, agency)
    if person.pk == actor.pk:
        raise Refusal("role_self", "不能给自己授予或撤销角色，请由另一位安全管理员办理。", 403)
    if not person.is_active:
        raise Refusal("role_inactive", f"“{person}”账号已停用，不能授予角色。")
    if RoleAssignment.objects.filter(person=person, role=role, agency=agency, department=department).exists():
        raise Refusal("role_exists", f"“{person}”已有该角色和范围。", 409)
    return check_assign_role(actor=actor, person=person, role=role, agency=agency, department=department, via=VIA)


def check_manage_revoke_role(*, actor: Person, assignment: RoleAssignment) -> None:
    _require(actor, Role.SECADMIN)
    _require_person(actor, Role.SECADMIN, assignment.person)
    _require_agency(actor, Role.SECADMIN, assignment.agency)
    if assignment.person_id == actor.pk:
        raise Refusal("role_self", "不能给自己授予或撤销角色，请由另一位安全管理员办理。", 403)
    do_revoke_role(actor=actor, assignment=assignment, via=VIA)


def check_manage_create_delegation(
    *, actor: Person, principal: Person, delegate: Person, start_date: dt.date, end_date: dt.date,
    flow_types: list[str], reason: str,
) -> Delegation:
    """委托 set for someone (e.g. a leader taken ill): every rule of the self-service 委托 applies."""
    _require(actor, Role.SECADMIN)
    _require_person(actor, Role.SECADMIN, principal)
    return check_create_delegation(actor=actor, principal=principal, delegate=delegate, start_date=start_date,
                                   end_date=end_date, flow_types=flow_types, reason=reason, via=VIA)


def check_manage_revoke_delegation(*, actor: Person, delegation: Delegation) -> None:
    _require(actor, Role.SECADMIN)
    _require_person(actor, Role.SECADMIN, delegation.principal)
    if delegation.revoked_at is not None:
        raise Refusal("delegation_revoked", "该委托已撤销。", 409)
    do_revoke_delegation(actor=actor, delegation=delegation, via=VIA)


def check_manage_reset_two_factor(*, actor: Person, person: Person, reason: str) -> int:
    """Delete the person's TOTP devices; they enrol again at their next login. The secret is never shown."""
    _require(actor, Role.SECADMIN)
    _require_person(actor, Role.SECADMIN, person)
    if not reason.strip():
        raise Refusal("otp_reset_reason", "请填写重置原因。")
    if person.pk == actor.pk:
        raise Refusal("otp_reset_self", "不能重置自己的双因素认证，请由另一位安全管理员办理。", 403)
    # Like 重置密码: a 安全管理员 may not re-bind the second factor of a 系统管理员 or 审计管理员 (or the superuser),
    # the step before taking over their account; a fellow 安全管理员's is allowed (nobody resets their own).
    if person.is_superuser or person.role_assignments.filter(
            role__in=[Role.SYSADMIN, Role.AUDITADMIN]).exists():
        raise Refusal("otp_reset_admin", "系统管理员、审计管理员的双因素认证不能由安全管理员重置，请联系超级管理员在应急后台办理。",
                      403)
    return do_reset_two_factor(actor=actor, person=person, via=VIA, reason=reason.strip())


def check_manage_reset_password(*, actor: Person, person: Person, password: str, reason: str) -> None:
    """重置密码: a temporary password the person must change at their next login (do_reset_password: the old hash
    joins the history, the account lock is lifted, other sessions end because the hash changed).

    Never for an administrator (any of the three roles) or the superuser: a 安全管理员 who could set a 系统管理员's or
    审计管理员's password could sign in as them and undo 三员分立. Their passwords are reset by the superuser in the
    emergency Django admin (audited, via "admin"). Nor for oneself (我的 → 修改密码 asks for the old password), a
    directory account (its password lives in LDAP) or a disabled account. The audit entry holds the reason, never
    the password or its hash."""
    _require(actor, Role.SECADMIN)
    _require_person(actor, Role.SECADMIN, person)
    if person.pk == actor.pk:
        raise Refusal("password_reset_self", "不能在这里重置自己的密码，请在“我的 → 修改密码”中修改。", 403)
    if person.is_superuser or person.role_assignments.filter(role__in=ADMIN_ROLES).exists():
        raise Refusal("password_reset_admin", "管理员账号的密码不能由其他管理员重置，请联系超级管理员在应急后台办理。", 403)
    if person.source == Person.Source.LDAP:
        raise Refusal("password_reset_ldap", "该账号由统一身份目录同步，密码须在目录中重置。", 409)
    if not person.is_active:
        raise Refusal("password_reset_inactive", "该账号已停用，不能重置密码；如需启用请联系系统管理员。", 409)
    if not reason.strip():
        raise Refusal("password_reset_reason", "请填写重置原因。")
    try:
        check_reset_password(actor=actor, via=VIA, person=person, new_password=password, reason=reason.strip())
    except ValidationError as exc:
        raise Refusal("password_reset_password", " ".join(exc.messages)) from exc


def check_manage_unlock(*, actor: Person, person: Person, reason: str) -> bool:
    _require(actor, Role.SECADMIN)
    _require_person(actor, Role.SECADMIN, person)
    if not reason.strip():
        raise Refusal("unlock_reason", "请填写解锁原因。")
    return do_unlock_account(actor=actor, person=person, reason=reason.strip(), via=VIA)
