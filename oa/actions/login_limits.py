"""Failure counters of the password login (docs/security.md, 登录失败锁定), kept in the cache.

Three limits, each "THRESHOLD failures within a window of MINUTES, then locked for MINUTES":

- `address`: one client address, whatever the names it tries (the address throttle, HTTP 429);
- `account_address`: one login name from one address (the ordinary lockout). A stranger who locks a name
  from his own address does not lock its owner out of hers;
- `account`: one login name from every address together, larger and slower (distributed guessing).

Counters are keyed on the login name as typed (case-folded), never on whether such an account exists, so
an unknown name locks exactly like a real one and the answers cannot tell them apart.

Times come from timezone.now() and expiry is decided by the stored values, not by the cache's own timeouts
(those only clean up): one clock for locmem and Redis, and the test clock (time-machine) moves it.
Counts use cache.incr, which is atomic on Redis, so parallel guesses cannot slip past a threshold.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

KEY = "oa:auth:{scope}:{digest}"


@dataclass(frozen=True)
class Limit:
    scope: str
    threshold: int
    minutes: int

    @property
    def seconds(self) -> int:
        return max(self.minutes, 1) * 60


def address_limit() -> Limit:
    return Limit("address", settings.OA_IP_THROTTLE_FAILURES, settings.OA_IP_THROTTLE_MINUTES)


def account_address_limit() -> Limit:
    return Limit("account_address", settings.OA_LOCKOUT_THRESHOLD, settings.OA_LOCKOUT_MINUTES)


def account_limit() -> Limit:
    return Limit("account", settings.OA_ACCOUNT_LOCKOUT_THRESHOLD, settings.OA_ACCOUNT_LOCKOUT_MINUTES)


def login_name_key(username: str) -> str:
    # LDAP matches login names without regard to case: ZhangWei and zhangwei must share a counter.
    return username.strip().casefold()


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:40]


def _keys(limit: Limit, parts: tuple[str, ...], now: float) -> tuple[str, str, str]:
    """(lock key, counter of the current window, counter of the previous window)."""
    base = KEY.format(scope=limit.scope, digest=_digest(*parts))
    window = int(now // limit.seconds)
    return f"{base}:lock", f"{base}:{window}", f"{base}:{window - 1}"


def _now() -> float:
    return timezone.now().timestamp()


def locked_until(limit: Limit, *parts: str) -> dt.datetime | None:
    """When the lock on these parts (an address; a name and an address; a name) runs out, or None."""
    now = _now()
    until = cache.get(_keys(limit, parts, now)[0])
    if isinstance(until, int | float) and until > now:
        return dt.datetime.fromtimestamp(until, tz=dt.UTC)
    return None


def do_count_failure(limit: Limit, *parts: str) -> dt.datetime | None:
    """Count one failure; returns the end of the lock when this failure reached the threshold, else None.

    The count is the current window plus the previous one, so failures straddling a window boundary still
    add up. Reaching the threshold starts the lock and empties the counters: after the lock, counting
    starts afresh."""
    now = _now()
    lock_key, current, previous = _keys(limit, parts, now)
    cache.add(current, 0, timeout=2 * limit.seconds + 60)
    try:
        count = cache.incr(current)
    except ValueError:  # evicted between add and incr
        cache.set(current, 1, timeout=2 * limit.seconds + 60)
        count = 1
    count += int(cache.get(previous) or 0)
    if count < limit.threshold:
        return None
    until = now + limit.seconds
    cache.set(lock_key, until, timeout=limit.seconds + 60)
    cache.delete_many([current, previous])
    return dt.datetime.fromtimestamp(until, tz=dt.UTC)


def do_clear(limit: Limit, *parts: str) -> None:
    """Forget the failures and the lock (a successful login)."""
    cache.delete_many(list(_keys(limit, parts, _now())))
