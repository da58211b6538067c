"""REST API: token auth with the login page's controls, the error shape and codes, CSRF for session writes,
notifications, tiles, and the OpenAPI schema and docs page."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from oa.actions.demo import DEMO_PASSWORD
from oa.actions.tokens import do_issue_token
from oa.models import ApiToken, AuditEntry, Notification, WorkItem
from tests.test_auth import totp_token
from tests.test_inbox import api, start_memo

pytestmark = pytest.mark.django_db

TOKEN = "/api/auth/token"


def post_json(client, url, data, **extra):
    return client.post(url, json.dumps(data), content_type="application/json", **extra)


def get_token(client, username, password=DEMO_PASSWORD, ip="10.2.0.1", **extra):
    return post_json(client, TOKEN, {"username": username, "password": password, **extra}, REMOTE_ADDR=ip)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert re.search(r"[\u4e00-\u9fff]", body["message"]), body  # a Chinese message, always
    return body


# --- tokens ----------------------------------------------------------------------------------------------


def test_token_issue_use_revoke(client, cast):
    response = get_token(client, "zhangwei", device_name="张伟的手机")
    assert response.status_code == 201, response.content
    raw = response.json()["token"]
    assert raw.startswith("oa_") and response.json()["expires_at"]
    assert "sessionid" not in response.cookies  # a token login starts no session
    token = ApiToken.objects.get(person=cast.zhangwei)
    assert token.name == "张伟的手机"
    assert AuditEntry.objects.filter(action="auth.token_issue", actor=cast.zhangwei).exists()
    assert AuditEntry.objects.filter(action="auth.login", actor=cast.zhangwei, changes__via="api").exists()

    mobile = Client(headers={"Authorization": f"Bearer {raw}"})
    me = mobile.get("/api/me")
    assert me.status_code == 200 and me.json()["username"] == "zhangwei"

    assert mobile.delete(TOKEN).status_code == 204
    assert AuditEntry.objects.filter(action="auth.token_revoke", actor=cast.zhangwei).exists()
    assert_error(mobile.get("/api/me"), 401, "token_invalid")


def test_expired_and_garbage_tokens_are_401(cast):
    raw, token = do_issue_token(cast.zhangwei, name="旧手机")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    response = Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/work")
    assert_error(response, 401, "token_invalid")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert_error(Client(headers={"Authorization": "Bearer a b"}).get("/api/work"), 401, "token_invalid")


def test_wrong_password_lockout_and_audit(client, cast, settings):
    settings.OA_LOCKOUT_THRESHOLD = 3
    for _ in range(2):
        assert_error(get_token(client, "zhangwei", "wrong-Password1"), 400, "invalid_credentials")
    assert AuditEntry.objects.filter(action="auth.login_failed", actor=cast.zhangwei).count() == 2
    assert_error(get_token(client, "zhangwei", "wrong-Password1"), 403, "account_locked")
    assert AuditEntry.objects.filter(action="auth.lockout", actor=cast.zhangwei).exists()
    # Locked: even the right password is refused until the lock runs out.
    assert_error(get_token(client, "zhangwei"), 403, "account_locked")
    assert not ApiToken.objects.filter(person=cast.zhangwei).exists()


def test_token_login_locks_per_name_and_address_and_answers_alike_for_unknown_names(client, cast, settings, time_machine):
    settings.OA_LOCKOUT_THRESHOLD = 3
    time_machine.move_to(timezone.now(), tick=False)
    real = [get_token(client, "zhangwei", "wrong-Password1", ip="10.2.7.1").json() for _ in range(4)]
    ghost = [get_token(client, "no_such_person", "wrong-Password1", ip="10.2.7.2").json() for _ in range(4)]
    assert real == ghost
    assert [body["code"] for body in real] == ["invalid_credentials"] * 2 + ["account_locked"] * 2
    # The stranger's address is locked for the name; the owner's is not.
    assert_error(get_token(client, "zhangwei", ip="10.2.7.1"), 403, "account_locked")
    assert get_token(client, "zhangwei", ip="10.2.0.1").status_code == 201


def test_ip_throttle_is_429(client, cast, settings):
    settings.OA_IP_THROTTLE_FAILURES = 2
    for _ in range(2):
        get_token(client, "nobody", "x", ip="10.9.9.9")
    body = assert_error(get_token(client, "zhangwei", ip="10.9.9.9"), 429, "throttled")
    assert "分钟后再试" in body["message"]
    assert AuditEntry.objects.filter(action="auth.ip_throttled").exists()
    assert get_token(client, "zhangwei", ip="10.9.9.10").status_code == 201  # other addresses unaffected


def test_token_endpoint_rate_limit_is_429_with_retry_after(client, cast):
    from rest_framework.settings import api_settings

    rate = api_settings.DEFAULT_THROTTLE_RATES["auth_token"]
    limit = int(rate.split("/")[0])
    for _ in range(limit):
        post_json(client, TOKEN, {"username": "", "password": ""}, REMOTE_ADDR="10.3.3.3")
    response = post_json(client, TOKEN, {"username": "zhangwei", "password": DEMO_PASSWORD}, REMOTE_ADDR="10.3.3.3")
    body = assert_error(response, 429, "throttled")
    assert "秒后再试" in body["message"] and int(response.headers["Retry-After"]) > 0


def test_two_factor_role_needs_totp(client, cast, time_machine):
    # The clock stands still, so django-otp's throttle (1 s after the first failure) cannot lapse on a slow machine.
    time_machine.move_to(timezone.now(), tick=False)
    wangfang = cast.wangfang  # 分管领导: 2FA role
    assert_error(get_token(client, "wangfang"), 403, "otp_setup_required")
    device = TOTPDevice.objects.create(user=wangfang, name="手机令牌", confirmed=True)
    assert_error(get_token(client, "wangfang"), 400, "otp_required")
    assert_error(get_token(client, "wangfang", otp="000000" if totp_token(device) != "000000" else "111111"), 400,
                 "otp_invalid")
    assert AuditEntry.objects.filter(action="auth.otp_failed", actor=wangfang).exists()
    # django-otp now makes the device wait before the next try (its brute-force throttle)…
    assert_error(get_token(client, "wangfang", otp=totp_token(device)), 429, "throttled")
    time_machine.shift(dt.timedelta(seconds=2))  # …which a real client outlives by waiting
    response = get_token(client, "wangfang", otp=totp_token(device))
    assert response.status_code == 201, response.content
    assert AuditEntry.objects.filter(action="auth.otp_verify", actor=wangfang).exists()


def test_forced_password_change_blocks_tokens(client, cast):
    zhangwei = cast.zhangwei
    raw, _ = do_issue_token(zhangwei, name="手机")
    zhangwei.must_change_password = True
    zhangwei.save(update_fields=["must_change_password"])
    assert_error(get_token(client, "zhangwei"), 403, "password_change_required")
    assert_error(Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/me"), 401, "password_change_required")


# --- the error shape --------------------------------------------------------------------------------------


def test_error_codes(client, cast):
    # 401: no credentials at all.
    response = client.get("/api/work")
    assert_error(response, 401, "not_authenticated")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    mobile = api(cast.zhangwei)
    # 400 with per-field errors.
    body = assert_error(mobile.get("/api/work", {"box": "nope", "urgency": 7}), 400, "invalid")
    assert set(body["fields"]) == {"box", "urgency"}
    body = assert_error(post_json(mobile, "/api/notifications/read", {}), 400, "invalid")
    assert body["fields"]["non_field_errors"] == ["请提供要标记的通知编号 ids，或 all 为 true。"]
    assert_error(mobile.post("/api/notifications/read", "{bad", content_type="application/json"), 400, "parse_error")
    # 404: unknown object, unknown path, bad page.
    assert_error(mobile.get("/api/work/123456789"), 404, "not_found")
    assert_error(mobile.get("/api/no/such/endpoint"), 404, "not_found")
    assert_error(mobile.get("/api/work", {"page": 99}), 404, "not_found")
    # 405 names the method.
    body = assert_error(mobile.delete("/api/work/counts"), 405, "method_not_allowed")
    assert "DELETE" in body["message"]
    # 415: JSON only.
    assert_error(mobile.post("/api/notifications/read", {"all": "true"}), 415, "unsupported_media_type")
    # 409 and 403 are covered in test_inbox (work_closed, permission_denied).


def test_user_rate_limit_is_429(cast, settings):
    from rest_framework.throttling import UserRateThrottle

    mobile = api(cast.zhangwei)
    original = UserRateThrottle.THROTTLE_RATES
    UserRateThrottle.THROTTLE_RATES = {**original, "user": "3/min"}
    try:
        for _ in range(3):
            assert mobile.get("/api/work/counts").status_code == 200
        assert_error(mobile.get("/api/work/counts"), 429, "throttled")
    finally:
        UserRateThrottle.THROTTLE_RATES = original


def test_session_writes_need_csrf(cast):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(cast.zhangwei)
    assert browser.get("/api/work").status_code == 200  # reads need no token
    assert_error(post_json(browser, "/api/notifications/read", {"all": True}), 403, "csrf_failed")
    page = browser.get("/accounts/password/change/")  # any page that renders the CSRF token sets the cookie
    assert page.status_code == 200
    token = browser.cookies["csrftoken"].value
    response = post_json(browser, "/api/notifications/read", {"all": True}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200 and response.json() == {"marked": 0, "unread": 0}


def test_session_of_two_factor_role_without_otp_is_refused(cast):
    browser = Client()
    browser.force_login(cast.wangfang)
    response = browser.get("/api/work")
    assert response.status_code == 403 and response.json()["code"] in {"otp_setup", "otp_verify"}


# --- notifications and tiles ------------------------------------------------------------------------------


def test_notifications_after_and_mark_read(cast):
    start_memo(cast.zhangwei, cast.lina, cast.zhoumin, title="一")
    start_memo(cast.zhangwei, cast.lina, cast.zhoumin, title="二")
    client = api(cast.lina)
    listing = client.get("/api/notifications").json()
    assert [n["title"] for n in listing["results"]] == ["待办：一", "待办：二"]
    assert listing["unread"] == 2 and listing["more"] is False
    first_id = listing["results"][0]["id"]
    after = client.get("/api/notifications", {"after": first_id}).json()
    assert [n["title"] for n in after["results"]] == ["待办：二"]
    assert_error(client.get("/api/notifications", {"after": "x"}), 400, "invalid")

    response = post_json(client, "/api/notifications/read", {"ids": [first_id]})
    assert response.json() == {"marked": 1, "unread": 1}
    assert post_json(client, "/api/notifications/read", {"all": True}).json() == {"marked": 1, "unread": 0}
    # Someone else's ids are ignored, not revealed.
    other_id = Notification.objects.create(recipient=cast.xuli, event_type="work.assigned", title="x").pk
    assert post_json(client, "/api/notifications/read", {"ids": [other_id]}).json()["marked"] == 0


def test_tiles(cast):
    start_memo(cast.zhangwei, cast.lina, cast.zhoumin)
    tiles = api(cast.lina).get("/api/tiles").json()
    assert isinstance(tiles, list) and tiles
    todo = [t for t in tiles if t["box"] == "todo"]
    assert todo and todo[0]["count"] == WorkItem.objects.filter(owner=cast.lina, box="todo", state="open").count()


# --- schema and docs --------------------------------------------------------------------------------------


def test_schema_validates(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for path in ("/api/auth/token", "/api/work", "/api/work/{item_id}/actions/{action_key}", "/api/notifications"):
        assert f"{path}:" in text
    assert "bearerAuth" in text


def test_schema_and_docs_need_a_login_outside_debug(client, cast, settings):
    assert settings.DEBUG is False  # the test settings are production settings
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert_error(schema, 401, "not_authenticated")
    assert client.get("/api/docs/").status_code == 401  # the page renders HTML, but no schema
    page = client.get("/api/docs/", HTTP_ACCEPT="text/html,application/xhtml+xml")  # a browser: log in first
    assert page.status_code == 302 and page["Location"] == f"{reverse('login')}?next=/api/docs/"
    assert client.get("/api/docs/?script=", HTTP_ACCEPT="*/*").status_code == 401
    # Signed in, by bearer token or session:
    raw, _ = do_issue_token(cast.lina, name="测试")
    assert client.get("/api/schema/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    client.force_login(cast.lina)
    assert client.get("/api/docs/", HTTP_ACCEPT="text/html").status_code == 200
    # A developer's machine (OA_DEBUG=1) keeps them open.
    client.logout()
    settings.DEBUG = True
    assert client.get("/api/schema/").status_code == 200


def test_schema_endpoint_and_csp_compatible_docs_page(client, cast):
    client.force_login(cast.lina)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert json.loads(schema.content)["openapi"].startswith("3.")

    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"]
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)  # no inline script
    assert "<style" not in html
    srcs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert all(s.startswith("/") for s in srcs), srcs  # nothing from a CDN
    assert any("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in s for s in srcs)
    init = next(s for attrs, _ in scripts for s in re.findall(r'src="([^"]+)"', attrs) if "script" in s)
    js = client.get(init.replace("&amp;", "&"))
    assert js.status_code == 200 and js["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in js.content.decode()
