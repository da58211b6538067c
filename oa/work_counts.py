"""Per-person box counts (待办/待阅/我发起/已办/已阅) kept in the cache, so a page or an API call does not run a
grouped COUNT over the person's WorkItem rows every time (docs/performance.md "待办 path").

Layout, per person: a generation number `oa:counts:gen:<id>` and the counts `oa:counts:val:<id>` stored as
(generation, counts). A read fetches both in one round trip and trusts the counts only when their generation is
the current one; every write to the person's WorkItem rows bumps the generation (invalidate_counts). A reader
that computed from an older snapshot can only store counts under an older generation, which the next read
ignores, so a count is never stale past the write that changed it, whatever the interleaving.

Cache lost (Redis flushed, a key evicted): a missing generation starts again from the clock in nanoseconds,
which no earlier generation of that person can equal, and the counts are recomputed from the table.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

GEN_KEY = "oa:counts:gen:{}"
VAL_KEY = "oa:counts:val:{}"
# The same scheme for the unread-notification count (the bell), with its own generation: writes to a person's
# Notification rows bump it (oa.events send/retire, oa.actions.notifications.do_mark_read, the signals below).
UNREAD_GEN_KEY = "oa:unread:gen:{}"
UNREAD_VAL_KEY = "oa:unread:val:{}"


def _ttl() -> int:
    # A bound on the life of any entry: a write path that forgot to invalidate is wrong for minutes, not forever.
    return getattr(settings, "OA_COUNTS_CACHE_SECONDS", 300)


def cached_counts(person_id: int, compute: Callable[[], dict[str, int]]) -> dict[str, int]:
    """The person's counts from the cache, or `compute()` stored under the current generation."""
    return dict(_cached(GEN_KEY.format(person_id), VAL_KEY.format(person_id), compute))


def cached_unread(person_id: int, compute: Callable[[], int]) -> int:
    """The person's unread-notification count from the cache, or `compute()` stored under the current generation."""
    return _cached(UNREAD_GEN_KEY.format(person_id), UNREAD_VAL_KEY.format(person_id), compute)


def _cached(gen_key: str, val_key: str, compute: Callable[[], Any]) -> Any:
    got = cache.get_many([gen_key, val_key])
    gen, val = got.get(gen_key), got.get(val_key)
    if gen is not None and val is not None and val[0] == gen:
        return val[1]
    if gen is None:
        fresh = time.time_ns()
        cache.add(gen_key, fresh, timeout=None)
        gen = cache.get(gen_key, fresh)
    value = compute()
    cache.set(val_key, (gen, value), timeout=_ttl())
    return value


def _bump(person_ids: Iterable[int], key_format: str = GEN_KEY) -> None:
    for person_id in set(person_ids):
        key = key_format.format(person_id)
        try:
            cache.incr(key)
        except ValueError:  # no generation yet (or lost): any new one differs from every stored value's
            cache.set(key, time.time_ns(), timeout=None)


def invalidate_counts(person_ids: Iterable[int]) -> None:
    """The WorkItem rows of these people changed (or will at commit). Bumped now, so this transaction's own reads
    see the change, and again after commit, so nobody keeps counts computed from the snapshot before it."""
    ids = {pid for pid in person_ids if pid is not None}
    if not ids:
        return
    _bump(ids)
    transaction.on_commit(lambda: _bump(ids))


def invalidate_unread(person_ids: Iterable[int], *, after_commit: bool = True) -> None:
    """These people's notifications were created, read or deleted (or will be at commit): as invalidate_counts.
    after_commit=False leaves the second bump to the caller's own after-commit callback (bump_unread), which
    oa.events runs before it pushes the new counts."""
    ids = {pid for pid in person_ids if pid is not None}
    if not ids:
        return
    _bump(ids, UNREAD_GEN_KEY)
    if after_commit:
        transaction.on_commit(lambda: _bump(ids, UNREAD_GEN_KEY))


def bump_unread(person_ids: Iterable[int]) -> None:
    """The after-commit half of invalidate_unread(after_commit=False)."""
    _bump({pid for pid in person_ids if pid is not None}, UNREAD_GEN_KEY)


def _on_work_item_saved(sender, instance, **kwargs) -> None:
    # Covers every save()/create()/delete() of a row (the actions, the admin, cascades); queryset.update() and
    # bulk writes send no signal, so the actions that use them call invalidate_counts themselves.
    invalidate_counts([instance.owner_id])


def _on_notification_saved(sender, instance, **kwargs) -> None:
    # save()/delete() of one row (the admin, cascades); the bulk writes in oa.events and do_mark_read call
    # invalidate_unread themselves.
    invalidate_unread([instance.recipient_id])


def connect_signals() -> None:
    from django.db.models.signals import post_delete, post_save

    from oa.models import Notification, WorkItem

    post_save.connect(_on_work_item_saved, sender=WorkItem, dispatch_uid="oa.work_counts.saved")
    post_delete.connect(_on_work_item_saved, sender=WorkItem, dispatch_uid="oa.work_counts.deleted")
    post_save.connect(_on_notification_saved, sender=Notification, dispatch_uid="oa.work_counts.unread_saved")
    post_delete.connect(_on_notification_saved, sender=Notification, dispatch_uid="oa.work_counts.unread_deleted")
