"""Test settings: the production settings module plus a tiny two-step flow (tests/flowapp).

The flow lets the inbox, events and workbench be driven through real viewflow tasks before the 发文 flow
exists; it is installed only here, never in oa.settings.

The test environment is set here, not only in the Makefile, so a bare `pytest` (no make) behaves the same:
`make test` passes the same values and any variable already set wins. Under pytest-xdist each worker gets its
own Redis database (pytest-django already gives it its own PostgreSQL database), since a test's cache.clear()
flushes the whole Redis database.
"""

import os
import re
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
for _name, _value in {
    "OA_SECRET_KEY": "test-only-secret-key-not-for-production-0123456789abcdef",
    # A fixed test-only key-encryption key for e-seal private keys (production refuses to start without OA_SEAL_KEK).
    "OA_SEAL_KEK": "dGVzdC1vbmx5LXNlYWwta2VrLW5vdC1mb3ItcHJvZCE=",
    "OA_HTTPS": "0",
    "OA_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
    "OA_DATA_DIR": str(_ROOT / "var" / "test"),
    "OA_AUDIT_HASH": "sha256",
    # The test host has only the Debian stand-in fonts; 用印 of such PDFs is accepted here (and in the demo).
    "OA_ACCEPT_STANDIN_FONTS": "1",
}.items():
    os.environ.setdefault(_name, _value)

# Redis databases 13 and 14 belong to the Celery tests (broker, results); workers take 15, 12, 11, 10 …
_REDIS_DBS = [15, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2]
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw") and os.environ.get("OA_REDIS_URL"):
    _index = int(_worker[2:])
    os.environ["OA_REDIS_URL"] = re.sub(r"(/\d+)?$", f"/{_REDIS_DBS[_index % len(_REDIS_DBS)]}",
                                        os.environ["OA_REDIS_URL"], count=1)

from oa.settings import *  # noqa: E402, F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.flowapp.apps.FlowAppConfig"]  # noqa: F405

# 分发's receipt_start outbox messages are delivered inside the 分发 transaction (tests run in a transaction that
# never commits, so an on-commit kick would never run): the 签收 待办 exists right after 分发, as before the job.
# tests/test_receipt_start.py turns it off to drive the job itself (crash, retry, progress).
OA_RECEIPT_START_EAGER = True

if _worker.startswith("gw"):
    # Each xdist worker its own media directory: tests that list the storage (nothing left behind after a
    # refusal) must not see files another worker is writing at that moment.
    MEDIA_ROOT = str(Path(MEDIA_ROOT) / _worker)  # noqa: F405
