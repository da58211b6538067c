"""Which reverse proxies we trust, and the client address a request came from (docs/security.md §8).

`OA_BEHIND_PROXY` names the proxies: addresses or networks, comma-separated (`10.0.0.5`, `10.0.0.0/29`,
`::1`); `1`/`true`/`yes`/`on` means loopback (127.0.0.1 and ::1, nginx on the same host); empty or
`0`/`false`/`no`/`off` means no proxy. X-Forwarded-For/-Proto count only on a connection whose peer is one of
them, and the client is the rightmost X-Forwarded-For hop that is not one of them: everything left of it was
written by the client and proves nothing.

uvicorn applies the same rule to the ASGI scope (`--forwarded-allow-ips`); given the same list (`make run`
passes the output of `python -m oa.proxies`), whichever layer rewrites first, the other arrives at the same
address. This module has no Django import so that settings.py and the Makefile can use it.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import sys

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK = ("127.0.0.1", "::1")
_ON = {"1", "true", "yes", "on"}
_OFF = {"", "0", "false", "no", "off"}


def parse_trusted_proxies(raw: str) -> tuple[str, ...]:
    """OA_BEHIND_PROXY → normalised networks as strings; ValueError (Chinese) for anything not an address."""
    value = (raw or "").strip()
    if value.lower() in _OFF:
        return ()
    if value.lower() in _ON:
        return LOOPBACK
    proxies = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(
                f"OA_BEHIND_PROXY 中的“{item}”不是 IP 地址或网段：请填写反向代理的地址（如 127.0.0.1 或 10.0.0.0/29），"
                "多个用逗号分隔"
            ) from None
        proxies.append(str(network.network_address) if network.num_addresses == 1 else str(network))
    return tuple(proxies)


@functools.lru_cache(maxsize=16)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in trusted)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address from a peer or an X-Forwarded-For hop, tolerating `1.2.3.4:5678` and `[::1]:80`."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def is_trusted(address: str | None, trusted: tuple[str, ...]) -> bool:
    ip = _address(address) if address else None
    return ip is not None and any(ip in network for network in _networks(trusted))


def client_address(peer: str | None, forwarded_for: str, trusted: tuple[str, ...]) -> str | None:
    """The client of a connection from `peer` that carried `forwarded_for` (X-Forwarded-For, possibly several
    headers joined by commas). Without a trusted peer the header is ignored."""
    if not trusted or not forwarded_for or not is_trusted(peer, trusted):
        return peer or None
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        ip = _address(hop)
        if ip is None:
            return peer  # the chain is broken here: the proxy itself is all we know for sure
        if not is_trusted(str(ip), trusted):
            return str(ip)
    # Every hop is one of our proxies: the leftmost one made the request (uvicorn decides the same).
    first = _address(hops[0]) if hops else None
    return str(first) if first is not None else peer


def uvicorn_arguments(raw: str) -> str:
    """The uvicorn flags for OA_BEHIND_PROXY: trust exactly these proxies, or none (uvicorn's own default
    would trust loopback even when no proxy is configured)."""
    trusted = parse_trusted_proxies(raw)
    return f"--proxy-headers --forwarded-allow-ips={','.join(trusted)}" if trusted else "--no-proxy-headers"


if __name__ == "__main__":  # `python -m oa.proxies` → the uvicorn flags for the current environment
    try:
        print(uvicorn_arguments(os.environ.get("OA_BEHIND_PROXY", "")))
    except ValueError as exc:
        sys.exit(str(exc))
