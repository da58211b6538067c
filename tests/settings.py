"""Test settings: the production settings module plus a tiny two-step flow (tests/flowapp).

The flow lets the inbox, events and workbench be driven through real viewflow tasks before the 发文 flow
exists; it is installed only here, never in oa.settings.
"""

import os

# A fixed test-only key-encryption key for e-seal private keys (production refuses to start without OA_SEAL_KEK).
os.environ.setdefault("OA_SEAL_KEK", "dGVzdC1vbmx5LXNlYWwta2VrLW5vdC1mb3ItcHJvZCE=")

from oa.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.flowapp.apps.FlowAppConfig"]  # noqa: F405
