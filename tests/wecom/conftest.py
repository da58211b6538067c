"""The WeCom-compatible test server (tests/wecom_server.py) and settings pointing the adapter at it."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.wecom_server import WecomTestServer

CORP_ID = "wwtestcorp0001"
SECRET = "test-secret-0001"
PUBLIC = "https://oa.example.gov.cn"


@pytest.fixture
def wecom_server():
    server = WecomTestServer(corp_id=CORP_ID, secret=SECRET).start()
    server.state.departments = [{"id": 1, "name": "揭东区", "parentid": 0}, {"id": 2, "name": "区政府办", "parentid": 1}]
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def wecom(wecom_server, settings):
    """Adapter on, pointed at the test server; the platform channel registered with oa.events.

    The on-commit kick is off so each test drives delivery itself with do_deliver_due_outbox()."""
    from integrations.wecom.channel import PLATFORM_CHANNEL, ensure_registered
    from oa.events import unregister_channel

    settings.OA_WECOM_BASE_URL = wecom_server.url
    settings.OA_WECOM_OAUTH_URL = f"{wecom_server.url}/connect/oauth2/authorize"
    settings.OA_WECOM_CORP_ID = CORP_ID
    settings.OA_WECOM_AGENT_ID = "1000002"
    settings.OA_WECOM_SECRET = SECRET
    settings.OA_WECOM_TOKEN = "QDG6eK"
    settings.OA_WECOM_AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
    settings.OA_WECOM_TIMEOUT = 2
    settings.OA_PUBLIC_BASE_URL = PUBLIC
    settings.OA_OUTBOX_KICK = False
    ensure_registered()
    try:
        yield wecom_server
    finally:
        unregister_channel(PLATFORM_CHANNEL.name)


@pytest.fixture
def make_due():
    """Pretend the backoff has run out: every waiting outbox row becomes due now."""
    from oa.models import OutboxMessage

    def due() -> int:
        return OutboxMessage.objects.exclude(state__in=["sent", "dead"]).update(next_attempt_at=timezone.now())

    return due
