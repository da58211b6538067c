"""/admin/login/ is the platform's login: throttle, lockout, audit and the 2FA gate apply there too."""

from __future__ import annotations

import pytest
from django.urls import reverse

from oa.actions.demo import DEMO_PASSWORD
from oa.models import AuditEntry
from tests.astparse import parse
from tests.clients import login as logged_in

pytestmark = pytest.mark.django_db

ADMIN_LOGIN = "/admin/login/"


def admin_post(client, username: str, password: str = DEMO_PASSWORD, ip: str = "10.7.0.1"):
    return client.post(
        f"{ADMIN_LOGIN}?next=/admin/", {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=ip,
    )


def test_a_locked_account_gets_no_session_through_the_admin_login(client, cast, settings):
    settings.OA_LOCKOUT_THRESHOLD = 3
    for n in range(3):
        client.post("/accounts/login/", {"username": "oaroot", "password": f"Wrong#pass{n}"}, REMOTE_ADDR="10.7.0.1")
    response = admin_post(client, "oaroot")  # the right password, from the address that locked the account
    assert response.status_code == 403
    assert "已锁定" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert not AuditEntry.objects.filter(action="auth.login", actor=cast.oaroot).exists()


def test_every_admin_login_attempt_is_audited(client, cast):
    admin_post(client, "oaroot", "Wrong#pass1")
    admin_post(client, "no_such_admin", "Wrong#pass1")
    failed = AuditEntry.objects.filter(action="auth.login_failed").order_by("id")
    assert [(e.actor_id, e.ip, e.changes["reason"]) for e in failed] == [
        (cast.oaroot.pk, "10.7.0.1", "bad_credentials"),
        (None, "10.7.0.1", "unknown_user"),
    ]
    ok = admin_post(client, "oaroot")
    assert AuditEntry.objects.get(action="auth.login", actor=cast.oaroot).ip == "10.7.0.1"
    # 系统管理员 must pass the second factor before the admin opens, as on the login page.
    assert ok.status_code == 302 and ok["Location"] in (reverse("otp_setup"), reverse("otp_verify"))
    assert client.get("/admin/")["Location"] in (reverse("otp_setup"), reverse("otp_verify"))


def test_the_address_throttle_applies_to_the_admin_login(client, cast, settings):
    settings.OA_IP_THROTTLE_FAILURES = 3
    for n in range(3):
        admin_post(client, f"ghost{n}", "Wrong#pass1", ip="10.7.9.9")
    blocked = admin_post(client, "oaroot", ip="10.7.9.9")
    assert blocked.status_code == 429
    assert "_auth_user_id" not in client.session
    assert AuditEntry.objects.filter(action="auth.ip_throttled", ip="10.7.9.9").count() == 1


def test_the_admin_login_page_is_the_platform_login_page(client, cast):
    assert client.get(ADMIN_LOGIN)["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    # The stock admin sends anonymous visitors to its login with `next`; it is kept.
    to_login = client.get("/admin/oa/person/")
    assert to_login["Location"].startswith(ADMIN_LOGIN)
    assert client.get(to_login["Location"])["Location"] == "/accounts/login/?next=%2Fadmin%2Foa%2Fperson%2F"


def test_a_signed_in_non_administrator_is_refused_not_looped(cast):
    client = logged_in(cast.zhangwei)
    assert client.get("/admin/")["Location"].startswith(ADMIN_LOGIN)
    assert client.get(f"{ADMIN_LOGIN}?next=/admin/").status_code == 403


def test_admin_logout_and_password_change_are_the_platform_ones(cast):
    client = logged_in(cast.oaroot, otp=True)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/password_change/")["Location"] == reverse("password_change")
    assert client.post("/admin/logout/")["Location"] == reverse("login")
    assert AuditEntry.objects.filter(action="auth.logout", actor=cast.oaroot).count() == 1


def test_only_the_login_controls_call_authenticate():
    """A password checked anywhere else would skip throttle, lockout and audit (as the stock admin login did)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    callers = set()
    for package in ("oa", "integrations", "frontend", "documents", "workflows"):
        for path in (root / package).rglob("*.py"):
            for node in ast.walk(parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call):
                    func = node.func
                    if isinstance(func, ast.Name) and func.id == "authenticate":
                        callers.add(str(path.relative_to(root)))
                    # A backend's super().authenticate() is the backend chain itself, not another login path.
                    elif isinstance(func, ast.Attribute) and func.attr == "authenticate":
                        if not isinstance(func.value, ast.Call):
                            callers.add(str(path.relative_to(root)))
    assert callers == {"oa/actions/auth.py"}
