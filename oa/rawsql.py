"""Fixed SQL text for the few reads on the hottest path (the 待办 API, docs/performance.md "待办 API").

Compiling an ORM query costs more CPU than PostgreSQL spends running it, so those reads are written once as SQL
with parameters only, and read as tuples. Two differences between the backends are absorbed here:

- timestamptz columns: Django registers a pure-Python loader on PostgreSQL connections (to pin the time zone);
  the cursor from `fast_cursor` parses them with psycopg's own (C) loader instead, which gives the same aware
  datetime in the session time zone (Django sets it to UTC). `aware` makes SQLite's naive UTC values aware.
- datetime parameters go through `connection.ops.adapt_datetimefield_value`, as the ORM sends them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


def _c_timestamptz_loader():
    try:
        from psycopg import postgres, pq
    except ImportError:  # SQLite only, or psycopg2
        return None
    return postgres.adapters.get_loader(postgres.types["timestamptz"].oid, pq.Format.TEXT)


_TIMESTAMPTZ_LOADER = _c_timestamptz_loader()


@contextmanager
def fast_cursor() -> Iterator:
    """connection.cursor(), with timestamptz columns parsed by psycopg's C loader on PostgreSQL."""
    with connection.cursor() as cursor:
        adapters = getattr(cursor.cursor, "adapters", None)  # psycopg 3 only
        if adapters is not None and _TIMESTAMPTZ_LOADER is not None:
            adapters.register_loader("timestamptz", _TIMESTAMPTZ_LOADER)
        yield cursor


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """A datetime read with a raw cursor: aware already on PostgreSQL, naive UTC on SQLite."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def db_datetime(value: dt.datetime):
    """A datetime parameter as the ORM would send it to this backend."""
    return connection.ops.adapt_datetimefield_value(value)
