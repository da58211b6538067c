"""Writes to the directory: agencies, departments, posts, people, appointments, role assignments."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from oa.actions.audit import do_record_audit
from oa.models import Agency, Appointment, Department, Person, Post, Role, RoleAssignment
from oa.uscc import validate_uscc


def check_upsert_agency(
    *,
    actor: Person | None,
    name: str,
    short_name: str,
    doc_code: str,
    uscc: str,
    kind: str = Agency.Kind.BUREAU,
    parent: Agency | None = None,
    sort_order: int = 100,
    ordinary_signoff: str = Agency.OrdinarySignoff.PRINCIPAL_OR_RESPONSIBLE_DEPUTY,
) -> Agency:
    """Create or update an agency keyed by its 统一社会信用代码, which is validated first."""
    uscc = uscc.strip().upper()
    validate_uscc(uscc)
    if not doc_code.strip():
        raise ValidationError("机关代字不能为空。", code="doc_code_required")
    with transaction.atomic():
        agency, created = Agency.objects.update_or_create(
            uscc=uscc,
            defaults={
                "name": name,
                "short_name": short_name,
                "doc_code": doc_code.strip(),
                "kind": kind,
                "parent": parent,
                "sort_order": sort_order,
                "ordinary_signoff": ordinary_signoff,
            },
        )
        if created:
            do_record_audit(actor=actor, action="directory.agency.create", obj=agency, changes={"uscc": uscc})
    return agency


def do_upsert_department(
    *, agency: Agency, name: str, parent: Department | None = None, sort_order: int = 100
) -> Department:
    dept, _ = Department.objects.update_or_create(
        agency=agency, parent=parent, name=name, defaults={"sort_order": sort_order, "is_active": True}
    )
    return dept


def do_upsert_post(*, name: str, level: int) -> Post:
    post, _ = Post.objects.update_or_create(name=name, defaults={"level": level})
    return post


def do_appoint(*, person: Person, department: Department, post: Post, primary: bool = True) -> Appointment:
    """Give a person a post. A new primary post demotes the previous primary one to a concurrent post."""
    with transaction.atomic():
        if primary:
            person.appointments.filter(is_primary=True).exclude(department=department, post=post).update(
                is_primary=False
            )
        appt, _ = Appointment.objects.update_or_create(
            person=person, department=department, post=post, defaults={"is_primary": primary}
        )
    return appt


def check_assign_role(
    *, actor: Person | None, person: Person, role: str, agency: Agency, department: Department | None = None
) -> RoleAssignment:
    if role not in Role.values:
        raise ValidationError("未知角色“%(r)s”。", code="role_unknown", params={"r": role})
    if department is not None and department.agency_id != agency.pk:
        raise ValidationError(
            "部门“%(d)s”不属于机关“%(a)s”。", code="role_scope_mismatch", params={"d": department.name, "a": agency}
        )
    with transaction.atomic():
        assignment, created = RoleAssignment.objects.get_or_create(
            person=person, role=role, agency=agency, department=department
        )
        if created:
            do_record_audit(
                actor=actor,
                action="directory.role.grant",
                obj=assignment,
                changes={"person": person.username, "role": role, "agency": agency.pk, "department": department and department.pk},
            )
    return assignment


def do_revoke_role(*, actor: Person | None, assignment: RoleAssignment) -> None:
    with transaction.atomic():
        do_record_audit(
            actor=actor,
            action="directory.role.revoke",
            obj=assignment,
            changes={"person": assignment.person.username, "role": assignment.role},
        )
        assignment.delete()


def do_disable_person(*, actor: Person | None, person: Person, reason: str) -> None:
    """People are never deleted (their names stay on documents and in the audit log): they are disabled."""
    with transaction.atomic():
        person.is_active = False
        person.disabled_reason = reason[:200]
        person.save(update_fields=["is_active", "disabled_reason"])
        do_record_audit(actor=actor, action="directory.person.disable", obj=person, changes={"reason": reason})


def do_set_initial_password(person: Person, raw_password: str | None, *, must_change: bool) -> None:
    """Set a password without history checks (account creation / import); `None` makes it unusable."""
    if raw_password is None:
        person.set_unusable_password()
    else:
        person.set_password(raw_password)
    person.must_change_password = must_change
    person.password_changed_at = timezone.now()
