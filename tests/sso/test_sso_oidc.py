"""省统一身份认证 over OpenID Connect against a real django-oidc-provider (docs/sso.md).

The browser is a requests.Session following every redirect between our live server and the provider.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests

from integrations.sso.errors import UNKNOWN_SUBJECT
from integrations.sso.models import SsoAssertionDevice, SsoIdentity
from oa.models import AuditEntry, Person
from tests.sso.conftest import hidden_inputs, provider_login

pytestmark = pytest.mark.django_db(transaction=True)


def _link(username: str, subject: str) -> SsoIdentity:
    return SsoIdentity.objects.create(provider="oidc", subject=subject, person=Person.objects.get(username=username))


def _start(browser: requests.Session, live_server) -> requests.Response:
    """Click 省统一身份认证登录 on our login page: ends on the provider's login form."""
    login_page = browser.get(f"{live_server.url}/accounts/login/")
    assert "省统一身份认证登录" in login_page.text
    button = re.search(r'id="sso-oidc"[^>]*href="([^"]+)"', login_page.text)
    assert button, login_page.text
    return browser.get(live_server.url + button.group(1).replace("&amp;", "&"))


def _signed_in_as(browser: requests.Session, live_server) -> requests.Response:
    return browser.get(f"{live_server.url}/profile/")


def test_login_through_the_provider_keyed_on_sub(oidc, live_server):
    identity = _link("zhangwei", "gd-gd.zhangwei")
    browser = requests.Session()
    page = _start(browser, live_server)
    authorise = next(r for r in page.history if "/openid/authorize" in r.headers.get("Location", ""))
    query = parse_qs(urlsplit(authorise.headers["Location"]).query)
    assert query["response_type"] == ["code"] and query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43 and query["state"] and query["nonce"]
    assert query["client_id"] == ["jiedong-oa"]

    home = provider_login(browser, page, "gd.zhangwei")
    assert home.status_code == 200 and home.url == f"{live_server.url}/", home.text[:800]
    assert "张伟" in home.text
    # Two cookie jars on one host: ours and the provider's own session cookie.
    names = {c.name for c in browser.cookies}
    assert {"sessionid", "oidc_idp_session"} <= names
    identity.refresh_from_db()
    assert identity.last_login_at is not None
    entry = AuditEntry.objects.filter(action="auth.login").order_by("-id").first()
    assert entry.actor.username == "zhangwei"
    assert entry.changes == {"via": "oidc", "subject": "gd-gd.zhangwei", "acr": "", "strong_auth": False}


def test_next_is_kept_through_the_round_trip(oidc, live_server):
    _link("zhangwei", "gd-gd.zhangwei")
    browser = requests.Session()
    page = browser.get(f"{live_server.url}/accounts/sso/oidc/login/?next=/profile/")
    landed = provider_login(browser, page, "gd.zhangwei")
    assert landed.url == f"{live_server.url}/profile/"


def test_unknown_sub_is_refused_even_with_a_known_email(oidc, live_server):
    _link("zhangwei", "gd-gd.zhangwei")
    browser = requests.Session()
    refused = provider_login(browser, _start(browser, live_server), "gd.stranger")  # same e-mail as 张伟
    assert refused.status_code == 403
    assert UNKNOWN_SUBJECT in refused.text and "gd-gd.stranger" in refused.text
    assert 'data-code="sso_unknown_subject"' in refused.text
    assert _signed_in_as(browser, live_server).url.startswith(f"{live_server.url}/accounts/login/")
    failed = AuditEntry.objects.get(action="auth.sso_login_failed")
    assert failed.changes == {"provider": "oidc", "subject": "gd-gd.stranger", "reason": "sso_unknown_subject"}
    assert not AuditEntry.objects.filter(action="auth.login").exists()
    assert SsoIdentity.objects.count() == 1  # nothing created


def _callback_url(browser: requests.Session, live_server, username: str) -> str:
    """Log in at the provider but stop before our callback: the URL the provider sends the browser to."""
    page = _start(browser, live_server)
    data = {**hidden_inputs(page.text), "username": username, "password": "Idp-Test-Passw0rd"}
    response = browser.post(page.url, data=data, headers={"Referer": page.url}, allow_redirects=False)
    while "/accounts/sso/oidc/callback/" not in response.headers.get("Location", ""):
        assert response.status_code in (301, 302), response.text[:500]
        response = browser.get(requests.compat.urljoin(response.url, response.headers["Location"]),
                               allow_redirects=False)
    return response.headers["Location"]


def test_tampered_state_is_refused(oidc, live_server):
    identity = _link("zhangwei", "gd-gd.zhangwei")
    browser = requests.Session()
    url = _callback_url(browser, live_server, "gd.zhangwei")
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    query["state"] = [query["state"][0][:-2] + "xx"]
    tampered = browser.get(urlunsplit(parts._replace(query=urlencode(query, doseq=True))))
    assert tampered.status_code == 400
    assert "state 校验不通过" in tampered.text and "未登录" in tampered.text
    assert _signed_in_as(browser, live_server).url.startswith(f"{live_server.url}/accounts/login/")
    identity.refresh_from_db()
    assert identity.last_login_at is None
    assert AuditEntry.objects.get(action="auth.sso_login_failed").changes["reason"] == "sso_state"
    # The genuine callback still works once, then its state is spent (a replay is refused).
    assert browser.get(url).url == f"{live_server.url}/"
    assert requests.Session().get(url).status_code == 400


def test_a_signer_still_meets_the_2fa_gate(oidc, live_server):
    _link("wangfang", "gd-gd.wangfang")
    browser = requests.Session()
    landed = provider_login(browser, _start(browser, live_server), "gd.wangfang")
    assert urlsplit(landed.url).path in ("/accounts/otp/verify/", "/accounts/otp/setup/")
    assert browser.get(f"{live_server.url}/profile/").url != f"{live_server.url}/profile/"
    assert not SsoAssertionDevice.objects.exists()


def test_a_strong_acr_the_deployment_accepts_passes_the_gate(oidc, live_server, settings):
    _link("wangfang", "gd-gd.wangfang")
    oidc.set_overrides({"gd.wangfang": {"acr": "urn:gd:gov:loa:3"}})
    settings.OA_OIDC_STRONG_ACR = frozenset({"urn:gd:gov:loa:3"})
    browser = requests.Session()
    landed = provider_login(browser, _start(browser, live_server), "gd.wangfang")
    assert landed.url == f"{live_server.url}/", landed.url
    assert browser.get(f"{live_server.url}/profile/").status_code == 200
    device = SsoAssertionDevice.objects.get(user__username="wangfang")
    assert device.confirmed and device.provider == "oidc"
    entry = AuditEntry.objects.filter(action="auth.login").order_by("-id").first()
    assert entry.changes["acr"] == "urn:gd:gov:loa:3" and entry.changes["strong_auth"] is True


def test_an_acr_the_deployment_does_not_list_is_not_strong(oidc, live_server, settings):
    _link("wangfang", "gd-gd.wangfang")
    oidc.set_overrides({"gd.wangfang": {"acr": "urn:gd:gov:loa:1"}})
    settings.OA_OIDC_STRONG_ACR = frozenset({"urn:gd:gov:loa:3"})
    browser = requests.Session()
    landed = provider_login(browser, _start(browser, live_server), "gd.wangfang")
    assert urlsplit(landed.url).path.startswith("/accounts/otp/")


@pytest.mark.parametrize(("override", "code", "text"), [
    ({"aud": "another-client"}, "sso_token_audience", "aud 不符"),
    ({"iss": "https://evil.example/openid"}, "sso_token_issuer", "iss"),
    ({"exp": 1_000_000_000}, "sso_token_expired", "已过期"),
])
def test_wrong_audience_issuer_or_expiry_is_refused(oidc, live_server, override, code, text):
    identity = _link("zhangwei", "gd-gd.zhangwei")
    oidc.set_overrides({"gd.zhangwei": override})
    browser = requests.Session()
    refused = provider_login(browser, _start(browser, live_server), "gd.zhangwei")
    assert refused.status_code == 400 and f'data-code="{code}"' in refused.text and text in refused.text
    assert _signed_in_as(browser, live_server).url.startswith(f"{live_server.url}/accounts/login/")
    identity.refresh_from_db()
    assert identity.last_login_at is None and not AuditEntry.objects.filter(action="auth.login").exists()


class _TamperingTokenProxy:
    """Sits in front of the provider's token endpoint and swaps the ID token's `sub` for someone else's, keeping
    the provider's signature: an invalid token, as a compromised network path would deliver it."""

    def __init__(self, upstream: str, new_sub: str) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                answer = requests.post(upstream, data=body, timeout=10,
                                       headers={"Content-Type": self.headers["Content-Type"]})
                data = answer.json()
                if "id_token" in data:
                    header, payload, signature = data["id_token"].split(".")
                    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
                    claims["sub"] = new_sub
                    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
                    data["id_token"] = f"{header}.{forged}.{signature}"
                    proxy.tampered += 1
                out = json.dumps(data).encode()
                self.send_response(answer.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        self.tampered = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_an_invalid_token_signature_is_refused(oidc, live_server, settings):
    _link("zhangwei", "gd-gd.zhangwei")
    victim = _link("wangfang", "gd-gd.wangfang")
    proxy = _TamperingTokenProxy(f"{oidc.url}/openid/token", new_sub="gd-gd.wangfang")
    settings.OA_OIDC_TOKEN_URL = proxy.url
    try:
        browser = requests.Session()
        refused = provider_login(browser, _start(browser, live_server), "gd.zhangwei")
    finally:
        proxy.close()
    assert proxy.tampered == 1
    assert refused.status_code == 400 and 'data-code="sso_token_signature"' in refused.text
    assert "签名无效" in refused.text
    assert _signed_in_as(browser, live_server).url.startswith(f"{live_server.url}/accounts/login/")
    victim.refresh_from_db()
    assert victim.last_login_at is None and not AuditEntry.objects.filter(action="auth.login").exists()


def test_logout_ends_the_provider_session_too(oidc, live_server):
    _link("zhangwei", "gd-gd.zhangwei")
    browser = requests.Session()
    provider_login(browser, _start(browser, live_server), "gd.zhangwei")
    logout_page = browser.get(f"{live_server.url}/accounts/logout/")
    token = hidden_inputs(logout_page.text)["csrfmiddlewaretoken"]
    done = browser.post(f"{live_server.url}/accounts/logout/", data={"csrfmiddlewaretoken": token},
                        headers={"Referer": logout_page.url})
    assert any("/openid/end-session" in r.headers.get("Location", "") for r in done.history)
    assert done.url == f"{live_server.url}/accounts/login/"
    assert AuditEntry.objects.filter(action="auth.logout").order_by("-id").first().changes == {"single_logout": True}
    # Signed out at the provider as well: starting again asks for the password there.
    again = browser.get(f"{live_server.url}/accounts/sso/oidc/login/")
    assert urlsplit(again.url).path == "/accounts/login/" and urlsplit(again.url).port == urlsplit(oidc.url).port
