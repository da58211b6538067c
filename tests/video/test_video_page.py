"""The browser join page: local scripts only, no console errors, and Chromium (fake camera and microphone)
joins the real Janus through the page's own origin (a loopback stand-in for nginx that serves the page with the
production CSP, the static files, and proxies /janus to Janus, as docs/video.md sets up production)."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from integrations.video.base import Participant
from tests.clock import without_faketime

STATIC = Path(__file__).resolve().parents[2] / "integrations" / "video" / "static"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
]
TYPES = {".js": "text/javascript", ".css": "text/css"}


def test_vendored_clients_match_the_debian_packages():
    for vendored, installed in [
        ("janus.js", "/usr/share/javascript/janus-gateway/janus.js"),
        ("adapter.js", "/usr/share/javascript/webrtc-adapter/adapter.js"),
    ]:
        if not Path(installed).exists():
            pytest.skip(f"{installed} 未安装（make debs 会安装），无法核对随附副本")
        assert (STATIC / "video" / "vendor" / vendored).read_bytes() == Path(installed).read_bytes(), vendored


def test_snippet_escapes_and_embeds_only_client_config():
    page = render_to_string("video/join_snippet.html", {"video_join": {
        "server": "/janus", "room": "1", "display": "</script><b>王</b>", "isHost": True, "token": "t", "pin": "1",
        "feedId": 2, "iceServers": [],
    }})
    assert "</script><b>" not in page and "&lt;/script&gt;&lt;b&gt;王&lt;/b&gt;" in page
    assert "主持人" in page and 'src="/static/video/vendor/janus.js"' in page
    assert "<script>" not in page.replace('<script id="video-join-config" type="application/json">', "")


class _Site:
    """The page's origin: /join (the snippet under the production CSP), /static/, and /janus proxied."""

    def __init__(self, janus_url: str, html: str) -> None:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, body: bytes, content_type: str, csp: bool = False) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                if csp:
                    self.send_header("Content-Security-Policy", settings.OA_CSP)
                self.end_headers()
                self.wfile.write(body)

            def _proxy(self, body: bytes | None) -> None:
                upstream = janus_url.removesuffix("/janus") + self.path
                request = urllib.request.Request(upstream, data=body, method=self.command,
                                                 headers={"Content-Type": "application/json"})
                try:
                    with urllib.request.urlopen(request, timeout=60) as answer:
                        self._send(answer.status, answer.read(), "application/json")
                except urllib.error.HTTPError as exc:
                    self._send(exc.code, exc.read(), "application/json")

            def do_GET(self):
                if self.path == "/join":
                    self._send(200, site.html.encode(), "text/html; charset=utf-8", csp=True)
                elif self.path.startswith("/static/video/"):
                    file = (STATIC / self.path.removeprefix("/static/")).resolve()
                    if STATIC in file.parents and file.is_file():
                        self._send(200, file.read_bytes(), TYPES.get(file.suffix, "application/octet-stream"))
                    else:
                        self._send(404, b"", "text/plain")
                elif self.path.startswith("/janus"):
                    self._proxy(None)
                else:
                    self._send(404, b"", "text/plain")

            def do_POST(self):
                if self.path == "/joined":  # the page's report that it entered the room (meetings: video_joined)
                    site.joined_reports.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                    return self._send(200, b'{"present": true}', "application/json")
                if not self.path.startswith("/janus"):
                    return self._send(404, b"", "text/plain")
                self._proxy(self.rfile.read(int(self.headers.get("Content-Length", 0))))

            def log_message(self, *args):
                pass

        self.html = html
        self.joined_reports: list[bytes] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.e2e
def test_chromium_joins_the_room_through_the_page(janus, janus_server):
    if not shutil.which(CHROMIUM):
        pytest.skip("需要 Debian chromium（apt-get install chromium）")
    from playwright.sync_api import sync_playwright

    room = janus.create_room("m-page", "防汛视频会商", Participant("101", "王芳"),
                             valid_until=timezone.now() + dt.timedelta(hours=2))
    info = janus.join(room, Participant("102", "张伟"))
    config = {**info.client_config(), "server": "/janus"}  # same origin, as behind nginx
    html = ('<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>视频会议</title><link rel="icon" href="data:,"></head><body>'
            + render_to_string("video/join_snippet.html", {"video_join": config, "joined_url": "/joined", "csrf_token": "t" * 64}) + "</body></html>")
    site = _Site(janus_server.url, html)
    problems: list[tuple[str, str]] = []
    outside: list[str] = []
    try:
        with without_faketime(), sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                page = browser.new_page(viewport={"width": 390, "height": 844})
                page.on("console", lambda msg: msg.type == "error" and problems.append((msg.text, msg.location["url"])))
                page.on("pageerror", lambda exc: problems.append((str(exc), "")))
                page.on("request", lambda req: req.url.startswith(site.origin) or outside.append(req.url))
                page.goto(f"{site.origin}/join")
                page.wait_for_selector('[data-video-join][data-state="joined"]', timeout=30000)
                status = page.text_content("[data-video-status]")
                participants = janus.participants(room)
                joined_problems = list(problems)
                page.click("[data-video-leave]")
                page.wait_for_selector('[data-video-join][data-state="ended"]', timeout=10000)
            finally:
                browser.close()
    finally:
        site.close()
        janus.end(room)
    assert "防汛视频会商" in status
    assert [p["display"] for p in participants] == ["张伟"] and participants[0]["id"] == info.feed_id
    assert joined_problems == [] and outside == []
    # Once joined, the page told the server (a form POST carrying the CSRF field), which then reads the room.
    assert len(site.joined_reports) == 1 and b"csrfmiddlewaretoken" in site.joined_reports[0]
    # Leaving destroys the Janus session while janus.js's long poll is still out: that poll may come back 404
    # (session gone). Nothing else may fail.
    assert all(url.startswith(f"{site.origin}/janus/") and "404" in text for text, url in problems), problems
