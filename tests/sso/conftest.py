"""Real identity providers on loopback for the SSO tests (docs/sso.md § 测试).

Each provider is its own Django project in its own process (tests/sso/idp/), with its own SQLite file and its own
session cookie name; our app runs under pytest-django's live_server in this process, so a requests.Session can
follow every redirect between the two, as a browser does.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urljoin

import pytest
import requests

from tests.sso.idp.server import IdentityProvider

CLIENT_ID = "jiedong-oa"
CLIENT_SECRET = "test-client-secret-0123456789"
PASSWORD = "Idp-Test-Passw0rd"
# The provincial accounts (their username at the provider; the OIDC subject is "gd-" + username).
IDP_USERS = [
    {"username": "gd.zhangwei", "password": PASSWORD, "email": "zhangwei@jiedong.gov.example"},
    {"username": "gd.wangfang", "password": PASSWORD, "email": "wangfang@jiedong.gov.example"},
    # Same e-mail as a linked local person: must not be let in by e-mail.
    {"username": "gd.stranger", "password": PASSWORD, "email": "zhangwei@jiedong.gov.example"},
]


@pytest.fixture(scope="session")
def _short_lived_connections():
    """The live server's threads close their database connection after each request, so none outlives the
    session (the test database is dropped at the end)."""
    from django.db import connections

    db = connections.settings["default"]
    max_age, db["CONN_MAX_AGE"] = db.get("CONN_MAX_AGE", 0), 0
    yield
    db["CONN_MAX_AGE"] = max_age


@pytest.fixture(scope="session")
def sso_server(_short_lived_connections, live_server):
    return live_server


@pytest.fixture(scope="session")
def oidc_provider(sso_server, tmp_path_factory):
    live_server = sso_server
    callback = f"{live_server.url}/accounts/sso/oidc/callback/"
    provider = IdentityProvider("oidc", tmp_path_factory.mktemp("oidc-idp"), {
        "users": IDP_USERS, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [callback],
        "post_logout_redirect_uris": [f"{live_server.url}/accounts/login/"],
    }, ready_path="/openid/.well-known/openid-configuration").start()
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture(scope="session")
def cas_provider(sso_server, tmp_path_factory):
    live_server = sso_server
    provider = IdentityProvider("cas", tmp_path_factory.mktemp("cas-idp"), {
        "users": IDP_USERS, "service_pattern": f"^{re.escape(live_server.url)}/accounts/sso/cas/login/.*$",
        "attributes": ["email", "username"],
    }, ready_path="/cas/login").start()
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture
def oidc(oidc_provider, settings, demo_tx):
    """OpenID Connect on, pointed at the real provider (endpoints by discovery)."""
    settings.OA_OIDC_ISSUER = f"{oidc_provider.url}/openid"
    settings.OA_OIDC_CLIENT_ID = CLIENT_ID
    settings.OA_OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.OA_OIDC_SCOPES = "openid email"
    settings.OA_OIDC_STRONG_ACR = frozenset()
    oidc_provider.set_overrides({})
    yield oidc_provider
    oidc_provider.set_overrides({})


@pytest.fixture
def cas(cas_provider, settings, demo_tx):
    settings.OA_CAS_SERVER_URL = f"{cas_provider.url}/cas/"
    settings.CAS_SERVER_URL = settings.OA_CAS_SERVER_URL
    settings.OA_CAS_SUBJECT_ATTRIBUTE = ""
    return cas_provider


def hidden_inputs(page: str) -> dict[str, str]:
    fields = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="hidden"' in tag:
            fields[html.unescape(name.group(1))] = html.unescape(value.group(1)) if value else ""
    return fields


def form_action(page: str, base: str) -> str:
    match = re.search(r'<form[^>]*action="([^"]*)"', page)
    return urljoin(base, html.unescape(match.group(1))) if match and match.group(1) else base


def provider_login(browser: requests.Session, page: requests.Response, username: str,
                   password: str = PASSWORD) -> requests.Response:
    """Fill the provider's login form (Django's for OIDC, django-cas-server's for CAS) and follow the redirects."""
    assert page.status_code == 200, page.text[:500]
    data = {**hidden_inputs(page.text), "username": username, "password": password}
    return browser.post(form_action(page.text, page.url), data=data, headers={"Referer": page.url})
