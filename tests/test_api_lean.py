"""The lean 待办 list (oa.api.lean) answers GET /api/work with the very bytes WorkListView (DRF, the serializer,
the paginator) would send, and hands every other request to WorkListView (docs/performance.md "待办 API")."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oa.actions.tokens import do_issue_token, do_revoke_token
from oa.api import lean, views
from oa.models import Agency, ApiToken, Person, WorkItem
from oa.selectors.work import BOXES, inbox, inbox_rows

pytestmark = pytest.mark.django_db

Box, State = WorkItem.Box, WorkItem.State
HEADERS = ("Content-Type", "Allow", "Vary", "Content-Security-Policy", "X-Frame-Options", "Content-Length")


@pytest.fixture
def spy(monkeypatch):
    """Records what lean_work_list answered for each request: "lean" (a response) or "drf" (None)."""
    seen: list[str] = []
    real = lean.lean_work_list

    def recording(request, view_class):
        response = real(request, view_class)
        seen.append("drf" if response is None else "lean")
        return response

    monkeypatch.setattr(views, "lean_work_list", recording)
    return seen


def both(client: Client, monkeypatch, url: str, **extra):
    """(lean-enabled response, DRF-only response) for the same request."""
    first = client.get(url, **extra)
    monkeypatch.setattr(views, "LEAN_WORK_LIST", False)
    try:
        second = client.get(url, **extra)
    finally:
        monkeypatch.setattr(views, "LEAN_WORK_LIST", True)
    return first, second


def assert_same(a, b) -> None:
    assert a.status_code == b.status_code
    assert a.content == b.content  # byte for byte: keys, order, escaping, links
    for header in HEADERS:
        assert a.headers.get(header) == b.headers.get(header), header


@pytest.fixture
def inbox_data(cast):
    """zhangwei's items in every box and state, with every optional field missing or present, plus other
    people's items (which he must not see)."""
    me, lina = cast.zhangwei, cast.lina
    nameless = Person.objects.create(username="nameless_one", name="")  # get_full_name falls back to username
    agency = Agency.objects.order_by("id").first()
    now = timezone.now()
    counter = itertools.count()

    def item(box, state, owner=me, **fields):
        n = next(counter)
        values = {
            "kind": "flow_task", "ref": f"lean:{n}", "thread": f"lean-thread:{n}", "box": box, "owner": owner,
            "title": f"关于第{n}项工作的通知", "state": state, "link": f"/work/{n}/",
        }
        values.update(fields)
        made = WorkItem.objects.create(**values)
        if "created_at" in fields:  # auto_now_add ignores the given value
            WorkItem.objects.filter(pk=made.pk).update(created_at=fields["created_at"])
        return made

    tricky = '<script>alert("x")</script> & \'引号\' \u2028换行\u2029 \\ / 😀'
    for n, (urgency, deadline_days) in enumerate(itertools.product((0, 1, 2), (None, -3, 5))):
        item(Box.TODO, State.OPEN, urgency=urgency,
             deadline=None if deadline_days is None else now + dt.timedelta(days=deadline_days, minutes=n),
             created_at=now - dt.timedelta(hours=n % 4))  # equal urgency and deadline: created_at, then id
    item(Box.TODO, State.OPEN, title=tricky, doc_number="揭东府办〔2026〕7号", step="部门负责人审核",
         on_behalf_of=lina, initiator=nameless, agency=agency, note="被 李娜 退回：请补充材料",
         opened_at=now - dt.timedelta(minutes=5), deadline=now + dt.timedelta(days=2, microseconds=1))
    item(Box.TODO, State.OPEN, on_behalf_of=me, initiator=lina, kind="no_such_kind", urgency=2)
    item(Box.TODO, State.OPEN, deadline=(now + dt.timedelta(days=1)).replace(microsecond=0))
    # 已办: several steps of one thread (only the last is listed), a tie on completed_at, threadless rows.
    for step, minutes in (("拟稿", 30), ("核稿", 20), ("签发", 10)):
        item(Box.TODO, State.DONE, thread="lean-flow:1", step=step, completed_at=now - dt.timedelta(minutes=minutes))
    tie = now - dt.timedelta(hours=2)
    item(Box.TODO, State.DONE, thread="lean-flow:2", completed_at=tie)
    item(Box.TODO, State.DONE, thread="lean-flow:2", completed_at=tie)
    for n in range(3):
        item(Box.TODO, State.DONE, thread="", completed_at=now - dt.timedelta(days=n), outcome="returned",
             note="退回到“修改稿件”：格式不对")
    item(Box.TODO, State.DONE, thread="lean-flow:3", completed_at=None)
    item(Box.TODO, State.CANCELLED, completed_at=now)
    # 待阅, 已阅, 我发起 (every state).
    for n in range(4):
        item(Box.TOREAD, State.OPEN, kind="circulation", urgency=n % 3)
        item(Box.TOREAD, State.DONE, kind="circulation", completed_at=now - dt.timedelta(hours=n))
    for state in (State.OPEN, State.DONE, State.CANCELLED):
        item(Box.INITIATED, state, initiator=me, agency=agency)
    # Someone else's work, also work done on zhangwei's behalf: never in his lists.
    item(Box.TODO, State.OPEN, owner=lina, on_behalf_of=me, title="李娜的待办")
    item(Box.TODO, State.DONE, owner=lina, thread="lean-flow:1", completed_at=now)
    return me


def test_lean_answers_every_box_and_page_byte_for_byte_like_drf(inbox_data, monkeypatch, spy):
    me = inbox_data
    raw, _ = do_issue_token(me, name="测试")
    client = Client(headers={"Authorization": f"Bearer {raw}", "Accept": "application/json"})
    for box in BOXES:
        total = len(inbox(me, box))
        assert total > 0, box
        for size in (None, 3, 100):
            pages = max(1, -(-total // (size or 20)))
            for page in range(1, pages + 1):
                query = f"box={box}" + (f"&page_size={size}" if size else "") + (f"&page={page}" if page > 1 else "")
                fast, slow = both(client, monkeypatch, f"/api/work?{query}")
                assert fast.status_code == 200, fast.content
                assert_same(fast, slow)
                body = fast.json()
                assert {r["owner"]["id"] for r in body["results"]} <= {me.pk}
                assert "李娜的待办" not in fast.content.decode()
    assert set(spy) == {"lean"}  # every request above was answered by the lean path


def test_lean_json_covers_the_tricky_rows(inbox_data, monkeypatch, spy):
    me = inbox_data
    raw, _ = do_issue_token(me, name="测试")
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    fast, slow = both(client, monkeypatch, "/api/work?box=todo&page_size=100")
    assert_same(fast, slow)
    assert spy == ["lean"]
    text = fast.content.decode()
    assert "\\u2028" in text and "\u2028" not in text  # DRF's JavaScript-safe escaping
    rows = {r["title"]: r for r in fast.json()["results"]}
    tricky = next(r for t, r in rows.items() if t.startswith("<script>"))
    assert tricky["handled_by"] == f"{me.get_full_name()} 代 李娜 办理"
    assert tricky["initiator"]["name"] == "nameless_one" and tricky["agency"]["name"]
    assert tricky["deadline"].endswith("+08:00")
    stray = next(r for r in rows.values() if r["kind"] == "no_such_kind")
    assert stray["kind_label"] == "no_such_kind" and stray["handled_by"] == me.get_full_name()
    assert any(r["overdue"] for r in rows.values()) and not all(r["overdue"] for r in rows.values())


def test_lean_rows_match_the_orm_inbox(inbox_data):
    me = inbox_data
    for box in BOXES:
        expected = list(inbox(me, box).values_list("id", flat=True))
        assert [r.id for r in inbox_rows(me.pk, box, limit=1000)] == expected, box
        assert [r.id for r in inbox_rows(me.pk, box, limit=2, offset=1)] == expected[1:3], box
        orm = {i.pk: i for i in inbox(me, box)}
        for row in inbox_rows(me.pk, box, limit=1000):
            item = orm[row.id]
            for field in ("deadline", "created_at", "opened_at", "completed_at"):
                assert getattr(row, field) == getattr(item, field), field
                assert getattr(row, field) is None or getattr(row, field).tzinfo is not None


def test_raw_sql_names_the_models_tables():
    assert WorkItem._meta.db_table == "oa_workitem"
    assert Person._meta.db_table == "oa_person"
    assert Agency._meta.db_table == "oa_agency"
    assert ApiToken._meta.db_table == "oa_apitoken"


def test_lean_accepts_plain_json_accept_headers_and_keeps_links(inbox_data, monkeypatch, spy):
    raw, _ = do_issue_token(inbox_data, name="测试")
    client = Client(headers={"Authorization": f"Bearer {raw}"}, HTTP_HOST="localhost")
    for accept in (None, "*/*", "application/json", "application/*", "application/json, text/plain, */*"):
        extra = {} if accept is None else {"HTTP_ACCEPT": accept}
        fast, slow = both(client, monkeypatch, "/api/work?page_size=2&box=todo&page=2", **extra)
        assert_same(fast, slow)
        body = fast.json()
        assert body["next"] == "http://localhost/api/work?box=todo&page=3&page_size=2"
        assert body["previous"] == "http://localhost/api/work?box=todo&page_size=2"
    assert set(spy) == {"lean"}


FALLBACK_QUERIES = {
    # filters stay on the DRF path
    "box=todo&kind=flow_task": 200, "urgency=1": 200, "overdue=true": 200, "agency=1": 200, "q=通知": 200, "q=": 200,
    # values the query serializer or the paginator reads its own way
    "box=nope": 400, "box=": 200, "page=0": 400, "page=abc": 400, "page=1.0": 404, "page=01": 200, "page=last": 400,
    "page_size=0": 400, "page_size=101": 400, "page_size=abc": 400, "page_size=020": 200, "page=99": 404,
    # repeated or unknown parameters
    "box=todo&box=done": 200, "foo=1": 200, "format=json": 200, "format=xml": 404,
}


@pytest.mark.parametrize("query", FALLBACK_QUERIES)
def test_anything_else_goes_to_drf_with_its_codes(inbox_data, monkeypatch, spy, query):
    raw, _ = do_issue_token(inbox_data, name="测试")
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    fast, slow = both(client, monkeypatch, f"/api/work?{query}")
    assert spy == ["drf"]
    assert fast.status_code == FALLBACK_QUERIES[query], fast.content
    assert_same(fast, slow)
    if fast.status_code != 200:
        assert fast.json()["code"] in {"invalid", "not_found"}


@pytest.mark.parametrize(("accept", "status"), [("text/html", 406), ("application/json; indent=4", 200),
                                                ("application/json;q=0.9", 200), ("text/html, */*;q=0.1", 200)])
def test_accept_headers_drf_must_read_go_to_drf(inbox_data, monkeypatch, spy, accept, status):
    raw, _ = do_issue_token(inbox_data, name="测试")
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    fast, slow = both(client, monkeypatch, "/api/work", HTTP_ACCEPT=accept)
    assert spy == ["drf"] and fast.status_code == status
    assert_same(fast, slow)


def test_sessions_heads_and_bad_tokens_go_to_drf(inbox_data, monkeypatch, spy):
    me = inbox_data
    browser = Client()
    browser.force_login(me)
    assert browser.get("/api/work").status_code == 200
    raw, _ = do_issue_token(me, name="测试")
    mobile = Client(headers={"Authorization": f"Bearer {raw}"})
    assert mobile.head("/api/work").status_code == 200
    for header, code in (("Bearer", "token_invalid"), ("Bearer a b", "token_invalid"),
                         ("Token abc", "not_authenticated"), (f"Bearer {raw}x", "token_invalid")):
        response = Client(headers={"Authorization": header}).get("/api/work")
        assert response.status_code == 401 and response.json()["code"] == code, header
    assert spy == ["drf"] * 6


def test_revoked_expired_disabled_and_password_change_tokens_are_refused(inbox_data, spy):
    me = inbox_data
    raw, token = do_issue_token(me, name="测试")
    mobile = Client(headers={"Authorization": f"Bearer {raw}"})
    assert mobile.get("/api/work").status_code == 200

    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert mobile.get("/api/work").json()["code"] == "token_invalid"
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() + dt.timedelta(days=1))
    assert mobile.get("/api/work").status_code == 200

    me.is_active = False
    me.save(update_fields=["is_active"])
    assert mobile.get("/api/work").json()["code"] == "token_invalid"
    me.is_active = True
    me.save(update_fields=["is_active"])
    assert mobile.get("/api/work").status_code == 200

    me.must_change_password = True
    me.save(update_fields=["must_change_password"])
    response = mobile.get("/api/work")
    assert response.status_code == 401 and response.json()["code"] == "password_change_required"
    me.must_change_password = False
    me.save(update_fields=["must_change_password"])
    assert mobile.get("/api/work").status_code == 200

    do_revoke_token(actor=me, token=ApiToken.objects.get(pk=token.pk))
    response = mobile.get("/api/work")
    assert response.status_code == 401 and response.json()["code"] == "token_invalid"
    assert spy == ["lean", "drf", "lean", "drf", "lean", "drf", "lean", "drf"]


def test_token_use_is_recorded_at_most_once_a_minute(inbox_data, time_machine, spy):
    time_machine.move_to(timezone.now(), tick=False)
    raw, token = do_issue_token(inbox_data, name="测试")
    mobile = Client(headers={"Authorization": f"Bearer {raw}"})
    assert mobile.get("/api/work").status_code == 200
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    time_machine.shift(dt.timedelta(seconds=30))
    assert mobile.get("/api/work").status_code == 200
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first
    time_machine.shift(dt.timedelta(seconds=31))
    assert mobile.get("/api/work").status_code == 200
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first
    assert spy == ["lean"] * 3


def test_throttle_counts_each_request_once(inbox_data, spy):
    from rest_framework.throttling import UserRateThrottle

    raw, _ = do_issue_token(inbox_data, name="测试")
    mobile = Client(headers={"Authorization": f"Bearer {raw}"})
    original = UserRateThrottle.THROTTLE_RATES
    UserRateThrottle.THROTTLE_RATES = {**original, "user": "4/min"}
    try:
        assert mobile.get("/api/work").status_code == 200
        assert mobile.get("/api/work", {"page": 99}).status_code == 404  # DRF: throttled first, then 404
        assert mobile.get("/api/work", {"box": "done"}).status_code == 200
        assert mobile.get("/api/work/counts").status_code == 200  # the same per-user window
        response = mobile.get("/api/work")
        assert response.status_code == 429 and response.json()["code"] == "throttled"
        assert int(response.headers["Retry-After"]) > 0
    finally:
        UserRateThrottle.THROTTLE_RATES = original
    assert spy == ["lean", "drf", "lean", "drf"]


def test_lean_request_is_two_queries(inbox_data, spy):
    raw, _ = do_issue_token(inbox_data, name="测试")
    mobile = Client(headers={"Authorization": f"Bearer {raw}"})
    assert mobile.get("/api/work").status_code == 200  # warm: token touch, cached counts
    with CaptureQueriesContext(connection) as ctx:
        assert mobile.get("/api/work").status_code == 200
    assert len(ctx.captured_queries) == 2, [q["sql"] for q in ctx.captured_queries]
    assert spy == ["lean", "lean"]


def test_counts_follow_writes(inbox_data, spy):
    me = inbox_data
    raw, _ = do_issue_token(me, name="测试")
    mobile = Client(headers={"Authorization": f"Bearer {raw}"})
    before = mobile.get("/api/work").json()["count"]
    WorkItem.objects.create(kind="flow_task", ref="lean:new", box=Box.TODO, owner=me, title="新到的待办",
                            state=State.OPEN, link="/")
    body = mobile.get("/api/work").json()
    assert body["count"] == before + 1 and any(r["title"] == "新到的待办" for r in body["results"])
    assert spy == ["lean", "lean"]
