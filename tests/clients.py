"""Test browsers for the demo cast: logged in, and with the 2FA step passed when a page demands it."""

from __future__ import annotations

from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice


def pass_two_factor(client: Client, person) -> Client:
    """Mark the session as verified with a TOTP device (what oa.views.auth.otp_verify does; see test_auth)."""
    device = TOTPDevice.objects.filter(user=person, confirmed=True).first() or TOTPDevice.objects.create(
        user=person, name="手机", confirmed=True)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    return client


def login(person, *, otp: bool = False, client: Client | None = None) -> Client:
    client = client or Client()
    client.force_login(person)
    return pass_two_factor(client, person) if otp else client


def totp_code(person) -> str:
    """A 动态口令 the person's confirmed device accepts now, as their authenticator app would show it (签发确认).
    A code whose time step was already used is refused (replay), so a second call within the same 30 seconds
    gives the next step's code, which the device still accepts (tolerance of one step)."""
    import time

    from django_otp.oath import TOTP

    device = TOTPDevice.objects.filter(user=person, confirmed=True).order_by("pk").first() or TOTPDevice.objects.create(
        user=person, name="手机", confirmed=True)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    now = totp.t()
    wanted = max(now, (device.last_t if device.last_t is not None else -1) + 1)
    assert wanted <= now + device.tolerance, "同一验证器在两个时间步内用了太多次动态口令"
    totp.time = device.t0 + wanted * device.step
    return f"{totp.token():0{device.digits}d}"
