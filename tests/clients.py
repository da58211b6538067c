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
