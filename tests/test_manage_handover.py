"""工作交接 and 重置密码 on the administrators' own pages (/manage/, docs/security.md §11).

孙浩 (sunhao, 系统管理员) hands 李娜's open work over to 高军 (both 区府办) from 李娜's person page; 钱静 (qianjing,
安全管理员) sets a temporary password for 张伟 who forgot his. Every write goes through oa.actions.manage, is
audited with "via": "manage", and a refusal is shown in Chinese beside its field with nothing changed.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from oa.actions.demo import DEMO_PASSWORD
from oa.models import AuditEntry, PasswordHistory, WorkItem
from oa.refusals import Refusal
from tests.clients import login
from tests.flowapp.flows import MemoFlow
from tests.test_manage import html, last_id

pytestmark = pytest.mark.django_db


def start_memo(initiator, reviewer, handler, *, title: str):
    return MemoFlow.start.run(title=title, urgency=0, reviewer_id=reviewer.pk, handler_id=handler.pk, doc_number="",
                              initiator_id=initiator.pk)


def open_todo(person) -> list[str]:
    return sorted(WorkItem.objects.filter(owner=person, state="open", box="todo").values_list("title", flat=True))


@pytest.fixture
def two_items(cast):
    start_memo(cast.zhangwei, cast.lina, cast.zhoumin, title="关于交接测试的通知一")
    start_memo(cast.zhangwei, cast.lina, cast.zhoumin, title="关于交接测试的通知二")
    assert open_todo(cast.lina) == ["关于交接测试的通知一", "关于交接测试的通知二"]


def handover(client, person, **data):
    return client.post(f"/manage/people/{person.pk}/handover/",
                       {f"handover-{k}": v for k, v in data.items()})


# --- 工作交接 -----------------------------------------------------------------------------------------------------


def test_the_person_page_lists_what_will_move_and_offers_colleagues_of_the_same_agency(cast, sysadmin, two_items):
    page = sysadmin.get(f"/manage/people/{cast.lina.pk}/")
    assert page.status_code == 200
    text = html(page)
    assert "工作交接" in text and "将移交 2 项未办结工作" in text and "流程待办 2 项" in text
    assert "关于交接测试的通知一" in text and "关于交接测试的通知二" in text
    assert "确认交接 2 项" in text
    # 接收人: 区府办 people only (高军 yes; 政数局 宋宇 no), never 李娜 herself.
    options = page.context["handover_form"].fields["target"].choices
    names = {label for _, label in options}
    assert "高军（gaojun）" in names and "宋宇（songyu）" not in names and "李娜（lina）" not in names


def test_nothing_to_hand_over_is_said_and_refused(cast, sysadmin):
    page = html(sysadmin.get(f"/manage/people/{cast.gaojun.pk}/"))
    assert "没有未办结的工作，无需交接" in page and f'action="/manage/people/{cast.gaojun.pk}/handover/"' not in page
    since = last_id()
    response = handover(sysadmin, cast.gaojun, target=cast.xuli.pk, reason="调任")
    assert response.status_code == 409
    assert "高军没有未办结的工作，无需交接。" in html(response)
    assert not AuditEntry.objects.filter(pk__gt=since, action="handover.execute").exists()


def test_handover_moves_the_work_into_the_receivers_todo_and_is_audited(cast, sysadmin, two_items):
    since = last_id()
    response = handover(sysadmin, cast.lina, target=cast.gaojun.pk, reason="工作调动")
    assert response.status_code == 302 and response["Location"] == f"/manage/people/{cast.lina.pk}/"
    assert open_todo(cast.lina) == []
    assert open_todo(cast.gaojun) == ["关于交接测试的通知一", "关于交接测试的通知二"]
    assert Task.objects.filter(owner=cast.gaojun, status=STATUS.ASSIGNED).count() == 2
    entry = AuditEntry.objects.get(pk__gt=since, action="handover.execute")
    assert entry.actor == cast.sunhao
    assert entry.changes["via"] == "manage" and entry.changes["reason"] == "工作调动"
    assert (entry.changes["from"], entry.changes["to"], entry.changes["moved"]) == (
        "lina", "gaojun", {"flow_task": 2, "meeting_invitation": 0})
    # 高军 sees them in his 待办 page and can open one.
    gaojun = login(cast.gaojun)
    inbox = html(gaojun.get(reverse("inbox")))
    assert "关于交接测试的通知一" in inbox and "关于交接测试的通知二" in inbox
    item = WorkItem.objects.filter(owner=cast.gaojun, state="open", box="todo").first()
    assert gaojun.get(f"/work/{item.pk}/").status_code == 200
    assert "关于交接测试的通知" not in html(login(cast.lina).get(reverse("inbox")))
    # The page afterwards: nothing left.
    assert "没有未办结的工作，无需交接" in html(sysadmin.get(f"/manage/people/{cast.lina.pk}/"))


@pytest.mark.parametrize("case, message, status", [
    ("other_agency", "只能交接给同一机关的人员", 400),
    ("inactive", "账号已停用", 400),
    ("self", "接收人不能是移交人本人。", 400),
    ("no_target", "请选择接收人。", 400),
    ("no_reason", "请填写交接原因。", 400),
    ("blank_reason", "请填写交接原因。", 400),
    ("missing", "所选接收人不存在。", 400),
])
def test_handover_refusals_beside_the_field_nothing_moved(cast, sysadmin, two_items, case, message, status):
    target = {"other_agency": cast.songyu, "inactive": cast.xuli, "self": cast.lina}.get(case, cast.gaojun)
    if case == "inactive":
        type(target).objects.filter(pk=target.pk).update(is_active=False)
    data = {"target": target.pk, "reason": "调任"}
    if case == "no_target":
        data["target"] = ""
    if case == "no_reason":
        data["reason"] = ""
    if case == "blank_reason":
        data["reason"] = "   "
    if case == "missing":
        data["target"] = 987654
    since = last_id()
    response = handover(sysadmin, cast.lina, **data)
    assert response.status_code == status, html(response)
    form = response.context["handover_form"]
    field = "reason" if "reason" in case else "target"
    assert any(message in e for e in form.errors[field]), form.errors
    assert message in html(response)
    if data["reason"].strip():
        assert form["reason"].value() == "调任"  # what was typed is kept
    assert open_todo(cast.lina) == ["关于交接测试的通知一", "关于交接测试的通知二"]
    assert not AuditEntry.objects.filter(pk__gt=since, action="handover.execute").exists()


@pytest.mark.parametrize("who", ["qianjing", "yanghui", "zhangwei", "oaroot"])
def test_only_the_system_administrator_hands_over(cast, who, two_items):
    browser = login(getattr(cast, who), otp=True)
    assert handover(browser, cast.lina, target=cast.gaojun.pk, reason="调任").status_code == 403
    assert open_todo(cast.lina) == ["关于交接测试的通知一", "关于交接测试的通知二"]


def test_the_action_checks_role_and_scope_itself(cast, two_items):
    from oa.actions.manage import check_manage_handover

    with pytest.raises(Refusal) as exc:
        check_manage_handover(actor=cast.qianjing, source=cast.lina, target=cast.gaojun, reason="调任")
    assert (exc.value.code, exc.value.status) == ("manage_forbidden", 403)
    assert open_todo(cast.lina) == ["关于交接测试的通知一", "关于交接测试的通知二"]


# --- 重置密码 -----------------------------------------------------------------------------------------------------

NEW = "Linshi#8642q"


def reset(client, person, password=NEW, again=None, reason="本人忘记密码，电话核实"):
    return client.post(f"/manage/security/{person.pk}/password-reset/", {
        "password-password1": password, "password-password2": password if again is None else again,
        "password-reason": reason})


def test_reset_password_works_for_login_forces_a_change_and_is_audited_without_it(cast, secadmin):
    zhangwei = cast.zhangwei
    page = html(secadmin.get(f"/manage/security/{zhangwei.pk}/"))
    assert "重置密码" in page and 'name="password-password1"' in page
    old_session = login(zhangwei)
    assert old_session.get(reverse("home")).status_code == 200
    since = last_id()

    response = reset(secadmin, zhangwei)
    assert response.status_code == 302 and response["Location"] == f"/manage/security/{zhangwei.pk}/"
    zhangwei.refresh_from_db()
    assert zhangwei.must_change_password and zhangwei.check_password(NEW)
    assert PasswordHistory.objects.filter(person=zhangwei).exists()
    entry = AuditEntry.objects.get(pk__gt=since, action="directory.person.password_reset")
    assert entry.actor == cast.qianjing and entry.changes["via"] == "manage"
    assert entry.changes["reason"] == "本人忘记密码，电话核实" and entry.changes["must_change_password"] is True
    for row in AuditEntry.objects.filter(pk__gt=since):
        dumped = f"{row.changes} {row.object_repr}"
        assert NEW not in dumped and zhangwei.password not in dumped and "pbkdf2" not in dumped

    # The session opened with the old password ends (the hash changed).
    ended = old_session.get(reverse("home"))
    assert ended.status_code == 302 and ended["Location"].startswith("/accounts/login/"), ended["Location"]
    browser = Client()
    old = browser.post("/accounts/login/", {"username": "zhangwei", "password": DEMO_PASSWORD}, REMOTE_ADDR="10.1.1.7")
    assert old.status_code != 302 and "_auth_user_id" not in browser.session
    new = browser.post("/accounts/login/", {"username": "zhangwei", "password": NEW}, REMOTE_ADDR="10.1.1.7")
    assert new.status_code == 302 and new["Location"] == reverse("password_change_forced")
    assert browser.get(reverse("home"))["Location"] == reverse("password_change_forced")
    done = browser.post(reverse("password_change_forced"),
                        {"new_password1": "Ziji@Mima2468", "new_password2": "Ziji@Mima2468"})
    assert done.status_code == 302 and done["Location"] == reverse("home")
    zhangwei.refresh_from_db()
    assert not zhangwei.must_change_password and zhangwei.check_password("Ziji@Mima2468")


@pytest.mark.parametrize("kwargs, field, message", [
    ({"password": "Ab1!xyz"}, "password1", "密码长度不足：至少需要 8 个字符。"),
    ({"password": "abcdefgh12"}, "password1", "密码须包含大写字母、小写字母、数字、特殊字符中的至少 3 类。"),
    ({"password": "Zhangwei@2027"}, "password1", "密码不能包含用户名。"),
    ({"password": DEMO_PASSWORD}, "password1", "不能使用最近 5 次用过的密码。"),
    ({"again": "Linshi#8642x"}, "password2", "两次输入的密码不一致。"),
    ({"password": ""}, "password1", "请设置临时密码。"),
    ({"reason": ""}, "reason", "请填写重置原因。"),
    ({"reason": "  "}, "reason", "请填写重置原因。"),
])
def test_reset_password_refusals_beside_the_field_nothing_changed(cast, secadmin, kwargs, field, message):
    zhangwei = cast.zhangwei
    before = zhangwei.password
    since = last_id()
    response = reset(secadmin, zhangwei, **kwargs)
    assert response.status_code == 400, html(response)
    form = response.context["password_form"]
    assert message in form.errors[field] or any(message in e for e in form.errors[field]), form.errors
    assert message in html(response)
    assert 'value="Linshi' not in html(response)  # a typed password is never sent back
    zhangwei.refresh_from_db()
    assert zhangwei.password == before and not zhangwei.must_change_password
    assert not AuditEntry.objects.filter(pk__gt=since, action="directory.person.password_reset").exists()


@pytest.mark.parametrize("who, code", [
    ("sunhao", "password_reset_admin"),  # another administrator: only the superuser
    ("yanghui", "password_reset_admin"),
    ("oaroot", "password_reset_admin"),
    ("qianjing", "password_reset_self"),
])
def test_no_administrator_password_is_reset_here(cast, secadmin, who, code):
    from oa.actions.manage import check_manage_reset_password

    person = getattr(cast, who)
    before = person.password
    since = last_id()
    response = reset(secadmin, person)
    assert response.status_code == 403
    expected = {"password_reset_admin": "管理员账号的密码不能由其他管理员重置，请联系超级管理员在应急后台办理。",
                "password_reset_self": "不能在这里重置自己的密码，请在“我的 → 修改密码”中修改。"}[code]
    assert response.context["password_form"].non_field_errors() == [expected]
    assert expected in html(response)
    with pytest.raises(Refusal) as exc:
        check_manage_reset_password(actor=cast.qianjing, person=person, password=NEW, reason="试图接管")
    assert exc.value.code == code
    person.refresh_from_db()
    assert person.password == before
    assert not AuditEntry.objects.filter(pk__gt=since, action="directory.person.password_reset").exists()


def test_a_directory_or_disabled_account_is_not_reset(cast, secadmin):
    zhangwei = cast.zhangwei
    type(zhangwei).objects.filter(pk=zhangwei.pk).update(is_active=False)
    response = reset(secadmin, zhangwei)
    assert response.status_code == 409 and "该账号已停用，不能重置密码" in html(response)
    type(zhangwei).objects.filter(pk=zhangwei.pk).update(is_active=True, source="ldap")
    response = reset(secadmin, zhangwei)
    assert response.status_code == 409 and "统一身份目录" in html(response)
    zhangwei.refresh_from_db()
    assert zhangwei.check_password(DEMO_PASSWORD) and not zhangwei.must_change_password


@pytest.mark.parametrize("who", ["sunhao", "yanghui", "zhangwei"])
def test_only_the_security_administrator_resets_passwords(cast, who):
    browser = login(getattr(cast, who), otp=True)
    assert reset(browser, cast.zhangwei).status_code == 403
    zhangwei = cast.zhangwei
    assert zhangwei.check_password(DEMO_PASSWORD) and not zhangwei.must_change_password


def test_the_login_page_names_the_security_administrator(client):
    page = html(client.get("/accounts/login/"))
    assert "忘记密码请联系安全管理员重置" in page and "联系本单位系统管理员" not in page
