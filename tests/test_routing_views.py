"""Routing operations through HTTP (workflows/views/routing.py): the /flows/tasks/<id>/… pages and the
/api/flows/tasks/<id>/… JSON API, on the 发文-shaped RoutingFlow, acting as the demo cast. Each operation is checked
in the database (tasks), the audit log and the TaskEvent log; refusals show the action's Chinese message and change
nothing; someone with nothing to do with the process gets 404, a participant who is not the handler 403."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import include, path
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from oa.actions.tokens import do_issue_token
from oa.models import AuditEntry, Notification, WorkItem
from tests.clients import login
from tests.flowapp.flows import RoutingFlow
from tests.test_routing import done, one, start, state
from workflows.models import TaskEvent, TaskOpened

# /api/flows/ is mounted by the lead in oa/urls.py; this URLconf mounts it ahead of oa.urls so the tests do not
# depend on that line (the /api/ catch-all would otherwise answer first).
urlpatterns = [path("api/flows/", include("workflows.api_urls")), path("", include("oa.urls"))]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]



def api_client(person) -> Client:
    raw, _ = do_issue_token(person, name="测试")
    return Client(headers={"Authorization": f"Bearer {raw}"})


def post_json(client: Client, url: str, data: dict | None = None):
    return client.post(url, json.dumps(data or {}), content_type="application/json")


def text(response) -> str:
    return response.content.decode()


def start_task(process) -> Task:
    return Task.objects.get(process=process, flow_task=RoutingFlow.start)


def events(process, op):
    return TaskEvent.objects.filter(process=process, op=op)


class _Controls(HTMLParser):
    """Collects form controls, labels and inline scripts of a page (to check labels and CSP hygiene)."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict] = []
        self.labels: set[str] = set()
        self.inline_scripts = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.controls.append(a)
        if tag == "label" and a.get("for"):
            self.labels.add(a["for"])
        if tag == "script" and not a.get("src"):
            self.inline_scripts += 1


def controls(html: str) -> _Controls:
    parser = _Controls()
    parser.feed(html)
    return parser


# --- 退回 --------------------------------------------------------------------------------------------------------


def test_task_page_offers_the_operations_with_labels_and_no_inline_script(cast):
    process = start(cast, roles={"review": [cast.lina.pk, cast.zhoumin.pk]})
    review = one(process, RoutingFlow.review)
    response = login(cast.lina, otp=True).get(f"/flows/tasks/{review.pk}/")
    assert response.status_code == 200
    html = text(response)
    for op in ("return", "reassign", "addsign"):
        assert f'action="/flows/tasks/{review.pk}/{op}"' in html
    assert "确认退回" in html and "<details" in html
    assert f'value="{start_task(process).pk}"' in html  # the drafting step is a 退回 target
    page = controls(html)
    assert page.inline_scripts == 0
    unlabelled = [c for c in page.controls if c.get("id") not in page.labels]
    assert unlabelled == []
    jump_back = next(c for c in page.controls if c.get("name") == "jump_back")
    assert "checked" in jump_back  # RoutingFlow.return_jump_back = True
    # the owner opened it: the sender can no longer take it back
    assert TaskOpened.objects.filter(task=review, person=cast.lina).exists()


def test_return_through_the_page(cast):
    process = start(cast)
    review = one(process, RoutingFlow.review)
    target = start_task(process)
    response = login(cast.lina, otp=True).post(
        f"/flows/tasks/{review.pk}/return", {"target": target.pk, "reason": "请补充防汛物资清单。", "jump_back": "on"},
        REMOTE_ADDR="10.5.0.7",
    )
    assert response.status_code == 302 and response["Location"] == f"/flows/processes/{process.pk}/"
    review.refresh_from_db()
    assert review.status == STATUS.DONE
    redraft = one(process, RoutingFlow.redraft)
    assert redraft.owner == cast.zhangwei
    assert redraft.data["routing"]["jump_back"][0]["node"] == "review"  # jump-back as ticked
    event = events(process, "return").get()
    assert (event.actor, event.to_person, event.reason) == (cast.lina, cast.zhangwei, "请补充防汛物资清单。")
    entry = AuditEntry.objects.get(action="flow.task_return", object_id=str(review.pk))
    assert entry.actor == cast.lina and entry.changes["reason"] == "请补充防汛物资清单。" and entry.ip == "10.5.0.7"
    assert Notification.objects.filter(recipient=cast.zhangwei, event_type="work.returned").exists()


def test_return_without_reason_is_refused_with_the_chinese_message_and_changes_nothing(cast):
    process = start(cast)
    review = one(process, RoutingFlow.review)
    before = state(process)
    response = login(cast.lina, otp=True).post(f"/flows/tasks/{review.pk}/return",
                                       {"target": start_task(process).pk, "reason": "  "})
    assert response.status_code == 400
    assert "退回必须填写理由。" in text(response) and 'role="alert"' in text(response)
    assert state(process) == before
    assert not TaskEvent.objects.filter(process=process, op="return").exists()
    assert not AuditEntry.objects.filter(action="flow.task_return").exists()


def test_return_refusals_finished_task_and_not_my_task(cast):
    process = start(cast)
    review = one(process, RoutingFlow.review)
    target = start_task(process).pk
    # the initiator may see the process but is not the handler: 403 with the reason, nothing changes
    response = login(cast.zhangwei, otp=True).post(f"/flows/tasks/{review.pk}/return", {"target": target, "reason": "抢先"})
    assert response.status_code == 403 and "您不是该事项的办理人。" in text(response)
    done(cast.lina, review)
    before = state(process)
    response = login(cast.lina, otp=True).post(f"/flows/tasks/{review.pk}/return", {"target": target, "reason": "办完再退"})
    assert response.status_code == 409 and "该事项已办结或已撤销，不能再操作。" in text(response)
    assert state(process) == before
    assert not AuditEntry.objects.filter(action="flow.task_return").exists()


def test_someone_elses_task_is_404(cast):
    process = start(cast)
    review = one(process, RoutingFlow.review)
    outsider = login(cast.finance01, otp=True)  # 区财政局: not in this process, no 公文 to see
    assert outsider.get(f"/flows/tasks/{review.pk}/").status_code == 404
    for op, data in (("return", {"target": start_task(process).pk, "reason": "x"}), ("reassign", {}),
                     ("addsign", {}), ("withdraw", {}), ("urge", {})):
        assert outsider.post(f"/flows/tasks/{review.pk}/{op}", data).status_code == 404, op
    assert outsider.get(f"/flows/processes/{process.pk}/").status_code == 404
    assert login(cast.lina, otp=True).get("/flows/tasks/999999999/").status_code == 404
    assert not TaskEvent.objects.filter(process=process).exclude(op="delegate").exists()
    assert Task.objects.get(pk=review.pk).data.get("routing", {}).get("urged") is None


def test_a_join_task_page_shows_no_operations(cast):
    process = start(cast)
    done(cast.lina, one(process, RoutingFlow.review))
    done(cast.liuyang, one(process, RoutingFlow.office))
    first = Task.objects.filter(process=process, flow_task=RoutingFlow.countersign).order_by("pk").first()
    done(first.owner, first)
    join = Task.objects.get(process=process, flow_task=RoutingFlow.join)
    response = login(cast.zhangwei, otp=True).get(f"/flows/tasks/{join.pk}/")
    assert response.status_code == 200 and "您对本事项没有可执行的流转操作。" in text(response)
    target = start_task(process).pk
    response = login(cast.zhangwei, otp=True).post(f"/flows/tasks/{join.pk}/return", {"target": target, "reason": "x"})
    assert response.status_code == 400 and "自动环节" in text(response)
    assert_api_error(post_json(api_client(cast.zhangwei), f"/api/flows/tasks/{join.pk}/return",
                               {"target_task": target, "reason": "x"}), 400, "not_a_step")
    assert not TaskEvent.objects.filter(process=process, op="return").exists()


# --- 转办 / 加签 ---------------------------------------------------------------------------------------------------


def test_reassign_through_the_page(cast):
    process = start(cast, roles={"review": [cast.lina.pk, cast.zhoumin.pk]})
    review = one(process, RoutingFlow.review)
    lina = login(cast.lina, otp=True)
    page = text(lina.get(f"/flows/tasks/{review.pk}/"))
    reassign_form = page.split(f'action="/flows/tasks/{review.pk}/reassign"')[1].split("</form>")[0]
    assert f'value="{cast.zhoumin.pk}"' in reassign_form and f'value="{cast.finance01.pk}"' not in reassign_form
    # not a candidate: refused by the form, nothing changes
    response = lina.post(f"/flows/tasks/{review.pk}/reassign", {"person": cast.finance01.pk, "reason": "出差"})
    assert response.status_code == 400 and "所选人员不在可选范围内" in text(response)
    assert Task.objects.get(pk=review.pk).owner == cast.lina
    response = lina.post(f"/flows/tasks/{review.pk}/reassign", {"person": cast.zhoumin.pk, "reason": "本周出差"})
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.owner == cast.zhoumin and review.status == STATUS.ASSIGNED
    event = events(process, "reassign").get()
    assert (event.from_person, event.to_person, event.reason) == (cast.lina, cast.zhoumin, "本周出差")
    assert AuditEntry.objects.filter(action="flow.task_reassign", actor=cast.lina, object_id=str(review.pk)).exists()
    assert WorkItem.objects.get(ref=f"viewflow.task:{review.pk}", owner=cast.zhoumin, box="todo").state == "open"


def test_add_signer_through_the_page(cast):
    process = start(cast)
    review = one(process, RoutingFlow.review)
    response = login(cast.lina, otp=True).post(f"/flows/tasks/{review.pk}/addsign",
                                       {"person": cast.zhoumin.pk, "mode": "before", "reason": "请先核用印事项。"})
    assert response.status_code == 302, text(response)
    added = one(process, RoutingFlow.addsign)
    assert added.owner == cast.zhoumin and Task.objects.get(pk=review.pk).status == STATUS.DONE
    event = events(process, "add_signer").get()
    assert event.data == {"mode": "before"} and event.reason == "请先核用印事项。" and event.to_person == cast.zhoumin
    assert AuditEntry.objects.get(action="flow.task_add_signer").changes["mode"] == "before"
    done(cast.zhoumin, added)
    assert one(process, RoutingFlow.review).owner == cast.lina  # before: back to me


def test_add_signer_refusal_shows_beside_the_field(cast):
    process = start(cast)
    review = one(process, RoutingFlow.review)
    response = login(cast.lina, otp=True).post(f"/flows/tasks/{review.pk}/addsign", {"person": cast.zhoumin.pk, "mode": "x"})
    assert response.status_code == 400 and "加签方式只能是前加签、后加签或并加签。" in text(response)
    assert not events(process, "add_signer").exists() and Task.objects.get(pk=review.pk).status == STATUS.ASSIGNED


# --- 取回 / 催办 ---------------------------------------------------------------------------------------------------


def test_withdraw_through_the_page_and_the_trace_offers_it(cast):
    process = start(cast)
    review = one(process, RoutingFlow.review)
    done(cast.lina, review)
    office = one(process, RoutingFlow.office)
    lina = login(cast.lina, otp=True)
    trace = text(lina.get(f"/flows/processes/{process.pk}/"))
    assert f'action="/flows/tasks/{review.pk}/withdraw"' in trace
    response = lina.post(f"/flows/tasks/{review.pk}/withdraw")
    assert response.status_code == 302
    office.refresh_from_db()
    assert office.status == STATUS.CANCELED
    again = one(process, RoutingFlow.review)
    assert again.owner == cast.lina and again.pk != review.pk
    assert events(process, "withdraw").get().new_task == again
    assert AuditEntry.objects.filter(action="flow.task_withdraw", actor=cast.lina, object_id=str(review.pk)).exists()


def test_withdraw_refused_once_the_next_handler_opened_the_task(cast):
    process = start(cast)
    review = one(process, RoutingFlow.review)
    done(cast.lina, review)
    office = one(process, RoutingFlow.office)
    assert login(cast.liuyang, otp=True).get(f"/flows/tasks/{office.pk}/").status_code == 200  # 刘洋 opens it
    assert TaskOpened.objects.filter(task=office, person=cast.liuyang).exists()
    before = state(process)
    lina = login(cast.lina, otp=True)
    assert f"/flows/tasks/{review.pk}/withdraw" not in text(lina.get(f"/flows/processes/{process.pk}/"))
    response = lina.post(f"/flows/tasks/{review.pk}/withdraw")
    assert response.status_code == 409 and "刘洋 已打开该事项，不能取回。" in text(response)
    assert state(process) == before and not events(process, "withdraw").exists()
    # someone else's done step: the handler's colleague in the process may see it but not take it back
    response = login(cast.liuyang, otp=True).post(f"/flows/tasks/{review.pk}/withdraw")
    assert response.status_code == 403 and "只有该环节的办理人可以取回。" in text(response)


def test_urge_through_the_page(cast):
    process = start(cast)
    review = one(process, RoutingFlow.review)
    zhangwei = login(cast.zhangwei, otp=True)
    trace = text(zhangwei.get(f"/flows/processes/{process.pk}/"))
    assert f'action="/flows/tasks/{review.pk}/urge"' in trace
    response = zhangwei.post(f"/flows/tasks/{review.pk}/urge", {"message": "请今天下班前审核。"})
    assert response.status_code == 302
    assert zhangwei.post(f"/flows/tasks/{review.pk}/urge", {}).status_code == 302  # the message is optional
    review.refresh_from_db()
    assert review.data["routing"]["urged"]["count"] == 2
    assert [e.reason for e in events(process, "urge").order_by("pk")] == ["请今天下班前审核。", ""]
    assert AuditEntry.objects.filter(action="flow.task_urge", actor=cast.zhangwei).count() == 2
    assert Notification.objects.filter(recipient=cast.lina, event_type="work.urged").count() == 2
    page = text(login(cast.lina, otp=True).get(f"/flows/tasks/{review.pk}/"))
    assert "已催办 2 次" in page
    response = login(cast.lina, otp=True).post(f"/flows/tasks/{review.pk}/urge", {})
    assert response.status_code == 400 and "不能催办自己的事项。" in text(response)


# --- the JSON API ---------------------------------------------------------------------------------------------------


def assert_api_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and re.search(r"[\u4e00-\u9fff]", body["message"]), body
    return body


def test_api_return_and_its_refusals(cast):
    process = start(cast)
    review = one(process, RoutingFlow.review)
    url = f"/api/flows/tasks/{review.pk}/return"
    target = start_task(process).pk
    assert_api_error(post_json(api_client(cast.finance01), url, {"target_task": target, "reason": "x"}), 404,
                     "not_found")
    body = assert_api_error(post_json(api_client(cast.zhangwei), url, {"target_task": target, "reason": "x"}), 403,
                            "permission_denied")
    assert body["message"] == "您不是该事项的办理人。"
    lina = api_client(cast.lina)
    body = assert_api_error(post_json(lina, url, {"target_task": target, "reason": ""}), 400, "reason_required")
    assert body["message"] == "退回必须填写理由。"
    assert_api_error(post_json(lina, url, {"target_task": review.pk, "reason": "退给自己"}), 400,
                     "return_target_invalid")
    assert not events(process, "return").exists()
    assert Client().post(url, "{}", content_type="application/json").status_code == 401
    response = post_json(lina, url, {"target_task": target, "reason": "请补充依据。", "jump_back": False})
    assert response.status_code == 200, response.content
    new = response.json()["task"]
    assert new["node"] == "redraft" and new["step"] == "修改稿件" and new["owner"]["name"] == "张伟"
    assert new["status"] == STATUS.ASSIGNED and new["process_url"] == f"/flows/processes/{process.pk}/"
    redraft = Task.objects.get(pk=new["id"])
    assert "jump_back" not in redraft.data["routing"]  # jump_back false: walk the chain again
    assert AuditEntry.objects.filter(action="flow.task_return", actor=cast.lina).exists()
    assert_api_error(post_json(lina, url, {"target_task": target, "reason": "再退"}), 409, "work_closed")


def test_api_and_page_refuse_control_chars_in_reasons(cast):
    """退回/转办 reasons are printed in the trace like opinions: the action refuses control and bidi characters."""
    process = start(cast, roles={"review": [cast.lina.pk, cast.zhoumin.pk]})
    review = one(process, RoutingFlow.review)
    target = start_task(process).pk
    lina = api_client(cast.lina)
    body = assert_api_error(post_json(lina, f"/api/flows/tasks/{review.pk}/return",
                                      {"target_task": target, "reason": "请补充\u202e依据。"}), 400, "text_control_chars")
    assert body["message"].startswith("退回理由含有控制字符")
    assert_api_error(post_json(lina, f"/api/flows/tasks/{review.pk}/reassign",
                               {"person": cast.zhoumin.pk, "reason": "出差\x1b"}), 400, "text_control_chars")
    page = login(cast.lina, otp=True).post(f"/flows/tasks/{review.pk}/return",
                                           {"target": target, "reason": "请补充\u2067依据。"})
    assert page.status_code == 400 and "退回理由含有控制字符" in text(page)
    assert not events(process, "return").exists() and not events(process, "reassign").exists()
    review.refresh_from_db()
    assert review.owner == cast.lina and review.status == STATUS.ASSIGNED
    # A reason over several lines is fine.
    ok = post_json(lina, f"/api/flows/tasks/{review.pk}/return", {"target_task": target, "reason": "请补充依据。\n另附表格。"})
    assert ok.status_code == 200, ok.content


def test_api_reassign_addsign_urge(cast):
    process = start(cast, roles={"review": [cast.lina.pk, cast.zhoumin.pk]})
    review = one(process, RoutingFlow.review)
    lina = api_client(cast.lina)
    assert_api_error(post_json(lina, f"/api/flows/tasks/{review.pk}/reassign", {"person": cast.finance01.pk}), 400,
                     "reassign_not_same_role")
    assert_api_error(post_json(lina, f"/api/flows/tasks/{review.pk}/reassign", {"person": 999999999}), 400,
                     "person_not_found")
    response = post_json(api_client(cast.zhangwei), f"/api/flows/tasks/{review.pk}/urge", {"message": "请尽快。"})
    assert response.status_code == 200 and response.json()["count"] == 1
    assert events(process, "urge").get().reason == "请尽快。"
    response = post_json(lina, f"/api/flows/tasks/{review.pk}/reassign", {"person": cast.zhoumin.pk, "reason": "出差"})
    assert response.status_code == 200 and response.json()["task"]["owner"]["id"] == cast.zhoumin.pk
    assert events(process, "reassign").get().to_person == cast.zhoumin
    zhoumin = api_client(cast.zhoumin)
    response = post_json(zhoumin, f"/api/flows/tasks/{review.pk}/addsign",
                         {"person": cast.liuyang.pk, "mode": "parallel", "reason": "请同时看。"})
    assert response.status_code == 200, response.content
    added = response.json()["task"]
    assert added["node"] == "addsign" and added["owner"]["id"] == cast.liuyang.pk
    assert Task.objects.get(pk=review.pk).status == STATUS.ASSIGNED  # parallel: mine stays open
    assert AuditEntry.objects.filter(action="flow.task_add_signer", actor=cast.zhoumin).get().changes["mode"] == \
        "parallel"
    assert_api_error(post_json(zhoumin, f"/api/flows/tasks/{review.pk}/addsign", {"person": cast.zhoumin.pk}), 400,
                     "addsign_self")


def test_api_withdraw_and_opened_refusal(cast):
    process = start(cast)
    review = one(process, RoutingFlow.review)
    done(cast.lina, review)
    office = one(process, RoutingFlow.office)
    lina = api_client(cast.lina)
    response = post_json(lina, f"/api/flows/tasks/{review.pk}/withdraw")
    assert response.status_code == 200 and response.json()["task"]["node"] == "review"
    assert Task.objects.get(pk=office.pk).status == STATUS.CANCELED
    again = Task.objects.get(pk=response.json()["task"]["id"])
    done(cast.lina, again)
    office2 = one(process, RoutingFlow.office)
    login(cast.liuyang, otp=True).get(f"/flows/tasks/{office2.pk}/")
    body = assert_api_error(post_json(lina, f"/api/flows/tasks/{again.pk}/withdraw"), 409, "withdraw_opened")
    assert "刘洋" in body["message"]
    assert Task.objects.get(pk=office2.pk).status == STATUS.ASSIGNED
    assert events(process, "withdraw").count() == 1
