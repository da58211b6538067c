"""等保三级 login controls: password rules and history, lockout, IP throttle, idle timeout, forced change, TOTP."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from oa.actions.auth import check_change_password
from oa.actions.demo import DEMO_PASSWORD
from oa.middleware import SESSION_LAST_SEEN
from oa.models import AuditEntry, PasswordHistory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def login(client, username: str, password: str = DEMO_PASSWORD, ip: str = "10.1.1.1", **extra):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def audits(action: str, **filters):
    return AuditEntry.objects.filter(action=action, **filters)


def totp_token(device: TOTPDevice, at: float | None = None) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if at is not None:
        totp.time = at
    return f"{totp.token():0{device.digits}d}"


# --- password rules ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Ab1!xyz", "密码长度不足：至少需要 8 个字符。"),
        ("abcdefgh12", "密码须包含大写字母、小写字母、数字、特殊字符中的至少 3 类。"),
        ("ABCDEFGH!!", "密码须包含大写字母、小写字母、数字、特殊字符中的至少 3 类。"),
        ("Zhangwei@2027", "密码不能包含用户名。"),
        (DEMO_PASSWORD, "不能使用最近 5 次用过的密码。"),
    ],
)
def test_password_rules_give_chinese_inline_errors(client, cast, password, message):
    zhangwei = cast.zhangwei
    client.force_login(zhangwei)
    response = client.post(
        reverse("password_change"),
        {"old_password": DEMO_PASSWORD, "new_password1": password, "new_password2": password},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert 'class="field-errors"' in html and 'aria-invalid="true"' in html
    zhangwei.refresh_from_db()
    assert zhangwei.check_password(DEMO_PASSWORD)


def test_password_rules_each_validator_directly(cast):
    zhangwei = cast.zhangwei
    with pytest.raises(ValidationError) as short:
        validate_password("Ab1!", zhangwei)
    assert "密码长度不足：至少需要 8 个字符。" in short.value.messages
    with pytest.raises(ValidationError) as simple:
        validate_password("abcdefghijk", zhangwei)
    assert "密码须包含大写字母、小写字母、数字、特殊字符中的至少 3 类。" in simple.value.messages
    with pytest.raises(ValidationError) as name:
        validate_password("xxZHANGWEIxx1", zhangwei)
    assert "密码不能包含用户名。" in name.value.messages
    validate_password("Qz7!harbour", zhangwei)  # 3+ classes, long enough: accepted


COMMON_MESSAGE = "密码过于常见，容易被猜中（如连续数字加字母、“我爱你”拼音加纪念日、姓名或单位拼音加年份），请换一个。"


@pytest.mark.parametrize(
    "password",
    ["Woaini@1314", "Zhengfu@2026", "Jieyang@2025", "Liwei#19900315", "Qq123456!", "Abc@123456", "1qaz@WSX",
     "5201314Aa!", "Wangfang888!", "Trustno1"],  # the last one only Django's English list has
)
def test_common_passwords_are_refused_with_a_chinese_message(cast, password):
    with pytest.raises(ValidationError) as exc:
        validate_password(password, cast.lina)
    assert exc.value.messages == [COMMON_MESSAGE]  # every other rule is met: this one alone refuses


def test_the_published_demo_password_cannot_be_chosen(cast):
    # The demo loader stores its hash directly (no validators); as a password someone picks it is refused.
    with pytest.raises(ValidationError) as exc:
        validate_password(DEMO_PASSWORD, cast.lina)
    assert COMMON_MESSAGE in exc.value.messages


@pytest.mark.parametrize("password", ["Qz7!harbour", "Zhang@7391q", "Jiedong@7Hq2", "Tx9#mRv2pq"])
def test_uncommon_passwords_pass(cast, password):
    validate_password(password, cast.lina)


def test_local_words_can_be_added(cast, settings):
    validate_password("Jdqzfb@2026", cast.lina)
    settings.OA_COMMON_PASSWORD_WORDS = ("jdqzfb",)
    with pytest.raises(ValidationError, match="密码过于常见"):
        validate_password("Jdqzfb@2026", cast.lina)


def test_the_change_pages_refuse_a_common_chinese_password(client, cast):
    zhangwei = cast.zhangwei
    client.force_login(zhangwei)
    response = client.post(
        reverse("password_change"),
        {"old_password": DEMO_PASSWORD, "new_password1": "Woaini@1314", "new_password2": "Woaini@1314"},
    )
    assert response.status_code == 200 and COMMON_MESSAGE in response.content.decode()
    zhangwei.must_change_password = True
    zhangwei.save(update_fields=["must_change_password"])
    forced = client.post(
        reverse("password_change_forced"), {"new_password1": "Zhengfu@2026", "new_password2": "Zhengfu@2026"}
    )
    assert forced.status_code == 200 and COMMON_MESSAGE in forced.content.decode()
    zhangwei.refresh_from_db()
    assert zhangwei.check_password(DEMO_PASSWORD) and not audits("auth.password_change").exists()


def test_voluntary_change_checks_current_password_and_confirmation(client, cast):
    client.force_login(cast.zhangwei)
    wrong_old = client.post(
        reverse("password_change"),
        {"old_password": "nope", "new_password1": "Qz7!harbour", "new_password2": "Qz7!harbour"},
    )
    assert "当前密码不正确。" in wrong_old.content.decode()
    mismatch = client.post(
        reverse("password_change"),
        {"old_password": DEMO_PASSWORD, "new_password1": "Qz7!harbour", "new_password2": "Qz7!harbourX"},
    )
    assert "两次输入的新密码不一致。" in mismatch.content.decode()
    done = client.post(
        reverse("password_change"),
        {"old_password": DEMO_PASSWORD, "new_password1": "Qz7!harbour", "new_password2": "Qz7!harbour"},
    )
    assert done.status_code == 200 and "密码已修改" in done.content.decode()
    # The session survives the change (update_session_auth_hash).
    assert client.get(reverse("profile")).status_code == 200
    entry = audits("auth.password_change", actor=cast.zhangwei).get()
    assert entry.changes == {"forced": False}
    assert "Qz7!harbour" not in str(entry.changes) + entry.object_repr


def test_last_five_passwords_cannot_be_reused(cast):
    person = cast.zhangwei
    before = person.password_changed_at
    first = "Origin#42zk"  # not the demo password, which no one may choose (it is common and published)
    check_change_password(None, person, first)
    new = [f"Harbour#{n}{n}x" for n in range(1, 6)]
    for pw in new:
        check_change_password(None, person, pw)
    person.refresh_from_db()
    assert person.check_password(new[-1])
    assert person.password_changed_at > before
    # The current one and the four before it are all refused, deepest first.
    for pw in reversed(new):
        with pytest.raises(ValidationError) as exc:
            check_change_password(None, person, pw)
        assert exc.value.messages == ["不能使用最近 5 次用过的密码。"]
    # The first one is six changes back: allowed again.
    check_change_password(None, person, first)
    for pw in ("Later#77aa", "Later#88bb", "Later#99cc"):
        check_change_password(None, person, pw)
    assert PasswordHistory.objects.filter(person=person).count() == 5
    assert audits("auth.password_change", actor=person).count() == 10


# --- login, lockout, IP throttle --------------------------------------------------------------------------------


def test_login_success_is_audited_with_ip_and_no_secret(client, cast):
    response = login(client, "zhangwei", ip="10.2.3.4")
    assert response.status_code == 302 and response["Location"] == reverse("home")
    entry = audits("auth.login").get(actor=cast.zhangwei)
    assert entry.ip == "10.2.3.4"
    assert DEMO_PASSWORD not in str(entry.changes)
    home = client.get(reverse("home"))
    assert home.status_code == 200 and "张伟" in home.content.decode()


def test_wrong_password_and_unknown_user_get_the_same_message(client, cast):
    wrong = login(client, "zhangwei", "Wrong#pass1")
    unknown = login(client, "nobody_here", "Wrong#pass1")
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert "用户名或密码错误。" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert audits("auth.login_failed", actor=cast.zhangwei).get().changes["reason"] == "bad_credentials"
    anon = audits("auth.login_failed", actor__isnull=True).get()
    assert anon.changes == {"reason": "unknown_user"} and "nobody_here" in anon.object_repr
    for entry in AuditEntry.objects.filter(action__startswith="auth."):
        assert "Wrong#pass1" not in str(entry.changes) + entry.object_repr


def test_five_failures_lock_the_account_from_that_address_even_for_the_right_password(client, cast):
    for attempt in range(1, 5):
        response = login(client, "zhangwei", f"Wrong#pass{attempt}")
        assert "用户名或密码错误。" in response.content.decode()
    fifth = login(client, "zhangwei", "Wrong#pass5")
    assert fifth.status_code == 403
    person = cast.zhangwei
    assert person.failed_login_count == 5
    assert person.locked_until is None  # the lock is on this address, not on the account everywhere
    lockout = audits("auth.lockout", actor=person).get()
    assert lockout.changes["scope"] == "address" and lockout.ip == "10.1.1.1"
    until = dt.datetime.fromisoformat(lockout.changes["locked_until"])
    assert 14 < (until - timezone.now()).total_seconds() / 60 <= 15
    shown = timezone.localtime(until).strftime("%Y-%m-%d %H:%M")
    assert f"连续 5 次登录失败，账号已锁定至 {shown}（仅限本网络地址）" in fifth.content.decode()

    right = login(client, "zhangwei")
    assert right.status_code == 403
    assert f"账号已锁定（仅限本网络地址），请于 {shown} 之后再试。" in right.content.decode()
    assert "_auth_user_id" not in client.session
    assert audits("auth.login_failed", actor=person, changes__reason="locked").count() == 1
    assert not audits("auth.login", actor=person).exists()


def _lock_from(client, username: str, ip: str, times: int = 5) -> None:
    for n in range(times):
        login(client, username, f"Wrong#pass{n}", ip=ip)


def test_lock_expires_after_fifteen_minutes(client, cast, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    _lock_from(client, "zhangwei", "10.1.1.1")
    time_machine.shift(dt.timedelta(minutes=14, seconds=59))
    assert login(client, "zhangwei").status_code == 403
    time_machine.shift(dt.timedelta(seconds=2))
    assert login(client, "zhangwei").status_code == 302
    person = cast.zhangwei
    person.refresh_from_db()
    assert person.failed_login_count == 0 and person.locked_until is None


def test_counter_restarts_after_an_expired_lock_and_resets_on_success(client, cast, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    _lock_from(client, "zhangwei", "10.1.1.1")
    time_machine.shift(dt.timedelta(minutes=16))
    # A new count: one typo after the lock is not another lock.
    assert "用户名或密码错误。" in login(client, "zhangwei", "Wrong#pass1").content.decode()
    assert login(client, "zhangwei").status_code == 302
    person = cast.zhangwei
    person.refresh_from_db()
    assert person.failed_login_count == 0
    client.post(reverse("logout"))
    for n in range(4):  # success emptied the counter: four more failures do not lock
        assert login(client, "zhangwei", f"Wrong#again{n}").status_code == 200
    assert login(client, "zhangwei").status_code == 302


def test_per_ip_throttle_answers_429(client, cast, settings):
    settings.OA_IP_THROTTLE_FAILURES = 4
    for n in range(4):  # unknown usernames count for the address too
        login(client, f"ghost{n}", "Wrong#pass1", ip="10.9.9.9")
    blocked = login(client, "zhangwei", ip="10.9.9.9")
    assert blocked.status_code == 429
    assert "该网络地址登录失败次数过多，已暂停登录，请 15 分钟后再试。" in blocked.content.decode()
    assert "_auth_user_id" not in client.session
    throttled = audits("auth.ip_throttled").get()
    assert throttled.ip == "10.9.9.9" and throttled.changes == {"username": "zhangwei"}
    # A throttled attempt does not touch the account's counter, and another address is not affected.
    assert cast.zhangwei.failed_login_count == 0
    assert login(client, "zhangwei", ip="10.9.9.10").status_code == 302


def _answers(client, username: str, ip: str, attempts: int) -> list[tuple[int, str]]:
    """(status, message) of each attempt; the messages carry times, so the clock must stand still."""
    out = []
    for n in range(attempts):
        response = login(client, username, f"Wrong#pass{n}", ip=ip)
        out.append((response.status_code, response.context["error"]))
    return out


def test_unknown_names_and_wrong_passwords_get_identical_answers_throughout(client, cast, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    real = _answers(client, "zhangwei", "10.5.0.1", 7)
    ghost = _answers(client, "no_such_person", "10.5.0.2", 7)
    assert real == ghost  # the same message and status at every step, the lock included
    assert [status for status, _ in real] == [200] * 4 + [403] * 3


def test_the_password_hasher_runs_for_unknown_names_too(client, cast, monkeypatch):
    from django.contrib.auth.hashers import get_hasher

    hasher_class = type(get_hasher())
    calls = []
    original = hasher_class.encode
    monkeypatch.setattr(hasher_class, "encode", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    login(client, "zhangwei", "Wrong#pass1")
    known = len(calls)
    login(client, "no_such_person", "Wrong#pass1")
    assert known >= 1 and len(calls) - known == known


def test_a_stranger_locking_a_name_from_his_address_does_not_lock_its_owner(client, cast):
    _lock_from(client, "zhangwei", "10.66.0.1")
    assert login(client, "zhangwei", ip="10.66.0.1").status_code == 403
    assert login(client, "zhangwei", ip="10.1.1.1").status_code == 302
    # Case does not make a fresh name: LDAP would accept ZhangWei for zhangwei.
    assert login(client, "ZhangWei", "Wrong#x1", ip="10.66.0.1").status_code == 403


def test_the_account_wide_limit_stops_guessing_from_many_addresses(client, cast, settings, time_machine):
    settings.OA_ACCOUNT_LOCKOUT_THRESHOLD, settings.OA_ACCOUNT_LOCKOUT_MINUTES = 8, 60
    time_machine.move_to(timezone.now(), tick=False)
    assert login(client, "zhangwei", ip="10.1.1.1").status_code == 302  # the owner's own desk
    client.post(reverse("logout"))
    ghost = []
    for n, ip in enumerate(["10.8.0.1", "10.8.0.2", "10.8.0.3", "10.8.0.4"]):
        answers = _answers(client, "zhangwei", ip, 2)
        ghost += _answers(client, "no_such_person", ip.replace("10.8", "10.9"), 2)
        assert [status for status, _ in answers] == ([200, 200] if n < 3 else [200, 403])
    assert answers == ghost[-2:]  # an unknown name is locked the same way
    person = cast.zhangwei
    assert 59 < (person.locked_until - timezone.now()).total_seconds() / 60 <= 60
    assert audits("auth.lockout", actor=person, changes__scope="account").count() == 1
    # A fresh address meets the lock even with the right password; the owner's known address does not.
    refused = login(client, "zhangwei", ip="10.8.0.9")
    assert refused.status_code == 403 and "该账号登录失败次数过多，已暂停登录至" in refused.context["error"]
    assert login(client, "zhangwei", ip="10.1.1.1").status_code == 302
    client.post(reverse("logout"))
    # Her login lifted it; a new round from many addresses must start over.
    assert login(client, "zhangwei", ip="10.8.0.9").status_code == 302


def test_the_account_wide_lock_runs_out(client, cast, settings, time_machine):
    settings.OA_ACCOUNT_LOCKOUT_THRESHOLD, settings.OA_ACCOUNT_LOCKOUT_MINUTES = 4, 60
    time_machine.move_to(timezone.now(), tick=False)
    for ip in ("10.8.1.1", "10.8.1.2"):
        _lock_from(client, "zhangwei", ip, times=2)
    assert login(client, "zhangwei", ip="10.8.1.3").status_code == 403
    time_machine.shift(dt.timedelta(minutes=61))
    assert login(client, "zhangwei", ip="10.8.1.3").status_code == 302


def test_forwarded_for_is_used_only_behind_a_configured_proxy(client, cast, settings):
    login(client, "zhangwei", ip="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert audits("auth.login").latest("id").ip == "10.0.0.1"
    client.post(reverse("logout"))
    settings.OA_TRUSTED_PROXIES = ("10.0.0.1",)  # OA_BEHIND_PROXY=10.0.0.1
    login(client, "zhangwei", ip="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7, 10.0.0.1")
    assert audits("auth.login").latest("id").ip == "203.0.113.7"


def test_next_is_followed_only_within_the_site(client, cast):
    ok = client.post(
        f"{LOGIN}?next=/directory/", {"username": "zhangwei", "password": DEMO_PASSWORD}, REMOTE_ADDR="10.1.1.1"
    )
    assert ok["Location"] == "/directory/"
    client.post(reverse("logout"))
    evil = client.post(
        f"{LOGIN}?next=https://evil.example/", {"username": "zhangwei", "password": DEMO_PASSWORD}
    )
    assert evil["Location"] == reverse("home")


def test_login_form_errors_are_chinese(client):
    response = client.post(LOGIN, {"username": "", "password": ""})
    html = response.content.decode()
    assert "请输入用户名。" in html and "请输入密码。" in html


def test_logout_is_post_only_and_audited(client, cast):
    login(client, "zhangwei")
    confirm = client.get(reverse("logout"))
    assert confirm.status_code == 200 and "退出登录" in confirm.content.decode()
    assert "_auth_user_id" in client.session
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert audits("auth.logout", actor=cast.zhangwei).count() == 1
    assert client.get(reverse("home")).status_code == 302


# --- idle timeout ----------------------------------------------------------------------------------------------


def test_idle_session_is_logged_out_after_thirty_minutes(client, cast):
    login(client, "zhangwei")
    session = client.session
    session[SESSION_LAST_SEEN] = time.time() - 29 * 60
    session.save()
    assert client.get(reverse("home")).status_code == 200  # still inside the window; refreshed

    session = client.session
    session[SESSION_LAST_SEEN] = time.time() - 31 * 60
    session.save()
    response = client.get(reverse("directory"))
    assert response.status_code == 302 and response["Location"] == f"{reverse('login')}?timeout=1"
    entry = audits("auth.idle_logout", actor=cast.zhangwei).get()
    assert entry.changes == {"idle_minutes": 30}
    assert "_auth_user_id" not in client.session
    page = client.get(response["Location"])
    assert "您已超过 30 分钟未操作，为保障安全已自动退出，请重新登录。" in page.content.decode()


def test_idle_timeout_is_configurable(client, cast, settings):
    settings.OA_IDLE_TIMEOUT_MINUTES = 5
    login(client, "zhangwei")
    session = client.session
    session[SESSION_LAST_SEEN] = time.time() - 6 * 60
    session.save()
    assert client.get(reverse("home")).status_code == 302
    assert audits("auth.idle_logout").count() == 1


# --- forced password change --------------------------------------------------------------------------------------


def test_forced_password_change_before_anything_else(client, cast):
    person = cast.zhangwei
    person.must_change_password = True
    person.save()
    response = login(client, "zhangwei")
    assert response["Location"] == reverse("password_change_forced")
    for name in ("home", "directory", "profile"):
        assert client.get(reverse(name))["Location"] == reverse("password_change_forced")
    assert client.get(reverse("password_change"))["Location"] == reverse("password_change_forced")

    page = client.get(reverse("password_change_forced"))
    assert page.status_code == 200 and "请先修改初始密码" in page.content.decode()
    weak = client.post(reverse("password_change_forced"), {"new_password1": "abc", "new_password2": "abc"})
    assert "密码长度不足：至少需要 8 个字符。" in weak.content.decode()
    same = client.post(
        reverse("password_change_forced"), {"new_password1": DEMO_PASSWORD, "new_password2": DEMO_PASSWORD}
    )
    assert "不能使用最近 5 次用过的密码。" in same.content.decode()

    done = client.post(
        reverse("password_change_forced"), {"new_password1": "Qz7!harbour", "new_password2": "Qz7!harbour"}
    )
    assert done.status_code == 302 and done["Location"] == reverse("home")
    person.refresh_from_db()
    assert not person.must_change_password and person.check_password("Qz7!harbour")
    assert PasswordHistory.objects.filter(person=person).count() == 1
    assert audits("auth.password_change", actor=person).get().changes == {"forced": True}
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("password_change_forced"))["Location"] == reverse("home")


def test_forced_change_comes_before_2fa(client, cast):
    person = cast.wangfang
    person.must_change_password = True
    person.save()
    assert login(client, "wangfang")["Location"] == reverse("password_change_forced")
    assert client.get(reverse("otp_setup"))["Location"] == reverse("password_change_forced")
    done = client.post(
        reverse("password_change_forced"), {"new_password1": "Qz7!harbour", "new_password2": "Qz7!harbour"}
    )
    assert done["Location"] == reverse("otp_setup")


# --- TOTP second factor ------------------------------------------------------------------------------------------


def test_signer_must_enrol_and_verify_totp_and_replay_is_refused(client, cast):
    wangfang = cast.wangfang
    response = login(client, "wangfang")
    assert response["Location"] == reverse("otp_setup")
    assert audits("auth.login", actor=wangfang).count() == 1
    for name in ("home", "directory", "profile", "audit"):
        assert client.get(reverse(name))["Location"] == reverse("otp_setup")
    assert client.get(reverse("password_change"))["Location"] == reverse("otp_setup")
    assert client.get(reverse("otp_verify"))["Location"] == reverse("otp_setup")

    page = client.get(reverse("otp_setup"))
    html = page.content.decode()
    assert page.status_code == 200 and "绑定动态验证码" in html and reverse("otp_setup_qr") in html
    device = TOTPDevice.objects.get(user=wangfang, confirmed=False)
    qr = client.get(reverse("otp_setup_qr"))
    assert qr.status_code == 200 and qr["Content-Type"] == "image/png"
    assert qr.content.startswith(b"\x89PNG\r\n\x1a\n") and "no-store" in qr["Cache-Control"]

    bad = client.post(reverse("otp_setup"), {"code": "12345"})
    assert "验证码应为 6 位数字。" in bad.content.decode()
    now = time.time()
    wrong = f"{(int(totp_token(device, now)) + 1) % 1_000_000:06d}"
    assert "验证码不正确或已使用过" in client.post(reverse("otp_setup"), {"code": wrong}).content.decode()
    assert audits("auth.otp_failed", actor=wangfang, changes__stage="enrol").count() == 1
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)

    first = totp_token(device, now)
    enrolled = client.post(reverse("otp_setup"), {"code": first})
    assert enrolled.status_code == 302 and enrolled["Location"] == reverse("home")
    device.refresh_from_db()
    assert device.confirmed
    assert audits("auth.otp_enrol", actor=wangfang).count() == 1
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("otp_setup_qr")).status_code == 404  # the secret is not shown again

    # Next login: the second step is the verify page; the enrolment code cannot be replayed.
    client.post(reverse("logout"))
    assert login(client, "wangfang")["Location"] == reverse("otp_verify")
    assert client.get(reverse("home"))["Location"] == reverse("otp_verify")
    assert client.get(reverse("otp_setup"))["Location"] == reverse("otp_verify")
    replay = client.post(reverse("otp_verify"), {"code": first})
    assert replay.status_code == 200 and "验证码不正确或已使用过" in replay.content.decode()
    assert client.get(reverse("home"))["Location"] == reverse("otp_verify")
    assert audits("auth.otp_failed", actor=wangfang, changes__stage="verify").count() == 1

    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    device.refresh_from_db()
    second = totp_token(device, now + device.step)
    verified = client.post(reverse("otp_verify"), {"code": second})
    assert verified.status_code == 302 and verified["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200
    assert audits("auth.otp_verify", actor=wangfang).count() == 1

    client.post(reverse("logout"))
    login(client, "wangfang")
    again = client.post(reverse("otp_verify"), {"code": second})
    assert "验证码不正确或已使用过" in again.content.decode()
    assert client.get(reverse("profile"))["Location"] == reverse("otp_verify")
    for entry in AuditEntry.objects.filter(action__startswith="auth.otp"):
        assert first not in str(entry.changes) and second not in str(entry.changes)


def test_repeated_wrong_codes_are_throttled(client, cast):
    wangfang = cast.wangfang
    device = TOTPDevice.objects.create(user=wangfang, name="手机令牌", confirmed=True)
    login(client, "wangfang")
    wrong = f"{(int(totp_token(device)) + 1) % 1_000_000:06d}"
    client.post(reverse("otp_verify"), {"code": wrong})
    throttled = client.post(reverse("otp_verify"), {"code": totp_token(device)})
    assert "验证码错误次数过多，请稍候片刻再试。" in throttled.content.decode()
    reasons = list(audits("auth.otp_failed", actor=wangfang).values_list("changes__reason", flat=True))
    assert reasons == ["bad_code", "throttled"]


@pytest.mark.parametrize("username", ["wangfang", "zhoumin", "chenzhiqiang", "sunhao"])
def test_two_factor_roles_are_sent_to_setup(client, cast, username):
    assert login(client, username)["Location"] == reverse("otp_setup")


@pytest.mark.parametrize("username", ["zhangwei", "lina"])
def test_drafter_and_reviewer_need_no_second_factor(client, cast, username):
    assert login(client, username)["Location"] == reverse("home")
    assert client.get(reverse("otp_setup"))["Location"] == reverse("home")
    assert client.get(reverse("otp_verify"))["Location"] == reverse("home")


def test_every_auth_event_is_in_the_audit_log(client, cast, settings):
    """One pass through all events; each action name appears with the right actor."""
    settings.OA_IP_THROTTLE_FAILURES = 30
    login(client, "lina", "Wrong#pass1")
    for _ in range(4):
        login(client, "lina", "Wrong#pass1")
    cast_lina = cast.lina
    login(client, "lina", ip="10.1.1.2")  # the lock is on 10.1.1.1 only
    client.post(reverse("logout"))
    check_change_password(None, cast_lina, "Qz7!harbour")
    actions = set(AuditEntry.objects.filter(actor=cast_lina).values_list("action", flat=True))
    assert {"auth.login_failed", "auth.lockout", "auth.login", "auth.password_change", "auth.logout"} <= actions
