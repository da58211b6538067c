"""省统一身份认证 over CAS 3 against a real django-cas-server (docs/sso.md): p3/serviceValidate with attributes,
identities keyed on the CAS user (or a configured attribute), and the server's single logout."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from integrations.sso.errors import UNKNOWN_SUBJECT
from integrations.sso.models import SsoIdentity
from oa.models import AuditEntry, Person
from tests.sso.conftest import hidden_inputs, provider_login

pytestmark = pytest.mark.django_db(transaction=True)


def _link(username: str, subject: str) -> SsoIdentity:
    return SsoIdentity.objects.create(provider="cas", subject=subject, person=Person.objects.get(username=username))


def _start(browser: requests.Session, live_server) -> requests.Response:
    login_page = browser.get(f"{live_server.url}/accounts/login/")
    button = re.search(r'id="sso-cas"[^>]*href="([^"]+)"', login_page.text)
    assert button and "省统一身份认证登录" in login_page.text, login_page.text
    return browser.get(live_server.url + button.group(1).replace("&amp;", "&"))


def _logged_out(browser: requests.Session, live_server) -> bool:
    return browser.get(f"{live_server.url}/profile/").url.startswith(f"{live_server.url}/accounts/login/")


def test_login_through_the_cas_server(cas, live_server):
    identity = _link("zhangwei", "gd.zhangwei")
    browser = requests.Session()
    page = _start(browser, live_server)
    service = parse_qs(urlsplit(page.url).query)["service"][0]
    assert service == f"{live_server.url}/accounts/sso/cas/login/"  # the bare URL registered at the server
    home = provider_login(browser, page, "gd.zhangwei")
    assert home.url == f"{live_server.url}/" and "张伟" in home.text, home.text[:500]
    assert {"sessionid", "cas_idp_session"} <= {c.name for c in browser.cookies}
    identity.refresh_from_db()
    assert identity.last_login_at is not None
    entry = AuditEntry.objects.filter(action="auth.login").order_by("-id").first()
    assert entry.actor.username == "zhangwei" and entry.changes["via"] == "cas" and entry.changes["strong_auth"] is False


def test_subject_from_a_released_attribute(cas, live_server, settings):
    settings.OA_CAS_SUBJECT_ATTRIBUTE = "email"
    _link("zhangwei", "zhangwei@jiedong.gov.example")
    browser = requests.Session()
    home = provider_login(browser, _start(browser, live_server), "gd.zhangwei")
    assert home.url == f"{live_server.url}/"


def test_unknown_cas_user_is_refused(cas, live_server):
    _link("zhangwei", "gd.zhangwei")
    browser = requests.Session()
    refused = provider_login(browser, _start(browser, live_server), "gd.stranger")
    assert refused.status_code == 403 and UNKNOWN_SUBJECT in refused.text
    assert _logged_out(browser, live_server)
    assert AuditEntry.objects.get(action="auth.sso_login_failed").changes["reason"] == "sso_unknown_subject"


def test_a_forged_ticket_is_refused(cas, live_server):
    identity = _link("zhangwei", "gd.zhangwei")
    browser = requests.Session()
    refused = browser.get(f"{live_server.url}/accounts/sso/cas/login/?ticket=ST-forged-0123456789")
    assert refused.status_code == 400 and 'data-code="sso_ticket_invalid"' in refused.text
    assert "票据无效" in refused.text and _logged_out(browser, live_server)
    identity.refresh_from_db()
    assert identity.last_login_at is None


def test_a_signer_meets_the_2fa_gate_after_cas(cas, live_server):
    _link("wangfang", "gd.wangfang")
    browser = requests.Session()
    landed = provider_login(browser, _start(browser, live_server), "gd.wangfang")
    assert urlsplit(landed.url).path.startswith("/accounts/otp/")


def test_single_logout_from_the_cas_server_ends_our_session(cas, live_server):
    _link("zhangwei", "gd.zhangwei")
    browser = requests.Session()
    provider_login(browser, _start(browser, live_server), "gd.zhangwei")
    assert not _logged_out(browser, live_server)
    # Logging out at the CAS server: it POSTs a SAML LogoutRequest naming our service ticket to our service URL.
    browser.get(f"{cas.url}/cas/logout")
    assert _logged_out(browser, live_server)
    entry = AuditEntry.objects.get(action="auth.sso_logout")
    assert entry.actor.username == "zhangwei" and entry.changes == {"provider": "cas", "reason": "cas_slo"}


def test_logout_here_logs_out_at_the_cas_server(cas, live_server):
    _link("zhangwei", "gd.zhangwei")
    browser = requests.Session()
    provider_login(browser, _start(browser, live_server), "gd.zhangwei")
    logout_page = browser.get(f"{live_server.url}/accounts/logout/")
    token = hidden_inputs(logout_page.text)["csrfmiddlewaretoken"]
    done = browser.post(f"{live_server.url}/accounts/logout/", data={"csrfmiddlewaretoken": token},
                        headers={"Referer": logout_page.url})
    assert any("/cas/logout" in r.headers.get("Location", "") for r in done.history)
    assert _logged_out(browser, live_server)
    again = browser.get(f"{live_server.url}/accounts/sso/cas/login/")  # asks for the password at the server again
    assert urlsplit(again.url).path == "/cas/login" and 'name="password"' in again.text


def test_a_hostile_logout_request_is_refused(cas, live_server):
    body = '<!DOCTYPE x [<!ENTITY a "aaaa">]><samlp:LogoutRequest/>'
    answer = requests.post(f"{live_server.url}/accounts/sso/cas/login/", data={"logoutRequest": body})
    assert answer.status_code == 400
