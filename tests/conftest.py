"""Shared fixtures. The demo district (docs/demo.md) is loaded once per session and its cast reused."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.management import call_command


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    # Loaded once into the test database; each non-transactional test rolls back on top of it.
    with django_db_blocker.unblock():
        call_command("load_demo", verbosity=0)


@pytest.fixture(autouse=True)
def _clean_cache():
    # Login throttles live in the cache; no test may inherit another's failures.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def cast(db):
    """The named demo cast by username, e.g. cast.zhangwei (张伟 drafts), cast.lina (李娜 reviews)."""
    from oa.models import Person

    class Cast:
        def __getattr__(self, username: str):
            return Person.objects.get(username=username)

    return Cast()


@pytest.fixture
def demo_tx(transactional_db):
    """For transaction=True tests, whose flush removes the session's demo data: load it again."""
    call_command("load_demo", verbosity=0)
