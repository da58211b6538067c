"""No one reads another person's TOTP secret after enrolment: not an administrator in the admin, not through the
API, not the owner either once the device is confirmed. Lost phones are handled by 重置二次验证 (audited)."""

from __future__ import annotations

import base64

import pytest
from django.urls import NoReverseMatch, reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from oa.models import AuditEntry
from tests.clients import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrolled(cast):
    """王芳 has a confirmed authenticator; its secret in the two spellings a page could leak (hex, base32)."""
    device = TOTPDevice.objects.filter(user=cast.wangfang, confirmed=True).first() or TOTPDevice.objects.create(
        user=cast.wangfang, name="王芳的手机", confirmed=True)
    secret_b32 = base64.b32encode(device.bin_key).decode()
    return device, (device.key, secret_b32, secret_b32.rstrip("="))


def assert_no_secret(text: str, secrets: tuple[str, ...], where: str) -> None:
    for secret in secrets:
        assert secret.lower() not in text.lower(), where


def test_an_administrator_cannot_see_the_secret_in_the_admin(cast, enrolled):
    device, secrets = enrolled
    admin = login(cast.oaroot, otp=True)
    base = "/admin/otp_totp/totpdevice/"
    changelist = admin.get(base)
    assert changelist.status_code == 200 and "王芳" in changelist.content.decode()
    change = admin.get(f"{base}{device.pk}/change/")
    assert change.status_code == 200  # view-only: who, which device, since when
    page = change.content.decode()
    assert "王芳的手机" in page
    assert 'name="key"' not in page and "qrcode" not in page.lower()
    for url in (base, f"{base}{device.pk}/change/", f"{base}{device.pk}/config/", f"{base}{device.pk}/qrcode/",
                f"/admin/oa/person/{cast.wangfang.pk}/change/", f"{base}{device.pk}/history/"):
        response = admin.get(url)
        assert_no_secret(response.content.decode(errors="replace"), secrets, url)
    # The stock admin's QR code and config pages are gone with it.
    for name in ("admin:otp_totp_totpdevice_config", "admin:otp_totp_totpdevice_qrcode"):
        with pytest.raises(NoReverseMatch):
            reverse(name, kwargs={"pk": device.pk})
    # Nor can one be added with a secret the administrator chooses, or an existing one edited.
    assert admin.get(f"{base}add/").status_code == 403
    assert admin.post(f"{base}{device.pk}/change/", {"key": "00" * 20, "user": cast.wangfang.pk,
                                                     "name": "x"}).status_code in {302, 403}
    device.refresh_from_db()
    assert (device.key, device.name) == (secrets[0], "王芳的手机")


def test_no_api_serves_the_secret(cast, enrolled):
    _, secrets = enrolled
    admin = login(cast.oaroot, otp=True)
    for url in ("/api/me", "/api/work", "/api/notifications", "/api/tiles", "/api/schema/"):
        response = admin.get(url)
        assert response.status_code == 200, url
        assert_no_secret(response.content.decode(), secrets, url)
    schema = admin.get("/api/schema/").content.decode().lower()
    assert "totp" not in schema and "otp_device" not in schema  # no endpoint deals in devices at all


def test_the_owner_cannot_read_it_again_after_enrolment(cast, enrolled):
    _, secrets = enrolled
    wangfang = login(cast.wangfang, otp=True)
    assert wangfang.get("/accounts/otp/setup/qr.png").status_code == 404
    setup = wangfang.get("/accounts/otp/setup/")
    assert setup.status_code == 302
    assert_no_secret(setup.content.decode(), secrets, "otp_setup")
    assert_no_secret(wangfang.get("/profile/").content.decode(), secrets, "profile")


def test_reset_two_factor_from_the_person_admin_is_audited_and_ends_verification(cast, enrolled):
    wangfang = login(cast.wangfang, otp=True)
    assert wangfang.get("/").status_code == 200
    admin = login(cast.oaroot, otp=True)
    done = admin.post("/admin/oa/person/", {"action": "reset_two_factor", "_selected_action": [cast.wangfang.pk]},
                      follow=True)
    assert done.status_code == 200 and "已重置二次验证" in done.content.decode()
    assert not TOTPDevice.objects.filter(user=cast.wangfang).exists()
    entry = AuditEntry.objects.filter(action="auth.otp_reset").latest("pk")
    assert (entry.actor, entry.object_id, entry.changes) == (cast.oaroot, str(cast.wangfang.pk),
                                                               {"devices": 1, "via": "admin"})
    # Her session was verified with the deleted device: the next page sends her to enrol a new one.
    response = wangfang.get("/")
    assert response.status_code == 302 and "/accounts/otp/" in response["Location"]


def test_reset_from_the_device_list(cast, enrolled):
    device, _ = enrolled
    admin = login(cast.oaroot, otp=True)
    admin.post("/admin/otp_totp/totpdevice/", {"action": "reset", "_selected_action": [device.pk]})
    assert not TOTPDevice.objects.filter(user=cast.wangfang).exists()
    assert AuditEntry.objects.filter(action="auth.otp_reset", actor=cast.oaroot).count() == 1
