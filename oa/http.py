"""Small request helpers shared by views and actions."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from oa.proxies import client_address


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, unless that is one of our proxies (OA_BEHIND_PROXY); then the
    rightmost X-Forwarded-For hop that is not one of them (oa/proxies.py). The throttles and the audit log use
    this, so a client cannot choose the address it is counted and recorded under."""
    return client_address(
        request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR", ""), settings.OA_TRUSTED_PROXIES
    )


# An authentication backend that could not reach its directory (integrations.ldap) marks the request with its
# Chinese message, so the login refuses with 503 and counts no failure. Here, so the core names no backend.
BACKEND_UNAVAILABLE_ATTR = "ldap_error"


def backend_unavailable(request: HttpRequest | None) -> str | None:
    return getattr(request, BACKEND_UNAVAILABLE_ATTR, None) if request is not None else None
