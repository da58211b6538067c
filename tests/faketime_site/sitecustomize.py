"""Loaded at start-up by the child Python processes the tests run under libfaketime (tests/clock.py puts this
directory first on their PYTHONPATH; docs/testing.md).

libfaketime 0.9.10 fakes wall-clock time only (monotonic clocks stay real, else every timed wait —
threading.Event.wait, lock timeouts — would wait for the whole offset), but its clock_nanosleep wrapper then
turns the absolute monotonic deadline of Python's time.sleep() into an invalid one (OSError EINVAL). Sleep
here on a timed wait instead, which uses the real monotonic clock.
"""

import os
import threading
import time

if "FAKETIME" in os.environ and "libfaketime" in os.environ.get("LD_PRELOAD", ""):

    def _sleep(seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        threading.Event().wait(seconds)

    time.sleep = _sleep
