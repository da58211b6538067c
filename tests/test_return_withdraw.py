"""退回 and 取回 as the drafter and the handlers meet them on 发文 (issue 12 point 3), through HTTP as the demo cast:
the drafter 取回s a 送审 until the next handler opens it (page and API), the returned item says who returned it and
why (待办 page and API, the 修改稿件 page), the trace marks the returning step 已退回, and 已办 does not call a
returned step 办结."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from oa.actions.tokens import do_issue_token
from oa.models import AuditEntry, Notification, WorkItem
from tests.clients import login
from tests.test_issuance_http import _started, act, open_task
from workflows.issuance.flows import IssuanceFlow
from workflows.models import TaskEvent

pytestmark = pytest.mark.django_db


def api_client(person) -> Client:
    raw, _ = do_issue_token(person, name="测试")
    return Client(headers={"Authorization": f"Bearer {raw}"})


def text(response) -> str:
    return response.content.decode()


def start_task(process_id: int) -> Task:
    return Task.objects.get(process_id=process_id, flow_task=IssuanceFlow.start)


def tasks_state(process_id: int) -> list[tuple[int, str, str, int | None]]:
    return [(t.pk, t.flow_task.name, t.status, t.owner_id)
            for t in Task.objects.filter(process_id=process_id).order_by("pk")]


# --- 取回 after 送审 ------------------------------------------------------------------------------------------------


def test_drafter_withdraws_the_submission_before_the_reviewer_opens_it(cast):
    _doc, process_id = _started(cast)
    review = open_task(process_id, IssuanceFlow.dept_review)
    zhang = login(cast.zhangwei)
    trace = text(zhang.get(f"/flows/processes/{process_id}/"))
    send = start_task(process_id)
    assert f'action="/flows/tasks/{send.pk}/withdraw"' in trace and "确认取回“拟稿送审”" in trace
    response = zhang.post(f"/flows/tasks/{send.pk}/withdraw")
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status == STATUS.CANCELED
    redraft = open_task(process_id, IssuanceFlow.redraft)
    assert redraft.owner == cast.zhangwei
    # the reviewer's 待办 is withdrawn, the drafter has 修改稿件 in his
    assert WorkItem.objects.get(ref=f"viewflow.task:{review.pk}", owner=cast.lina).state == WorkItem.State.CANCELLED
    assert WorkItem.objects.get(ref=f"viewflow.task:{redraft.pk}", owner=cast.zhangwei).state == WorkItem.State.OPEN
    assert AuditEntry.objects.filter(action="flow.task_withdraw", actor=cast.zhangwei, object_id=str(send.pk)).exists()
    # the confirmation names the steps in Chinese
    page = text(zhang.get(f"/flows/processes/{process_id}/"))
    assert "已取回“拟稿送审”，“修改稿件”已回到您的待办。" in page
    # 修改完毕 → 审核 again
    act(zhang, redraft, "done", "已修改。")
    assert open_task(process_id, IssuanceFlow.dept_review).owner == cast.lina


def test_drafter_withdraw_over_the_api(cast):
    _doc, process_id = _started(cast)
    send = start_task(process_id)
    response = api_client(cast.zhangwei).post(f"/api/flows/tasks/{send.pk}/withdraw", "{}",
                                              content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()["task"]
    assert body["node"] == "redraft" and body["step"] == "修改稿件" and body["owner"]["name"] == "张伟"


def test_withdraw_refused_once_the_reviewer_opened_the_step(cast):
    _doc, process_id = _started(cast)
    review = open_task(process_id, IssuanceFlow.dept_review)
    assert login(cast.lina).get(f"/flows/issuance/tasks/{review.pk}/").status_code == 200  # 李娜 opens 审核
    send = start_task(process_id)
    before = tasks_state(process_id)
    zhang = login(cast.zhangwei)
    assert f"/flows/tasks/{send.pk}/withdraw" not in text(zhang.get(f"/flows/processes/{process_id}/"))
    refused = zhang.post(f"/flows/tasks/{send.pk}/withdraw")
    assert refused.status_code == 409 and "李娜 已打开该事项，不能取回。" in text(refused)
    api = api_client(cast.zhangwei).post(f"/api/flows/tasks/{send.pk}/withdraw", "{}", content_type="application/json")
    assert api.status_code == 409 and api.json()["code"] == "withdraw_opened"
    assert "李娜 已打开该事项，不能取回。" in json.dumps(api.json(), ensure_ascii=False)
    assert tasks_state(process_id) == before
    assert not TaskEvent.objects.filter(process_id=process_id, op=TaskEvent.Op.WITHDRAW).exists()
    assert not AuditEntry.objects.filter(action="flow.task_withdraw").exists()


def test_someone_else_cannot_withdraw_the_submission(cast):
    _doc, process_id = _started(cast)
    send = start_task(process_id)
    refused = login(cast.lina).post(f"/flows/tasks/{send.pk}/withdraw")
    assert refused.status_code == 403 and "只有该环节的办理人可以取回。" in text(refused)
    assert open_task(process_id, IssuanceFlow.dept_review).status == STATUS.ASSIGNED



# --- 退回 seen by everyone --------------------------------------------------------------------------------------------


def _returned_at_signoff(cast) -> tuple[int, Task, Task]:
    """李娜 审核 and 核稿, then at 签发 returns the draft to 张伟 with a reason (over HTTP)."""
    _doc, process_id = _started(cast)
    lina = login(cast.lina, otp=True)
    act(lina, open_task(process_id, IssuanceFlow.dept_review), "agree", "同意。")
    act(lina, open_task(process_id, IssuanceFlow.office_check), "agree", "同意。")
    signoff = open_task(process_id, IssuanceFlow.signoff)
    start = start_task(process_id)
    step_page = text(lina.get(f"/flows/issuance/tasks/{signoff.pk}/"))
    assert "确认退回？“签发”将就此结束" in step_page  # the confirmation names the step
    response = lina.post(f"/flows/tasks/{signoff.pk}/return",
                         {"target": start.pk, "reason": "第二部分请补充值班电话。", "jump_back": "on"})
    assert response.status_code == 302
    page = text(lina.get(response["Location"]))
    assert "已退回：“签发”退回到“修改稿件”（张伟），理由已记入流转记录。" in page  # the confirmation names the steps
    redraft = open_task(process_id, IssuanceFlow.redraft)
    # the log and the drafter's notice point at 修改稿件, not at 签发's deadline timer (which also follows 签发)
    event = TaskEvent.objects.get(process_id=process_id, op=TaskEvent.Op.RETURN)
    assert event.new_task == redraft and event.to_person == cast.zhangwei and event.to_node == "redraft"
    assert Notification.objects.filter(recipient=cast.zhangwei, event_type="work.returned").count() == 1
    return process_id, signoff, redraft


def test_trace_marks_the_returning_step_returned_not_done(cast):
    process_id, signoff, _redraft = _returned_at_signoff(cast)
    html = text(login(cast.zhangwei).get(f"/flows/processes/{process_id}/"))
    svg = re.search(r"<svg\b[^>]*oa-flow-diagram.*?</svg>", html, re.S).group(0)
    node = re.search(r'<g class="oa-flow-node[^"]*" data-key="signoff" data-status="([^"]*)">(.*?)</g>', svg, re.S)
    assert node.group(1) == "returned"
    assert "已退回" in node.group(2) and "已完成" not in node.group(2) and "✓" not in node.group(2)
    assert re.search(r'data-key="redraft" data-status="current"', svg)
    assert "第二部分请补充值班电话。" in html  # the 流转记录 carries the reason
    # the task page of the returned 签发 says 已退回, not 已办结
    task_page = text(login(cast.lina, otp=True).get(f"/flows/tasks/{signoff.pk}/"))
    assert "状态：<strong>已退回</strong>" in task_page and "已办结" not in task_page


def test_the_returned_item_says_who_and_why_in_todo_page_api_and_redraft_page(cast):
    process_id, _signoff, redraft = _returned_at_signoff(cast)
    zhang = login(cast.zhangwei)
    item = WorkItem.objects.get(ref=f"viewflow.task:{redraft.pk}", owner=cast.zhangwei)
    assert item.note == "被 李娜 退回：第二部分请补充值班电话。"
    todo = text(zhang.get("/work/?box=todo"))
    assert "被 李娜 退回：第二部分请补充值班电话。" in todo
    api = api_client(cast.zhangwei).get("/api/work?box=todo").json()
    row = next(r for r in api["results"] if r["id"] == item.pk)
    assert row["note"] == "被 李娜 退回：第二部分请补充值班电话。" and row["step"] == "修改稿件"
    # the 修改稿件 page says it at the top, before the 公文 card
    page = text(zhang.get(f"/flows/issuance/tasks/{redraft.pk}/"))
    notice = page.index("被 李娜 退回：第二部分请补充值班电话。")
    assert notice < page.index('id="reading-body-title"')
    # done again: the note belongs to the returned work, not to what comes next
    act(zhang, redraft, "done", "已补充。")
    again = open_task(process_id, IssuanceFlow.signoff)
    assert WorkItem.objects.get(ref=f"viewflow.task:{again.pk}", owner=cast.lina).note == ""


def test_done_box_lists_a_returned_signoff_as_returned_not_done(cast):
    _process_id, signoff, _redraft = _returned_at_signoff(cast)
    item = WorkItem.objects.get(ref=f"viewflow.task:{signoff.pk}", owner=cast.lina)
    assert item.state == WorkItem.State.DONE and item.outcome == "returned"
    assert item.note == "退回到“修改稿件”：第二部分请补充值班电话。"
    lina = login(cast.lina, otp=True)
    done_page = text(lina.get("/work/?box=done"))
    row = done_page[done_page.index(f'href="/work/{item.pk}/"'):]
    row = row[:row.index("</li>")]
    assert "已退回" in row and "退回到“修改稿件”：第二部分请补充值班电话。" in row and "办结" not in row
    api = api_client(cast.lina).get("/api/work?box=done").json()
    body = next(r for r in api["results"] if r["id"] == item.pk)
    assert body["outcome"] == "returned" and body["outcome_label"] == "已退回"
    detail = text(lina.get(f"/work/{item.pk}/"))
    assert "已退回" in detail and "已办结" not in detail and "退回时间" in detail
    # the 审核 李娜 passed is still plainly 办结
    review = Task.objects.get(process_id=_process_id, flow_task=IssuanceFlow.dept_review)
    assert WorkItem.objects.get(ref=f"viewflow.task:{review.pk}", owner=cast.lina).outcome == ""


def test_the_return_notification_says_who_and_why_but_the_phone_card_does_not(cast):
    from dataclasses import replace

    from integrations.wecom.channel import card_message
    from integrations.wecom.client import WecomSettings
    from oa.selectors.notifications import notification_data

    _returned_at_signoff(cast)
    note = Notification.objects.get(recipient=cast.zhangwei, event_type="work.returned")
    assert note.title.startswith("退回：") and note.summary == "被 李娜 退回：第二部分请补充值班电话。"
    assert note.payload["reason"] == "第二部分请补充值班电话。" and note.payload["by"] == "李娜"
    assert note.payload["step"] == "修改稿件"
    # what the browser gets (the live toast writes it with textContent, never as markup)
    assert notification_data(note)["summary"] == "被 李娜 退回：第二部分请补充值班电话。"
    # the 粤政易 card carries metadata only (docs/wecom.md): the title says 退回, the reason (an opinion) stays home
    for mode in ("textcard", "template_card"):
        config = replace(WecomSettings.from_settings(), public_base_url="https://oa.example", card_mode=mode)
        _kind, body = card_message(note, "zhangwei", config)
        card = json.dumps(body, ensure_ascii=False)
        assert "退回：" in card and "第二部分请补充值班电话" not in card


def test_a_return_reason_is_one_line_of_text_and_without_one_the_step_is_named(cast):
    from oa.events import make_work_returned
    from tests.test_events import work_item

    item = work_item(cast.zhangwei, step="修改稿件")
    event = make_work_returned(item, by=cast.lina, reason="<b>请改</b>\n  第二段")
    assert event.summary == "被 李娜 退回：<b>请改</b> 第二段"  # stored as typed, on one line; escaped where shown
    assert event.payload["reason"] == "<b>请改</b> 第二段"
    assert make_work_returned(item, by=cast.lina).summary == "被 李娜 退回至「修改稿件」"
