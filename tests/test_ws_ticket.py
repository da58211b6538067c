"""Websocket tickets: POST /api/ws-ticket trades a bearer token (or the session) for a single-use, one-minute
ticket; /ws/events/?ticket= admits once. The bearer token itself never goes into a URL (access logs)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from channels.db import database_sync_to_async
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from oa.actions.tokens import (
    WS_TICKET_SECONDS,
    claim_ws_ticket,
    do_issue_token,
    do_issue_ws_ticket,
    do_revoke_token,
)
from oa.models import ApiToken, Person
from tests.test_ws import (  # noqa: F401 - layer and people are fixtures
    ORIGIN,
    closed_with,
    hello,
    issue_token,
    layer,
    open_socket,
    people,
    ws_ticket,
)

TICKET = "/api/ws-ticket"


# --- issuing (HTTP) ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_bearer_token_gets_a_one_minute_ticket(cast):
    from tests.test_inbox import api

    before = timezone.now()
    response = api(cast.lina).post(TICKET)
    assert response.status_code == 201
    body = response.json()
    assert body["ticket"].startswith("wst_") and len(body["ticket"]) > 40
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert before + dt.timedelta(seconds=WS_TICKET_SECONDS - 1) <= expires <= timezone.now() + dt.timedelta(
        seconds=WS_TICKET_SECONDS
    )
    assert body["ticket"] not in str(ApiToken.objects.values_list())  # nothing of it in the database


@pytest.mark.django_db
def test_ticket_needs_a_login_and_a_session_needs_csrf(cast):
    anonymous = Client().post(TICKET)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "not_authenticated"
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(cast.lina)
    refused = browser.post(TICKET)
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    browser.get("/")  # sets the CSRF cookie
    csrf = browser.cookies[django_settings.CSRF_COOKIE_NAME].value
    assert browser.post(TICKET, content_type="application/json", HTTP_X_CSRFTOKEN=csrf).status_code == 201


@pytest.mark.django_db
def test_only_one_of_racing_claims_gets_the_ticket(cast):
    raw, _ = do_issue_ws_ticket(cast.lina)
    barrier = threading.Barrier(8)
    won = []

    def claim():
        barrier.wait()
        if claim_ws_ticket(raw) is not None:
            won.append(1)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert won == [1]
    assert claim_ws_ticket(raw) is None


# --- redeeming (websocket) ---------------------------------------------------------------------------------

pytestmark_ws = pytest.mark.django_db(transaction=True)


@pytestmark_ws
async def test_a_ticket_opens_one_socket_only(layer, people):  # noqa: F811
    lina = people["lina"]
    raw, _ = await issue_token(lina)
    ticket = await ws_ticket(raw)
    comm, connected = await open_socket(f"?ticket={ticket}")
    assert connected
    _, synced = await hello(comm, None)
    assert synced["type"] == "synced"
    again, connected = await open_socket(f"?ticket={ticket}")  # replayed, e.g. from an access log
    assert connected and await closed_with(again) == 4401
    await comm.disconnect()


@pytestmark_ws
async def test_bad_tickets_are_closed_with_4401(layer, people):  # noqa: F811
    lina = people["lina"]

    @database_sync_to_async
    def ticket_for(case: str) -> str:
        _, token = do_issue_token(lina, name="测试手机")
        if case == "expired":
            # Issued WS_TICKET_SECONDS + 1 s ago (a controlled clock; nothing sleeps).
            past = timezone.now() - dt.timedelta(seconds=WS_TICKET_SECONDS + 1)
            with time_machine.travel(past, tick=False):
                return do_issue_ws_ticket(lina)[0]
        ticket = do_issue_ws_ticket(lina, token=token)[0]
        if case == "revoked_token":
            do_revoke_token(actor=lina, token=token)
        elif case == "expired_token":
            ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
        elif case == "disabled_person":
            Person.objects.filter(pk=lina.pk).update(is_active=False)
        return ticket

    for case, query in [
        ("unknown", "?ticket=wst_" + "x" * 43),
        ("empty", "?ticket="),
        ("expired", None),
        ("revoked_token", None),
        ("expired_token", None),
        ("disabled_person", None),
    ]:
        comm, connected = await open_socket(query or f"?ticket={await ticket_for(case)}")
        assert connected, case  # accepted, then closed: a browser sees the code only after the handshake
        assert await closed_with(comm) == 4401, case


@pytestmark_ws
async def test_a_session_ticket_dies_with_the_session_and_a_forced_password_change_is_4403(layer, people):  # noqa: F811
    lina = people["lina"]

    @database_sync_to_async
    def session_ticket(logout: bool) -> str:
        browser = Client()
        browser.force_login(lina)
        ticket = do_issue_ws_ticket(lina, session_key=browser.session.session_key)[0]
        if logout:
            browser.logout()
        return ticket

    comm, connected = await open_socket(f"?ticket={await session_ticket(logout=True)}")
    assert connected and await closed_with(comm) == 4401

    @database_sync_to_async
    def force_password_change():
        Person.objects.filter(pk=lina.pk).update(must_change_password=True)

    ticket = await session_ticket(logout=False)
    await force_password_change()
    comm, connected = await open_socket(f"?ticket={ticket}", headers=[ORIGIN])
    assert connected and await closed_with(comm) == 4403
