"""OAuth2 web login through the test server's authorize endpoint, and the contacts sync (dry run / apply)."""

from __future__ import annotations

from io import StringIO
from urllib.parse import parse_qs, urlparse

import pytest
import urllib3
from django.core.management import CommandError, call_command
from django.urls import reverse

from oa.models import AuditEntry, Person

pytestmark = pytest.mark.django_db


def authorize(wecom, location: str) -> str:
    """Follow our redirect to the platform's authorize page over real HTTP; returns where it sends us back."""
    assert location.startswith(f"{wecom.url}/connect/oauth2/authorize?")
    response = urllib3.request("GET", location.split("#")[0], redirect=False)
    assert response.status == 302
    back = response.headers["Location"]
    assert back.startswith("https://oa.example.gov.cn/integrations/wecom/oauth/callback/?")
    return back[len("https://oa.example.gov.cn") :]


def test_platform_login_maps_code_to_person_and_lands_on_next(client, wecom, cast):
    lina = cast.lina
    lina.platform_userid = "lina01"
    lina.save(update_fields=["platform_userid"])
    wecom.state.authorize_userid = "lina01"

    start = client.get(reverse("wecom_login"), {"next": "/work/?box=todo"})
    assert start.status_code == 302
    query = parse_qs(urlparse(start["Location"]).query)
    assert query["appid"] == ["wwtestcorp0001"] and query["scope"] == ["snsapi_base"]
    assert query["agentid"] == ["1000002"] and start["Location"].endswith("#wechat_redirect")
    assert query["redirect_uri"] == ["https://oa.example.gov.cn/integrations/wecom/oauth/callback/"]

    done = client.get(authorize(wecom, start["Location"]))
    assert done.status_code == 302 and done["Location"] == "/work/?box=todo"
    assert client.get(reverse("profile")).status_code == 200  # a real session
    assert int(client.session["_auth_user_id"]) == lina.pk
    assert AuditEntry.objects.filter(action="auth.platform_login", actor=lina).count() == 1
    assert len(wecom.calls("/cgi-bin/auth/getuserinfo")) == 1
    # Already logged in: the login link goes straight to next.
    assert client.get(reverse("wecom_login"), {"next": "/directory/"})["Location"] == "/directory/"


def test_unknown_platform_user_is_refused_with_a_chinese_page(client, wecom):
    wecom.state.authorize_userid = "stranger"
    start = client.get(reverse("wecom_login"), {"next": "/work/"})
    page = client.get(authorize(wecom, start["Location"]))
    assert page.status_code == 403
    assert "尚未关联本系统人员" in page.content.decode() and "stranger" in page.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEntry.objects.filter(action="auth.platform_login_failed").get().changes["reason"] == "unknown_userid"


def test_state_must_match_the_session_and_next_stays_on_site(client, wecom, cast):
    lina = cast.lina
    lina.platform_userid = "lina01"
    lina.save(update_fields=["platform_userid"])
    wecom.state.authorize_userid = "lina01"
    # A callback nobody started here (login CSRF) is refused before the code is used.
    forged = client.get(reverse("wecom_oauth_callback"), {"code": wecom.issue_code("lina01"), "state": "x"})
    assert forged.status_code == 400 and "_auth_user_id" not in client.session
    assert wecom.calls("/cgi-bin/auth/getuserinfo") == []
    # An off-site next is replaced by the home page.
    start = client.get(reverse("wecom_login"), {"next": "https://evil.example.com/"})
    done = client.get(authorize(wecom, start["Location"]))
    assert done["Location"] == reverse("home")


def test_two_factor_role_still_meets_the_otp_gate(client, wecom, cast):
    wangfang = cast.wangfang
    wangfang.platform_userid = "wangfang01"
    wangfang.save(update_fields=["platform_userid"])
    wecom.state.authorize_userid = "wangfang01"
    start = client.get(reverse("wecom_login"), {"next": "/directory/"})
    done = client.get(authorize(wecom, start["Location"]))
    assert done["Location"] == "/directory/"
    gated = client.get("/directory/")
    assert gated.status_code == 302 and gated["Location"] in {reverse("otp_setup"), reverse("otp_verify")}


def test_platform_down_during_login_is_a_clear_error(client, wecom, cast):
    wecom.state.authorize_userid = "lina01"
    start = client.get(reverse("wecom_login"), {"next": "/"})
    back = authorize(wecom, start["Location"])
    wecom.stop()
    page = client.get(back)
    assert page.status_code == 502 and "暂时无法向移动平台确认您的身份" in page.content.decode()


def test_login_is_off_when_the_adapter_is_not_configured(client, settings):
    settings.OA_WECOM_CORP_ID = ""
    assert client.get(reverse("wecom_login")).status_code == 404


# --- contacts sync --------------------------------------------------------------------------------------------


@pytest.fixture
def members(wecom, cast):
    lina, gaojun = cast.lina, cast.gaojun
    wecom.add_member("lina01", "李娜", mobile=lina.mobile, department=2)
    wecom.add_member("gaojun01", "高军", mobile=gaojun.mobile, department=2)
    wecom.add_member("newbie01", "新同事", mobile="13900000000", department=1)
    return wecom


def run(*args: str) -> str:
    out = StringIO()
    call_command("sync_wecom", *args, stdout=out)
    return out.getvalue()


def test_dry_run_prints_the_diff_and_changes_nothing(members):
    audits = AuditEntry.objects.count()
    output = run("--dry-run")
    assert "预演" in output and "关联：李娜（平台账号 lina01）" in output and "关联：高军（平台账号 gaojun01）" in output
    assert "新同事（newbie01" in output and "未创建" in output
    assert not Person.objects.exclude(platform_userid=None).exists()
    assert AuditEntry.objects.count() == audits


def test_apply_links_by_mobile_and_is_audited(members, cast):
    output = run("--apply")
    assert "已执行" in output and "link 2" in output
    assert cast.lina.platform_userid == "lina01" and cast.gaojun.platform_userid == "gaojun01"
    assert not Person.objects.filter(platform_userid="newbie01").exists()
    # One audit name per operation (docs/architecture.md, 写入路径): linking is a person update, via the platform.
    linked = AuditEntry.objects.filter(action="directory.person.update", changes__via="wecom")
    assert sorted(e.changes["platform_userid"][1] for e in linked) == ["gaojun01", "lina01"]
    assert AuditEntry.objects.get(action="wecom.sync").changes["counts"] == {"link": 2}
    assert "无变更" in run("--dry-run")  # applying again would change nothing


def test_create_adds_platform_only_accounts(members):
    run("--apply", "--create")
    newbie = Person.objects.get(platform_userid="newbie01")
    assert newbie.name == "新同事" and not newbie.has_usable_password()
    entry = AuditEntry.objects.get(action="directory.person.create", object_id=str(newbie.pk))
    assert entry.changes["via"] == "wecom" and entry.changes["platform_userid"] == "newbie01"


def test_sync_refuses_when_the_adapter_is_off(settings):
    settings.OA_WECOM_CORP_ID = ""
    with pytest.raises(CommandError):
        run("--dry-run")
