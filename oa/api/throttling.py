"""API throttles keyed on oa.http.client_ip. DRF's own get_ident takes the whole X-Forwarded-For header as the
identity whenever one is present, so a client could pick a new identity per request by sending its own."""

from __future__ import annotations

from rest_framework import throttling

from oa.http import client_ip


class UserRateThrottle(throttling.UserRateThrottle):
    """Per signed-in user; per client address (as the audit log records it) for anonymous requests."""

    def get_ident(self, request) -> str:
        return client_ip(request._request) or "unknown"
