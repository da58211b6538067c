"""Release several task completions at the same instant (PostgreSQL row locks decide who goes first)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection

from oa.refusals import Refusal


def run_at_once(calls: list[Callable[[], object]], *, attempts: int = 50) -> list[str]:
    """Each call in its own thread, released together by a barrier. A lock timeout ("busy": NOWAIT gave up) is
    retried, because the point is that every call completes and the flow continues exactly once. Returns one
    outcome per call: "ok", a Refusal code, "gave_up" or an exception's class name."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []

    def run(call: Callable[[], object]) -> None:
        try:
            barrier.wait()
            for _ in range(attempts):
                try:
                    call()
                    outcomes.append("ok")
                    return
                except Refusal as exc:
                    if exc.code != "busy":
                        outcomes.append(exc.code)
                        return
            outcomes.append("gave_up")
        except Exception as exc:  # counted, then asserted on by the test
            outcomes.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes
