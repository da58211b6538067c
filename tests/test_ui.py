"""The UI shell: pages render in Chinese for a signed-in user, anonymous users go to login, objects go through
access_* (404 otherwise), CSP is set and no page carries inline script or style."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from oa.models import Appointment, Department, Person

pytestmark = pytest.mark.django_db


def html_of(response) -> str:
    assert response.status_code == 200, response
    return response.content.decode()


def assert_clean_html(html: str) -> None:
    """CSP forbids inline script and style: every <script> has a src, no style= attribute, no <style>."""
    for tag in re.findall(r"<script\b[^>]*>", html, flags=re.I):
        assert "src=" in tag, tag
    assert " style=" not in html.lower()
    assert "<style" not in html.lower()
    # Every asset and link is served by the app itself: no scheme, no protocol-relative host.
    for url in re.findall(r"""\b(?:src|href)=["']([^"']*)["']""", html, flags=re.I):
        external = re.match(r"^(?:[a-z][a-z0-9+.-]*:|//)", url, flags=re.I)
        assert not external or url.startswith(("data:", "tel:", "mailto:")), url
    assert "https://" not in html and "http://" not in html


def _departments(cast):
    secretariat = Appointment.objects.get(person=cast.zhangwei, is_primary=True).department
    comprehensive = Department.objects.get(agency__doc_code="揭东府办", name="综合科")
    return secretariat, comprehensive


@pytest.fixture
def zhangwei_client(client, cast):
    client.force_login(cast.zhangwei)
    return client


def test_main_pages_render_for_a_signed_in_user(zhangwei_client, cast):
    secretariat, comprehensive = _departments(cast)
    pages = {
        reverse("home"): ["张伟", "秘书科", "科员", "常用入口"],
        reverse("directory"): ["通讯录", "揭阳市揭东区人民政府办公室", "秘书科"],
        reverse("directory") + "?q=张": ["查找结果", "张伟"],
        reverse("department", args=[secretariat.pk]): ["秘书科", "张伟", "李娜", "王芳"],
        reverse("department", args=[comprehensive.pk]): ["何梅", "兼职"],
        reverse("person", args=[cast.hemei.pk]): ["何梅", "数据资源科", "综合科", "兼职", "主职", "部门负责人"],
        reverse("profile"): ["张伟", "主职", "拟稿人", "秘书科", "修改密码", "双因素认证", "本岗位无需"],
        reverse("password_change"): ["当前密码", "新密码", "确认新密码"],
    }
    for url, texts in pages.items():
        response = zhangwei_client.get(url)
        html = html_of(response)
        for text in texts:
            assert text in html, (url, text)
        assert '<html lang="zh-Hans">' in html
        assert 'href="/static/oa/css/oa.css' in html and 'src="/static/oa/js/oa.js' in html
        assert 'aria-label="主导航"' in html
        assert_clean_html(html)
        assert response["Content-Security-Policy"].startswith("default-src 'self'")
        assert "script-src 'self';" in response["Content-Security-Policy"]


def test_home_is_a_landing_page_without_invented_counts(zhangwei_client):
    # The 待办/待阅 counts come from the inbox (tests/test_workbench.py); with no work they are zero.
    html = html_of(zhangwei_client.get(reverse("home")))
    assert 'data-count-box="todo" data-count-keep>0<' in html and 'data-count-box="toread" data-count-keep>0<' in html
    assert "您好" in html or "好，张伟" in html


def test_auth_pages_have_labels_csp_and_no_inline_code(client, cast):
    response = client.get(reverse("login"))
    html = html_of(response)
    assert '<label class="field-label" for="id_username">用户名</label>' in html
    assert '<label class="field-label" for="id_password">密码</label>' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert "Content-Security-Policy" in response.headers
    assert_clean_html(html)

    client.post(reverse("login"), {"username": "wangfang", "password": "Jiedong@2026"})
    setup = html_of(client.get(reverse("otp_setup")))
    assert '<label class="field-label" for="id_code">6 位验证码</label>' in setup
    assert 'alt="动态验证码绑定二维码' in setup
    assert 'aria-label="主导航"' not in setup  # the gate pages carry no navigation
    assert_clean_html(setup)

    client.post(reverse("logout"))
    person = cast.lina
    person.must_change_password = True
    person.save()
    client.post(reverse("login"), {"username": "lina", "password": "Jiedong@2026"})
    assert_clean_html(html_of(client.get(reverse("password_change_forced"))))


def test_verify_page_is_clean(client, cast):
    TOTPDevice.objects.create(user=cast.zhoumin, name="手机令牌", confirmed=True)
    client.post(reverse("login"), {"username": "zhoumin", "password": "Jiedong@2026"})
    html = html_of(client.get(reverse("otp_verify")))
    assert "输入动态验证码" in html
    assert_clean_html(html)


def test_inline_form_errors_are_linked_to_their_field(client):
    html = client.post(reverse("login"), {"username": "", "password": ""}).content.decode()
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_username_error"' in html
    assert '<ul class="field-errors" id="id_username_error" role="alert">' in html


def test_anonymous_users_are_sent_to_login(client, cast):
    secretariat, _ = _departments(cast)
    for url in (
        reverse("home"),
        reverse("directory"),
        reverse("department", args=[secretariat.pk]),
        reverse("person", args=[cast.zhangwei.pk]),
        reverse("profile"),
        reverse("password_change"),
        reverse("otp_setup"),
        reverse("otp_verify"),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(f"{reverse('login')}?next="), url


def test_unknown_or_inactive_objects_are_404(zhangwei_client, cast):
    assert zhangwei_client.get(reverse("department", args=[999_999])).status_code == 404
    assert zhangwei_client.get(reverse("person", args=[999_999])).status_code == 404
    gone = Person.objects.get(username="gaojun")
    gone.is_active = False
    gone.save()
    assert zhangwei_client.get(reverse("person", args=[gone.pk])).status_code == 404
    _, comprehensive = _departments(cast)
    Department.objects.filter(pk=comprehensive.pk).update(is_active=False)
    assert zhangwei_client.get(reverse("department", args=[comprehensive.pk])).status_code == 404


def test_search_with_no_match_says_so(zhangwei_client):
    html = html_of(zhangwei_client.get(reverse("directory") + "?q=不存在的人"))
    assert "没有找到姓名或用户名包含“不存在的人”的人员。" in html


def test_profile_shows_delegations_given_and_taken(client, cast):
    client.force_login(cast.lina)
    html = html_of(client.get(reverse("profile")))
    assert "代 王芳 办理" in html and "发文" in html and "外出学习" in html
    assert "核稿人" in html and "部门负责人" in html


def test_audit_link_only_for_those_who_may_see_the_audit_log(client, cast):
    client.force_login(cast.zhangwei)
    assert 'href="/audit/"' not in html_of(client.get(reverse("home")))
    zhangwei = cast.zhangwei
    zhangwei.user_permissions.add(Permission.objects.get(codename="view_auditentry"))
    client.force_login(zhangwei)
    assert 'href="/audit/"' not in html_of(client.get(reverse("home")))  # a Django permission is not the role


def test_audit_admin_with_verified_session_sees_audit_link_and_2fa_status(client, cast):
    yanghui = cast.yanghui  # 审计管理员
    device = TOTPDevice.objects.create(user=yanghui, name="手机令牌", confirmed=True)
    client.force_login(yanghui)
    assert client.get(reverse("home"))["Location"] == reverse("otp_verify")
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    home = html_of(client.get(reverse("home")))
    assert 'href="/audit/"' in home
    profile = html_of(client.get(reverse("profile")))
    assert "已启用" in profile and "审计管理员" in profile and 'href="/manage/"' in profile


def test_sysadmin_sees_no_audit_link(cast):
    from tests.clients import login

    client = login(cast.sunhao, otp=True)
    assert 'href="/audit/"' not in html_of(client.get(reverse("home")))
    assert client.get("/audit/").status_code == 403


def test_static_assets_exist_and_are_local():
    from django.contrib.staticfiles import finders

    for path in ("oa/css/oa.css", "oa/js/oa.js", "oa/img/emblem.svg"):
        found = finders.find(path)
        assert found, path
        with open(found, encoding="utf-8") as fh:
            assert "http://" not in fh.read().replace("http://www.w3.org/2000/svg", "")
