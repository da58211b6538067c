"""三员分立 and the administrators' own pages (/manage/, docs/security.md).

孙浩 (sunhao) is the 系统管理员, 钱静 (qianjing) the 安全管理员, 杨慧 (yanghui) the 审计管理员, each for the whole
district. Each reaches their own pages only; every write goes through an action and is audited with "via": "manage";
a bad input is refused in Chinese beside its field with the form kept; no page shows a TOTP secret.
"""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from oa.actions.directory import check_assign_role
from oa.models import (
    Agency,
    Appointment,
    AuditEntry,
    Delegation,
    Department,
    Person,
    Post,
    Role,
    RoleAssignment,
)
from oa.refusals import Refusal
from oa.selectors.audit import may_view_audit
from tests.clients import login

pytestmark = pytest.mark.django_db


def html(response) -> str:
    return response.content.decode()


def audit_after(since: int, action: str):
    return AuditEntry.objects.filter(pk__gt=since, action=action).order_by("pk")


def last_id() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


# --- who reaches which page ---------------------------------------------------------------------------------

SYS_PAGES = ["/manage/people/", "/manage/people/new/", "/manage/people/{zhangwei}/", "/manage/departments/",
             "/manage/departments/{dept}/"]
SEC_PAGES = ["/manage/roles/", "/manage/roles/{zhangwei}/", "/manage/delegations/", "/manage/security/",
             "/manage/security/{zhangwei}/"]
AUDIT_PAGES = ["/audit/", "/audit/export.csv"]


def _urls(pages, cast):
    dept = Department.objects.get(agency__doc_code="揭东府办", name="秘书科")
    return [p.format(zhangwei=cast.zhangwei.pk, dept=dept.pk) for p in pages]


@pytest.mark.parametrize("who, allowed", [
    ("sunhao", "sys"), ("qianjing", "sec"), ("yanghui", "audit"), ("zhangwei", None), ("huangjianhua", None),
    ("oaroot", None),  # the superuser works in the Django admin, not here
])
def test_each_administrator_reaches_only_their_own_pages(cast, who, allowed):
    person = getattr(cast, who)
    browser = login(person, otp=True)
    groups = {"sys": SYS_PAGES, "sec": SEC_PAGES, "audit": AUDIT_PAGES}
    for group, pages in groups.items():
        for url in _urls(pages, cast):
            status = browser.get(url).status_code
            assert status == (200 if group == allowed else 403), (who, url, status)
    index = browser.get("/manage/")
    assert index.status_code == (200 if allowed else 403)
    if allowed:
        page = html(index)
        own = {"sys": 'href="/manage/people/"', "sec": 'href="/manage/roles/"', "audit": 'href="/audit/"'}
        for group, link in own.items():
            assert (link in page) == (group == allowed), (who, link)


def test_writes_are_refused_to_the_other_administrators(cast):
    """POSTs too: the 审计管理员 and 安全管理员 cannot edit the directory, the 系统管理员 cannot reset 2FA or grant."""
    zhangwei = cast.zhangwei
    since = last_id()
    for who in ("qianjing", "yanghui", "zhangwei"):
        browser = login(getattr(cast, who), otp=True)
        assert browser.post(f"/manage/people/{zhangwei.pk}/active/", {"reason": "x", "active": "0"}).status_code == 403
    for who in ("sunhao", "yanghui", "zhangwei"):
        browser = login(getattr(cast, who), otp=True)
        assert browser.post(f"/manage/security/{zhangwei.pk}/otp-reset/", {"otp-reason": "x"}).status_code == 403
        assert browser.post(f"/manage/roles/{zhangwei.pk}/", {"role": "reviewer", "agency": 1}).status_code == 403
    for who in ("sunhao", "qianjing"):
        assert login(getattr(cast, who), otp=True).post("/audit/verify/").status_code == 403
    zhangwei.refresh_from_db()
    assert zhangwei.is_active and not AuditEntry.objects.filter(pk__gt=since).exclude(action__startswith="auth.")


def test_the_actions_check_the_role_themselves(cast):
    from oa.actions.manage import check_manage_reset_two_factor, check_manage_set_person_active

    with pytest.raises(Refusal) as exc:
        check_manage_reset_two_factor(actor=cast.sunhao, person=cast.zhangwei, reason="丢手机")
    assert (exc.value.code, exc.value.status) == ("manage_forbidden", 403)
    with pytest.raises(Refusal) as exc:
        check_manage_set_person_active(actor=cast.qianjing, person=cast.zhangwei, active=False, reason="离职")
    assert exc.value.code == "manage_forbidden" and "系统管理员" in exc.value.message


def test_the_audit_log_is_the_audit_admins_alone(cast):
    assert may_view_audit(cast.yanghui)
    assert not may_view_audit(cast.sunhao) and not may_view_audit(cast.qianjing)
    assert not may_view_audit(cast.oaroot)  # superuser flag is not the role


def test_profile_shows_the_manage_entry_only_to_administrators(cast):
    for who in ("sunhao", "qianjing", "yanghui"):
        assert 'href="/manage/"' in html(login(getattr(cast, who), otp=True).get("/profile/")), who
    assert 'href="/manage/"' not in html(login(cast.zhangwei).get("/profile/"))


def test_scope_is_the_agency_granted_and_those_below_it(cast):
    """A 安全管理员 of 区财政局 only: 区府办 people are not found (404), 财政局 people are."""
    finance = Agency.objects.get(doc_code="揭东财")
    person = Person.objects.get(username="finance06")
    admin = Person.objects.get(username="finance03")
    RoleAssignment.objects.filter(person=admin).delete()
    check_assign_role(actor=None, person=admin, role=Role.SECADMIN, agency=finance)
    browser = login(admin, otp=True)
    assert browser.get(f"/manage/roles/{person.pk}/").status_code == 200
    assert browser.get(f"/manage/roles/{cast.zhangwei.pk}/").status_code == 404
    listing = html(browser.get("/manage/roles/"))
    assert f'href="/manage/roles/{person.pk}/"' in listing
    assert f'href="/manage/roles/{cast.zhangwei.pk}/"' not in listing


# --- 三员分立: no one holds two ----------------------------------------------------------------------------


@pytest.mark.parametrize("holder, second", [("sunhao", Role.SECADMIN), ("qianjing", Role.AUDITADMIN),
                                            ("yanghui", Role.SYSADMIN)])
def test_no_one_holds_two_administrator_roles(cast, holder, second):
    gov = Agency.objects.get(doc_code="揭东府")
    with pytest.raises(Refusal) as exc:
        check_assign_role(actor=None, person=getattr(cast, holder), role=second, agency=gov)
    assert (exc.value.code, exc.value.status) == ("role_separation", 409)
    assert "三员分立" in exc.value.message and "不得由同一人兼任" in exc.value.message
    assert not RoleAssignment.objects.filter(person=getattr(cast, holder), role=second).exists()


def test_the_role_page_refuses_a_second_administrator_role_beside_the_field(cast, secadmin):
    gov = Agency.objects.get(doc_code="揭东府")
    since = last_id()
    response = secadmin.post(f"/manage/roles/{cast.sunhao.pk}/", {"role": Role.AUDITADMIN, "agency": gov.pk})
    assert response.status_code == 409
    page = html(response)
    assert "已担任系统管理员" in page and "不得由同一人兼任" in page
    assert 'id="id_role_error"' in page and f'<option value="{Role.AUDITADMIN}" selected>' in page  # form kept
    assert not audit_after(since, "directory.role.grant").exists()


def test_an_administrator_role_is_not_granted_for_a_department(cast, secadmin):
    dept = Department.objects.get(agency__doc_code="揭东府办", name="秘书科")
    response = secadmin.post(f"/manage/roles/{cast.zhangwei.pk}/",
                             {"role": Role.SYSADMIN, "agency": dept.agency_id, "department": dept.pk})
    assert response.status_code == 400 and "须按机关授权" in html(response)


def test_the_django_admin_form_refuses_it_too(cast):
    from oa.admin.directory import RoleAssignmentForm

    gov = Agency.objects.get(doc_code="揭东府")
    form = RoleAssignmentForm({"person": cast.qianjing.pk, "role": Role.SYSADMIN, "agency": gov.pk})
    assert not form.is_valid() and "不得由同一人兼任" in str(form.errors)
    # Changing the role of an existing grant is not counted against itself.
    grant = RoleAssignment.objects.get(person=cast.qianjing, role=Role.SECADMIN)
    form = RoleAssignmentForm({"person": cast.qianjing.pk, "role": Role.AUDITADMIN, "agency": gov.pk}, instance=grant)
    assert form.is_valid(), form.errors


# --- 系统管理员: people and departments -----------------------------------------------------------------------


def _person_data(**overrides):
    dept = Department.objects.get(agency__doc_code="揭东府办", name="综合科")
    data = {"username": "chenxin", "name": "陈欣", "mobile": "13900001111", "department": dept.pk,
            "post": Post.objects.get(name="科员").pk, "password": "Huanying#2026x"}
    return data | overrides


def test_create_a_person(cast, sysadmin):
    since = last_id()
    response = sysadmin.post("/manage/people/new/", _person_data())
    person = Person.objects.get(username="chenxin")
    assert response.status_code == 302 and response["Location"] == f"/manage/people/{person.pk}/"
    assert person.name == "陈欣" and person.must_change_password and person.check_password("Huanying#2026x")
    appt = Appointment.objects.get(person=person)
    assert appt.is_primary and appt.department.name == "综合科" and appt.post.name == "科员"
    created = audit_after(since, "directory.person.create").get()
    assert created.actor == cast.sunhao and created.changes["via"] == "manage"
    assert "Huanying" not in str(created.changes)
    assert audit_after(since, "directory.appointment.create").get().changes["via"] == "manage"


@pytest.mark.parametrize("overrides, field, message, status", [
    ({"username": "zhangwei"}, "username", "用户名“zhangwei”已被使用", 409),
    ({"username": "bad name!"}, "username", "用户名只能包含字母", 400),
    ({"name": ""}, "name", "请填写姓名", 400),
    ({"password": "123456"}, "password", "密码", 400),
    ({"mobile": "call me"}, "mobile", "请输入有效的电话号码", 400),
    ({"department": ""}, "department", "请选择部门", 400),
    ({"department": 999999}, "department", "请选择部门", 400),
])
def test_create_person_refusals_beside_the_field_form_kept(cast, sysadmin, overrides, field, message, status):
    before = Person.objects.count()
    response = sysadmin.post("/manage/people/new/", _person_data(**overrides))
    page = html(response)
    assert response.status_code == status
    assert f'id="id_{field}_error"' in page and message in page
    assert 'value="陈欣"' in page or field == "name"  # what was typed stays
    assert Person.objects.count() == before


def test_create_person_outside_the_scope_is_refused(cast):
    finance = Agency.objects.get(doc_code="揭东财")
    admin = Person.objects.get(username="finance03")
    RoleAssignment.objects.filter(person=admin).delete()
    check_assign_role(actor=None, person=admin, role=Role.SYSADMIN, agency=finance)
    response = login(admin, otp=True).post("/manage/people/new/", _person_data())  # 区府办 综合科
    assert response.status_code == 403 and "不在您的管理范围内" in html(response)
    assert not Person.objects.filter(username="chenxin").exists()


def test_edit_a_person_moves_the_primary_post(cast, sysadmin):
    xuli = cast.xuli
    old_mobile = xuli.mobile
    new_dept = Department.objects.get(agency__doc_code="揭东府办", name="督查室")
    post = Post.objects.get(name="副主任")
    since = last_id()
    response = sysadmin.post(f"/manage/people/{xuli.pk}/", {"name": "徐丽", "mobile": "13900002222",
                                                            "department": new_dept.pk, "post": post.pk})
    assert response.status_code == 302
    xuli.refresh_from_db()
    assert xuli.mobile == "13900002222"
    assert list(xuli.appointments.values_list("department__name", "post__name", "is_primary")) == [
        ("督查室", "副主任", True)]
    assert audit_after(since, "directory.person.update").get().changes == {
        "via": "manage", "mobile": [old_mobile, "13900002222"]}
    assert audit_after(since, "directory.appointment.end").count() == 1


def test_deactivate_and_enable_with_a_reason(cast, sysadmin):
    gaojun = cast.gaojun
    url = f"/manage/people/{gaojun.pk}/active/"
    missing = sysadmin.post(url, {"reason": "", "active": "0"})
    assert missing.status_code == 400 and "请填写原因" in html(missing)
    since = last_id()
    assert sysadmin.post(url, {"reason": "调离本区", "active": "0"}).status_code == 302
    gaojun.refresh_from_db()
    assert not gaojun.is_active and gaojun.disabled_reason == "调离本区"
    assert audit_after(since, "directory.person.disable").get().changes == {"via": "manage", "reason": "调离本区"}
    assert sysadmin.post(url, {"reason": "返岗", "active": "1"}).status_code == 302
    gaojun.refresh_from_db()
    assert gaojun.is_active and audit_after(since, "directory.person.enable").exists()


def test_an_administrator_cannot_deactivate_themselves(cast, sysadmin):
    response = sysadmin.post(f"/manage/people/{cast.sunhao.pk}/active/", {"reason": "测试", "active": "0"})
    assert response.status_code == 400 and "不能停用自己的账号" in html(response)
    assert Person.objects.get(username="sunhao").is_active


def test_departments_create_and_edit(cast, sysadmin):
    office = Agency.objects.get(doc_code="揭东府办")
    since = last_id()
    response = sysadmin.post("/manage/departments/", {"agency": office.pk, "name": "信访科", "sort_order": 50})
    assert response.status_code == 302
    dept = Department.objects.get(agency=office, name="信访科")
    assert audit_after(since, "directory.department.create").get().changes["via"] == "manage"
    dup = sysadmin.post("/manage/departments/", {"agency": office.pk, "name": "信访科", "sort_order": 60})
    assert dup.status_code == 409 and "已有部门“信访科”" in html(dup) and 'id="id_name_error"' in html(dup)

    child = sysadmin.post("/manage/departments/", {"agency": office.pk, "parent": dept.pk, "name": "来访组",
                                                   "sort_order": 10})
    assert child.status_code == 302
    child_dept = Department.objects.get(name="来访组")
    cycle = sysadmin.post(f"/manage/departments/{dept.pk}/", {"parent": child_dept.pk, "name": "信访科",
                                                              "sort_order": 50, "is_active": "on"})
    assert cycle.status_code == 400 and "不能是本部门或其下级部门" in html(cycle)
    other = Department.objects.get(agency__doc_code="揭东财", name="预算科")
    foreign = sysadmin.post(f"/manage/departments/{dept.pk}/", {"parent": other.pk, "name": "信访科",
                                                                "sort_order": 50, "is_active": "on"})
    assert foreign.status_code == 400 and "不属于" in html(foreign)
    renamed = sysadmin.post(f"/manage/departments/{dept.pk}/", {"name": "信访办", "sort_order": 40, "is_active": "on"})
    assert renamed.status_code == 302
    dept.refresh_from_db()
    assert (dept.name, dept.sort_order) == ("信访办", 40)


def test_a_department_with_staff_is_not_deactivated(cast, sysadmin):
    dept = Department.objects.get(agency__doc_code="揭东府办", name="秘书科")
    response = sysadmin.post(f"/manage/departments/{dept.pk}/", {"name": "秘书科", "sort_order": dept.sort_order})
    assert response.status_code == 409 and "还有在职人员" in html(response)
    dept.refresh_from_db()
    assert dept.is_active


# --- 安全管理员: roles, delegations, 2FA, unlock ---------------------------------------------------------------


def test_grant_and_revoke_a_role(cast, secadmin):
    office = Agency.objects.get(doc_code="揭东府办")
    since = last_id()
    response = secadmin.post(f"/manage/roles/{cast.gaojun.pk}/", {"role": Role.REVIEWER, "agency": office.pk})
    assert response.status_code == 302
    grant = RoleAssignment.objects.get(person=cast.gaojun, role=Role.REVIEWER)
    entry = audit_after(since, "directory.role.grant").get()
    assert (entry.actor, entry.changes["via"]) == (cast.qianjing, "manage")
    again = secadmin.post(f"/manage/roles/{cast.gaojun.pk}/", {"role": Role.REVIEWER, "agency": office.pk})
    assert again.status_code == 409 and "已有该角色和范围" in html(again)
    assert secadmin.post(f"/manage/roles/grants/{grant.pk}/revoke/").status_code == 302
    assert not RoleAssignment.objects.filter(pk=grant.pk).exists()
    assert audit_after(since, "directory.role.revoke").get().actor == cast.qianjing


def test_no_one_grants_or_revokes_their_own_roles(cast, secadmin):
    office = Agency.objects.get(doc_code="揭东府办")
    response = secadmin.post(f"/manage/roles/{cast.qianjing.pk}/", {"role": Role.REVIEWER, "agency": office.pk})
    assert response.status_code == 403 and "不能给自己授予或撤销角色" in html(response)
    own = RoleAssignment.objects.get(person=cast.qianjing)
    assert secadmin.post(f"/manage/roles/grants/{own.pk}/revoke/").status_code == 403
    assert RoleAssignment.objects.filter(pk=own.pk).exists()


def _delegation(principal, delegate, start, end, **extra):
    return {"principal": principal.pk, "delegate": delegate.pk, "start_date": start.isoformat(),
            "end_date": end.isoformat(), "reason": "住院治疗", **extra}


def test_delegation_for_someone_else_and_cancel(cast, secadmin):
    today = timezone.localdate()
    since = last_id()
    response = secadmin.post("/manage/delegations/", _delegation(cast.huangjianhua, cast.xuli, today,
                                                                  today + dt.timedelta(days=5)))
    assert response.status_code == 302
    delegation = Delegation.objects.get(principal=cast.huangjianhua, revoked_at__isnull=True)
    assert delegation.created_by == cast.qianjing and delegation.delegate == cast.xuli
    entry = audit_after(since, "delegation.create").get()
    assert (entry.actor, entry.on_behalf_of, entry.changes["via"]) == (cast.qianjing, cast.huangjianhua, "manage")
    listing = html(secadmin.get("/manage/delegations/"))
    assert "黄建华 委托 徐丽" in listing and "由 钱静 代为设置" in listing and "王芳 委托 李娜" in listing
    assert secadmin.post(f"/manage/delegations/{delegation.pk}/revoke/").status_code == 302
    delegation.refresh_from_db()
    assert delegation.revoked_by == cast.qianjing
    assert audit_after(since, "delegation.revoke").get().changes == {"via": "manage"}
    assert secadmin.post(f"/manage/delegations/{delegation.pk}/revoke/").status_code == 404  # no longer open


@pytest.mark.parametrize("case, field, message, status", [
    ("overlap", "start_date", "重叠", 409),
    ("past", "start_date", "不能早于今天", 400),
    ("outside", "delegate", "只能委托本机关人员", 400),
    ("reversed", "end_date", "不能早于开始日期", 400),
])
def test_delegation_refusals_are_the_self_service_ones(cast, secadmin, case, field, message, status):
    today = timezone.localdate()
    principal, delegate, start, end = cast.wangfang, cast.xuli, today, today + dt.timedelta(days=3)
    if case == "past":
        start = today - dt.timedelta(days=1)
    elif case == "outside":
        delegate = cast.zhengguodong
    elif case == "reversed":
        start, end = today + dt.timedelta(days=3), today + dt.timedelta(days=1)
    data = _delegation(principal, delegate, start, end)
    if case == "overlap":
        data["flow_types"] = ["issuance"]  # 王芳 already delegates 发文 to 李娜
    before = Delegation.objects.count()
    response = secadmin.post("/manage/delegations/", data)
    page = html(response)
    assert response.status_code == status
    assert f'id="id_{field}_error"' in page and message in page and 'value="住院治疗"' in page
    assert Delegation.objects.count() == before


def test_reset_two_factor_with_a_reason_never_shows_the_secret(cast, secadmin):
    wangfang = cast.wangfang
    device = TOTPDevice.objects.create(user=wangfang, name="王芳的手机", confirmed=True)
    b32 = base64.b32encode(device.bin_key).decode()
    url = f"/manage/security/{wangfang.pk}/"
    page = html(secadmin.get(url))
    assert "已绑定" in page
    for secret in (device.key, b32, b32.rstrip("=")):
        assert secret.lower() not in page.lower()
    missing = secadmin.post(f"{url}otp-reset/", {"otp-reason": " "})
    assert missing.status_code == 400 and "请填写原因" in html(missing)
    assert TOTPDevice.objects.filter(user=wangfang).exists()
    since = last_id()
    done = secadmin.post(f"{url}otp-reset/", {"otp-reason": "手机丢失"}, follow=True)
    assert done.status_code == 200 and "下次登录时重新绑定" in html(done)
    assert not TOTPDevice.objects.filter(user=wangfang).exists()
    entry = audit_after(since, "auth.otp_reset").get()
    assert (entry.actor, entry.changes) == (cast.qianjing, {"devices": 1, "via": "manage", "reason": "手机丢失"})
    # The person must enrol again at the next login.
    browser = login(wangfang)
    assert browser.get("/")["Location"] == "/accounts/otp/setup/"


def test_the_new_pages_and_the_api_never_serve_a_secret(cast, secadmin, sysadmin, auditadmin):
    device = TOTPDevice.objects.create(user=cast.wangfang, name="王芳的手机", confirmed=True)
    b32 = base64.b32encode(device.bin_key).decode().rstrip("=")
    wangfang = cast.wangfang.pk
    pages = [(secadmin, f"/manage/security/{wangfang}/"), (secadmin, f"/manage/roles/{wangfang}/"),
             (secadmin, "/manage/security/?q=王芳"), (sysadmin, f"/manage/people/{wangfang}/"),
             (auditadmin, "/audit/"), (secadmin, "/api/me")]
    for browser, url in pages:
        body = browser.get(url).content.decode().lower()
        assert device.key.lower() not in body and b32.lower() not in body, url


def test_nobody_resets_their_own_two_factor_here(cast, secadmin):
    response = secadmin.post(f"/manage/security/{cast.qianjing.pk}/otp-reset/", {"otp-reason": "换手机"})
    assert response.status_code == 403 and "另一位安全管理员" in html(response)


def test_the_security_admin_cannot_reset_another_administrators_two_factor(cast, secadmin):
    for other in (cast.sunhao, cast.yanghui, cast.oaroot):
        TOTPDevice.objects.create(user=other, name="手机", confirmed=True)
        response = secadmin.post(f"/manage/security/{other.pk}/otp-reset/", {"otp-reason": "换手机"})
        assert response.status_code in (403, 404), other.username
        assert TOTPDevice.objects.filter(user=other).exists(), other.username
    from oa.actions.manage import check_manage_reset_two_factor

    with pytest.raises(Refusal) as refused:
        check_manage_reset_two_factor(actor=cast.qianjing, person=cast.sunhao, reason="换手机")
    assert refused.value.code == "otp_reset_admin" and "超级管理员" in refused.value.message


def test_unlock_an_account(cast, secadmin):
    lina = cast.lina
    lina.failed_login_count, lina.locked_until = 12, timezone.now() + dt.timedelta(minutes=30)
    lina.save(update_fields=["failed_login_count", "locked_until"])
    page = html(secadmin.get(f"/manage/security/{lina.pk}/"))
    assert "已锁定至" in page and "12 次" in page
    missing = secadmin.post(f"/manage/security/{lina.pk}/unlock/", {"unlock-reason": ""})
    assert missing.status_code == 400 and "请填写原因" in html(missing)
    since = last_id()
    done = secadmin.post(f"/manage/security/{lina.pk}/unlock/", {"unlock-reason": "本人来电确认"}, follow=True)
    assert "已解除 李娜 的账号锁定" in html(done)
    lina.refresh_from_db()
    assert (lina.failed_login_count, lina.locked_until) == (0, None)
    entry = audit_after(since, "auth.unlock").get()
    assert entry.actor == cast.qianjing and entry.changes["was_locked"] and entry.changes["failed_count"] == 12
    assert entry.changes["reason"] == "本人来电确认"


# --- 审计管理员 -------------------------------------------------------------------------------------------------


def test_the_audit_admin_verifies_the_chain_and_that_is_audited(cast, auditadmin):
    since = last_id()
    response = auditadmin.post("/audit/verify/")
    assert response.status_code == 200 and "审计链完整" in html(response)
    entry = audit_after(since, "audit.verify").get()
    assert entry.actor == cast.yanghui and entry.changes["ok"] is True and entry.changes["checked"] > 0


# --- the Django admin: the superuser's, in Chinese, audited ------------------------------------------------------


def test_django_admin_is_for_the_superuser_only_and_in_chinese(cast):
    for who in ("sunhao", "qianjing", "yanghui"):
        assert login(getattr(cast, who), otp=True).get("/admin/").status_code in {302, 403}
    page = login(cast.oaroot, otp=True).get("/admin/")
    assert page.status_code == 200
    text = html(page)
    assert "平台应急管理" in text and "人员" in text and "机关" in text and "增加" in text  # Django's own zh-hans
    assert "动态验证码设备" in text and "流程任务" in text  # third-party names, made Chinese (oa/apps.py, oa/locale)
    visible = re.sub(r"<[^>]+>", " ", text)
    english = ["Site administration", "Recent actions", "Model name", "Add link", "Change or view", "Totp", "TOTP device",
               "Workflow", "Tasks", "Process list"]
    assert [word for word in english if word in visible] == []


def test_django_admin_writes_are_mirrored_into_the_audit_log(cast):
    admin = login(cast.oaroot, otp=True)
    post = Post.objects.get(name="工程师")
    since = last_id()
    response = admin.post(f"/admin/oa/post/{post.pk}/change/", {"name": "工程师", "level": 76})
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.level == 76
    assert audit_after(since, "directory.post.update").get().changes["via"] == "admin"
    mirrored = audit_after(since, "admin.change").get()
    assert (mirrored.actor, mirrored.object_type, mirrored.object_id) == (cast.oaroot, "oa.post", str(post.pk))
    assert mirrored.changes["via"] == "admin" and mirrored.changes["message"]
