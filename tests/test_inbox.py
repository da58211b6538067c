"""The unified inbox: viewflow tasks mirrored into WorkItems, boxes, counts, filters, search, ordering,
completing through the API, 委托 display and handover — driven through HTTP as the demo cast."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import PROCESS, STATUS

from oa.actions.delegation import check_handover
from oa.actions.tokens import do_issue_token
from oa.models import Agency, AuditEntry, Notification, NotificationDelivery, WorkItem
from tests.flowapp.flows import MemoFlow
from workflows.actions import check_complete_task

pytestmark = pytest.mark.django_db


def api(person) -> Client:
    """An HTTP client for `person` holding a bearer token (works for 2FA roles too: the token was issued
    after TOTP)."""
    raw, _ = do_issue_token(person, name="测试")
    return Client(headers={"Authorization": f"Bearer {raw}"})


def start_memo(initiator, reviewer, handler, *, title="关于开展安全生产检查的通知", urgency=0, doc_number="", **extra):
    return MemoFlow.start.run(
        title=title, urgency=urgency, reviewer_id=reviewer.pk, handler_id=handler.pk, doc_number=doc_number,
        initiator_id=initiator.pk, **extra,
    )


def open_task(process, owner) -> Task:
    return Task.objects.get(process=process, owner=owner, status=STATUS.ASSIGNED)


def work(client, **params) -> list[dict]:
    response = client.get("/api/work", params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def titles(client, **params) -> list[str]:
    return [row["title"] for row in work(client, **params)]


# --- viewflow → WorkItem ------------------------------------------------------------------------------------


def test_started_process_puts_todo_in_reviewers_inbox_and_initiated_for_initiator(cast):
    zhangwei, lina, zhoumin = cast.zhangwei, cast.lina, cast.zhoumin
    process = start_memo(zhangwei, lina, zhoumin, urgency=2, doc_number="揭东府办〔2026〕12号")

    rows = work(api(lina), box="todo")
    assert len(rows) == 1
    row = rows[0]
    assert row["title"] == "关于开展安全生产检查的通知"
    assert (row["urgency"], row["urgency_label"]) == (2, "特急")
    assert row["doc_number"] == "揭东府办〔2026〕12号"
    assert row["kind"] == "flow_task" and row["kind_label"] == "流程待办"
    assert row["owner"]["username"] == "lina" and row["initiator"]["username"] == "zhangwei"
    assert row["handled_by"] == "李娜" and row["on_behalf_of"] is None
    assert row["link"] == f"/work/{row['id']}/"
    task = open_task(process, lina)
    assert WorkItem.objects.get(pk=row["id"]).ref == f"viewflow.task:{task.pk}"

    # The new 待办 is an event for 李娜, recorded with its per-channel delivery state.
    note = Notification.objects.get(recipient=lina, event_type="work.assigned")
    assert note.work_item_id == row["id"] and note.link == row["link"]
    assert note.payload["urgency"] == 2 and note.payload["doc_number"] == "揭东府办〔2026〕12号"
    assert NotificationDelivery.objects.filter(notification=note, channel="web").exists()

    initiated = work(api(zhangwei), box="initiated")
    assert [r["title"] for r in initiated] == ["关于开展安全生产检查的通知"]
    assert initiated[0]["state"] == "open"
    assert work(api(zhoumin), box="todo") == []  # the handler's turn has not come


def test_counts_for_every_box(cast):
    zhangwei, lina, zhoumin = cast.zhangwei, cast.lina, cast.zhoumin
    first = start_memo(zhangwei, lina, zhoumin, title="甲")
    start_memo(zhangwei, lina, zhoumin, title="乙")
    check_complete_task(lina, open_task(first, lina))

    counts = api(lina).get("/api/work/counts").json()
    assert counts == {"todo": 1, "toread": 0, "done": 1, "read": 0, "initiated": 0}
    assert api(zhangwei).get("/api/work/counts").json()["initiated"] == 2
    me = api(lina).get("/api/me").json()
    assert me["counts"] == counts and me["name"] == "李娜"
    assert me["unread"] == 1  # 乙 is unread; 甲's notification was retired when 李娜 finished it


def test_filters_search_and_ordering(cast):
    zhangwei, lina, zhoumin = cast.zhangwei, cast.lina, cast.zhoumin
    now = timezone.now()
    agency = Agency.objects.order_by("id").first()
    start_memo(zhangwei, lina, zhoumin, title="普通件无期限")
    start_memo(zhangwei, lina, zhoumin, title="加急件", urgency=1, doc_number="揭东财〔2026〕3号")
    start_memo(zhangwei, lina, zhoumin, title="特急件晚期限", urgency=2, deadline=(now + dt.timedelta(days=3)).isoformat())
    start_memo(zhangwei, lina, zhoumin, title="特急件早期限", urgency=2, deadline=(now + dt.timedelta(days=1)).isoformat())
    start_memo(zhangwei, lina, zhoumin, title="已超期件", deadline=(now - dt.timedelta(hours=2)).isoformat(),
               agency_id=agency.pk)
    client = api(lina)

    # 特急 before 加急 before 普通; within 特急 the nearer deadline first; no deadline after any deadline.
    assert titles(client) == ["特急件早期限", "特急件晚期限", "加急件", "已超期件", "普通件无期限"]
    assert titles(client, urgency=2) == ["特急件早期限", "特急件晚期限"]
    assert titles(client, urgency=1) == ["加急件"]
    assert titles(client, overdue="true") == ["已超期件"]
    assert [r["overdue"] for r in work(client, overdue="true")] == [True]
    assert "已超期件" not in titles(client, overdue="false")
    assert titles(client, agency=agency.pk) == ["已超期件"]
    assert titles(client, kind="flow_task")[0] == "特急件早期限"
    assert titles(client, kind="meeting") == []
    assert titles(client, q="加急") == ["加急件"]  # by title
    assert titles(client, q="财〔2026〕3") == ["加急件"]  # by 文号
    assert titles(client, q="特急件") == ["特急件早期限", "特急件晚期限"]
    # Pagination: page size and page number.
    page = client.get("/api/work", {"page_size": 2, "page": 2}).json()
    assert page["count"] == 5 and [r["title"] for r in page["results"]] == ["加急件", "已超期件"]
    # Nobody else sees 李娜's items.
    assert titles(api(cast.xuli), q="件") == []


def test_complete_through_api_moves_work_to_next_owner_with_events(cast):
    zhangwei, lina, zhoumin = cast.zhangwei, cast.lina, cast.zhoumin
    process = start_memo(zhangwei, lina, zhoumin, title="请审核经费报告")
    lina_client = api(lina)
    item = work(lina_client)[0]
    detail = lina_client.get(f"/api/work/{item['id']}").json()
    assert detail["actions"] == [{"key": "complete", "label": "办理完成", "style": "primary", "needs_opinion": False}]

    response = lina_client.post(
        f"/api/work/{item['id']}/actions/complete", {"opinion": "同意，请周敏办理。"}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "done" and body["actions"] == [] and body["completed_at"]

    assert work(lina_client, box="todo") == []
    assert [r["title"] for r in work(lina_client, box="done")] == ["请审核经费报告"]
    handle = work(api(zhoumin))
    assert [r["title"] for r in handle] == ["请审核经费报告"] and handle[0]["step"]
    # Events: 周敏 told of the new item; 李娜's notification retired (read) with the web delivery marked so.
    assert Notification.objects.filter(recipient=zhoumin, event_type="work.assigned", work_item_id=handle[0]["id"]).exists()
    lina_note = Notification.objects.get(recipient=lina, work_item_id=item["id"])
    assert lina_note.read_at is not None
    assert lina_note.deliveries.get(channel="web").state == "retired"
    # The act is audited with the opinion; the task carries it.
    entry = AuditEntry.objects.filter(action="flow.task_complete").latest("id")
    assert entry.actor == lina and entry.changes["opinion"] == "同意，请周敏办理。"
    assert Task.objects.get(pk=int(WorkItem.objects.get(pk=item["id"]).ref.split(":")[1])).data["opinion"] == "同意，请周敏办理。"

    # The handler finishes: the process ends and the initiator's 我发起 item closes with a work.completed event.
    zhoumin_client = api(zhoumin)
    assert zhoumin_client.post(f"/api/work/{handle[0]['id']}/actions/complete", {}, content_type="application/json").status_code == 200
    process.refresh_from_db()
    assert process.status == PROCESS.DONE
    initiated = work(api(zhangwei), box="initiated")
    assert initiated[0]["state"] == "done"
    assert Notification.objects.filter(recipient=zhangwei, event_type="work.completed").count() == 1
    assert api(zhangwei).get("/api/work/counts").json()["initiated"] == 0


def test_someone_elses_item_is_404(cast):
    process = start_memo(cast.zhangwei, cast.lina, cast.zhoumin)
    item = WorkItem.objects.get(owner=cast.lina, box="todo")
    other = api(cast.xuli)
    for response in (
        other.get(f"/api/work/{item.pk}"),
        other.post(f"/api/work/{item.pk}/actions/complete", {}, content_type="application/json"),
        other.get("/api/work/999999"),
    ):
        assert response.status_code == 404
        assert response.json() == {"code": "not_found", "message": "对象不存在或无权访问。"}
    assert open_task(process, cast.lina).status == STATUS.ASSIGNED


def test_on_behalf_is_shown_and_principal_may_look_but_not_act(cast):
    lina, wangfang = cast.lina, cast.wangfang
    process = start_memo(cast.zhangwei, lina, cast.zhoumin, title="需王芳签批的请示")
    # Issue 5's calc_owner() records 委托 in the task's routing data; simulate it on the assigned task.
    task = open_task(process, lina)
    task.data = {**task.data, "routing": {"on_behalf_of": wangfang.pk, "delegation_id": 1}}
    task.save()

    row = work(api(lina))[0]
    assert row["on_behalf_of"]["name"] == "王芳"
    assert row["handled_by"] == "李娜 代 王芳 办理"

    # The principal can open it (it is done for her) but has no action and cannot complete it.
    principal = api(wangfang)
    detail = principal.get(f"/api/work/{row['id']}")
    assert detail.status_code == 200 and detail.json()["actions"] == []
    refused = principal.post(f"/api/work/{row['id']}/actions/complete", {}, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json() == {"code": "permission_denied", "message": "您不是该事项的办理人，不能办理。"}
    assert WorkItem.objects.get(pk=row["id"]).opened_at is None  # only the owner's opening counts

    # Completed by 李娜: the audit says on whose behalf.
    assert api(lina).post(f"/api/work/{row['id']}/actions/complete", {}, content_type="application/json").status_code == 200
    entry = AuditEntry.objects.filter(action="flow.task_complete").latest("id")
    assert entry.actor == lina and entry.on_behalf_of == wangfang


def test_double_submit_completes_once(cast):
    process = start_memo(cast.zhangwei, cast.lina, cast.zhoumin)
    client = api(cast.lina)
    item_id = work(client)[0]["id"]
    url = f"/api/work/{item_id}/actions/complete"
    first = client.post(url, {}, content_type="application/json")
    second = client.post(url, {}, content_type="application/json")
    assert first.status_code == 200
    assert second.status_code == 409
    assert second.json()["code"] == "work_closed"
    assert Task.objects.filter(process=process, flow_task_type="HUMAN", status=STATUS.ASSIGNED).count() == 1
    assert AuditEntry.objects.filter(action="flow.task_complete").count() == 1
    # Even a direct second call (as a racing request would make after the lock) is refused.
    from oa.refusals import Refusal

    with pytest.raises(Refusal):
        check_complete_task(cast.lina, Task.objects.get(pk=int(WorkItem.objects.get(pk=item_id).ref.split(":")[1])))


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SQLite ignores select_for_update")
def test_concurrent_submits_complete_once_on_postgresql(demo_tx):
    from oa.models import Person

    lina = Person.objects.get(username="lina")
    process = start_memo(Person.objects.get(username="zhangwei"), lina, Person.objects.get(username="zhoumin"))
    task_id = open_task(process, lina).pk
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def submit():
        try:
            barrier.wait()
            check_complete_task(lina, Task.objects.get(pk=task_id), "并发")
            outcomes.append("ok")
        except Exception as exc:  # the refusal is what we count
            outcomes.append(getattr(exc, "code", type(exc).__name__))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) in (["busy", "ok"], ["ok", "work_closed"])
    assert Task.objects.filter(process=process, flow_task_type="HUMAN").count() == 2  # review + one handle
    assert WorkItem.objects.filter(box="todo", state="open", owner__username="zhoumin").count() == 1


def test_opening_records_opened_at_once(cast):
    start_memo(cast.zhangwei, cast.lina, cast.zhoumin)
    client = api(cast.lina)
    item_id = work(client)[0]["id"]
    assert client.get(f"/api/work/{item_id}").json()["opened_at"]
    first = WorkItem.objects.get(pk=item_id).opened_at
    client.get(f"/api/work/{item_id}")
    assert WorkItem.objects.get(pk=item_id).opened_at == first


def test_reassigned_task_moves_the_item(cast):
    process = start_memo(cast.zhangwei, cast.lina, cast.zhoumin)
    task = open_task(process, cast.lina)
    with task.activation() as activation:
        activation.reassign(user=cast.xuli)
    old = WorkItem.objects.get(owner=cast.lina, box="todo")
    assert old.state == "cancelled"
    assert [r["title"] for r in work(api(cast.xuli))] == ["关于开展安全生产检查的通知"]
    assert work(api(cast.lina)) == []


def test_handover_moves_open_work_items(cast):
    lina, gaojun = cast.lina, cast.gaojun
    first = start_memo(cast.zhangwei, lina, cast.zhoumin, title="交接件一")
    start_memo(cast.zhangwei, lina, cast.zhoumin, title="交接件二")
    check_complete_task(lina, open_task(first, lina))  # done work stays in 李娜's 已办

    moved = check_handover(actor=cast.sunhao, source=lina, target=gaojun, reason="调任")
    assert [(m.kind, m.moved) for m in moved] == [("flow_task", 1), ("meeting_invitation", 0)]
    assert work(api(lina)) == []
    assert [r["title"] for r in work(api(lina), box="done")] == ["交接件一"]
    gaojun_client = api(gaojun)
    rows = work(gaojun_client)
    assert [r["title"] for r in rows] == ["交接件二"]
    # 高军 can act on it: the task moved with the item.
    response = gaojun_client.post(f"/api/work/{rows[0]['id']}/actions/complete", {}, content_type="application/json")
    assert response.status_code == 200
