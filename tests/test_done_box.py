"""已办 lists one row per piece of work (a flow's process): the last step the person did in it, with the counts and
pagination over those rows, in a fixed number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from oa.actions.work import do_assign_work, do_close_work
from oa.models import WorkItem
from oa.selectors.work import box_counts, inbox
from tests.clients import login
from tests.test_inbox import api, open_task, start_memo, work
from workflows.actions import check_complete_task
from workflows.inbox import process_ref

pytestmark = pytest.mark.django_db


def test_one_row_per_process_with_the_last_step(cast):
    lina, zhangwei, zhoumin = cast.lina, cast.zhangwei, cast.zhoumin
    both = start_memo(zhangwei, lina, lina, title="甲：审核并办理")  # 李娜 审核, then 李娜 办理
    check_complete_task(lina, open_task(both, lina))
    check_complete_task(lina, open_task(both, lina))
    review_only = start_memo(zhangwei, lina, zhoumin, title="乙：只审核")
    check_complete_task(lina, open_task(review_only, lina))
    # the rows of one process share its thread
    assert set(WorkItem.objects.filter(owner=lina, box="todo").values_list("thread", flat=True)) == {
        process_ref(both.pk), process_ref(review_only.pk)}

    rows = work(api(lina), box="done")
    assert [(r["title"], r["step"]) for r in rows] == [("乙：只审核", "审核"), ("甲：审核并办理", "办理")]
    assert api(lina).get("/api/work/counts").json()["done"] == 2
    page = login(lina).get("/work/?box=done").content.decode()
    assert "共 2 项" in page and page.count("甲：审核并办理") == 1 and "我最后办理：办理" in page
    # searching still finds the process, once
    assert [r["step"] for r in work(api(lina), box="done", q="甲")] == ["办理"]


def _done(owner, ref: str, thread: str, step: str) -> None:
    do_assign_work(kind="flow_task", ref=ref, box=WorkItem.Box.TODO, owner=owner, title=f"事项 {thread}",
                   step=step, thread=thread, notify=False)
    do_close_work(ref=ref, box=WorkItem.Box.TODO, owner=owner)


def _fill(owner, threads: int, start: int = 0) -> None:
    for n in range(start, start + threads):
        _done(owner, f"t:{n}:a", f"p:{n}", "审核")
        _done(owner, f"t:{n}:b", f"p:{n}", "签发")


def _page_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_pagination_counts_and_a_fixed_number_of_queries(cast):
    lina = cast.lina
    _fill(lina, 2)
    client = login(lina)
    client.get("/work/?box=done")  # warm: the session's idle clock, the cached counts
    few = _page_queries(client, "/work/?box=done")
    _fill(lina, 28, start=2)
    client.get("/work/?box=done")  # the writes invalidated the cached counts: this request recounts them
    many = _page_queries(client, "/work/?box=done")
    assert many == few  # no query per row or per thread

    assert inbox(lina, "done").count() == 30 and box_counts(lina)["done"] == 30
    first = client.get("/work/?box=done").content.decode()
    second = client.get("/work/?box=done&page=2").content.decode()
    assert "共 30 项" in first and first.count("我最后办理：签发") == 20 and "我最后办理：审核" not in first
    assert second.count("我最后办理：签发") == 10
    shown = [r["title"] for r in work(api(lina), box="done")] + [r["title"] for r in work(api(lina), box="done",
                                                                                            page=2)]
    assert len(shown) == len(set(shown)) == 30


def test_rows_without_a_thread_stand_alone(cast):
    lina = cast.lina
    for n in range(2):
        WorkItem.objects.create(kind="other", ref=f"x:{n}", box=WorkItem.Box.TODO, owner=lina, title=f"单独事项{n}",
                                state=WorkItem.State.DONE, link="/", completed_at=cast.lina.date_joined)
    assert sorted(i.title for i in inbox(lina, "done")) == ["单独事项0", "单独事项1"]
    assert box_counts(lina)["done"] == 2
