"""A WeCom-compatible server on loopback for the adapter's tests (docs/wecom.md "测试服务器").

Real HTTP (http.server in a thread), the endpoints the adapter uses, and fault switches:

    server.faults.expire_next = 1      # the next API call with a valid token answers 42001 (token dropped)
    server.faults.invalid_next = 1     # … answers 40014
    server.faults.server_error = 2     # the next 2 requests answer HTTP 502
    server.faults.rate_limit = 3       # the next 3 message/send calls answer errcode 45009
    server.faults.delay = 1.5          # every request sleeps this long first (slow platform)
    server.stop(); server.start()      # platform down / back up on the same port

Every request is recorded in `server.requests` (method, path, query, json body) for assertions.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse


@dataclass
class Faults:
    expire_next: int = 0
    invalid_next: int = 0
    server_error: int = 0
    rate_limit: int = 0
    delay: float = 0.0


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: dict | None


@dataclass
class PlatformState:
    corp_id: str
    secret: str
    expires_in: int = 7200
    tokens: dict[str, float] = field(default_factory=dict)  # token → expiry (epoch seconds)
    codes: dict[str, str] = field(default_factory=dict)  # oauth code → userid
    members: dict[str, dict] = field(default_factory=dict)  # userid → user/list entry
    departments: list[dict] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)  # accepted message/send bodies
    card_updates: list[dict] = field(default_factory=list)
    response_codes: dict[str, str] = field(default_factory=dict)  # response_code → userid (unused)
    authorize_userid: str = ""  # who is "logged in" to the platform app for /connect/oauth2/authorize
    msgid: int = 0


class WecomTestServer:
    def __init__(self, corp_id: str = "wwtestcorp0001", secret: str = "test-secret-0001") -> None:
        self.state = PlatformState(corp_id=corp_id, secret=secret)
        self.faults = Faults()
        self.requests: list[Recorded] = []
        self.lock = threading.Lock()
        self.port = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> WecomTestServer:
        server = self

        class Handler(_Handler):
            platform = server

        ThreadingHTTPServer.allow_reuse_address = True
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="wecom-test-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # --- helpers for tests --------------------------------------------------------------------------------

    def add_member(self, userid: str, name: str, *, mobile: str = "", email: str = "", department: int = 1) -> None:
        self.state.members[userid] = {
            "userid": userid, "name": name, "mobile": mobile, "email": email, "department": [department],
        }

    def issue_code(self, userid: str) -> str:
        code = secrets.token_hex(8)
        self.state.codes[code] = userid
        return code

    def calls(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    def expire_all_tokens(self) -> None:
        self.state.tokens = {token: 0.0 for token in self.state.tokens}


class _Handler(BaseHTTPRequestHandler):
    platform: WecomTestServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # keep pytest output clean
        return

    def _reply(self, status: int, payload: dict | str, headers: dict[str, str] | None = None) -> None:
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8" if isinstance(payload, dict) else "text/plain")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        server = self.platform
        parsed = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        body = None
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            try:
                body = json.loads(self.rfile.read(length))
            except ValueError:
                body = None
        with server.lock:
            server.requests.append(Recorded(method, parsed.path, query, body))
            faults = server.faults
            delay = faults.delay
            fail = faults.server_error > 0
            if fail:
                faults.server_error -= 1
        if delay:
            time.sleep(delay)
        if fail:
            self._reply(502, "Bad Gateway")
            return
        path = parsed.path
        if path == "/connect/oauth2/authorize":
            self._authorize(query)
            return
        if not path.startswith("/cgi-bin/"):
            self._reply(404, {"errcode": 404, "errmsg": "not found"})
            return
        with server.lock:
            answer = self._api(path[len("/cgi-bin/") :], query, body)
        self._reply(200, answer)

    def _authorize(self, query: dict[str, str]) -> None:
        state = self.platform.state
        if query.get("appid") != state.corp_id or not state.authorize_userid:
            self._reply(400, {"errcode": 40013, "errmsg": "invalid corpid or no user"})
            return
        code = self.platform.issue_code(state.authorize_userid)
        target = query["redirect_uri"]
        sep = "&" if "?" in target else "?"
        self._reply(302, "", {"Location": f"{target}{sep}{urlencode({'code': code, 'state': query.get('state', '')})}"})

    def _api(self, name: str, query: dict[str, str], body: dict | None) -> dict:
        server, state, faults = self.platform, self.platform.state, self.platform.faults
        if name == "gettoken":
            if query.get("corpid") != state.corp_id or query.get("corpsecret") != state.secret:
                return {"errcode": 40001, "errmsg": "invalid credential"}
            token = secrets.token_hex(16)
            state.tokens[token] = time.time() + state.expires_in
            return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": state.expires_in}
        token = query.get("access_token", "")
        if token not in state.tokens:
            return {"errcode": 40014, "errmsg": "invalid access_token"}
        if state.tokens[token] < time.time():
            return {"errcode": 42001, "errmsg": "access_token expired"}
        if faults.expire_next:
            faults.expire_next -= 1
            state.tokens[token] = 0.0
            return {"errcode": 42001, "errmsg": "access_token expired"}
        if faults.invalid_next:
            faults.invalid_next -= 1
            del state.tokens[token]
            return {"errcode": 40014, "errmsg": "invalid access_token"}
        if name == "message/send":
            if faults.rate_limit:
                faults.rate_limit -= 1
                return {"errcode": 45009, "errmsg": "api freq out of limit"}
            return self._send(body or {})
        if name == "message/update_template_card":
            code = (body or {}).get("response_code", "")
            if code not in state.response_codes:
                return {"errcode": 40099, "errmsg": "invalid response_code"}
            del state.response_codes[code]  # one use only
            state.card_updates.append(body or {})
            return {"errcode": 0, "errmsg": "ok", "invaliduser": []}
        if name == "auth/getuserinfo":
            userid = state.codes.pop(query.get("code", ""), None)
            if userid is None:
                return {"errcode": 40029, "errmsg": "invalid code"}
            return {"errcode": 0, "errmsg": "ok", "userid": userid, "user_ticket": "", "expires_in": 1800}
        if name == "department/list":
            return {"errcode": 0, "errmsg": "ok", "department": state.departments}
        if name == "user/list":
            dept = int(query.get("department_id", "0") or 0)
            users = [m for m in state.members.values() if dept in m["department"]]
            return {"errcode": 0, "errmsg": "ok", "userlist": users}
        del server
        return {"errcode": 404, "errmsg": f"unknown api {name}"}

    def _send(self, body: dict) -> dict:
        state = self.platform.state
        if str(body.get("agentid", "")) == "" or body.get("msgtype") not in {"text", "textcard", "template_card"}:
            return {"errcode": 40008, "errmsg": "invalid message type"}
        kind = body["msgtype"]
        if kind == "textcard":
            card = body.get("textcard", {})
            if len(card.get("title", "").encode()) > 128 or len(card.get("description", "").encode()) > 512:
                return {"errcode": 44004, "errmsg": "textcard too long"}
            if not card.get("url", "").startswith(("http://", "https://")):
                return {"errcode": 40058, "errmsg": "invalid url"}
        users = [u for u in str(body.get("touser", "")).split("|") if u]
        invalid = [u for u in users if u not in state.members]
        state.msgid += 1
        state.messages.append(body)
        answer = {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid), "msgid": f"msg{state.msgid:06d}"}
        if kind == "template_card":
            code = secrets.token_hex(12)
            state.response_codes[code] = users[0] if users else ""
            answer["response_code"] = code
        return answer
