"""manage.py sync_directory against a real slapd (tests/ldap/conftest.py)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from ldif_data import (
    AGENCIES,
    CONCURRENT_COUNT,
    DEPARTMENT_COUNT,
    PEOPLE,
    agency_dn,
    dept_dn,
    line,
    people,
    person_entry,
    role_count,
)

from integrations.ldap.sync import SYNC_DISABLE_REASON
from oa import work
from oa.models import Agency, Appointment, AuditEntry, Department, Person, Post, Role, RoleAssignment

pytestmark = [pytest.mark.slapd, pytest.mark.django_db]

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("sync_directory", *args, stdout=out)
    return out.getvalue()


def db_state() -> dict[str, object]:
    """Everything the sync could write, as comparable values."""
    return {
        "agencies": list(Agency.objects.order_by("pk").values()),
        "departments": list(Department.objects.order_by("pk").values()),
        "people": list(Person.objects.order_by("pk").values()),
        "posts": list(Post.objects.order_by("pk").values()),
        "appointments": list(Appointment.objects.order_by("pk").values()),
        "roles": list(RoleAssignment.objects.order_by("pk").values()),
        "audit": AuditEntry.objects.count(),
    }


def ldap_people():
    return Person.objects.filter(source=Person.Source.LDAP)


# --- dry run / apply / idempotence ----------------------------------------------------------------------


def test_dry_run_prints_diff_and_changes_nothing(ldap_settings):
    before = db_state()
    out = run("--dry-run")
    assert db_state() == before
    assert "预演" in out and "未写入任何数据" in out
    assert "[机关] 新建 揭阳市揭东区自然资源局（揭东自然资源）" in out
    assert "[部门] 新建 区自然资源局/规划科/规划一股" in out
    assert "[人员] 新建" in out and "[兼职] 新建" in out and "[角色] 新建" in out
    assert f"人员 新建 {PEOPLE}" in out
    assert f"部门 新建 {DEPARTMENT_COUNT}" in out
    assert "[职务] 新建 股长" in out
    assert "羽毛球协会" not in out  # not a role group


def test_apply_imports_the_directory(ldap_settings, cast):
    local_before = list(Person.objects.filter(source=Person.Source.LOCAL).order_by("pk").values())
    local_roles_before = list(RoleAssignment.objects.filter(source="local").order_by("pk").values())
    local_appts_before = list(Appointment.objects.filter(source="local").order_by("pk").values())

    out = run("--apply")

    assert "已执行" in out
    assert f"人员 新建 {PEOPLE}" in out
    # Agencies: USCC, 机关代字 and 简称 from standard attributes.
    finance = Agency.objects.get(name="揭阳市揭东区自然资源局")
    assert (finance.doc_code, finance.short_name, finance.external_id is not None) == ("揭东自然资源", "区自然资源局", True)
    assert Agency.objects.filter(external_id__isnull=False).count() == len(AGENCIES)
    # Departments, nested.
    depts = Department.objects.filter(external_id__isnull=False)
    assert depts.count() == DEPARTMENT_COUNT
    nested = depts.get(name="规划一股")
    assert nested.parent.name == "规划科" and nested.agency == finance
    assert depts.get(name="免疫规划股").parent.name == "疾病预防控制科"
    # People: 200, directory-sourced, no local password, one primary post each.
    assert ldap_people().count() == PEOPLE
    assert not any(p.has_usable_password() for p in ldap_people())
    assert not ldap_people().filter(must_change_password=True).exists()
    assert Appointment.objects.filter(source="ldap", is_primary=True).count() == PEOPLE
    row = people()[0]
    head = Person.objects.get(username=row.uid)
    assert (head.name, head.email, head.external_dn) == (row.name, f"{row.uid}@ldap.jiedong.gov.example", row.dn)
    primary = head.appointments.get(is_primary=True)
    assert (primary.department.name, primary.post.name, primary.source) == (row.dept, "局长", "ldap")
    # 兼职: both reference forms, including one into the demo's local 区府办综合科.
    concurrent = Appointment.objects.filter(source="ldap", is_primary=False)
    assert concurrent.count() == CONCURRENT_COUNT
    p22 = Person.objects.get(username="ldu022")
    assert {(a.department.name, a.post.name) for a in p22.appointments.filter(is_primary=False)} == {
        ("建设管理科", "副科长"), ("运输管理科", "科员")}
    p23 = concurrent.get(person__username="ldu023")
    assert (p23.department.agency.doc_code, p23.department.name) == ("揭东府办", "综合科")
    p20 = concurrent.get(person__username="ldu020")
    assert (p20.department.agency.doc_code, p20.department.name, p20.post.name) == ("揭东卫健", "办公室", "副主任")
    assert Post.objects.filter(name="股长").exists()
    # Roles: agency scope for groups in the agency OU, department scope for groups in a department OU.
    ldap_roles = RoleAssignment.objects.filter(source="ldap")
    assert ldap_roles.count() == role_count()
    principal = ldap_roles.get(person=head, role=Role.PRINCIPAL)
    assert (principal.agency, principal.department) == (finance, None)
    dept_head = ldap_roles.get(person__username="ldu001", role=Role.DEPT_HEAD)
    assert dept_head.department.name == "规划科"
    drafters = ldap_roles.filter(role=Role.DRAFTER, agency=finance)  # mapped by description
    assert drafters.count() == 3 and {d.department.name for d in drafters} == {"规划科"}
    # The demo's local rows are untouched.
    assert list(Person.objects.filter(source=Person.Source.LOCAL).order_by("pk").values()) == local_before
    assert list(RoleAssignment.objects.filter(source="local").order_by("pk").values()) == local_roles_before
    assert list(Appointment.objects.filter(source="local").order_by("pk").values()) == local_appts_before
    assert cast.zhangwei.is_active and cast.zhangwei.check_password("Jiedong@2026")
    # One audit entry for the whole sync, carrying the counts.
    entry = AuditEntry.objects.get(action="directory.sync")
    assert entry.changes["counts"]["人员.新建"] == PEOPLE
    assert entry.changes["counts"]["部门.新建"] == DEPARTMENT_COUNT
    # … and one per change, written by the directory actions the admin uses (docs/architecture.md, 写入路径).
    created = AuditEntry.objects.filter(action="directory.person.create", changes__via="ldap")
    assert created.count() == PEOPLE and created.filter(object_id=str(head.pk)).exists()
    assert AuditEntry.objects.filter(action="directory.role.grant", changes__via="ldap").count() == role_count()


def test_second_apply_reports_zero_changes(ldap_settings):
    run("--apply")
    before = db_state()
    out = run("--apply")
    assert "无变更（0 项）" in out
    assert "[" not in out.split("汇总")[0]  # no change lines at all
    assert db_state() == before  # not even an audit entry
    assert "无变更（0 项）" in run("--dry-run")


# --- moves, departures, role changes ---------------------------------------------------------------------


MOVER = people()[100]  # not in any group, no 兼职
LEAVER = people()[101]
NEW_PARENT = dept_dn("揭阳市揭东区交通运输局", "运输管理科")


def _moddn(server, dn: str, rdn: str, superior: str) -> None:
    server.modify("\n".join([line("dn", dn), "changetype: modrdn", line("newrdn", rdn), "deleteoldrdn: 1",
                             line("newsuperior", superior)]) + "\n")


@pytest.fixture
def moved_person(slapd_server):
    new_dn = f"uid={MOVER.uid},{NEW_PARENT}"
    _moddn(slapd_server, MOVER.dn, f"uid={MOVER.uid}", NEW_PARENT)
    yield new_dn
    _moddn(slapd_server, new_dn, f"uid={MOVER.uid}", dept_dn(MOVER.agency, MOVER.dept))


def test_moved_person_keeps_their_row(ldap_settings, slapd_server, request):
    run("--apply")
    person = Person.objects.get(username=MOVER.uid)
    assert person.appointments.get(is_primary=True).department.name == MOVER.dept
    new_dn = request.getfixturevalue("moved_person")

    out = run("--apply")

    assert f"[人员] 调动 {MOVER.name}（{MOVER.uid}）" in out
    assert "人员 调动 1" in out
    moved = Person.objects.get(external_id=person.external_id)
    assert moved.pk == person.pk
    assert moved.external_dn == new_dn
    primary = moved.appointments.get(is_primary=True)
    assert (primary.department.name, primary.department.agency.doc_code) == ("运输管理科", "揭东交")
    assert moved.appointments.count() == 1
    assert ldap_people().count() == PEOPLE
    assert "无变更（0 项）" in run("--apply")


class FakeWork:
    kind, label = "fake", "待办公文"

    def count_open(self, person):
        return 3 if person.username == LEAVER.uid else 0

    def move_open(self, source, target):
        return 0


@pytest.fixture
def vanished_person(slapd_server, monkeypatch):
    monkeypatch.setitem(work._providers, FakeWork.kind, FakeWork())
    slapd_server.delete(LEAVER.dn)
    yield LEAVER
    slapd_server.add(person_entry(LEAVER))


def test_vanished_person_is_disabled_and_listed_for_handover(ldap_settings, request):
    run("--apply")
    person = Person.objects.get(username=LEAVER.uid)
    request.getfixturevalue("vanished_person")
    # ids are not dense (audit chains: docs/security.md §审计链), so the newest id, not the count, marks "before"
    audit_before = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    dry = run("--dry-run")
    assert f"[人员] 停用 {LEAVER.name}（{LEAVER.uid}）" in dry and "将停用" in dry
    assert Person.objects.get(pk=person.pk).is_active

    out = run("--apply")

    person.refresh_from_db()
    assert not person.is_active and person.disabled_reason == SYNC_DISABLE_REASON
    assert Person.objects.filter(pk=person.pk).exists()  # never deleted
    assert person.appointments.filter(is_primary=True).exists()  # kept for the handover
    assert "待交接人员" in out
    assert f"{LEAVER.name}（{LEAVER.uid}）未办结工作 3 项：待办公文 3 项" in out
    assert "人员 停用 1" in out
    new = AuditEntry.objects.filter(pk__gt=audit_before)
    assert sorted(new.values_list("action", flat=True)) == ["directory.person.disable", "directory.sync"]
    assert new.get(action="directory.sync").changes["disabled"] == [LEAVER.uid]
    assert "无变更（0 项）" in run("--apply")


CONTAINER = agency_dn("x").split(",", 1)[1]  # ou=agencies,…: not a department OU


def test_person_back_in_a_department_is_re_enabled(ldap_settings, slapd_server):
    run("--apply")
    person = Person.objects.get(username=MOVER.uid)
    outside = f"uid={MOVER.uid},{CONTAINER}"
    _moddn(slapd_server, MOVER.dn, f"uid={MOVER.uid}", CONTAINER)
    try:
        out = run("--apply")
        assert "不在任何部门 OU 下" in out and "人员 停用 1" in out
        person.refresh_from_db()
        assert not person.is_active
    finally:
        _moddn(slapd_server, outside, f"uid={MOVER.uid}", dept_dn(MOVER.agency, MOVER.dept))
    # The same entry (same entryUUID) is back in its department: the sync's own disable is undone.
    out = run("--apply")
    assert f"[人员] 启用 {MOVER.name}（{MOVER.uid}）" in out
    person.refresh_from_db()
    assert person.is_active and person.disabled_reason == ""
    assert AuditEntry.objects.filter(action="directory.person.enable", object_id=str(person.pk)).exists()
    assert "无变更（0 项）" in run("--apply")


@pytest.fixture
def group_without_head(slapd_server):
    group = f"cn=role-dept_head,{dept_dn('揭阳市揭东区自然资源局', '规划科')}"
    member = people()[1].dn
    slapd_server.modify("\n".join([line("dn", group), "changetype: modify", "add: member",
                                   line("member", people()[2].dn), "-", "delete: member", line("member", member)])
                        + "\n")
    yield
    slapd_server.modify("\n".join([line("dn", group), "changetype: modify", "add: member", line("member", member),
                                   "-", "delete: member", line("member", people()[2].dn)]) + "\n")


def test_group_membership_change_grants_and_revokes(ldap_settings, request):
    run("--apply")
    request.getfixturevalue("group_without_head")
    out = run("--apply")
    assert "角色 新建 1" in out and "角色 撤销 1" in out
    heads = RoleAssignment.objects.filter(source="ldap", role=Role.DEPT_HEAD, department__name="规划科")
    assert list(heads.values_list("person__username", flat=True)) == ["ldu002"]


def test_agency_ou_without_uscc_is_not_an_agency(ldap_settings, slapd_server):
    dn = f"ou=临时工作组,{agency_dn('x').split(',', 1)[1]}"
    slapd_server.add("\n".join([line("dn", dn), "objectClass: organizationalUnit", line("ou", "临时工作组")]) + "\n")
    try:
        out = run("--dry-run")
    finally:
        slapd_server.delete(dn)
    assert "“临时工作组”缺少 businessCategory" in out


# --- failures: nothing written, non-zero exit --------------------------------------------------------------


def test_wrong_service_password_is_a_clear_error(ldap_settings):
    ldap_settings.LDAP_BIND_PASSWORD = "not-the-password"
    before = db_state()
    with pytest.raises(CommandError, match=r"目录服务账号 .* 绑定失败"):
        run("--apply")
    assert db_state() == before


def test_server_down_is_a_clear_error(ldap_settings, closed_port_url):
    ldap_settings.LDAP_URL = closed_port_url
    before = db_state()
    with pytest.raises(CommandError, match="目录服务器不可用"):
        run("--apply")
    assert db_state() == before


def test_command_exits_non_zero_when_directory_is_down(closed_port_url, slapd_server):
    # The directory is read before any database access, so the real command fails before touching the DB.
    env = {**os.environ, "OA_LDAP_URL": closed_port_url, "OA_LDAP_BASE_DN": "ou=agencies,dc=example",
           "OA_LDAP_BIND_DN": "cn=x", "OA_LDAP_BIND_PASSWORD": "y"}
    result = subprocess.run([sys.executable, "manage.py", "sync_directory", "--apply"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "目录服务器不可用" in result.stderr


def test_dry_run_and_apply_are_exclusive_and_required():
    with pytest.raises(CommandError):
        run()
