"""Settings for bench/inbox.py only: the product settings with a URLconf that adds the bare baseline view."""

from oa.settings import *  # noqa: F403

ROOT_URLCONF = "bench.inbox_urls"
