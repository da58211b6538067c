"""A real Janus for the video tests, started once per session on loopback (tests/video/janus_server.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from janus_server import ADMIN_KEY, API_SECRET, TOKEN_SECRET, JanusServer, available


@pytest.fixture(scope="session")
def janus_server(tmp_path_factory):
    if not available():
        pytest.skip("未安装 janus（make debs 会安装 Debian 包 janus），跳过真实 Janus 测试")
    server = JanusServer(tmp_path_factory.mktemp("janus"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def janus(janus_server):
    from integrations.video.janus import JanusProvider, JanusSettings

    return JanusProvider(
        JanusSettings(
            url=janus_server.url, public_url=janus_server.url, api_secret=API_SECRET,
            token_secret=TOKEN_SECRET, admin_key=ADMIN_KEY, timeout=5,
        )
    )
