"""Cached box counts (oa.work_counts) against a fresh COUNT: after any sequence of WorkItem actions, and after the
cache is lost, box_counts equals count_boxes and is never negative (issue 14, docs/performance.md)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from oa.actions.work import do_assign_work, do_close_work, do_move_work_items, do_open_work_item
from oa.models import WorkItem
from oa.selectors.work import box_counts, count_boxes, inbox, inbox_counts, unfiltered_box_count
from oa.work_counts import GEN_KEY, VAL_KEY

REFS = [f"test:counts:{n}" for n in range(6)]
BOXES = [WorkItem.Box.TODO, WorkItem.Box.TOREAD, WorkItem.Box.INITIATED]


@pytest.mark.django_db
def test_counts_follow_every_work_action(cast, django_capture_on_commit_callbacks):
    people = [cast.lina, cast.wangfang, cast.zhangwei]

    class WorkCounts(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            WorkItem.objects.filter(ref__startswith="test:counts:").delete()
            cache.clear()

        def _run(self, fn, **kwargs):
            # Run the after-commit half as production does (the second generation bump, the count pushes).
            with django_capture_on_commit_callbacks(execute=True):
                return fn(**kwargs)

        @rule(ref=st.sampled_from(REFS), owner=st.sampled_from(range(3)), box=st.sampled_from(BOXES),
              thread=st.sampled_from(["", "t:1", "t:2"]))
        def assign(self, ref, owner, box, thread):
            self._run(do_assign_work, kind="other", ref=ref, box=box, owner=people[owner], title="测试事项",
                      thread=thread, notify=False)

        @rule(ref=st.sampled_from(REFS), state=st.sampled_from([WorkItem.State.DONE, WorkItem.State.CANCELLED]))
        def close(self, ref, state):
            self._run(do_close_work, ref=ref, state=state)

        @rule(ref=st.sampled_from(REFS), owner=st.sampled_from(range(3)))
        def close_one(self, ref, owner):  # 阅知 / 办结 by one reader of several
            self._run(do_close_work, ref=ref, owner=people[owner], state=WorkItem.State.DONE)

        @rule(source=st.sampled_from(range(3)), to=st.sampled_from(range(3)))
        def hand_over(self, source, to):  # 工作交接 (转办 of everything a person holds)
            if source != to:
                self._run(do_move_work_items, source=people[source], target=people[to], kinds=["other"])

        @rule(owner=st.sampled_from(range(3)))
        def read(self, owner):  # opening an item changes no count
            item = WorkItem.objects.filter(owner=people[owner], ref__startswith="test:counts:").first()
            if item is not None:
                do_open_work_item(people[owner], item)

        @rule(owner=st.sampled_from(range(3)))
        def read_counts(self, owner):  # a read between writes fills the cache the next write must invalidate
            box_counts(people[owner])

        @rule()
        def lose_cache(self):  # Redis flushed
            cache.clear()

        @rule(owner=st.sampled_from(range(3)))
        def lose_generation(self, owner):  # one key evicted, the stored counts still there
            cache.delete(GEN_KEY.format(people[owner].pk))

        @invariant()
        def cached_equals_fresh(self):
            for person in people:
                cached, fresh = box_counts(person), count_boxes(person)
                assert cached == fresh
                assert min(cached.values()) >= 0
                assert inbox_counts(person) == {b: fresh[b] for b in WorkItem.Box.values}
                for box in ("todo", "toread", "done", "read"):
                    assert unfiltered_box_count(person, box) == inbox(person, box).count()

    WorkCounts.TestCase.settings = settings(max_examples=25, stateful_step_count=12, deadline=None,
                                            suppress_health_check=list(HealthCheck))
    WorkCounts.TestCase().runTest()


@pytest.mark.django_db
def test_stale_counts_under_an_old_generation_are_ignored(cast):
    lina = cast.lina
    assert box_counts(lina)["todo"] == 0
    gen = cache.get(GEN_KEY.format(lina.pk))
    # A reader that counted before a write stores its (old) counts under the old generation …
    do_assign_work(kind="other", ref="test:counts:x", box=WorkItem.Box.TODO, owner=lina, title="测试", notify=False)
    cache.set(VAL_KEY.format(lina.pk), (gen, dict.fromkeys(box_counts(lina), 0)))
    # … which the next read does not trust.
    assert box_counts(lina)["todo"] == 1


@pytest.mark.django_db
def test_a_direct_row_write_invalidates_too(cast):
    lina = cast.lina
    assert box_counts(lina)["todo"] == 0
    WorkItem.objects.create(kind="other", ref="test:counts:y", box=WorkItem.Box.TODO, owner=lina, title="测试", link="/")
    assert box_counts(lina)["todo"] == 1
    WorkItem.objects.filter(ref="test:counts:y").delete()
    assert box_counts(lina)["todo"] == 0
