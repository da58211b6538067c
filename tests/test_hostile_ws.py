"""Hostile websocket frames (issue 11 point 4): /ws/events/ answers every frame it cannot use with an error frame
(`bad_frame`: not JSON, too deep, too large, binary; `bad_message`: JSON but not an object) and stays open.
Protocol: docs/events.md; corpus: docs/security.md.
"""

# ruff: noqa: F811  (fixtures imported from tests.test_ws are parameters here)
from __future__ import annotations

import asyncio
import gc
import json
import re
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oa.models import Person
from oa.realtime.consumers import MAX_FRAME_BYTES, EventsConsumer
from tests.test_hostile_json import hostile_text, values
from tests.test_ws import TIMEOUT, hello, layer, people, session_socket  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)

DOCS = Path(__file__).resolve().parent.parent / "docs"
DEEP = "[" * 100_000


async def still_open(comm) -> None:
    """The socket answers a hello after the bad frame: it was neither closed nor left wedged."""
    _, synced = await hello(comm, None)
    assert synced["type"] == "synced"


async def error_code(comm) -> str:
    message = await comm.receive_json_from(timeout=TIMEOUT)
    assert message["type"] == "error" and re.search(r"[\u4e00-\u9fff]", message["message"]), message
    return message["code"]


async def test_hostile_frames_get_an_error_frame_and_the_socket_stays_open(layer, people):
    comm = await session_socket(people["lina"])
    frames = [
        (dict(text_data=DEEP), "bad_frame"),
        (dict(text_data='{"type": "hello", "x": ' + "[" * 40 + "]" * 40 + "}"), "bad_frame"),
        (dict(text_data='{"type": "read", "ids": [' + "1," * MAX_FRAME_BYTES + "1]}"), "bad_frame"),
        (dict(text_data='{"type": "hello", "last_event_id": NaN}'), "bad_frame"),
        (dict(text_data='{"type": "read", "ids": ["\\ud800"]}'), "bad_frame"),
        (dict(text_data="not json"), "bad_frame"),
        (dict(bytes_data=b'{"type": "hello"}'), "bad_frame"),
        (dict(text_data="[1, 2]"), "bad_message"),
    ]
    for frame, code in frames:
        await comm.send_to(**frame)
        assert await error_code(comm) == code, frame
    await still_open(comm)
    await comm.disconnect()


# ---- fuzz ------------------------------------------------------------------------------------------------


@pytest.fixture
async def memory_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    yield
    await database_sync_to_async(connections.close_all)()
    await asyncio.get_running_loop().shutdown_default_executor()
    gc.collect()


@pytest.fixture
async def person(memory_layer) -> Person:
    return await database_sync_to_async(Person.objects.create_user)(
        username="fuzz", password="Fuzz-unused-2026", name="模糊测试")


def documented_ws_codes() -> set[str]:
    text = (DOCS / "events.md").read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if '"type": "error"' in line)
    return set(re.findall(r'"([a-z_]+)"', line)) - {"type", "error", "code", "message"}


# As the ASGI server hands frames over ({"text": …} or {"bytes": …}); the communicator's send_to refuses "".
frames = st.one_of(
    hostile_text.map(lambda t: {"text": t}),
    values.map(lambda v: {"text": json.dumps(v, ensure_ascii=False)}),
    st.fixed_dictionaries({"type": st.sampled_from(["hello", "read", "ack", "bye"]) | values}, optional={
        "last_event_id": values | st.integers(min_value=-(10**30), max_value=10**30),
        "ids": values | st.lists(st.integers(min_value=-(10**30), max_value=10**30), max_size=5),
        "all": values}).map(lambda d: {"text": json.dumps(d, ensure_ascii=False)}),
    st.binary(max_size=100).map(lambda b: {"bytes": b}),
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=frames)
async def test_fuzz_websocket_frames(person, frame):
    codes = documented_ws_codes()
    comm = WebsocketCommunicator(EventsConsumer.as_asgi(), "/ws/events/")
    comm.scope["user"] = person  # authentication is not under test here (tests/test_ws.py covers it)
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected
    try:
        await comm.send_input({"type": "websocket.receive", **frame})
        await comm.send_json_to({"type": "hello", "last_event_id": None})
        while True:  # whatever the frame caused, then the answer to our hello: never a close
            message = await comm.receive_output(timeout=TIMEOUT)
            assert message["type"] == "websocket.send", message
            body = json.loads(message["text"])
            if body["type"] == "error":
                assert body["code"] in codes and re.search(r"[\u4e00-\u9fff]", body["message"]), body
            if body["type"] == "synced" and body["last_event_id"] is not None:
                break
    finally:
        await comm.disconnect()
