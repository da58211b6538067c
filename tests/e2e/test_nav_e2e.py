"""End to end, the 工作台 shell on a 390 px phone and a 1440 px desktop (docs/workbench.md "导航"): the bottom bar
holds five items with the rest under 更多 (a disclosure that opens, lists 待阅 会议 通知公告 通讯录 审计日志 我的, and
closes with Escape), 公文 and 收文 have different icons, and neither the home page nor the audit log scrolls
sideways; on the desktop the side navigation shows every entry. Screenshots go to test-results/.
"""

from __future__ import annotations

import pytest

from tests.clock import without_faketime
from tests.e2e.test_login_e2e import CHROMIUM, CHROMIUM_ARGS, RESULTS, VIEWPORTS, _login, in_thread
from tests.e2e.test_workbench_e2e import _orm

pytestmark = pytest.mark.e2e

MORE = ["待阅", "会议", "通知公告", "通讯录", "审计日志", "我的"]


def _make_auditor() -> None:
    """杨慧 is the 审计管理员 (三员分立: the only reader of the audit log), so 审计日志 is in her 更多; like every
    administrator she signs in with a second factor."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from oa.models import Person

    TOTPDevice.objects.get_or_create(user=Person.objects.get(username="yanghui"), name="手机",
                                     defaults={"confirmed": True})


def _code() -> str:
    from oa.models import Person
    from tests.clients import totp_code

    return totp_code(Person.objects.get(username="yanghui"))


def _login_auditor(page, base: str) -> None:
    _login(page, base, "yanghui")
    assert page.url.endswith("/accounts/otp/verify/"), page.url
    page.get_by_label("6 位验证码").fill(_orm(_code))
    page.get_by_role("button", name="验证").click()
    page.wait_for_load_state("load")


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def _scenario(base: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    _orm(_make_auditor)
    with without_faketime(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            problems: list[str] = []
            phone = browser.new_context(viewport=VIEWPORTS["mobile"], locale="zh-CN", device_scale_factor=1)
            page = phone.new_page()
            page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
            page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))
            _login_auditor(page, base)
            page.goto(f"{base}/")
            nav = page.get_by_role("navigation", name="主导航")

            # Five items in the bar, side by side on one row inside the 390 px screen.
            bar = nav.locator(".app-nav-list > li")
            expect(bar).to_have_count(5)
            boxes = [bar.nth(i).bounding_box() for i in range(5)]
            assert len({round(b["y"]) for b in boxes}) == 1 and all(b["x"] + b["width"] <= 391 for b in boxes)
            for i, label in enumerate(["工作台", "待办", "公文", "收文"]):
                expect(bar.nth(i).get_by_role("link", name=label)).to_be_visible()
            for label in MORE:
                expect(nav.get_by_role("link", name=label)).to_be_hidden()

            # 公文 and 收文: different symbols from the local sprite.
            doc_icon = nav.get_by_role("link", name="公文").locator("use").get_attribute("href")
            in_icon = nav.get_by_role("link", name="收文").locator("use").get_attribute("href")
            assert doc_icon.endswith("#document") and in_icon.endswith("#incoming"), (doc_icon, in_icon)
            assert doc_icon.startswith("/static/") and in_icon.startswith("/static/")

            # 更多 opens a panel of the rest, keyboard-reachable; Escape closes it and returns focus.
            more = nav.locator("summary", has_text="更多")
            expect(more).to_be_visible()
            more.click()
            for label in MORE:
                expect(nav.get_by_role("link", name=label)).to_be_visible()
            panel = nav.locator(".nav-more-list").bounding_box()
            assert panel["x"] >= 0 and panel["x"] + panel["width"] <= 390
            page.screenshot(path=str(RESULTS / "nav-more-mobile.png"))
            page.keyboard.press("Escape")
            expect(nav.get_by_role("link", name="我的")).to_be_hidden()
            expect(more).to_be_focused()
            more.press("Enter")  # the keyboard opens it too
            expect(nav.get_by_role("link", name="通知公告")).to_be_visible()
            nav.get_by_role("link", name="通知公告").click()
            page.wait_for_load_state("load")
            assert page.url.endswith("/announcements/")
            expect(page.get_by_role("heading", name="通知公告", level=1)).to_be_visible()
            _no_sideways_scroll(page)

            # The home page and the audit log fit the phone: no sideways scrolling of the page.
            page.goto(f"{base}/")
            expect(page.get_by_role("heading", name="我的待办")).to_be_visible()
            expect(page.get_by_role("heading", name="通知公告")).to_be_visible()
            _no_sideways_scroll(page)
            page.screenshot(path=str(RESULTS / "home-mobile.png"), full_page=True)
            page.goto(f"{base}/audit/")
            expect(page.get_by_role("heading", name="审计日志")).to_be_visible()
            rows = page.locator(".audit-table tbody tr")
            assert rows.count() > 3  # the demo load wrote plenty
            _no_sideways_scroll(page)
            first = rows.first.bounding_box()
            assert first["width"] <= 390 and first["x"] >= 0
            # Each entry reads as a card of labelled lines.
            assert rows.first.locator('td[data-label="操作"]').evaluate(
                "td => getComputedStyle(td, '::before').content") == '"操作"'
            rows.first.scroll_into_view_if_needed()
            page.screenshot(path=str(RESULTS / "audit-mobile.png"))
            phone.close()

            # Desktop: the side navigation lists everything, no 更多 to open.
            desk = browser.new_context(viewport=VIEWPORTS["desktop"], locale="zh-CN", device_scale_factor=1)
            page = desk.new_page()
            page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
            _login_auditor(page, base)
            page.goto(f"{base}/audit/")
            nav = page.get_by_role("navigation", name="主导航")
            for label in ["工作台", "待办", "公文", "收文", *MORE]:
                expect(nav.get_by_role("link", name=label)).to_be_visible()
            expect(nav.locator("summary", has_text="更多")).to_be_hidden()
            expect(page.locator(".audit-table thead")).to_be_visible()  # a real table on wide screens
            _no_sideways_scroll(page)
            page.screenshot(path=str(RESULTS / "audit-desktop.png"))
            page.goto(f"{base}/")
            page.screenshot(path=str(RESULTS / "home-desktop.png"), full_page=True)
            desk.close()
            assert not problems, problems
        finally:
            browser.close()


def test_bottom_bar_more_menu_icons_and_pages_fit_the_phone(asgi_server):
    in_thread(_scenario, asgi_server)
    assert (RESULTS / "nav-more-mobile.png").stat().st_size > 3000
