"""会议 pages in Chromium on a phone (390×844) and a desktop (1440×900): 我的会议, 会议室, 安排会议, 会议页, 会务台.
Fails on any response ≥ 400 and on horizontal overflow at 390 px; screenshots go to test-results/meetings/."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from meetings.models import Meeting
from tests.clock import without_faketime
from tests.e2e.test_login_e2e import CHROMIUM, CHROMIUM_ARGS, RESULTS, VIEWPORTS, _login, in_thread

pytestmark = pytest.mark.e2e
SHOTS = RESULTS / "meetings"


def _browse(base: str, pages: list[tuple[str, str]], problems: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    with without_faketime(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for label, viewport in VIEWPORTS.items():
                context = browser.new_context(viewport=viewport, locale="zh-CN", device_scale_factor=1)
                page = context.new_page()
                page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))
                _login(page, base, "lina")
                for name, path in pages:
                    page.goto(f"{base}{path}")
                    page.wait_for_load_state("load")
                    if viewport["width"] == 390 and page.evaluate(
                            "document.documentElement.scrollWidth > document.documentElement.clientWidth"):
                        problems.append(f"390 px 横向溢出：{path}")
                    page.screenshot(path=str(SHOTS / f"{name}-{viewport['width']}.png"), full_page=True)
                context.close()
        finally:
            browser.close()


def test_meeting_pages_on_phone_and_desktop(asgi_server):
    call_command("meetings_demo", verbosity=0)
    weekly = Meeting.objects.get(title="区府办周例会")
    notice = Meeting.objects.get(title="全区数字政府建设推进会")
    day = weekly.start.astimezone().date().isoformat()
    pages = [("mine", f"/meetings/?date={day}"), ("rooms", f"/meetings/rooms/?date={day}"), ("new", "/meetings/new/"),
             ("detail", f"/meetings/{weekly.pk}/"), ("console", f"/meetings/{notice.pk}/console/")]
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    in_thread(_browse, asgi_server, pages, problems)
    assert not problems, "\n".join(problems)
    assert all((SHOTS / f"{n}-{w}.png").stat().st_size > 0 for n, _ in pages for w in (390, 1440))
