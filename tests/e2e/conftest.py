"""The e2e server: the real ASGI app (HTTP and the /ws/events/ websocket) under uvicorn, in a thread of the test
process so it shares the test database. pytest-django's live_server speaks WSGI only, and every signed-in page
opens the events websocket. Static files come from STATIC_ROOT through whitenoise, as in production.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connections

from tests.e2e.test_login_e2e import CHROMIUM, RESULTS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def asgi_server(demo_tx):
    if not shutil.which(CHROMIUM):
        pytest.skip("需要 Debian chromium（apt-get install chromium）")
    import uvicorn
    from channels.layers import channel_layers

    call_command("collectstatic", "--noinput", verbosity=0)
    from oa.asgi import application

    # Each request/consumer call then closes its connection, so none outlives the test (flush, DROP DATABASE).
    db = connections.settings["default"]
    max_age, db["CONN_MAX_AGE"] = db.get("CONN_MAX_AGE", 0), 0
    # A fresh channel layer for this server's event loop: channels_redis binds a layer's receive to the loop
    # that first used it, and an earlier test's loop in this worker would make every consumer here fail
    # ("Two event loops are trying to receive() on one channel layer at once!").
    channel_layers.backends.clear()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            application,
            host="127.0.0.1",
            port=port,
            lifespan="off",
            ws="websockets-sansio",
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn 未能启动"
        time.sleep(0.05)
    RESULTS.mkdir(exist_ok=True)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        channel_layers.backends.clear()
        db["CONN_MAX_AGE"] = max_age
