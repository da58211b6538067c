"""Which security step a signed-in user must pass before using the system."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from oa.models import AuditEntry, Person
from oa.selectors.directory import requires_two_factor


def has_confirmed_device(person: Person) -> bool:
    return TOTPDevice.objects.filter(user=person, confirmed=True).exists()


def login_gate(person: Person, *, otp_verified: bool) -> str | None:
    """URL name of the page the user must go through first, or None when the session is fully admitted."""
    if person.must_change_password:
        return "password_change_forced"
    if requires_two_factor(person) and not otp_verified:
        return "otp_verify" if has_confirmed_device(person) else "otp_setup"
    return None


def confirmed_devices(person: Person) -> list[TOTPDevice]:
    return list(TOTPDevice.objects.filter(user=person, confirmed=True).order_by("pk"))


def pending_device(person: Person) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=person, confirmed=False).order_by("-pk").first()


def has_signed_in_from(person: Person, ip: str | None) -> bool:
    """Did `person` log in from this address within OA_KNOWN_ADDRESS_DAYS? Such an address is the owner's
    own: the lock over all addresses (guessing from many places) does not shut it out."""
    if not ip or settings.OA_KNOWN_ADDRESS_DAYS <= 0:
        return False
    since = timezone.now() - dt.timedelta(days=settings.OA_KNOWN_ADDRESS_DAYS)
    return AuditEntry.objects.filter(action="auth.login", actor=person, ip=ip, at__gte=since).exists()
