"""HTTP client for the WeCom-compatible server API (DOMAIN.md §4.2): access_token cache, JSON calls.

The platform host is a private 政务微信 deployment, so the base URL is configuration. The token lives in the
Django cache (Redis in production, shared by every process) and is refreshed TOKEN_REFRESH_MARGIN seconds
before `expires_in` runs out; an answer of 40014/42001 drops it, fetches a new one and retries the call once.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import urllib3
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

TOKEN_REFRESH_MARGIN = 300  # seconds before expiry at which a cached token is no longer used
TOKEN_ERRORS = {40014, 42001}  # invalid access_token / access_token expired
RATE_LIMITED = 45009  # 接口调用超过限制
SYSTEM_BUSY = -1  # 系统繁忙, worth a retry

_pool = urllib3.PoolManager(num_pools=4, maxsize=8, retries=False)


@dataclass(frozen=True)
class WecomSettings:
    base_url: str
    oauth_url: str
    corp_id: str
    agent_id: str
    secret: str
    token: str
    aes_key: str
    timeout: float
    public_base_url: str
    card_mode: str

    @classmethod
    def from_settings(cls) -> WecomSettings:
        return cls(
            base_url=settings.OA_WECOM_BASE_URL.rstrip("/"),
            oauth_url=settings.OA_WECOM_OAUTH_URL,
            corp_id=settings.OA_WECOM_CORP_ID,
            agent_id=str(settings.OA_WECOM_AGENT_ID),
            secret=settings.OA_WECOM_SECRET,
            token=settings.OA_WECOM_TOKEN,
            aes_key=settings.OA_WECOM_AES_KEY,
            timeout=float(settings.OA_WECOM_TIMEOUT),
            public_base_url=settings.OA_PUBLIC_BASE_URL.rstrip("/"),
            card_mode=settings.OA_WECOM_CARD_MODE,
        )

    @property
    def enabled(self) -> bool:
        return bool(self.corp_id)

    @property
    def token_cache_key(self) -> str:
        return f"wecom:access_token:{self.corp_id}:{self.agent_id}"


def wecom_enabled() -> bool:
    return bool(settings.OA_WECOM_CORP_ID)


class WecomError(Exception):
    """A failed platform call. `errcode` is the platform's (None for transport errors and HTTP 5xx)."""

    def __init__(self, message: str, *, errcode: int | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.errcode = errcode
        self.status = status

    @property
    def rate_limited(self) -> bool:
        return self.errcode == RATE_LIMITED

    @property
    def retryable(self) -> bool:
        """Transport errors, 5xx, 系统繁忙 and rate limiting pass; anything else needs a person to look."""
        return self.errcode is None or self.errcode in {RATE_LIMITED, SYSTEM_BUSY, *TOKEN_ERRORS}


class WecomClient:
    def __init__(self, config: WecomSettings | None = None) -> None:
        self.config = config or WecomSettings.from_settings()

    # --- transport ---------------------------------------------------------------------------------------

    def _request(self, method: str, path: str, params: dict[str, Any], body: dict | None = None) -> dict:
        url = f"{self.config.base_url}/cgi-bin/{path}?{urlencode(params)}"
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else {}
        try:
            response = _pool.request(
                method, url, body=data, headers=headers,
                timeout=urllib3.Timeout(connect=min(self.config.timeout, 3.0), read=self.config.timeout),
            )
        except urllib3.exceptions.HTTPError as exc:
            raise WecomError(f"平台不可达：{type(exc).__name__}") from exc
        if response.status >= 500:
            raise WecomError(f"平台服务错误 HTTP {response.status}", status=response.status)
        try:
            answer = json.loads(response.data or b"{}")
        except ValueError as exc:
            raise WecomError(f"平台返回非 JSON（HTTP {response.status}）", status=response.status) from exc
        if not isinstance(answer, dict):
            raise WecomError("平台返回格式错误", status=response.status)
        return answer

    # --- access_token ------------------------------------------------------------------------------------------

    def access_token(self, *, force: bool = False) -> str:
        key = self.config.token_cache_key
        if not force:
            cached = cache.get(key)
            if cached and cached["expires_at"] - TOKEN_REFRESH_MARGIN > time.time():
                return cached["token"]
        answer = self._request("GET", "gettoken", {"corpid": self.config.corp_id, "corpsecret": self.config.secret})
        errcode = int(answer.get("errcode", 0) or 0)
        if errcode or not answer.get("access_token"):
            raise WecomError(f"获取 access_token 失败：{errcode} {answer.get('errmsg', '')}", errcode=errcode or None)
        expires_in = int(answer.get("expires_in", 7200))
        cache.set(
            key,
            {"token": answer["access_token"], "expires_at": time.time() + expires_in},
            timeout=max(expires_in - TOKEN_REFRESH_MARGIN, 1),
        )
        return answer["access_token"]

    def invalidate_token(self) -> None:
        cache.delete(self.config.token_cache_key)

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: dict | None = None) -> dict:
        """One API call with the access_token; a token the platform rejects is replaced once, then retried."""
        for attempt in (1, 2):
            answer = self._request(method, path, {**(params or {}), "access_token": self.access_token()}, body)
            errcode = int(answer.get("errcode", 0) or 0)
            if errcode in TOKEN_ERRORS and attempt == 1:
                logger.info("wecom %s: token rejected (%s), refreshing once", path, errcode)
                self.invalidate_token()
                continue
            if errcode:
                raise WecomError(f"{path} 失败：{errcode} {answer.get('errmsg', '')}", errcode=errcode)
            return answer
        raise AssertionError("unreachable")  # pragma: no cover

    # --- the calls the adapter uses --------------------------------------------------------------------------

    def send_message(self, message: dict) -> dict:
        return self.call("POST", "message/send", body={**message, "agentid": int(self.config.agent_id)})

    def update_template_card(self, body: dict) -> dict:
        return self.call("POST", "message/update_template_card", body={**body, "agentid": int(self.config.agent_id)})

    def user_id_for_code(self, code: str) -> str:
        """OAuth2 code → platform userid. Non-members (OpenId only) have no userid and get ''."""
        answer = self.call("GET", "auth/getuserinfo", params={"code": code})
        return str(answer.get("userid") or answer.get("UserId") or "")

    def departments(self) -> list[dict]:
        return list(self.call("GET", "department/list").get("department", []))

    def department_users(self, department_id: int) -> list[dict]:
        answer = self.call("GET", "user/list", params={"department_id": department_id, "fetch_child": 0})
        return list(answer.get("userlist", []))
