"""Shared fixtures. The demo district (docs/demo.md) is loaded once per session and its cast reused.

The session's clock is real time unless OA_TEST_CLOCK moves it (tests/clock.py, docs/testing.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command

from tests.clock import SESSION as SESSION_CLOCK

MOVED_CLOCK_CALENDAR = Path(__file__).parent / "data" / "calendar-moved-clock.txt"


# The smoke subset the embedded round (SQLite, in-memory channel layer, local files, eager jobs) runs: every
# module whose behaviour differs there — settings and demo, the scheduler, websockets on the in-memory layer,
# inbox and events, numbering and search on SQLite, local storage — plus the 发文/收文/传阅/交换 chains over HTTP.
SMOKE_MODULES = {
    "test_settings", "test_demo", "test_jobs", "test_ws", "test_events", "test_inbox", "test_workbench", "test_api",
    "test_auth", "test_ui", "test_audit", "test_numbering", "test_search", "test_storage", "test_documents",
    "test_body", "test_issuance_http", "test_receipt", "test_circulation_http", "test_exchange_flow",
    "test_distribution", "test_calendar",
}


def pytest_configure(config):
    SESSION_CLOCK.start()


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.module.__name__.rpartition(".")[2] in SMOKE_MODULES:
            item.add_marker(pytest.mark.smoke)


def pytest_unconfigure(config):
    SESSION_CLOCK.stop()


def pytest_report_header(config):
    if SESSION_CLOCK.traveller is None:
        return "test clock: real time"
    from django.utils import timezone

    return f"test clock: moved to {timezone.localtime():%Y-%m-%d %H:%M %Z} (OA_TEST_CLOCK, offset {SESSION_CLOCK.offset:+.0f} s)"


def load_demo_district() -> None:
    """The demo district, plus, when the clock is moved into a year with no shipped calendar, a test-only one."""
    call_command("load_demo", verbosity=0)
    if SESSION_CLOCK.traveller is not None:
        from oa.actions.calendar import do_import_calendar_year
        from oa.models import CalendarYear
        from oa.selectors.calendar import parse_calendar_text

        for schedule in parse_calendar_text(MOVED_CLOCK_CALENDAR.read_text(encoding="utf-8")):
            if not CalendarYear.objects.filter(year=schedule.year).exists():
                do_import_calendar_year(actor=None, schedule=schedule, origin="测试：calendar-moved-clock.txt")


# On PostgreSQL the loaded district is copied once into a side schema; a transactional test (whose flush empties
# every table) gets it back with one TRUNCATE and one INSERT … SELECT per table instead of a new load_demo (~5 s).
SNAPSHOT_SCHEMA = "oa_test_demo_snapshot"


def _django_tables(connection) -> list[str]:
    return sorted(connection.introspection.django_table_names(only_existing=True, include_views=False))


def snapshot_demo_district(connection) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {SNAPSHOT_SCHEMA} CASCADE")
        cursor.execute(f"CREATE SCHEMA {SNAPSHOT_SCHEMA}")
        for table in _django_tables(connection):
            cursor.execute(f'CREATE TABLE {SNAPSHOT_SCHEMA}."{table}" AS TABLE public."{table}"')
    return True


def restore_demo_district() -> None:
    """The session's demo district, as it was after loading, in an emptied (flushed) database."""
    from django.apps import apps
    from django.contrib.contenttypes.models import ContentType
    from django.core.management.color import no_style
    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        load_demo_district()
        return
    tables = _django_tables(connection)
    with transaction.atomic(), connection.cursor() as cursor:
        # TRUNCATE fires no row triggers (the audit guard refuses DELETE); foreign keys are deferred to COMMIT.
        cursor.execute("TRUNCATE " + ", ".join(f'public."{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
        for table in tables:
            cursor.execute(f'INSERT INTO public."{table}" SELECT * FROM {SNAPSHOT_SCHEMA}."{table}"')
        for sql in connection.ops.sequence_reset_sql(no_style(), apps.get_models(include_auto_created=True)):
            cursor.execute(sql)
    ContentType.objects.clear_cache()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    # Loaded once into the test database; each non-transactional test rolls back on top of it.
    from django.db import connection

    with django_db_blocker.unblock():
        load_demo_district()
        snapshot_demo_district(connection)


@pytest.fixture(scope="session", autouse=True)
def _session_clock_for_children():
    SESSION_CLOCK.export_to_children()


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
    """For transaction=True tests, whose flush removes the session's demo data: bring it back."""
    restore_demo_district()


# --- Storage on both backends (docs/storage.md) ----------------------------------------------------------


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3 server, in-process on a free loopback port, for the whole session ("host:port").

    moto accepts any credentials and signature, so signing bugs only show against a real MinIO.
    """
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per S3 request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"{host}:{port}"
    server.stop()


@pytest.fixture(params=["filesystem", "minio"])
def storage_backend(request, tmp_path):
    """Run the test once on the local filesystem and once on S3 (moto), swapping ``default_storage``.

    The MinIO settings come from the same function production uses (private bucket, presigned URLs);
    each test gets its own bucket, so "nothing stored" can be asserted by listing it.
    """
    import uuid

    from django.conf import settings
    from django.test import override_settings

    from integrations.storage.config import minio_settings, storages

    values = {"STORAGES": storages(request.param, staticfiles=settings.STORAGES["staticfiles"])}
    if request.param == "filesystem":
        values["MEDIA_ROOT"] = str(tmp_path / "media")
    else:
        values.update(minio_settings(
            endpoint=request.getfixturevalue("s3_endpoint"), access_key="test-access-key",
            secret_key="test-secret-key", bucket=f"oa-test-{uuid.uuid4().hex[:12]}", use_https=False,
        ))
    with override_settings(**values):
        yield request.param


# The three administrators of the demo (三员分立, docs/security.md §11), signed in past their second factor.
@pytest.fixture
def sysadmin(cast):
    from tests.clients import login

    return login(cast.sunhao, otp=True)


@pytest.fixture
def secadmin(cast):
    from tests.clients import login

    return login(cast.qianjing, otp=True)


@pytest.fixture
def auditadmin(cast):
    from tests.clients import login

    return login(cast.yanghui, otp=True)
