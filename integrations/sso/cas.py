"""HTTP session for django-cas-ng's client (python-cas calls the CAS server without a timeout of its own).

Imported by oa/settings.py (CAS_SESSION_FACTORY), so it imports nothing from Django.
"""

from __future__ import annotations

import os

import requests


class TimeoutSession(requests.Session):
    """A requests session whose every call has a timeout (OA_CAS_TIMEOUT seconds; the connect part at most 3)."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def request(self, method, url, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", (min(3.0, self.timeout), self.timeout))
        return super().request(method, url, **kwargs)


def timeout_session() -> TimeoutSession:
    from django.conf import settings

    return TimeoutSession(float(getattr(settings, "OA_CAS_TIMEOUT", 0) or os.environ.get("OA_CAS_TIMEOUT") or 5))
