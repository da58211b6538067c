"""Writes to the directory: agencies, departments, posts, people, appointments, role assignments.

One action per operation and one audit name per operation, whoever asks: the admin, the LDAP sync, the
platform (WeCom) sync, the demo loader, the API. `via` says who asked ("admin", "ldap", "wecom", "demo",
"api", "login", "exchange", "command"); it lands in the audit entry's changes (docs/architecture.md, 写入路径).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from oa.actions.audit import do_record_audit
from oa.actions.auth import do_retire_password
from oa.actions.login_limits import account_limit, do_clear, login_name_key
from oa.models import Agency, Appointment, Department, Person, Post, RoleAssignment
from oa.refusals import Refusal
from oa.selectors.directory import validate_role_assignment
from oa.uscc import validate_uscc

# Person fields never written to the audit log (secrets) or not worth an entry (bookkeeping).
_UNAUDITED_PERSON_FIELDS = {"password", "last_login"}


def _values(obj: Any, fields: list[str]) -> dict[str, Any]:
    """Field → value for an audit entry: foreign keys by id, secrets left out."""
    out: dict[str, Any] = {}
    for name in fields:
        if name in _UNAUDITED_PERSON_FIELDS:
            continue
        field = obj._meta.get_field(name)
        out[name] = getattr(obj, field.attname) if field.is_relation else getattr(obj, name)
    return out


def _apply(obj: Any, fields: dict[str, Any]) -> dict[str, list[Any]]:
    """Set the fields that differ; returns {field: [old, new]} (foreign keys compared by id)."""
    changed: dict[str, list[Any]] = {}
    for name, value in fields.items():
        field = obj._meta.get_field(name)
        old = getattr(obj, field.attname) if field.is_relation else getattr(obj, name)
        new = value.pk if field.is_relation and value is not None else value
        if old != new:
            changed[name] = [old, new]
            setattr(obj, name, value)
    return changed


def _audit_changes(changed: dict[str, list[Any]]) -> dict[str, Any]:
    return {k: v for k, v in changed.items() if k not in _UNAUDITED_PERSON_FIELDS}


def _save_changes(obj: Any, fields: dict[str, Any] | None, changed: list[str] | None) -> tuple[list[str], dict]:
    """Apply `fields` (name → value), or take `changed` (names the caller already set on the instance, e.g. a
    bound admin form's changed_data; non-column names are ignored). Saves those columns only.
    Returns (names saved, audit changes)."""
    if fields is not None:
        diff = _apply(obj, fields)
        names, audit = list(diff), _audit_changes(diff)
    else:
        columns = {f.name for f in obj._meta.concrete_fields}
        names = [n for n in (changed or []) if n in columns]
        audit = _values(obj, names)
    if names:
        obj.save(update_fields=names)
    return names, audit


def _deactivated(obj: Any, names: list[str]) -> bool:
    return "is_active" in names and not obj.is_active


# --- agencies --------------------------------------------------------------------------------------------


def do_create_agency(
    *, actor: Person | None, via: str, fields: dict[str, Any] | None = None, agency: Agency | None = None
) -> Agency:
    """Create an agency from `fields`, or save the unsaved `agency` the caller built (the admin form's).
    The caller validated the 统一社会信用代码 and the 机关代字."""
    agency = agency if agency is not None else Agency(**(fields or {}))
    with transaction.atomic():
        agency.save(force_insert=True)
        do_record_audit(actor=actor, action="directory.agency.create", obj=agency,
                        changes={"via": via, "uscc": agency.uscc, **_values(agency, ["name", "doc_code"])})
    return agency


def do_update_agency(
    *, actor: Person | None, via: str, agency: Agency, fields: dict[str, Any] | None = None,
    changed: list[str] | None = None,
) -> list[str]:
    """Change an agency's fields; returns the names that changed (none: nothing written, nothing audited)."""
    with transaction.atomic():
        names, audit = _save_changes(agency, fields, changed)
        if names:
            action = "directory.agency.deactivate" if _deactivated(agency, names) else "directory.agency.update"
            do_record_audit(actor=actor, action=action, obj=agency, changes={"via": via, **audit})
    return names


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
    via: str = "api",
) -> Agency:
    """Create or update an agency keyed by its 统一社会信用代码, which is validated first.

    Refuses (Refusal, 400) a bad code with the validator's own code (`uscc_check`, `uscc_char`, …) and message,
    and an empty 机关代字 (`doc_code_required`)."""
    uscc = uscc.strip().upper()
    try:
        validate_uscc(uscc)  # a model-field validator, so it speaks ValidationError; the action speaks Refusal
    except ValidationError as exc:
        raise Refusal(exc.code or "uscc_invalid", exc.messages[0]) from exc
    if not doc_code.strip():
        raise Refusal("doc_code_required", "机关代字不能为空。")
    fields = {"name": name, "short_name": short_name, "doc_code": doc_code.strip(), "kind": kind, "parent": parent,
              "sort_order": sort_order, "ordinary_signoff": ordinary_signoff}
    with transaction.atomic():
        agency = Agency.objects.select_for_update().filter(uscc=uscc).first()
        if agency is None:
            return do_create_agency(actor=actor, via=via, fields={"uscc": uscc, **fields})
        do_update_agency(actor=actor, via=via, agency=agency, fields=fields)
    return agency


# --- departments and posts ---------------------------------------------------------------------------------


def do_create_department(
    *, actor: Person | None, via: str, fields: dict[str, Any] | None = None, department: Department | None = None
) -> Department:
    dept = department if department is not None else Department(**(fields or {}))
    with transaction.atomic():
        dept.save(force_insert=True)
        do_record_audit(actor=actor, action="directory.department.create", obj=dept,
                        changes={"via": via, **_values(dept, ["agency", "parent", "name"])})
    return dept


def do_update_department(
    *, actor: Person | None, via: str, department: Department, fields: dict[str, Any] | None = None,
    changed: list[str] | None = None,
) -> list[str]:
    with transaction.atomic():
        names, audit = _save_changes(department, fields, changed)
        if names:
            action = ("directory.department.deactivate" if _deactivated(department, names)
                      else "directory.department.update")
            do_record_audit(actor=actor, action=action, obj=department, changes={"via": via, **audit})
    return names


def do_upsert_department(
    *, agency: Agency, name: str, parent: Department | None = None, sort_order: int = 100,
    actor: Person | None = None, via: str = "api",
) -> Department:
    with transaction.atomic():
        dept = Department.objects.select_for_update().filter(agency=agency, parent=parent, name=name).first()
        if dept is None:
            return do_create_department(actor=actor, via=via, fields={
                "agency": agency, "parent": parent, "name": name, "sort_order": sort_order})
        do_update_department(actor=actor, via=via, department=dept,
                             fields={"sort_order": sort_order, "is_active": True})
    return dept


def do_create_post(
    *, actor: Person | None, via: str, name: str = "", level: int = 100, post: Post | None = None
) -> Post:
    post = post if post is not None else Post(name=name, level=level)
    with transaction.atomic():
        post.save(force_insert=True)
        do_record_audit(actor=actor, action="directory.post.create", obj=post,
                        changes={"via": via, "name": post.name, "level": post.level})
    return post


def do_update_post(
    *, actor: Person | None, via: str, post: Post, fields: dict[str, Any] | None = None,
    changed: list[str] | None = None,
) -> list[str]:
    with transaction.atomic():
        names, audit = _save_changes(post, fields, changed)
        if names:
            do_record_audit(actor=actor, action="directory.post.update", obj=post, changes={"via": via, **audit})
    return names


def do_delete_post(*, actor: Person | None, via: str, post: Post) -> None:
    """Only a post nobody holds can go (appointments PROTECT it)."""
    with transaction.atomic():
        do_record_audit(actor=actor, action="directory.post.delete", obj=post, changes={"via": via})
        post.delete()


def do_upsert_post(*, name: str, level: int, actor: Person | None = None, via: str = "api") -> Post:
    post = Post.objects.filter(name=name).first()
    if post is None:
        return do_create_post(actor=actor, via=via, name=name, level=level)
    do_update_post(actor=actor, via=via, post=post, fields={"level": level})
    return post


# --- people ------------------------------------------------------------------------------------------------


def do_set_initial_password(person: Person, raw_password: str | None, *, must_change: bool) -> None:
    """Set a password without history checks (account creation / import); `None` makes it unusable.

    Sets the fields only: the caller saves through do_create_person / do_update_person."""
    if raw_password is None:
        person.set_unusable_password()
    else:
        person.set_password(raw_password)
    person.must_change_password = must_change
    person.password_changed_at = timezone.now()


def do_create_person(*, actor: Person | None, via: str, person: Person, detail: dict[str, Any] | None = None) -> Person:
    """Save a new person the caller has built (fields set, password set or made unusable) and audit it.

    The one way a Person row comes to exist: the admin's 增加人员, the LDAP sync and LDAP login, the platform
    sync, the demo loader."""
    if person.pk is not None:
        raise ValueError("do_create_person: the person is already saved")
    if not person.password:
        person.set_unusable_password()  # never an empty hash: it would not be "unusable" everywhere
    with transaction.atomic():
        person.save(force_insert=True)
        do_record_audit(actor=actor, action="directory.person.create", obj=person, changes={
            "via": via, "username": person.username, "source": person.source, **(detail or {})})
    return person


def do_update_person(
    *, actor: Person | None, via: str, person: Person, fields: dict[str, Any] | None = None,
    changed: list[str] | None = None,
) -> list[str]:
    """Change a person's details. Either `fields` (name → new value, applied here) or `changed` (names the
    caller already set on the instance, e.g. a bound admin form). Disabling and enabling have their own actions."""
    with transaction.atomic():
        names, audit = _save_changes(person, fields, changed)
        if not names:
            return []
        if "password" in names:
            audit["password"] = "（已修改）"
        do_record_audit(actor=actor, action="directory.person.update", obj=person, changes={"via": via, **audit})
    return names


def do_disable_person(*, actor: Person | None, person: Person, reason: str, via: str = "api") -> None:
    """People are never deleted (their names stay on documents and in the audit log): they are disabled."""
    with transaction.atomic():
        person.is_active = False
        person.disabled_reason = reason[:200]
        person.save(update_fields=["is_active", "disabled_reason"])
        do_record_audit(actor=actor, action="directory.person.disable", obj=person,
                        changes={"via": via, "reason": reason})


def do_enable_person(*, actor: Person | None, person: Person, reason: str, via: str = "api") -> None:
    with transaction.atomic():
        person.is_active, person.disabled_reason = True, ""
        person.save(update_fields=["is_active", "disabled_reason"])
        do_record_audit(actor=actor, action="directory.person.enable", obj=person,
                        changes={"via": via, "reason": reason})


def check_reset_password(
    *, actor: Person | None, via: str, person: Person, new_password: str | None, reason: str = "",
) -> None:
    """An administrator sets someone's password (`None`: password login disabled).

    Validated like any new password (AUTH_PASSWORD_VALIDATORS: raises ValidationError with the Chinese
    messages of oa/passwords.py, nothing written), then do_reset_password."""
    if new_password is not None:
        validate_password(new_password, person)
    do_reset_password(actor=actor, person=person, new_password=new_password, via=via, reason=reason)


def do_reset_password(
    *, actor: Person | None, via: str, person: Person, new_password: str | None, reason: str = "",
) -> None:
    """Set a password the administrator knows: a temporary one, so the person must choose their own at the next
    login (must_change_password). The old hash joins the history; the account lock is lifted (the usual reason
    for a reset). The audit entry never holds the password or its hash."""
    with transaction.atomic():
        unlocked = person.failed_login_count > 0 or person.locked_until is not None
        do_retire_password(person)
        if new_password is None:
            person.set_unusable_password()
            person.must_change_password = False  # nothing to change; LDAP/platform login only
        else:
            person.set_password(new_password)
            person.must_change_password = True
        person.password_changed_at = timezone.now()
        person.failed_login_count, person.locked_until = 0, None
        person.save(update_fields=["password", "password_changed_at", "must_change_password",
                                   "failed_login_count", "locked_until"])
        do_record_audit(actor=actor, action="directory.person.password_reset", obj=person, changes={
            "via": via, "usable_password": new_password is not None,
            "must_change_password": person.must_change_password, "unlocked": unlocked,
            **({"reason": reason} if reason else {})})
    do_clear(account_limit(), login_name_key(person.username))  # the lock over all addresses (cache side)


# --- appointments ------------------------------------------------------------------------------------------


def do_appoint(
    *, person: Person, department: Department, post: Post, primary: bool = True, actor: Person | None = None,
    via: str = "api", source: str = Appointment.Source.LOCAL,
) -> Appointment:
    """Give a person a post. A new primary post demotes the previous primary one to a concurrent post.

    `source` is set on a new appointment only (an existing one keeps whoever maintains it)."""
    with transaction.atomic():
        appt = Appointment.objects.select_for_update().filter(person=person, department=department, post=post).first()
        if appt is not None and appt.is_primary == primary:
            return appt
        if primary:
            person.appointments.filter(is_primary=True).exclude(department=department, post=post).update(
                is_primary=False
            )
        if appt is None:
            appt = Appointment.objects.create(person=person, department=department, post=post, is_primary=primary,
                                              source=source)
            action = "directory.appointment.create"
        else:
            appt.is_primary = primary
            appt.save(update_fields=["is_primary"])
            action = "directory.appointment.update"
        do_record_audit(actor=actor, action=action, obj=appt, changes={
            "via": via, "person": person.username, "department": department.pk, "post": post.name,
            "primary": primary})
    return appt


def do_end_appointment(*, actor: Person | None, via: str, appointment: Appointment) -> None:
    with transaction.atomic():
        do_record_audit(actor=actor, action="directory.appointment.end", obj=appointment, changes={
            "via": via, "person": appointment.person.username, "department": appointment.department_id,
            "post": appointment.post.name, "primary": appointment.is_primary})
        appointment.delete()


# --- roles -------------------------------------------------------------------------------------------------


def check_assign_role(
    *, actor: Person | None, person: Person, role: str, agency: Agency, department: Department | None = None,
    via: str = "api", source: str = RoleAssignment.Source.LOCAL,
) -> RoleAssignment:
    """Grant a role in a scope (validated: a known role, a department of that agency, 三员分立). Idempotent."""
    validate_role_assignment(role=role, agency=agency, department=department)
    with transaction.atomic():
        # Lock the person, then check 三员分立: two concurrent grants of different admin roles cannot both pass.
        Person.objects.select_for_update().filter(pk=person.pk).first()
        validate_role_assignment(role=role, agency=agency, department=department, person=person)
        assignment, created = RoleAssignment.objects.get_or_create(
            person=person, role=role, agency=agency, department=department, defaults={"source": source}
        )
        if created:
            do_record_audit(
                actor=actor,
                action="directory.role.grant",
                obj=assignment,
                changes={"via": via, "person": person.username, "role": role, "agency": agency.pk,
                         "department": department and department.pk},
            )
    return assignment


def do_revoke_role(*, actor: Person | None, assignment: RoleAssignment, via: str = "api") -> None:
    with transaction.atomic():
        do_record_audit(
            actor=actor,
            action="directory.role.revoke",
            obj=assignment,
            changes={"via": via, "person": assignment.person.username, "role": assignment.role,
                     "agency": assignment.agency_id, "department": assignment.department_id},
        )
        assignment.delete()


def check_change_role(
    *, actor: Person | None, assignment: RoleAssignment, role: str, agency: Agency,
    department: Department | None = None, via: str = "api",
) -> RoleAssignment:
    """An edited grant is a revoke of the old scope and a grant of the new one (both audited)."""
    validate_role_assignment(role=role, agency=agency, department=department)
    with transaction.atomic():
        person = assignment.person
        do_revoke_role(actor=actor, assignment=assignment, via=via)
        return check_assign_role(actor=actor, person=person, role=role, agency=agency, department=department,
                                 via=via)

