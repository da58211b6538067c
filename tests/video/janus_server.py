"""A throwaway Janus on loopback for the video tests: `janus -F DIR` with a config written here, loading only
the HTTP transport and the VideoRoom plugin (each from a folder holding just that library), signed-token auth,
an API secret for the OA server and a VideoRoom admin_key, like production (docs/video.md).
"""

from __future__ import annotations

import json
import secrets
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

JANUS = Path("/usr/bin/janus")
LIBDIRS = [Path("/usr/lib/x86_64-linux-gnu/janus"), Path("/usr/lib/aarch64-linux-gnu/janus")]
API_SECRET = "janus-api-secret-for-tests"
TOKEN_SECRET = "janus-token-secret-for-tests"
ADMIN_KEY = "janus-admin-key-for-tests"

CORE = """\
general: {{
	configs_folder = "{dir}/conf"
	plugins_folder = "{dir}/plugins"
	transports_folder = "{dir}/transports"
	events_folder = "{dir}/none"
	loggers_folder = "{dir}/none"
	debug_level = 4
	api_secret = "{api_secret}"
	token_auth = true
	token_auth_secret = "{token_secret}"
	session_timeout = 60
}}
certificates: {{}}
media: {{
	rtp_port_range = "{rtp_low}-{rtp_high}"
}}
nat: {{
	ice_enforce_list = "lo"
}}
plugins: {{}}
transports: {{}}
events: {{ broadcast = false }}
"""
HTTP = """\
general: {{
	json = "plain"
	base_path = "/janus"
	http = true
	port = {port}
	ip = "127.0.0.1"
	https = false
}}
admin: {{ admin_http = false }}
cors: {{}}
"""
VIDEOROOM = """\
general: {{
	admin_key = "{admin_key}"
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def libdir() -> Path | None:
    return next((d for d in LIBDIRS if (d / "plugins" / "libjanus_videoroom.so").exists()), None)


def available() -> bool:
    return JANUS.exists() and libdir() is not None


class JanusServer:
    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/janus"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        lib = libdir()
        assert lib is not None
        for sub in ("conf", "plugins", "transports", "none"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        (self.dir / "plugins" / "libjanus_videoroom.so").symlink_to(lib / "plugins" / "libjanus_videoroom.so")
        (self.dir / "transports" / "libjanus_http.so").symlink_to(lib / "transports" / "libjanus_http.so")
        rtp_low = 20000 + (self.port % 20000)
        conf = self.dir / "conf"
        (conf / "janus.jcfg").write_text(
            CORE.format(dir=self.dir, api_secret=API_SECRET, token_secret=TOKEN_SECRET,
                        rtp_low=rtp_low, rtp_high=rtp_low + 200),
            encoding="utf-8",
        )
        (conf / "janus.transport.http.jcfg").write_text(HTTP.format(port=self.port), encoding="utf-8")
        (conf / "janus.plugin.videoroom.jcfg").write_text(VIDEOROOM.format(admin_key=ADMIN_KEY), encoding="utf-8")
        self.proc = subprocess.Popen(
            [str(JANUS), "-F", str(conf), "-C", str(conf / "janus.jcfg"), "-o"],
            stdout=open(self.dir / "janus.log", "wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"janus exited: {self.log()}")
            try:
                urllib.request.urlopen(f"{self.url}/info", timeout=1).read()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"janus did not answer in 20 s: {self.log()}")

    def log(self) -> str:
        return (self.dir / "janus.log").read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # Janus shuts down cleanly on SIGINT
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class BrowserSide:
    """What a browser's janus.js does over HTTP with only a token: session, attach, join, long-poll events."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.session: int | None = None
        self.handle: int | None = None

    def post(self, path: str, body: dict) -> dict:
        body = {**body, "transaction": secrets.token_hex(6), "token": self.token}
        request = urllib.request.Request(self.url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
        return json.loads(urllib.request.urlopen(request, timeout=10).read())

    def open(self) -> dict:
        answer = self.post("", {"janus": "create"})
        if answer.get("janus") == "success":
            self.session = answer["data"]["id"]
            attached = self.post(f"/{self.session}", {"janus": "attach", "plugin": "janus.plugin.videoroom"})
            assert attached["janus"] == "success", attached
            self.handle = attached["data"]["id"]
        return answer

    def request(self, body: dict) -> dict:
        """Send an asynchronous VideoRoom request and wait for its event (the plugin data)."""
        sent = self.post(f"/{self.session}/{self.handle}", {"janus": "message", "body": body})
        assert sent["janus"] == "ack", sent
        return self.wait_for(lambda event: event.get("transaction") == sent["transaction"])

    def wait_for(self, match, polls: int = 5) -> dict:
        for _ in range(polls):
            query = urllib.parse.urlencode({"token": self.token, "maxev": 10})
            events = json.loads(urllib.request.urlopen(f"{self.url}/{self.session}?{query}", timeout=40).read())
            for event in events if isinstance(events, list) else [events]:
                if event.get("janus") == "event" and match(event):
                    return event["plugindata"]["data"]
        raise AssertionError("no matching Janus event")

    def join(self, join_info, **override) -> dict:
        body = {
            "request": "join", "ptype": "publisher", "room": int(join_info.room_id), "pin": join_info.pin,
            "token": join_info.token, "id": join_info.feed_id, "display": join_info.display,
        }
        return self.request({**body, **override})
