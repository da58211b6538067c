"""HTTP client for the exchange protocol: one signed POST to a peer (urllib3, no retries of its own — the
outbox retries with backoff)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import urllib3
from django.conf import settings

from oa import jsonsafe

from . import protocol as P
from .models import ExchangePeer
from .selectors import NodeIdentity

# The root the exchange URLs hang under (oa/urls.py). Signatures cover this logical path, not what a reverse
# proxy in front of the peer may prefix, so a node can sit under any external path.
EXCHANGE_ROOT = "/exchange"

_pool = urllib3.PoolManager(num_pools=8, maxsize=8, retries=False)


class ExchangeTransportError(Exception):
    """The peer could not be reached, or did not answer in time."""


@dataclass(frozen=True)
class ExchangeResponse:
    status: int
    data: dict[str, Any]

    @property
    def code(self) -> str:
        return str(self.data.get("code") or "")

    @property
    def message(self) -> str:
        return str(self.data.get("message") or self.data.get("status") or "")


def signed_path(endpoint: str) -> str:
    return EXCHANGE_ROOT + endpoint


def endpoint_url(peer: ExchangePeer, endpoint: str) -> str:
    base = peer.base_url.rstrip("/")
    if urlparse(base).scheme not in ("http", "https"):
        raise ExchangeTransportError(f"交换节点地址无效：{base}")
    return base + EXCHANGE_ROOT + endpoint


def post(peer: ExchangePeer, endpoint: str, body: bytes, *, content_type: str, node: NodeIdentity,
         timeout: float | None = None) -> ExchangeResponse:
    headers = P.sign_request(method="POST", path=signed_path(endpoint), body=body, sender=node.code,
                             receiver=peer.code, key=node.key)
    headers["Content-Type"] = content_type
    seconds = float(timeout or settings.OA_EXCHANGE_TIMEOUT)
    try:
        response = _pool.request("POST", endpoint_url(peer, endpoint), body=body, headers=headers,
                                 timeout=urllib3.Timeout(connect=min(seconds, 5.0), read=seconds),
                                 redirect=False, preload_content=True)
    except urllib3.exceptions.HTTPError as exc:
        raise ExchangeTransportError(f"{type(exc).__name__}: {exc}"[:200]) from None
    try:
        data = jsonsafe.loads(response.data) if response.data else {}
    except jsonsafe.JsonRefused:  # a broken or hostile answer carries no code: classified by its status alone
        data = {}
    return ExchangeResponse(response.status, data if isinstance(data, dict) else {})
