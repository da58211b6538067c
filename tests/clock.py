"""The test session's clock (docs/testing.md): real time by default, moved by one setting.

`OA_TEST_CLOCK` moves the whole session's clock (time-machine, ticking) to another instant, and every process
the tests start (Celery worker, uvicorn nodes, pdfsig, LibreOffice, slapd …) follows it through libfaketime with
the same offset, so certificates, tokens and signed timestamps agree across processes:

    OA_TEST_CLOCK=2027-01-01T09:30+08:00 make test     # an instant (naive values are Beijing time)
    OA_TEST_CLOCK=+150d make test                      # an offset from now: +Nd, -Nd, +Nh, +Ns

Without it the session runs at the real date, which is how CI runs every day.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import time
from pathlib import Path
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
ENV = "OA_TEST_CLOCK"
LIBFAKETIME = [
    Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"),
    Path("/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1"),
]
CHILD_SITE = Path(__file__).resolve().parent / "faketime_site"
_OFFSET = re.compile(r"^([+-])(\d+)([dhms]?)$")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1, "": 1}


def target(raw: str | None = None, *, now: float | None = None) -> dt.datetime | None:
    """The instant the session's clock starts at, or None for the real clock."""
    raw = (os.environ.get(ENV, "") if raw is None else raw).strip()
    if not raw:
        return None
    now = time.time() if now is None else now
    offset = _OFFSET.match(raw)
    if offset:
        sign, amount, unit = offset.groups()
        seconds = int(amount) * _UNITS[unit] * (1 if sign == "+" else -1)
        return dt.datetime.fromtimestamp(now + seconds, tz=dt.UTC)
    try:
        when = dt.datetime.fromisoformat(raw)
    except ValueError as exc:
        raise ValueError(f"{ENV}={raw!r}: 应为 ISO 时间（2027-01-01T09:30+08:00）或偏移（+150d）") from exc
    return when if when.tzinfo else when.replace(tzinfo=BEIJING)


def faketime_env(offset_seconds: float) -> dict[str, str]:
    """Environment that makes a child process see the same shifted clock (empty if libfaketime is absent).

    Wall-clock time only: a faked monotonic clock makes every timed wait in a child (threading.Event.wait,
    lock timeouts, Chromium's driver) wait for the whole offset. Python children load tests/faketime_site's
    sitecustomize, which mends time.sleep under that setting (libfaketime 0.9.10 breaks it)."""
    lib = next((p for p in LIBFAKETIME if p.exists()), None)
    if lib is None:
        return {}
    preload = " ".join(filter(None, [os.environ.get("LD_PRELOAD", ""), str(lib)]))
    pythonpath = os.pathsep.join(filter(None, [str(CHILD_SITE), os.environ.get("PYTHONPATH", "")]))
    return {"LD_PRELOAD": preload.strip(), "FAKETIME": f"{int(offset_seconds):+d}",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1", "DONT_FAKE_MONOTONIC": "1", "FAKETIME_NO_CACHE": "1",
            "PYTHONPATH": pythonpath}


def child_pythonpath(*paths: str) -> str:
    """PYTHONPATH for a child Python that needs its own entries: keeps the clock's site directory when moved."""
    current = os.environ.get("PYTHONPATH", "")
    return os.pathsep.join(filter(None, [*paths, current]))


def without_faketime() -> contextlib.AbstractContextManager:
    """Start a process outside libfaketime (Chromium and its Node driver hang under it): the browser keeps the
    real clock, which only matters for its own cookies' expiry, and the session only ever moves ahead."""
    return _unset_env(list(SESSION.child_env))


@contextlib.contextmanager
def _unset_env(keys: list[str]):
    saved = {k: os.environ.pop(k) for k in keys if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


class SessionClock:
    """Starts and stops the session-wide travel; holds the offset the children inherit."""

    def __init__(self) -> None:
        self.traveller = None
        self.offset = 0.0
        self.child_env: dict[str, str] = {}
        self._saved: dict[str, str | None] = {}

    def start(self) -> dt.datetime | None:
        when = target()
        if when is None:
            return None
        import time_machine

        self.offset = when.timestamp() - time.time()
        self.traveller = time_machine.travel(when, tick=True)
        self.traveller.start()
        self.child_env = faketime_env(self.offset)
        return when

    def export_to_children(self) -> None:
        """From now on, processes this one starts see the shifted clock too. Called once tests run, not at
        configure time: pytest-xdist's workers must not start under libfaketime."""
        self._saved = {k: os.environ.get(k) for k in self.child_env}
        os.environ.update(self.child_env)

    def stop(self) -> None:
        if self.traveller is not None:
            self.traveller.stop()
            self.traveller = None
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


SESSION = SessionClock()
