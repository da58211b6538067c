"""系统管理员 → 统一身份关联 (/manage/sso/), the CAS SessionTicket cleanup job, and 我的 → 账号安全 (docs/sso.md).

No identity provider is needed: linking only records (provider, subject) → person. 孙浩 (sunhao) is the
系统管理员, 钱静 (qianjing) the 安全管理员, 杨慧 (yanghui) the 审计管理员, each for the whole district.
"""

from __future__ import annotations

import datetime as dt
from importlib import import_module

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_cas_ng.models import SessionTicket

from integrations.sso.actions import (
    check_link_identity,
    check_manage_link_identity,
    check_manage_unlink_identity,
    do_delete_orphan_session_tickets,
)
from integrations.sso.models import SsoIdentity
from oa import scheduling
from oa.actions.directory import check_assign_role
from oa.models import Agency, AuditEntry, Person, Role, RoleAssignment
from oa.refusals import Refusal
from tests.clients import login

pytestmark = pytest.mark.django_db


def html(response) -> str:
    return response.content.decode()


def last_id() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@pytest.fixture
def configured(settings):
    settings.OA_OIDC_ISSUER, settings.OA_OIDC_CLIENT_ID, settings.OA_OIDC_CLIENT_SECRET = (
        "https://tyrz.example.gov.cn/oidc", "jiedong-oa", "secret")
    settings.OA_CAS_SERVER_URL = "https://tyrz.example.gov.cn/cas/"
    return settings


def _link(browser, person, provider="oidc", subject="gd-7f3c0e"):
    return browser.post("/manage/sso/", {"link-person": person.pk, "link-provider": provider,
                                         "link-subject": subject})


def _csv(text: str, name: str = "links.csv", encoding: str = "utf-8") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


# --- who may ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["qianjing", "yanghui", "zhangwei"])
def test_only_the_system_administrator_reaches_the_page_and_its_writes(cast, configured, who):
    """三员分立: the 安全管理员 and 审计管理员 (and anyone else) get 403 for every page and write; nothing written."""
    identity = check_link_identity(actor=None, provider="cas", subject="gd.lina", person=cast.lina)
    since = last_id()
    browser = login(getattr(cast, who), otp=True)
    assert browser.get("/manage/sso/").status_code == 403
    assert _link(browser, cast.zhangwei).status_code == 403
    assert browser.post("/manage/sso/import/", {"import-provider": "oidc",
                                                "import-file": _csv("subject,username\ngd-1,zhangwei\n")}).status_code == 403
    assert browser.post(f"/manage/sso/{identity.pk}/unlink/", {"reason": "调离"}).status_code == 403
    assert list(SsoIdentity.objects.values_list("subject", flat=True)) == ["gd.lina"]
    assert not AuditEntry.objects.filter(pk__gt=since, action__startswith="sso.")
    index = html(browser.get("/manage/")) if who != "zhangwei" else ""
    assert 'href="/manage/sso/"' not in index


def test_the_actions_check_the_role_themselves(cast, configured):
    for who in ("qianjing", "yanghui"):
        with pytest.raises(Refusal) as exc:
            check_manage_link_identity(actor=getattr(cast, who), provider="oidc", subject="gd-1", person=cast.zhangwei)
        assert (exc.value.code, exc.value.status) == ("manage_forbidden", 403)
    identity = check_link_identity(actor=None, provider="oidc", subject="gd-1", person=cast.zhangwei)
    with pytest.raises(Refusal) as exc:
        check_manage_unlink_identity(actor=cast.qianjing, identity=identity, reason="x")
    assert exc.value.code == "manage_forbidden" and "系统管理员" in exc.value.message
    assert SsoIdentity.objects.filter(pk=identity.pk).exists()


def test_the_manage_index_lists_the_page_for_the_system_administrator(cast, sysadmin):
    assert 'href="/manage/sso/"' in html(sysadmin.get("/manage/"))


def test_a_link_outside_the_scope_is_404_and_its_person_refused(cast, configured):
    """A 系统管理员 of 区财政局 only: 区府办 people's links are not listed, not unlinkable (404), not linkable."""
    finance = Agency.objects.get(doc_code="揭东财")
    admin = Person.objects.get(username="finance03")
    RoleAssignment.objects.filter(person=admin).delete()
    check_assign_role(actor=None, person=admin, role=Role.SYSADMIN, agency=finance)
    theirs = check_link_identity(actor=None, provider="oidc", subject="gd-finance06",
                                 person=Person.objects.get(username="finance06"))
    other = check_link_identity(actor=None, provider="oidc", subject="gd-zhangwei", person=cast.zhangwei)
    browser = login(admin, otp=True)
    page = html(browser.get("/manage/sso/"))
    assert "gd-finance06" in page and "gd-zhangwei" not in page
    assert browser.post(f"/manage/sso/{other.pk}/unlink/", {"reason": "调离"}).status_code == 404
    refused = _link(browser, cast.lina, subject="gd-lina")
    assert refused.status_code == 403 and "不在您的管理范围内" in html(refused)
    assert not SsoIdentity.objects.filter(subject="gd-lina").exists()
    assert SsoIdentity.objects.filter(pk__in=[theirs.pk, other.pk]).count() == 2


# --- list and search --------------------------------------------------------------------------------------


def test_list_shows_provider_subject_person_and_who_linked_when(cast, configured, sysadmin):
    check_link_identity(actor=None, provider="cas", subject="gd.lina", person=cast.lina)
    assert _link(sysadmin, cast.zhangwei, "oidc", "gd-7f3c0e").status_code == 302
    page = html(sysadmin.get("/manage/sso/"))
    assert "gd-7f3c0e" in page and "gd.lina" in page and "OpenID Connect" in page and "CAS" in page
    assert "由 孙浩 关联" in page and "由 系统命令 关联" in page and "从未登录" in page
    linked_at = timezone.localtime(SsoIdentity.objects.get(subject="gd-7f3c0e").linked_at)
    assert linked_at.strftime("%Y-%m-%d %H:%M") in page
    found = html(sysadmin.get("/manage/sso/", {"q": "7f3c"}))
    assert "gd-7f3c0e" in found and "gd.lina" not in found
    found = html(sysadmin.get("/manage/sso/", {"q": "李娜"}))
    assert "gd.lina" in found and "gd-7f3c0e" not in found
    found = html(sysadmin.get("/manage/sso/", {"provider": "cas"}))
    assert "gd.lina" in found and "gd-7f3c0e" not in found
    assert "没有找到匹配的统一身份关联" in html(sysadmin.get("/manage/sso/", {"q": "nobody-here"}))


def test_user_strings_are_escaped(cast, configured, sysadmin):
    check_link_identity(actor=None, provider="cas", subject="<script>alert(1)</script>", person=cast.lina)
    page = html(sysadmin.get("/manage/sso/"))
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- link one -----------------------------------------------------------------------------------------------


def test_link_one_is_audited_with_via_manage(cast, configured, sysadmin):
    since = last_id()
    response = _link(sysadmin, cast.zhangwei, "oidc", "  gd-7f3c0e  ")
    assert response.status_code == 302 and response["Location"] == "/manage/sso/"
    identity = SsoIdentity.objects.get()
    assert (identity.provider, identity.subject, identity.person, identity.linked_by) == (
        "oidc", "gd-7f3c0e", cast.zhangwei, cast.sunhao)
    entry = AuditEntry.objects.get(pk__gt=since, action="sso.identity.link")
    assert entry.changes == {"provider": "oidc", "subject": "gd-7f3c0e", "via": "manage"}
    assert entry.actor == cast.sunhao and entry.object_id == str(cast.zhangwei.pk)


def test_link_refusals_are_chinese_beside_their_field(cast, configured, sysadmin):
    check_link_identity(actor=None, provider="oidc", subject="gd-taken", person=cast.lina)
    since = last_id()
    taken = _link(sysadmin, cast.zhangwei, "oidc", "gd-taken")
    assert taken.status_code == 409
    assert "统一身份标识 gd-taken 已关联 李娜，请先解除原关联" in html(taken)
    assert 'value="gd-taken"' in html(taken)  # what was typed is kept
    twice = _link(sysadmin, cast.lina, "oidc", "gd-another")
    assert twice.status_code == 409 and "李娜 已关联一个OpenID Connect统一身份，请先解除原关联" in html(twice)
    blank = _link(sysadmin, cast.zhangwei, "oidc", "   ")
    assert blank.status_code == 400 and "请填写统一身份标识" in html(blank)
    missing = sysadmin.post("/manage/sso/", {"link-person": 999999, "link-provider": "oidc", "link-subject": "x"})
    assert missing.status_code == 400 and "所选人员不存在" in html(missing)
    bad = _link(sysadmin, cast.zhangwei, "saml", "x")
    assert bad.status_code == 400 and "认证方式只能是 OpenID Connect 或 CAS" in html(bad)
    assert list(SsoIdentity.objects.values_list("subject", flat=True)) == ["gd-taken"]
    assert not AuditEntry.objects.filter(pk__gt=since, action__startswith="sso.")


def test_an_unconfigured_provider_is_refused(cast, settings, sysadmin):
    settings.OA_CAS_SERVER_URL = "https://tyrz.example.gov.cn/cas/"  # CAS on, OIDC off
    page = html(sysadmin.get("/manage/sso/"))
    assert "已启用的认证方式：CAS" in page
    refused = _link(sysadmin, cast.zhangwei, "oidc", "gd-1")
    assert refused.status_code == 409
    assert "本系统尚未配置OpenID Connect省统一身份认证" in html(refused)
    assert _link(sysadmin, cast.zhangwei, "cas", "gd.zhangwei").status_code == 302
    settings.OA_CAS_SERVER_URL = ""
    assert "无（未配置省统一身份认证" in html(sysadmin.get("/manage/sso/"))
    assert list(SsoIdentity.objects.values_list("provider", flat=True)) == ["cas"]


def test_a_disabled_person_cannot_be_linked(cast, configured, sysadmin):
    Person.objects.filter(pk=cast.xuli.pk).update(is_active=False)
    refused = _link(sysadmin, Person.objects.get(pk=cast.xuli.pk), "oidc", "gd-xuli")
    assert refused.status_code == 409 and "的账号已停用，不能关联统一身份" in html(refused)
    assert not SsoIdentity.objects.exists()


# --- unlink -------------------------------------------------------------------------------------------------


def test_unlink_needs_a_reason_and_is_audited(cast, configured, sysadmin):
    identity = check_link_identity(actor=None, provider="oidc", subject="gd-7f3c0e", person=cast.zhangwei)
    since = last_id()
    refused = sysadmin.post(f"/manage/sso/{identity.pk}/unlink/", {"reason": "  "})
    assert refused.status_code == 400 and "请填写解除关联的原因" in html(refused)
    assert f'id="sso-{identity.pk}"' in html(refused) and "<details class=\"sso-unlink\" open" in html(refused)
    assert SsoIdentity.objects.filter(pk=identity.pk).exists()
    done = sysadmin.post(f"/manage/sso/{identity.pk}/unlink/", {"reason": "调离本区"})
    assert done.status_code == 302 and not SsoIdentity.objects.exists()
    entry = AuditEntry.objects.get(pk__gt=since, action="sso.identity.unlink")
    assert entry.changes == {"provider": "oidc", "subject": "gd-7f3c0e", "via": "manage", "reason": "调离本区"}
    assert entry.actor == cast.sunhao
    assert sysadmin.post(f"/manage/sso/{identity.pk}/unlink/", {"reason": "再次"}).status_code == 404


def test_unlink_works_even_when_the_provider_was_switched_off(cast, sysadmin):
    """Removing a link is always possible (e.g. after SSO is switched off); only new links need the provider."""
    identity = check_link_identity(actor=None, provider="cas", subject="gd.zhangwei", person=cast.zhangwei)
    assert sysadmin.post(f"/manage/sso/{identity.pk}/unlink/", {"reason": "停用统一身份认证"}).status_code == 302
    assert not SsoIdentity.objects.exists()


# --- CSV import ---------------------------------------------------------------------------------------------


def test_csv_import_is_all_or_nothing_with_line_numbers(cast, configured, sysadmin):
    check_link_identity(actor=None, provider="cas", subject="gd.taken", person=cast.xuli)
    since = last_id()
    sheet = "subject,username\ngd.zhangwei,zhangwei\ngd.nobody,nobody\n,lina\ngd.taken,wangfang\n"
    response = sysadmin.post("/manage/sso/import/", {"import-provider": "cas", "import-file": _csv(sheet)})
    page = html(response)
    assert response.status_code == 400 and "未关联任何账号" in page
    assert "第 3 行：本系统没有登录名为 nobody 的人员" in page
    assert "第 4 行：请填写统一身份标识" in page
    assert "第 5 行：统一身份标识 gd.taken 已关联 徐丽" in page
    assert "第 2 行" not in page
    assert list(SsoIdentity.objects.values_list("subject", flat=True)) == ["gd.taken"]
    assert not AuditEntry.objects.filter(pk__gt=since, action__startswith="sso.")
    good = "\ufeffsubject,username\r\ngd.zhangwei,zhangwei\r\ngd.lina,lina\r\n"  # Excel's “CSV UTF-8”: BOM, CRLF
    response = sysadmin.post("/manage/sso/import/", {"import-provider": "cas", "import-file": _csv(good)})
    assert response.status_code == 302
    assert set(SsoIdentity.objects.filter(provider="cas").values_list("subject", "person__username")) == {
        ("gd.taken", "xuli"), ("gd.zhangwei", "zhangwei"), ("gd.lina", "lina")}
    vias = set(AuditEntry.objects.filter(pk__gt=since, action="sso.identity.link").values_list("changes__via", flat=True))
    assert vias == {"manage_csv"}


@pytest.mark.parametrize(("provider", "content", "encoding", "message"), [
    ("cas", "name,login\ngd.1,zhangwei\n", "utf-8", "CSV 表头须为 subject,username"),
    ("cas", "subject,username\ngd.张,zhangwei\n", "gb18030", "CSV 文件须为 UTF-8 编码"),
    ("cas", "subject,username\n", "utf-8", "文件中没有数据行"),
    ("oidc", "subject,username\ngd-1,zhangwei\n", "utf-8", "本系统尚未配置OpenID Connect省统一身份认证"),
    ("", "subject,username\ngd-1,zhangwei\n", "utf-8", "请选择认证方式"),
])
def test_csv_import_refusals(cast, settings, sysadmin, provider, content, encoding, message):
    settings.OA_CAS_SERVER_URL = "https://tyrz.example.gov.cn/cas/"
    response = sysadmin.post("/manage/sso/import/", {"import-provider": provider,
                                                     "import-file": _csv(content, encoding=encoding)})
    assert response.status_code in (400, 409) and message in html(response)
    assert not SsoIdentity.objects.exists()


def test_csv_import_of_someone_outside_the_scope_is_a_line_error(cast, configured):
    finance = Agency.objects.get(doc_code="揭东财")
    admin = Person.objects.get(username="finance03")
    RoleAssignment.objects.filter(person=admin).delete()
    check_assign_role(actor=None, person=admin, role=Role.SYSADMIN, agency=finance)
    sheet = "subject,username\ngd-f6,finance06\ngd-zw,zhangwei\n"
    response = login(admin, otp=True).post("/manage/sso/import/", {"import-provider": "oidc",
                                                                   "import-file": _csv(sheet)})
    assert response.status_code == 400 and "第 3 行：张伟 不在您的管理范围内" in html(response)
    assert not SsoIdentity.objects.exists()


# --- 我的 → 账号安全 ----------------------------------------------------------------------------------------


def test_profile_shows_the_linked_identity_read_only(cast, configured):
    check_link_identity(actor=None, provider="oidc", subject="gd-7f3c0e", person=cast.zhangwei)
    page = html(login(cast.zhangwei, otp=True).get("/profile/"))
    assert "省统一身份认证（OpenID Connect）" in page and "gd-7f3c0e" in page and "已关联" in page
    assert "省统一身份认证（CAS）" in page and "请联系系统管理员关联" in page
    assert "/manage/sso/" not in page and "unlink" not in page  # read-only
    other = html(login(cast.lina, otp=True).get("/profile/"))
    assert "gd-7f3c0e" not in other and other.count("未关联") == 2


def test_profile_shows_nothing_when_sso_is_off_and_nothing_is_linked(cast):
    assert "省统一身份认证" not in html(login(cast.zhangwei, otp=True).get("/profile/"))


def test_profile_shows_a_link_even_after_the_provider_was_switched_off(cast):
    check_link_identity(actor=None, provider="cas", subject="gd.zhangwei", person=cast.zhangwei)
    page = html(login(cast.zhangwei, otp=True).get("/profile/"))
    assert "省统一身份认证（CAS）" in page and "gd.zhangwei" in page and "OpenID Connect" not in page


# --- SessionTicket cleanup ----------------------------------------------------------------------------------


def _session(*, expired: bool = False) -> str:
    store = import_module(django_settings.SESSION_ENGINE).SessionStore()
    store["probe"] = 1
    store.create()
    if expired:
        Session.objects.filter(session_key=store.session_key).update(
            expire_date=timezone.now() - dt.timedelta(minutes=1))
    return store.session_key


def test_the_cleanup_job_deletes_tickets_of_sessions_that_are_gone(db):
    live, expired, ended = _session(), _session(expired=True), _session()
    Session.objects.filter(session_key=ended).delete()
    for key, ticket in ((live, "ST-live"), (expired, "ST-expired"), (ended, "ST-ended"), ("never-existed", "ST-x")):
        SessionTicket.objects.create(session_key=key, ticket=ticket)
    job = scheduling.registered_jobs()["sso.cas_session_tickets"]
    assert job.every_seconds == 3600 and "SessionTicket" in job.description
    assert scheduling.run_job("sso.cas_session_tickets") == "deleted=3"
    assert list(SessionTicket.objects.values_list("ticket", flat=True)) == ["ST-live"]
    assert do_delete_orphan_session_tickets() == 0  # nothing left to do; the live session's ticket stays
    assert Session.objects.filter(session_key=live).exists()


def test_the_cleanup_asks_a_non_database_session_store(db, settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    live = _session()
    SessionTicket.objects.create(session_key=live, ticket="ST-live")
    SessionTicket.objects.create(session_key="gone-from-cache", ticket="ST-gone")
    assert do_delete_orphan_session_tickets() == 1
    assert list(SessionTicket.objects.values_list("ticket", flat=True)) == ["ST-live"]
