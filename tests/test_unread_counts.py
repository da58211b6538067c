"""Cached unread-notification count (oa.work_counts.cached_unread, the bell) against a fresh COUNT: after any
sequence of events sent, read, retired or deleted, and after the cache is lost, unread_count equals
count_unread and is never negative (issue 14, docs/performance.md "待办 path")."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from oa.actions.notifications import do_mark_read
from oa.actions.work import do_assign_work, do_close_work, do_see_work_item
from oa.events import Event, retire_notifications, send_event_on_commit
from oa.models import Notification, WorkItem
from oa.selectors.notifications import count_unread, unread_count
from oa.work_counts import UNREAD_GEN_KEY, UNREAD_VAL_KEY

REFS = [f"test:unread:{n}" for n in range(4)]


@pytest.mark.django_db
def test_unread_follows_every_notification_write(cast, django_capture_on_commit_callbacks):
    people = [cast.lina, cast.wangfang, cast.zhangwei]

    class Unread(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            WorkItem.objects.filter(ref__startswith="test:unread:").delete()
            Notification.objects.filter(recipient__in=people).delete()
            cache.clear()

        def _run(self, fn, *args, **kwargs):
            # The after-commit half runs as in production (the second generation bump, the pushes).
            with django_capture_on_commit_callbacks(execute=True):
                return fn(*args, **kwargs)

        @rule(ref=st.sampled_from(REFS), owner=st.sampled_from(range(3)))
        def assign(self, ref, owner):  # a 待办 with its work.assigned notification
            self._run(do_assign_work, kind="other", ref=ref, box=WorkItem.Box.TODO, owner=people[owner],
                      title="测试事项", notify=True)

        @rule(who=st.lists(st.sampled_from(range(3)), min_size=1, max_size=3))
        def send(self, who):  # a plain event to several people at once
            self._run(send_event_on_commit, Event(type="work.completed", title="测试通知",
                                                  payload={"work_item_id": 0, "state": "done", "by": ""}),
                      [people[i].pk for i in who])

        @rule(owner=st.sampled_from(range(3)), everything=st.booleans())
        def mark_read(self, owner, everything):
            person = people[owner]
            if everything:
                self._run(do_mark_read, person)
            else:
                first = Notification.objects.filter(recipient=person, read_at__isnull=True).first()
                if first is not None:
                    self._run(do_mark_read, person, [first.pk])

        @rule(owner=st.sampled_from(range(3)))
        def see(self, owner):  # opening the item reads its notifications
            item = WorkItem.objects.filter(owner=people[owner], ref__startswith="test:unread:").first()
            if item is not None:
                self._run(do_see_work_item, people[owner], item)

        @rule(ref=st.sampled_from(REFS))
        def close(self, ref):  # done elsewhere: the notifications of its items are retired
            self._run(do_close_work, ref=ref, state=WorkItem.State.DONE)
            for item in WorkItem.objects.filter(ref=ref):
                self._run(retire_notifications, item)

        @rule(owner=st.sampled_from(range(3)))
        def delete_one(self, owner):  # the admin, a cascade
            n = Notification.objects.filter(recipient=people[owner]).first()
            if n is not None:
                self._run(n.delete)

        @rule(owner=st.sampled_from(range(3)))
        def read_count(self, owner):  # a read between writes fills the cache the next write must invalidate
            unread_count(people[owner])

        @rule()
        def lose_cache(self):  # Redis flushed
            cache.clear()

        @rule(owner=st.sampled_from(range(3)))
        def lose_generation(self, owner):
            cache.delete(UNREAD_GEN_KEY.format(people[owner].pk))

        @invariant()
        def cached_equals_fresh(self):
            for person in people:
                cached = unread_count(person)
                assert cached == count_unread(person)
                assert cached >= 0

    Unread.TestCase.settings = settings(max_examples=20, stateful_step_count=12, deadline=None,
                                        suppress_health_check=list(HealthCheck))
    Unread.TestCase().runTest()


@pytest.mark.django_db
def test_stale_unread_under_an_old_generation_is_ignored(cast, django_capture_on_commit_callbacks):
    lina = cast.lina
    before = unread_count(lina)
    gen = cache.get(UNREAD_GEN_KEY.format(lina.pk))
    with django_capture_on_commit_callbacks(execute=True):
        send_event_on_commit(Event(type="work.completed", title="测试", payload={"work_item_id": 0, "state": "done", "by": ""}),
                             [lina.pk])
    # A reader that counted before the send stores its (old) count under the old generation …
    cache.set(UNREAD_VAL_KEY.format(lina.pk), (gen, before))
    # … which the next read does not trust.
    assert unread_count(lina) == before + 1 == count_unread(lina)
