"""The workbench pages: inbox boxes, filters and search through the query string; item detail with actions for
the owner only; the POST action (CSRF) completing a real viewflow task; the home tiles with real counts; the PWA
manifest, service worker and offline page."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from PIL import Image

from oa.models import Notification, WorkItem
from oa.tiles import Tile, register_tile, registered_tiles, tiles_for
from tests.clients import login
from tests.test_ui import assert_clean_html, html_of

pytestmark = pytest.mark.django_db

TITLE = "关于报送年度工作总结的联系单"


def start_memo(
    cast, title: str = TITLE, *, urgency: int = 1, doc_number: str = "", reviewer=None, handler=None
):
    from tests.flowapp.flows import MemoFlow

    reviewer = reviewer or cast.lina
    handler = handler or cast.zhangwei
    MemoFlow.start.run(
        title=title,
        urgency=urgency,
        reviewer_id=reviewer.pk,
        handler_id=handler.pk,
        doc_number=doc_number,
        initiator_id=handler.pk,
    )
    return WorkItem.objects.get(title=title, owner=reviewer, box=WorkItem.Box.TODO)



def rows(html: str) -> list[str]:
    """The visible titles of the inbox rows, in order."""
    return re.findall(r'<span class="row-main">([^<]*)</span>', html)


def test_inbox_shows_open_todo_with_urgency_text_and_counts(client, cast):
    item = start_memo(cast)
    html = html_of(login(cast.lina, client=client).get(reverse("inbox")))
    assert rows(html) == [TITLE]
    assert '<span class="badge badge-warning">加急</span>' in html  # urgency in words, not colour alone
    assert f'href="{reverse("work_item", args=[item.pk])}"' in html
    # The 待办 count in the tabs and the navigation badge, both marked for events.js.
    assert re.search(r'data-count-box="todo"[^>]*>1<', html)
    assert '<span class="visually-hidden" data-count-label="todo">（1 项）</span>' in html
    assert "未读" in html  # not opened yet
    assert_clean_html(html)

    # The handler has nothing to do yet, but follows what he started in 我发起.
    zhangwei = login(cast.zhangwei, client=Client())
    todo = html_of(zhangwei.get(reverse("inbox") + "?box=todo"))
    assert rows(todo) == [] and "暂无待办事项" in todo
    assert TITLE in rows(html_of(zhangwei.get(reverse("inbox") + "?box=initiated")))
    for box, empty in (("toread", "暂无待阅文件"), ("done", "还没有已办事项"), ("read", "还没有已阅文件")):
        assert empty in html_of(zhangwei.get(reverse("inbox") + f"?box={box}"))
    # An unknown box falls back to 待办 rather than failing.
    assert "暂无待办事项" in html_of(zhangwei.get(reverse("inbox") + "?box=nonsense"))


def test_inbox_orders_by_urgency_and_filters_by_query_string(client, cast):
    start_memo(cast, "普通联系单", urgency=0)
    start_memo(cast, "特急联系单", urgency=2, doc_number="揭东府办函〔2026〕7号")
    late = start_memo(cast, "加急联系单", urgency=1)
    WorkItem.objects.filter(pk=late.pk).update(deadline=timezone.now() - dt.timedelta(hours=2))
    login(cast.lina, client=client)
    url = reverse("inbox") + "?box=todo"

    html = html_of(client.get(url))
    assert rows(html) == ["特急联系单", "加急联系单", "普通联系单"]
    assert '<span class="badge badge-danger">特急</span>' in html
    assert '<span class="badge badge-danger">已超期</span>' in html  # overdue in words as well as red
    assert "共 3 项" in html

    assert rows(html_of(client.get(url + "&urgency=2"))) == ["特急联系单"]
    assert rows(html_of(client.get(url + "&overdue=on"))) == ["加急联系单"]
    assert rows(html_of(client.get(url + "&q=〔2026〕7号"))) == ["特急联系单"]  # by 文号
    assert rows(html_of(client.get(url + "&q=普通"))) == ["普通联系单"]  # by title
    nothing = html_of(client.get(url + "&q=不存在的标题"))
    assert rows(nothing) == [] and "没有符合筛选条件的事项" in nothing and "（已筛选）" in nothing
    # Invalid filter values are ignored instead of breaking the page.
    assert len(rows(html_of(client.get(url + "&urgency=9&agency=abc")))) == 3


def test_delegated_work_says_on_whose_behalf(client, cast):
    item = start_memo(cast)
    WorkItem.objects.filter(pk=item.pk).update(on_behalf_of=cast.wangfang)
    login(cast.lina, client=client)
    assert "代 王芳 办理" in html_of(client.get(reverse("inbox")))
    detail = html_of(client.get(reverse("work_item", args=[item.pk])))
    assert "代 王芳 办理" in detail and "办理完成" in detail

    # The principal may look at it, but only the owner acts.
    wangfang = cast.wangfang
    device = TOTPDevice.objects.create(user=wangfang, name="手机令牌", confirmed=True)
    other = login(wangfang, client=Client())
    session = other.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    seen = html_of(other.get(reverse("work_item", args=[item.pk])))
    assert TITLE in seen and "办理完成</button>" not in seen and "work-action-form" not in seen
    response = other.post(reverse("work_item_action", args=[item.pk, "complete"]))
    assert response.status_code == 404
    item.refresh_from_db()
    assert item.state == WorkItem.State.OPEN


def test_item_detail_shows_actions_to_the_owner_only_and_others_get_404(client, cast):
    item = start_memo(cast)
    assert item.opened_at is None
    html = html_of(login(cast.lina, client=client).get(reverse("work_item", args=[item.pk])))
    assert f'<h1 id="item-title" class="page-title">{TITLE}</h1>' in html
    assert f'formaction="/work/{item.pk}/actions/complete/"' in html
    assert ">办理完成</button>" in html and 'name="csrfmiddlewaretoken"' in html
    assert "加急" in html and "张伟" in html  # urgency and initiator
    assert_clean_html(html)
    item.refresh_from_db()
    assert item.opened_at is not None  # first open stamped
    # Opening the item reads its notification (the "new 待办" event), so the bell goes down.
    note = Notification.objects.get(recipient=cast.lina, work_item=item)
    assert note.event_type == "work.assigned" and note.read_at is not None

    # Somebody else (even the initiator) gets 404, for reading and acting alike; so does a missing item.
    zhangwei = login(cast.zhangwei, client=Client())
    assert zhangwei.get(reverse("work_item", args=[item.pk])).status_code == 404
    assert zhangwei.post(reverse("work_item_action", args=[item.pk, "complete"])).status_code == 404
    assert zhangwei.get(reverse("work_item", args=[999_999])).status_code == 404
    assert client.post(reverse("work_item_action", args=[item.pk, "no-such-action"])).status_code == 404
    assert client.get(reverse("work_item_action", args=[item.pk, "complete"])).status_code == 405

    anonymous = Client().get(reverse("work_item", args=[item.pk]))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))


def test_post_action_needs_csrf_and_completes_the_task(cast):
    item = start_memo(cast)
    browser = Client(enforce_csrf_checks=True)
    login(cast.lina, client=browser)
    url = reverse("work_item_action", args=[item.pk, "complete"])
    assert browser.post(url, {"opinion": "同意"}).status_code == 403  # no CSRF token
    item.refresh_from_db()
    assert item.state == WorkItem.State.OPEN

    page = html_of(browser.get(reverse("work_item", args=[item.pk])))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = browser.post(url, {"csrfmiddlewaretoken": token, "opinion": "同意"})
    assert response.status_code == 302 and response["Location"] == reverse("inbox") + "?box=todo"
    item.refresh_from_db()
    assert item.state == WorkItem.State.DONE and item.completed_at is not None

    after = html_of(browser.get(response["Location"]))
    assert f"已办理完成：{TITLE}" in after and rows(after) == []
    assert TITLE in rows(html_of(browser.get(reverse("inbox") + "?box=done")))
    # The flow moved on: the handler now has it in his 待办.
    handle = WorkItem.objects.get(title=TITLE, owner=cast.zhangwei, box=WorkItem.Box.TODO)
    assert handle.state == WorkItem.State.OPEN

    # A finished item shows no actions, and a second submit is refused.
    done = html_of(browser.get(reverse("work_item", args=[item.pk])))
    assert "已办结" in done and "办理完成</button>" not in done
    assert browser.post(url, {"csrfmiddlewaretoken": token}).status_code == 404


def test_home_tiles_show_real_counts(client, cast):
    login(cast.zhangwei, client=client)
    html = html_of(client.get(reverse("home")))
    for label in ("待办", "待阅", "通讯录", "我的"):
        assert f'<span class="tile-label">{label}' in html
    assert re.search(r'class="tile-count"[^>]*data-count-box="todo"[^>]*>0<', html)
    assert 'href="/work/?box=todo"' in html and 'href="/audit/"' not in html

    start_memo(cast, reviewer=cast.zhangwei, handler=cast.lina)
    html = html_of(client.get(reverse("home")))
    assert re.search(r'class="tile-count"[^>]*data-count-box="todo"[^>]*>1<', html)
    assert_clean_html(html)


def test_tiles_registered_by_apps_respect_visibility(cast):
    try:
        register_tile(
            Tile(
                "test-meetings",
                "会议",
                "directory",
                "calendar",
                order=50,
                visible=lambda u: u.username == "lina",
            )
        )
        keys = [t.key for t in registered_tiles()]
        assert keys.index("todo") < keys.index("toread") < keys.index("test-meetings") < keys.index("profile")
        lina = {t.key: t for t in tiles_for(cast.lina)}
        assert lina["test-meetings"].url == reverse("directory") and lina["test-meetings"].count is None
        assert lina["todo"].url == "/work/?box=todo" and lina["todo"].count == 0
        assert lina["todo"].icon_url.endswith("oa/img/icons.svg#todo")
        assert "test-meetings" not in {t.key for t in tiles_for(cast.zhangwei)}
        assert set(lina["toread"].as_dict()) >= {"key", "label", "url", "icon", "box", "count"}
    finally:
        from oa import tiles

        tiles._tiles.pop("test-meetings", None)


def test_signed_in_pages_load_the_live_client_and_manifest(client, cast):
    html = html_of(login(cast.lina, client=client).get(reverse("home")))
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    assert 'src="/static/oa/js/events.js' in html
    assert f'data-user="{cast.lina.pk}" data-events-url="/ws/events/"' in html
    assert 'id="live-toasts" role="status" aria-live="polite"' in html
    assert "data-unread-count" in html
    login_page = html_of(Client().get(reverse("login")))
    assert "events.js" not in login_page and "data-user=" not in login_page


def test_manifest_is_valid_json_with_local_icons(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    data = json.loads(response.content)
    assert data["lang"] == "zh-Hans" and data["start_url"] == "/" and data["scope"] == "/"
    assert data["display"] == "standalone" and data["name"] and data["short_name"]
    sizes = set()
    for icon in data["icons"]:
        assert icon["src"].startswith("/static/") and icon["type"] == "image/png"
        path = finders.find(icon["src"].removeprefix("/static/"))
        assert path, icon
        with open(path, "rb") as fh:
            image = Image.open(io.BytesIO(fh.read()))
        assert f"{image.width}x{image.height}" == icon["sizes"]
        sizes.add(icon["sizes"])
    assert {"192x192", "512x512"} <= sizes
    assert any(icon["purpose"] == "maskable" for icon in data["icons"])
    assert "http" not in response.content.decode()


def test_service_worker_is_served_from_the_root_scope(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert "no-cache" in response["Cache-Control"]
    body = response.content.decode()
    assert '"/offline/"' in body and "/static/oa/css/oa.css" in body and "/static/oa/js/events.js" in body
    assert re.search(r'var CACHE = "oa-shell-[0-9a-f]{12}";', body)
    assert "{{" not in body and "&quot;" not in body
    # Pages with work in them are never cached: navigations go to the network first.
    assert 'request.mode === "navigate"' in body and "cache.put" not in body


def test_offline_page_works_without_login_and_shows_nothing_personal(client, cast):
    response = client.get("/offline/")
    html = html_of(response)
    assert "网络未连接" in html and 'href="/"' in html
    assert_clean_html(html)
    signed_in = html_of(login(cast.lina, client=Client()).get("/offline/"))
    # The service worker caches this page for everyone: no name, no counts, no live client.
    assert "李娜" not in signed_in and "data-user" not in signed_in and "events.js" not in signed_in

    # Even a session held at the password/2FA gate gets the public PWA files, not a redirect to the gate page.
    lina = cast.lina
    lina.must_change_password = True
    lina.save()
    gated = login(lina, client=Client())
    assert gated.get(reverse("inbox"))["Location"] == reverse("password_change_forced")
    for url in ("/offline/", "/sw.js", "/manifest.webmanifest"):
        assert gated.get(url).status_code == 200, url


def test_workbench_assets_are_local():
    for path in (
        "oa/js/events.js",
        "oa/img/icons.svg",
        "oa/img/icons/icon-192.png",
        "oa/img/icons/icon-512.png",
        "oa/img/icons/icon-maskable-512.png",
    ):
        assert finders.find(path), path
    with open(finders.find("oa/js/events.js"), encoding="utf-8") as fh:
        source = fh.read()
    assert "http://" not in source and "https://" not in source and "eval(" not in source
    assert "/ws/events/" in source and "last_event_id" in source


def _home_rows(html: str, box: str) -> list[str]:
    section = html.split(f'data-home-list="{box}"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'<span class="row-main">(?:<span class="badge[^"]*">[^<]*</span> )?([^<]*)</span>', section)


def _assign(cast, owner, n: int, box=WorkItem.Box.TODO, prefix="事项") -> list[WorkItem]:
    from oa.actions.work import do_assign_work

    return [
        do_assign_work(kind="flow_task", ref=f"test:{prefix}:{i}", box=box, owner=owner, title=f"{prefix}{i}",
                       initiator=cast.zhangwei, agency=None, notify=False)
        for i in range(1, n + 1)
    ]


def test_home_shows_my_todo_newest_first_with_overdue_toread_and_announcements(client, cast):
    empty = html_of(login(cast.lina, client=client).get(reverse("home")))
    assert "暂无待办事项" in empty and "暂无待阅文件" in empty
    assert "今日日程" not in empty  # no meetings yet: no invented panel

    items = _assign(cast, cast.lina, 10)
    late = items[2]
    WorkItem.objects.filter(pk=late.pk).update(deadline=timezone.now() - dt.timedelta(hours=1))
    _assign(cast, cast.lina, 4, box=WorkItem.Box.TOREAD, prefix="阅件")
    html = html_of(client.get(reverse("home")))
    # Newest first, eight shown, the rest behind 查看全部 with the total.
    assert _home_rows(html, "todo") == [f"事项{i}" for i in range(10, 2, -1)]
    assert "共 10 项，这里显示最新的 8 项。" in html and 'href="/work/?box=todo"' in html
    todo_section = html.split('data-home-list="todo"', 1)[1].split("</ul>", 1)[0]
    late_row = todo_section.split(f'href="{reverse("work_item", args=[late.pk])}"', 1)[1].split("</li>", 1)[0]
    assert '<span class="badge badge-danger">已超期</span>' in late_row  # overdue in words, not colour alone
    assert todo_section.count("已超期") == 1
    assert re.search(r'class="panel-count" data-count-box="todo"[^>]*>10<', html)
    assert _home_rows(html, "toread") == ["阅件4", "阅件3", "阅件2"]
    assert re.search(r'class="panel-count" data-count-box="toread"[^>]*>4<', html)
    # 通知公告: the latest five the person may see (pinned first), linked to their pages.
    assert _home_rows(html, "announcements")[0] == "关于2027年元旦放假安排的通知"
    assert 'href="/announcements/"' in html
    assert_clean_html(html)

    # Someone else's work never shows.
    other = html_of(login(cast.zhangwei, client=Client()).get(reverse("home")))
    assert _home_rows(other, "todo") == []


def test_home_shortcuts_follow_roles(cast):
    def tiles(person) -> set[str]:
        return set(re.findall(r'data-tile="([^"]+)"', html_of(login(person, otp=True).get(reverse("home")))))

    drafter = tiles(cast.zhangwei)  # 拟稿人
    assert "draft" in drafter and not {"paper_register", "announcement_new", "circulation_unread"} & drafter
    clerk = tiles(cast.liuyang)  # 办公室/文书
    assert {"paper_register", "announcement_new", "circulation_unread"} <= clerk and "draft" not in clerk
    leader = tiles(cast.wangfang)  # 分管领导: neither
    assert not {"draft", "paper_register", "announcement_new"} & leader
    assert {"todo", "toread", "announcements", "directory", "profile"} <= leader
    html = html_of(login(cast.liuyang).get(reverse("home")))
    assert 'href="/documents/new"' not in html and 'href="/flows/incoming/paper/"' in html


def test_home_costs_the_same_queries_whatever_the_inbox_holds(cast):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    browser = login(cast.lina)
    browser.get(reverse("home"))  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as few:
        html_of(browser.get(reverse("home")))
    _assign(cast, cast.lina, 12)
    _assign(cast, cast.lina, 6, box=WorkItem.Box.TOREAD, prefix="阅件")
    browser.get(reverse("home"))  # the writes invalidated the cached counts: this request recounts them
    with CaptureQueriesContext(connection) as many:
        html_of(browser.get(reverse("home")))
    assert len(many) == len(few), [q["sql"] for q in many]
    # Session, user, 2FA gate, counts, appointment, roles (once), permissions (2), the three lists, unread, the
    # session touch: 16 (docs/workbench.md). A new panel must not add a query per row.
    assert len(many) <= 16, "\n".join(q["sql"] for q in many)
