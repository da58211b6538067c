"""End to end, the heart of issue 3: two people in two browsers; 李娜 (A) completes her review on the item page,
and 张伟's (B) 待办 count goes up on his open page without a reload, with a toast.

The server is the real ASGI app under uvicorn (HTTP + /ws/events/), see tests/e2e/conftest.py.
Screenshots go to test-results/ (gitignored).
"""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from oa.models import Person
from tests.clock import without_faketime
from tests.e2e.test_login_e2e import CHROMIUM, CHROMIUM_ARGS, RESULTS, VIEWPORTS, _login, in_thread

pytestmark = pytest.mark.e2e

# The websocket's first sync waits for uvicorn's worker thread; on a loaded 2-core CI machine that took > 5 s once.
SYNC_TIMEOUT_MS = 20_000
TITLE = "关于报送年度工作总结的联系单"


def _orm(fn, *args):
    """The sync Playwright API keeps an event loop on its thread, where Django refuses ORM calls: run them on a
    plain thread (with its own connection, closed afterwards) and wait."""
    result: list = []
    errors: list[BaseException] = []

    def target():
        try:
            result.append(fn(*args))
        except BaseException as exc:  # re-raised on the caller's thread
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=60)
    if errors:
        raise errors[0]
    return result[0]


def _start_memo(title: str) -> None:
    from tests.flowapp.flows import MemoFlow

    lina = Person.objects.get(username="lina")
    zhangwei = Person.objects.get(username="zhangwei")
    MemoFlow.start.run(
        title=title,
        urgency=1,
        reviewer_id=lina.pk,
        handler_id=zhangwei.pk,
        doc_number="",
        initiator_id=zhangwei.pk,
    )


def _watch(page, problems: list[str]) -> None:
    page.on("console", lambda msg: msg.type == "error" and problems.append(f"console: {msg.text}"))
    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))


def _scenario(base: str, start_memo) -> None:
    from playwright.sync_api import expect, sync_playwright

    with without_faketime(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for name, viewport in VIEWPORTS.items():
                title = f"{TITLE}（{'手机' if name == 'mobile' else '电脑'}）"
                problems: list[str] = []
                ctx_b = browser.new_context(viewport=viewport, locale="zh-CN", device_scale_factor=1)
                ctx_a = browser.new_context(viewport=viewport, locale="zh-CN", device_scale_factor=1)
                b, a = ctx_b.new_page(), ctx_a.new_page()
                _watch(b, problems)
                _watch(a, problems)

                # B (张伟, handler) opens his 待办 and waits for the live connection to be in sync.
                _login(b, base, "zhangwei")
                b.goto(f"{base}/work/?box=todo")
                expect(b.locator("body")).to_have_attribute("data-events-state", "synced", timeout=SYNC_TIMEOUT_MS)
                tab = b.locator('.box-tab-count[data-count-box="todo"]')
                before = int(tab.inner_text())
                nav_badge = b.locator('.app-nav [data-count-box="todo"]')
                if before == 0:
                    expect(nav_badge).to_be_hidden()
                else:
                    expect(nav_badge).to_have_text(str(before))
                b.evaluate("window.__noReload = 'still-here'")

                # A (李娜, reviewer) is signed in too; the memo reaches her as a 待办.
                _login(a, base, "lina")
                expect(a.locator("body")).to_have_attribute("data-events-state", "synced", timeout=SYNC_TIMEOUT_MS)
                _orm(start_memo, title)
                a.goto(f"{base}/work/?box=todo")
                a.get_by_role("link", name=title).click()
                a.wait_for_load_state("load")
                expect(a.locator("h1")).to_have_text(title)
                expect(a.locator(".work-detail .badge", has_text="加急")).to_be_visible()
                complete = a.get_by_role("button", name="办理完成")
                expect(complete).to_be_visible()
                a.screenshot(path=str(RESULTS / f"work-item-{name}.png"), full_page=True)
                complete.click()
                a.wait_for_load_state("load")
                expect(a.locator(".toasts")).to_contain_text(f"已办理完成：{title}")

                # B: the count goes up on the open page — no reload — and a toast links to the new item.
                expect(tab).to_have_text(str(before + 1), timeout=10_000)
                expect(nav_badge).to_be_visible()
                expect(nav_badge).to_have_text(str(before + 1))
                expect(b.locator('.app-nav [data-count-label="todo"]')).to_have_text(f"（{before + 1} 项）")
                toast = b.locator("#live-toasts .live-toast", has_text=title)
                expect(toast).to_be_visible()
                expect(toast.get_by_role("link", name=title)).to_have_attribute(
                    "href", f"/work/{_orm(_item_id, title)}/"
                )
                expect(b.locator('[data-refresh-box="todo"]')).to_be_visible()
                assert b.evaluate("window.__noReload") == "still-here", "页面被重新加载了"
                assert b.locator("#live-toasts").get_attribute("aria-live") == "polite"
                b.wait_for_timeout(1300)  # let the count highlight settle for a calm screenshot
                b.screenshot(path=str(RESULTS / f"inbox-live-{name}.png"))

                # The toast leads to the item, where B now has the action.
                toast.get_by_role("link", name=title).click()
                b.wait_for_load_state("load")
                expect(b.locator("h1")).to_have_text(title)
                expect(b.get_by_role("button", name="办理完成")).to_be_visible()

                # 工作台: the 待办 tile carries the same live count.
                b.goto(f"{base}/")
                expect(b.locator('.tile-count[data-count-box="todo"]')).to_have_text(str(before + 1))
                expect(b.locator("body")).to_have_attribute("data-events-state", "synced", timeout=SYNC_TIMEOUT_MS)
                b.screenshot(path=str(RESULTS / f"home-tiles-{name}.png"), full_page=name == "desktop")

                assert not problems, problems
                if name == "mobile":
                    _check_offline_shell(ctx_b, b, base)
                ctx_a.close()
                ctx_b.close()
        finally:
            browser.close()


def _item_id(title: str) -> int:
    from oa.models import WorkItem

    return WorkItem.objects.get(title=title, owner__username="zhangwei", box=WorkItem.Box.TODO).pk


def _check_offline_shell(context, page, base: str) -> None:
    """The service worker took the offline page at install; without network a navigation shows it."""
    from playwright.sync_api import expect

    page.goto(f"{base}/")
    assert page.evaluate("navigator.serviceWorker.ready.then(r => r.active.scriptURL)") == f"{base}/sw.js"
    page.reload()  # now controlled by the worker
    assert page.evaluate("!!navigator.serviceWorker.controller")
    context.set_offline(True)
    try:
        page.goto(f"{base}/work/?box=todo")
        expect(page.locator("h1")).to_have_text("网络未连接")
        assert "张伟" not in page.locator("body").inner_text()
        page.screenshot(path=str(RESULTS / "offline-mobile.png"))
    finally:
        context.set_offline(False)


def test_count_changes_live_when_another_user_acts(asgi_server):
    # The browser runs in a thread; the memo is started from it too (the ORM is thread-safe per connection).
    in_thread(_scenario, asgi_server, _start_memo)
    for name in VIEWPORTS:
        assert (RESULTS / f"work-item-{name}.png").stat().st_size > 5000
        assert (RESULTS / f"inbox-live-{name}.png").stat().st_size > 5000
