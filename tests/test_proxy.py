"""Forwarded headers count only from the proxies OA_BEHIND_PROXY names: a client's own X-Forwarded-For neither
changes the address it is throttled under nor the one the audit log records; X-Forwarded-Proto cannot make a
plain connection look secure."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from rest_framework.settings import api_settings

from oa.actions.demo import DEMO_PASSWORD
from oa.api.throttling import UserRateThrottle
from oa.middleware import ForwardedHeadersMiddleware
from oa.models import AuditEntry
from oa.proxies import LOOPBACK, client_address, parse_trusted_proxies, uvicorn_arguments

PROXY = "10.0.0.5"


# --- the rule ----------------------------------------------------------------------------------------------


def test_oa_behind_proxy_names_addresses_or_networks_and_1_means_loopback():
    assert parse_trusted_proxies("") == () and parse_trusted_proxies("0") == () and parse_trusted_proxies("off") == ()
    assert parse_trusted_proxies("1") == LOOPBACK == parse_trusted_proxies("true")
    assert parse_trusted_proxies(" 10.0.0.5, 10.1.0.0/29 ,::1") == ("10.0.0.5", "10.1.0.0/29", "::1")
    with pytest.raises(ValueError, match="不是 IP 地址或网段"):
        parse_trusted_proxies("nginx.internal")


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("198.51.100.9", "203.0.113.7", "198.51.100.9"),  # not our proxy: its header proves nothing
        (PROXY, "203.0.113.7", "203.0.113.7"),
        (PROXY, "1.2.3.4, 203.0.113.7", "203.0.113.7"),  # the client wrote 1.2.3.4; our proxy appended the peer
        ("10.1.0.3", "203.0.113.7, 10.0.0.5", "203.0.113.7"),  # two of our proxies in a row (10.1.0.0/29)
        (PROXY, "203.0.113.7:5123", "203.0.113.7"),
        (PROXY, "[2001:db8::7]:443", "2001:db8::7"),
        (PROXY, "not-an-address", PROXY),  # a broken chain: the proxy is all we know
        (PROXY, "", PROXY),
        (PROXY, "10.0.0.5", PROXY),  # the proxy asking for itself
    ],
)
def test_client_is_the_rightmost_hop_that_is_not_a_trusted_proxy(peer, forwarded, expected):
    assert client_address(peer, forwarded, (PROXY, "10.1.0.0/29")) == expected


def test_without_a_configured_proxy_forwarded_for_is_ignored():
    assert client_address("127.0.0.1", "203.0.113.7", ()) == "127.0.0.1"


def test_uvicorn_gets_the_same_list_or_no_proxy_headers_at_all(monkeypatch):
    assert uvicorn_arguments("1") == "--proxy-headers --forwarded-allow-ips=127.0.0.1,::1"
    assert uvicorn_arguments("10.0.0.5,10.1.0.0/29") == "--proxy-headers --forwarded-allow-ips=10.0.0.5,10.1.0.0/29"
    # uvicorn's own default trusts loopback; without OA_BEHIND_PROXY it must trust nobody.
    assert uvicorn_arguments("") == "--no-proxy-headers"
    out = subprocess.run(
        [sys.executable, "-m", "oa.proxies"], env={"OA_BEHIND_PROXY": "10.0.0.5"}, capture_output=True, text=True
    )
    assert out.stdout.strip() == "--proxy-headers --forwarded-allow-ips=10.0.0.5"
    bad = subprocess.run(
        [sys.executable, "-m", "oa.proxies"], env={"OA_BEHIND_PROXY": "nginx"}, capture_output=True, text=True
    )
    assert bad.returncode != 0 and "OA_BEHIND_PROXY" in bad.stderr


# --- what reads it -----------------------------------------------------------------------------------------


@pytest.fixture
def behind_proxy(settings):
    settings.OA_TRUSTED_PROXIES = (PROXY,)
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


def _login(client, ip: str, **headers):
    return client.post(reverse("login"), {"username": "zhangwei", "password": DEMO_PASSWORD}, REMOTE_ADDR=ip, **headers)


@pytest.mark.django_db
def test_audit_log_records_the_peer_unless_it_is_our_proxy(client, cast, behind_proxy):
    _login(client, "198.51.100.9", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert AuditEntry.objects.filter(action="auth.login").latest("id").ip == "198.51.100.9"
    client.post(reverse("logout"))
    _login(client, PROXY, HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")  # 6.6.6.6: written by the client
    assert AuditEntry.objects.filter(action="auth.login").latest("id").ip == "203.0.113.7"


def _token_attempt(client, ip: str, forwarded: str):
    return client.post(
        "/api/auth/token", json.dumps({"username": "", "password": ""}), content_type="application/json",
        REMOTE_ADDR=ip, HTTP_X_FORWARDED_FOR=forwarded,
    )


@pytest.mark.django_db
def test_a_spoofed_forwarded_for_does_not_dodge_the_token_endpoint_throttle(client, behind_proxy):
    limit = int(api_settings.DEFAULT_THROTTLE_RATES["auth_token"].split("/")[0])
    for n in range(limit):  # a new made-up address every time, from one connection
        assert _token_attempt(client, "198.51.100.9", f"203.0.113.{n}").status_code == 400
    assert _token_attempt(client, "198.51.100.9", "203.0.113.250").status_code == 429
    # Through our proxy each real client has its own budget, whatever it writes to the left.
    for n in range(limit):
        assert _token_attempt(client, PROXY, f"6.6.6.{n}, 203.0.113.1").status_code == 400
    assert _token_attempt(client, PROXY, "6.6.6.250, 203.0.113.1").status_code == 429
    assert _token_attempt(client, PROXY, "203.0.113.2").status_code == 400


@pytest.mark.django_db
def test_anonymous_api_requests_are_throttled_per_client_address(client, behind_proxy, monkeypatch):
    # DRF's own identity is the whole X-Forwarded-For header: a new value per request would be a new budget.
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "2/min"})
    codes = [
        client.delete("/api/auth/token", REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
        for n in range(3)
    ]
    assert codes == [401, 401, 429]


def test_forwarded_proto_is_believed_only_from_our_proxy(behind_proxy):
    seen = {}

    def view(request):
        seen.update(secure=request.is_secure(), forwarded="HTTP_X_FORWARDED_FOR" in request.META)
        return HttpResponse()

    middleware = ForwardedHeadersMiddleware(view)
    factory = RequestFactory()
    headers = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_FOR": "203.0.113.7"}
    middleware(factory.get("/", REMOTE_ADDR="198.51.100.9", **headers))
    assert seen == {"secure": False, "forwarded": False}
    middleware(factory.get("/", REMOTE_ADDR=PROXY, **headers))
    assert seen == {"secure": True, "forwarded": True}


def test_forwarded_headers_middleware_runs_first():
    assert django_settings.MIDDLEWARE[0] == "oa.middleware.ForwardedHeadersMiddleware"
