"""One write path per table (docs/architecture.md, 写入路径): every write goes through an action, whoever asks.

The admin, the LDAP sync, the platform (WeCom) sync and the demo loader call the same directory actions, so
the same checks run and the same audit names appear, with a `via` telling who asked. The architecture tests
at the end read the source (`ast`) and fail when a module outside actions/ writes a table of oa, documents or
workflows, when a selector writes, or when an admin falls back to the stock save/delete.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations.ldap.sync import AgencySpec, DeptSpec, PersonSpec, RoleSpec, Snapshot, sync_snapshot
from integrations.wecom.sync import sync_platform
from oa.actions.directory import check_reset_password
from oa.actions.tokens import do_issue_token
from oa.models import (
    Agency,
    AuditEntry,
    Delegation,
    Department,
    PasswordHistory,
    Person,
    Role,
    RoleAssignment,
)
from oa.selectors.tokens import active_token
from oa.uscc import make_uscc
from tests import write_paths
from tests.astparse import parse
from tests.clients import login

pytestmark = pytest.mark.django_db


def new_audit(since: int, action: str):
    return AuditEntry.objects.filter(pk__gt=since, action=action)


def last_audit_id() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@pytest.fixture
def sysadmin(cast) -> Person:
    return cast.oaroot  # the Django admin's emergency account


@pytest.fixture
def admin_browser(sysadmin) -> Client:
    return login(sysadmin, otp=True)


def change_form_data(response) -> dict:
    """What the browser would post back from an admin change page: the main form and every inline."""
    data: dict = {}

    def add(form) -> None:
        for name, field in form.fields.items():
            if field.disabled:
                continue
            value = form[name].value()
            key = form.add_prefix(name)
            if value is None:
                continue
            if hasattr(field.widget, "decompress"):  # split date/time: name_0, name_1
                for i, part in enumerate(field.widget.decompress(value)):
                    data[f"{key}_{i}"] = "" if part is None else str(part)
            elif isinstance(value, bool):
                if value:
                    data[key] = "on"
            elif isinstance(value, list | tuple):
                data[key] = [str(v) for v in value]
            else:
                data[key] = str(value)

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        add(formset.management_form)
        for form in formset.forms:
            add(form)
    return data


def admin_errors(response) -> list:
    errors = [response.context["adminform"].form.errors]
    for inline in response.context["inline_admin_formsets"]:
        errors += [inline.formset.errors, inline.formset.non_form_errors()]
    return errors


# --- the directory admin writes through the actions --------------------------------------------------------


def test_admin_role_grant_is_checked_and_audited(admin_browser, sysadmin, cast):
    finance = Agency.objects.get(doc_code="揭东财")
    dept = Department.objects.filter(agency=finance).first()
    since = last_audit_id()
    response = admin_browser.post(reverse("admin:oa_roleassignment_add"), {
        "person": cast.zhangwei.pk, "role": Role.REVIEWER, "agency": finance.pk, "department": dept.pk})
    assert response.status_code == 302
    grant = RoleAssignment.objects.get(person=cast.zhangwei, role=Role.REVIEWER, agency=finance, department=dept)
    entry = new_audit(since, "directory.role.grant").get()
    assert (entry.actor, entry.object_id, entry.changes["via"]) == (sysadmin, str(grant.pk), "admin")


def test_admin_role_grant_refused_by_check_assign_role_shows_a_chinese_error(admin_browser, cast):
    finance = Agency.objects.get(doc_code="揭东财")
    office_dept = Department.objects.get(agency__doc_code="揭东府办", name="秘书科")
    since, before = last_audit_id(), RoleAssignment.objects.count()
    response = admin_browser.post(reverse("admin:oa_roleassignment_add"), {
        "person": cast.zhangwei.pk, "role": Role.REVIEWER, "agency": finance.pk, "department": office_dept.pk})
    assert response.status_code == 200  # the form again, with the refusal on it
    assert f"部门“{office_dept.name}”不属于机关" in response.content.decode()
    assert RoleAssignment.objects.count() == before
    assert not AuditEntry.objects.filter(pk__gt=since).exists()


def test_admin_person_page_inline_grant_goes_through_the_action(admin_browser, sysadmin, cast):
    """The role inline on the person page: refused like the action refuses, granted and audited otherwise."""
    person = cast.zhangwei
    url = reverse("admin:oa_person_change", args=[person.pk])
    data = change_form_data(admin_browser.get(url))
    finance = Agency.objects.get(doc_code="揭东财")
    office_dept = Department.objects.get(agency__doc_code="揭东府办", name="秘书科")
    prefix = "role_assignments"
    n = int(data[f"{prefix}-TOTAL_FORMS"])
    data.update({f"{prefix}-TOTAL_FORMS": str(n + 1), f"{prefix}-{n}-role": Role.SUPERVISOR,
                 f"{prefix}-{n}-agency": str(finance.pk), f"{prefix}-{n}-department": str(office_dept.pk)})
    since, before = last_audit_id(), person.role_assignments.count()

    refused = admin_browser.post(url, data)
    assert refused.status_code == 200 and "不属于机关" in refused.content.decode()
    assert person.role_assignments.count() == before

    data[f"{prefix}-{n}-department"] = ""
    saved = admin_browser.post(url, data)
    assert saved.status_code == 302, admin_errors(saved)
    grant = person.role_assignments.get(role=Role.SUPERVISOR, agency=finance, department=None)
    entry = new_audit(since, "directory.role.grant").get()
    assert (entry.object_id, entry.actor, entry.changes["via"]) == (str(grant.pk), sysadmin, "admin")
    # Nothing else on the page changed, so nothing else was written or audited.
    assert [e.changes for e in new_audit(since, "directory.person.update")] == []


def test_admin_adds_a_person_through_the_create_action(admin_browser, sysadmin):
    since = last_audit_id()
    response = admin_browser.post(reverse("admin:oa_person_add"), {
        "username": "xinren01", "name": "辛仁", "password1": "Qx7!tangerine-Lamp", "password2": "Qx7!tangerine-Lamp",
        "usable_password": "true",
        **{f"{prefix}-{k}": v for prefix in ("appointments", "role_assignments")
           for k, v in {"TOTAL_FORMS": "0", "INITIAL_FORMS": "0"}.items()}})
    assert response.status_code == 302, admin_errors(response)
    person = Person.objects.get(username="xinren01")
    assert person.check_password("Qx7!tangerine-Lamp")
    entry = new_audit(since, "directory.person.create").get()
    assert (entry.object_id, entry.actor, entry.changes["via"]) == (str(person.pk), sysadmin, "admin")
    assert "password" not in entry.changes
    # The administrator typed it: a temporary password, changed by its owner at the first login.
    assert person.must_change_password and entry.changes["must_change_password"] is True


def test_admin_add_person_refuses_a_common_password(admin_browser):
    since = last_audit_id()
    response = admin_browser.post(reverse("admin:oa_person_add"), {
        "username": "xinren02", "name": "辛仁", "password1": "Jiedong@2026", "password2": "Jiedong@2026",
        "usable_password": "true",
        **{f"{prefix}-{k}": v for prefix in ("appointments", "role_assignments")
           for k, v in {"TOTAL_FORMS": "0", "INITIAL_FORMS": "0"}.items()}})
    assert response.status_code == 200 and COMMON_PASSWORD in response.content.decode()
    assert not Person.objects.filter(username="xinren02").exists()
    assert not AuditEntry.objects.filter(pk__gt=since).exists()


# The message of oa.passwords.CommonPasswordValidator.
COMMON_PASSWORD = "密码过于常见"
TEMPORARY = "Qx7!tangerine-Lamp"


def test_admin_password_page_resets_through_the_action(admin_browser, sysadmin, cast):
    """The person admin's "change password" page: the reset action sets the password (validated, the old hash
    in the history, audited without secrets), lifts the lock and forces a change at the next login."""
    person = cast.zhangwei
    Person.objects.filter(pk=person.pk).update(failed_login_count=4,
                                               locked_until=timezone.now() + dt.timedelta(minutes=30))
    person.refresh_from_db()
    old_hash, since = person.password, last_audit_id()
    url = reverse("admin:auth_user_password_change", args=[person.pk])
    assert admin_browser.get(url).status_code == 200
    response = admin_browser.post(url, {"password1": TEMPORARY, "password2": TEMPORARY, "usable_password": "true"})
    assert response.status_code == 302, response.context and response.context["form"].errors
    person.refresh_from_db()
    assert person.check_password(TEMPORARY) and person.must_change_password
    assert (person.failed_login_count, person.locked_until) == (0, None)
    assert PasswordHistory.objects.filter(person=person, password=old_hash).exists()
    entry = new_audit(since, "directory.person.password_reset").get()
    assert (entry.actor, entry.object_id) == (sysadmin, str(person.pk))
    assert entry.changes == {"via": "admin", "usable_password": True, "must_change_password": True,
                             "unlocked": True}
    recorded = json.dumps(entry.changes, ensure_ascii=False) + entry.object_repr
    assert TEMPORARY not in recorded and person.password not in recorded and old_hash not in recorded
    assert not new_audit(since, "directory.person.update").exists()
    # Its owner signs in with it (the lock is gone) and must choose her own first.
    signed_in = Client().post(reverse("login"), {"username": person.username, "password": TEMPORARY})
    assert signed_in.status_code == 302 and signed_in["Location"] == reverse("password_change_forced")


def test_admin_password_page_refuses_a_common_password_in_chinese(admin_browser, cast):
    person = cast.zhangwei
    old_hash, history, since = person.password, PasswordHistory.objects.count(), last_audit_id()
    url = reverse("admin:auth_user_password_change", args=[person.pk])
    response = admin_browser.post(url, {"password1": "Jiedong@2026", "password2": "Jiedong@2026",
                                        "usable_password": "true"})
    assert response.status_code == 200 and COMMON_PASSWORD in response.content.decode()
    person.refresh_from_db()
    assert person.password == old_hash and not person.must_change_password
    assert PasswordHistory.objects.count() == history
    assert not AuditEntry.objects.filter(pk__gt=since).exists()


def test_the_reset_action_validates_itself(sysadmin, cast):
    """Whoever calls it (not only the admin form, which validates first) gets the password rules."""
    person = cast.zhangwei
    old_hash, since = person.password, last_audit_id()
    with pytest.raises(ValidationError, match=COMMON_PASSWORD):
        check_reset_password(actor=sysadmin, via="admin", person=person, new_password="Jiedong@2026")
    person.refresh_from_db()
    assert person.password == old_hash and not AuditEntry.objects.filter(pk__gt=since).exists()


def test_admin_disabling_password_login_is_the_reset_action(admin_browser, cast):
    person = cast.zhangwei
    since = last_audit_id()
    url = reverse("admin:auth_user_password_change", args=[person.pk])
    response = admin_browser.post(url, {"usable_password": "false", "unset-password": "1"})
    assert response.status_code == 302
    person.refresh_from_db()
    assert not person.has_usable_password() and not person.must_change_password
    assert new_audit(since, "directory.person.password_reset").get().changes["usable_password"] is False


def test_person_admin_has_no_django_groups_or_permissions(admin_browser, sysadmin, cast):
    """Access comes from RoleAssignment: Django's groups and user_permissions are not on the page, and posting
    them writes nothing. The staff flags that are on it go through the update action."""
    person = cast.xuli
    url = reverse("admin:oa_person_change", args=[person.pk])
    page = admin_browser.get(url)
    assert {"groups", "user_permissions"}.isdisjoint(page.context["adminform"].form.fields)
    data = change_form_data(page)
    assert "is_staff" not in data
    data.update({"is_staff": "on", "groups": [str(Group.objects.create(name="旁路").pk)],
                 "user_permissions": [str(Permission.objects.get(codename="change_person").pk)]})
    since = last_audit_id()
    assert admin_browser.post(url, data).status_code == 302
    person.refresh_from_db()
    assert person.is_staff
    assert not person.groups.exists() and not person.user_permissions.exists()
    entry = new_audit(since, "directory.person.update").get()
    assert (entry.actor, entry.changes) == (sysadmin, {"via": "admin", "is_staff": True})


def test_admin_disabling_a_person_is_the_disable_action(admin_browser, cast):
    person = cast.xuli
    url = reverse("admin:oa_person_change", args=[person.pk])
    data = change_form_data(admin_browser.get(url))
    data.pop("is_active")
    data["disabled_reason"] = "调离"
    since = last_audit_id()
    assert admin_browser.post(url, data).status_code == 302
    person.refresh_from_db()
    assert not person.is_active and person.disabled_reason == "调离"
    entry = new_audit(since, "directory.person.disable").get()
    assert entry.changes == {"via": "admin", "reason": "调离"}


def test_admin_deleting_a_role_grant_is_the_revoke_action(admin_browser, cast):
    grant = RoleAssignment.objects.filter(person=cast.zhangwei).first()
    since = last_audit_id()
    response = admin_browser.post(reverse("admin:oa_roleassignment_delete", args=[grant.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not RoleAssignment.objects.filter(pk=grant.pk).exists()
    assert new_audit(since, "directory.role.revoke").get().changes["via"] == "admin"


def test_people_and_agencies_cannot_be_deleted_in_the_admin(admin_browser, cast):
    assert admin_browser.post(reverse("admin:oa_person_delete", args=[cast.xuli.pk]), {"post": "yes"}).status_code == 403
    assert Person.objects.filter(pk=cast.xuli.pk).exists()


def test_admin_delegation_overlap_is_refused_in_chinese(admin_browser, sysadmin, cast):
    today = timezone.localdate()
    # The demo's 王芳 → 李娜 delegation for 发文 covers today; another one for 发文 overlaps it.
    assert Delegation.objects.filter(principal=cast.wangfang, revoked_at__isnull=True).exists()
    form = {"principal": cast.wangfang.pk, "delegate": cast.xuli.pk, "start_date": today.isoformat(),
            "end_date": (today + dt.timedelta(days=3)).isoformat(), "flow_types": json.dumps(["issuance"]),
            "reason": "出差"}
    before, since = Delegation.objects.count(), last_audit_id()
    response = admin_browser.post(reverse("admin:oa_delegation_add"), form)
    assert response.status_code == 200
    assert "与已有委托" in response.content.decode() and "重叠" in response.content.decode()
    assert Delegation.objects.count() == before and not AuditEntry.objects.filter(pk__gt=since).exists()

    # A scope that cannot match the same work is granted, by the action, and audited.
    form["flow_types"] = json.dumps(["receipt"])
    assert admin_browser.post(reverse("admin:oa_delegation_add"), form).status_code == 302
    created = Delegation.objects.get(principal=cast.wangfang, delegate=cast.xuli)
    assert created.created_by == sysadmin and created.flow_types == ["receipt"]
    assert new_audit(since, "delegation.create").get().changes["via"] == "admin"


def test_admin_revokes_delegations_with_the_action(admin_browser, cast):
    delegation = Delegation.objects.get(principal=cast.wangfang, delegate=cast.lina, revoked_at__isnull=True)
    since = last_audit_id()
    admin_browser.post(reverse("admin:oa_delegation_changelist"),
                       {"action": "revoke", "_selected_action": [delegation.pk]})
    delegation.refresh_from_db()
    assert delegation.revoked_at is not None
    assert new_audit(since, "delegation.revoke").get().changes["via"] == "admin"


# --- the syncs create people through the same action ------------------------------------------------------


def ldap_snapshot() -> Snapshot:
    """What read_directory returns for a one-agency, one-person directory."""
    snap = Snapshot()
    agency = AgencySpec("a-uuid", "ou=揭东测绘局,dc=x", "揭阳市揭东区测绘局", "区测绘局", "揭东测绘",
                        make_uscc("11445203007199991"))
    dept = DeptSpec("d-uuid", "ou=测绘科,ou=揭东测绘局,dc=x", "测绘科", agency.uuid, None, 1, "测绘科")
    person = PersonSpec("p-uuid", "uid=cehui01,ou=测绘科,ou=揭东测绘局,dc=x", "cehui01", "陈测绘",
                        "cehui01@example.gov", "13900001111", dept.uuid, "科员")
    snap.agencies[agency.uuid], snap.departments[dept.uuid], snap.people[person.uuid] = agency, dept, person
    snap.roles.add(RoleSpec(person.uuid, Role.DRAFTER, agency.uuid, dept.uuid))
    return snap


@dataclass
class PlatformContacts:
    """The two contact-list calls the platform sync makes (department/list, user/list)."""

    users: list[dict]

    def departments(self) -> list[dict]:
        return [{"id": 1, "name": "揭东区"}]

    def department_users(self, department_id: int) -> list[dict]:
        return self.users


def test_ldap_and_wecom_syncs_create_people_through_the_same_action(settings):
    since = last_audit_id()
    sync_snapshot(ldap_snapshot(), apply=True, base_dn="dc=x")
    from_ldap = Person.objects.get(username="cehui01")

    settings.OA_WECOM_SYNC_MATCH = "mobile"
    contacts = PlatformContacts([{"userid": "pingtai01", "name": "平台新人", "mobile": "13900002222",
                                  "department": [1]}])
    sync_platform(apply=True, create=True, client=contacts)
    from_wecom = Person.objects.get(platform_userid="pingtai01")

    created = {e.object_id: e.changes["via"] for e in new_audit(since, "directory.person.create")}
    assert created == {str(from_ldap.pk): "ldap", str(from_wecom.pk): "wecom"}
    # The rest of the directory the LDAP sync wrote went through the actions too, each audited via=ldap.
    for action in ("directory.agency.create", "directory.department.create", "directory.appointment.create",
                   "directory.role.grant"):
        assert [e.changes["via"] for e in new_audit(since, action)] == ["ldap"], action
    assert RoleAssignment.objects.get(person=from_ldap).source == RoleAssignment.Source.LDAP


def test_demo_loader_uses_the_directory_actions():
    """The session's demo district was loaded by oa.actions.demo: its people came through the action."""
    demo = AuditEntry.objects.filter(action="directory.person.create", changes__via="demo")
    assert demo.filter(object_id=str(Person.objects.get(username="zhangwei").pk)).exists()


# --- tokens and the audit export -----------------------------------------------------------------------------


def test_reading_a_token_writes_nothing_and_its_use_is_written_by_the_action(cast, monkeypatch):
    raw, token = do_issue_token(cast.lina, name="测试手机")
    assert active_token(raw).pk == token.pk
    token.refresh_from_db()
    assert token.last_used_at is None  # the selector only reads

    import oa.api.auth

    calls = []
    real = oa.api.auth.do_use_token
    monkeypatch.setattr(oa.api.auth, "do_use_token", lambda t: (calls.append(t.pk), real(t)))
    assert Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/me").status_code == 200
    token.refresh_from_db()
    assert calls == [token.pk] and token.last_used_at is not None


def test_audit_export_is_recorded_by_the_action(cast, monkeypatch):
    import oa.views.audit

    calls = []
    real = oa.views.audit.do_record_audit_export
    monkeypatch.setattr(oa.views.audit, "do_record_audit_export",
                        lambda **kw: (calls.append(kw["filters"]), real(**kw))[1])
    since = last_audit_id()
    auditor = cast.yanghui  # 审计管理员
    response = login(auditor, otp=True).get("/audit/export.csv", {"action": "directory."})
    b"".join(response.streaming_content)
    assert response.status_code == 200 and len(calls) == 1
    entry = new_audit(since, "audit.export").get()
    assert (entry.actor, entry.changes) == (auditor, {"action": "directory."})


# --- architecture: where writes may be ---------------------------------------------------------------------

# Writes outside actions/ that are legitimate, each with the reason. An entry that no longer matches anything
# fails the test, so the list cannot rot.
ALLOWED_WRITES = {
    # The event layer is the one writer of notifications: send_event_on_commit persists the Notification rows
    # in the caller's transaction and delivers after commit (DESIGN.md, "Events after commit").
    "oa/events.py:send_event_on_commit: Notification.objects.bulk_create",
    "oa/events.py:send_event_on_commit: NotificationDelivery.objects.bulk_create",
    "oa/events.py:retire_notifications: Notification.objects.filter.update",
    "oa/events.py:retire_notifications: NotificationDelivery.objects.filter.update",
    # The inbox mirror is written by the receiver of viewflow's task events, in the task's transaction
    # (DESIGN.md, "One row per person per piece of work").
    "workflows/inbox.py:sync_task: WorkItem.objects.filter.exclude.update",
    # viewflow node activations: the routing trace row is part of creating the task itself (flow machinery,
    # not a business write).
    "workflows/routing.py:create: TaskEvent.objects.create",
    "workflows/routing.py:create_next: TaskEvent.objects.create",
}


def test_no_writes_outside_actions():
    found = {str(w) for w in write_paths.writes_outside_actions()}
    assert sorted(found - ALLOWED_WRITES) == []
    assert sorted(ALLOWED_WRITES - found) == []  # stale allow-list entries


def test_selectors_neither_write_nor_import_actions():
    import ast

    selectors = [rel for rel in write_paths.scanned_files() if write_paths.is_selectors_module(rel)]
    assert len(selectors) > 20
    assert [str(w) for rel in selectors for w in write_paths.writes_in(rel)] == []
    imports_actions = []
    for rel in selectors:
        tree = parse((write_paths.ROOT / rel).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and ".actions" in f".{node.module}":
                imports_actions.append(f"{rel}: {node.module}")
    assert imports_actions == []


def test_the_scanner_sees_the_forms_writes_take():
    """The architecture test would be vacuous if the scanner missed writes: feed it each form once."""
    source = '''
from oa.models import Appointment, Person
from documents.models import OfficialDocument as Doc


def writes(person: Person, raw):
    Person.objects.create(username="x")
    Person.objects.filter(pk=1).update(name="y")
    Doc.objects.filter(pk=1).delete()
    person.save()
    person.appointments.filter(is_primary=True).update(is_primary=False)
    appt = Appointment.objects.get(pk=1)
    appt.delete()
    found, _ = Person.objects.get_or_create(username="z")
    found.save(update_fields=["name"])
    for p in Person.objects.filter(is_active=True):
        p.save()


def not_writes(form, cache, data: dict):
    form.save()
    cache.set("k", 1)
    data.update({"a": 1})
    Person.objects.filter(pk=1).exists()
'''
    found = [w.call for w in write_paths.writes_in("oa/example.py", source)]
    assert found == [
        "Person.objects.create", "Person.objects.filter.update", "Doc.objects.filter.delete", "person.save",
        "person.appointments.filter.update", "appt.delete", "Person.objects.get_or_create", "found.save", "p.save",
    ]


def _overrides(admin_class, method: str) -> bool:
    return getattr(admin_class, method) is not getattr(admin.ModelAdmin, method)


def test_admins_of_core_tables_write_through_actions(rf, sysadmin):
    """A registered admin of an oa/documents/workflows model either cannot add/change/delete, or overrides
    the hook that would otherwise do the stock write (save_model, delete_model + delete_queryset,
    save_formset for inlines, user_change_password for a UserAdmin)."""
    request = rf.get("/admin/")
    request.user = sysadmin
    sysadmin.is_superuser = True
    stock = []
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in {"oa", "documents", "workflows"}:
            continue
        cls = type(model_admin)
        name = f"{cls.__module__}.{cls.__name__}"
        saves = model_admin.has_add_permission(request) or model_admin.has_change_permission(request)
        if saves and not _overrides(cls, "save_model"):
            stock.append(f"{name}: save_model")
        if model_admin.has_delete_permission(request) and not (
            _overrides(cls, "delete_model") and _overrides(cls, "delete_queryset")
        ):
            stock.append(f"{name}: delete_model/delete_queryset")
        for inline in model_admin.get_inline_instances(request):
            writes = inline.has_add_permission(request, None) or inline.has_change_permission(request) or (
                inline.can_delete and inline.has_delete_permission(request))
            if writes and not _overrides(cls, "save_formset"):
                stock.append(f"{name}: save_formset ({type(inline).__name__})")
        # The user admin's own page that writes: "change password" (AdminPasswordChangeForm.save).
        if isinstance(model_admin, UserAdmin) and cls.user_change_password is UserAdmin.user_change_password:
            stock.append(f"{name}: user_change_password")
    assert stock == []
    assert {m._meta.model_name for m in admin.site._registry} >= {"person", "roleassignment", "delegation"}
