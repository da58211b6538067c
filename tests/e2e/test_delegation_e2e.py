"""我的 → 委托 in Chromium at 390 px and 1440 px: every control reachable by its label, nothing wider than the
screen, a refusal shown beside its field with the form kept, then set and cancelled. Screenshots go to
test-results/ (gitignored)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from oa.models import Delegation, Person
from tests.clock import without_faketime
from tests.e2e.test_login_e2e import CHROMIUM, CHROMIUM_ARGS, RESULTS, VIEWPORTS, in_thread

pytestmark = pytest.mark.e2e
LABELS = ("代理人", "开始日期", "结束日期", "委托事由")


def _scenario(base: str, cookie: str, today: dt.date) -> None:
    from playwright.sync_api import expect, sync_playwright

    with without_faketime(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for name, viewport in VIEWPORTS.items():
                problems: list[str] = []
                ctx = browser.new_context(viewport=viewport, locale="zh-CN", device_scale_factor=1)
                ctx.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base}])
                page = ctx.new_page()
                page.on("console", lambda msg: msg.type == "error" and "status of 400" not in msg.text
                        and problems.append(f"console: {msg.text}"))
                page.on("response", lambda r: r.status >= 400 and (r.request.method, r.status) != ("POST", 400)
                        and problems.append(f"{r.status} {r.url}"))

                def fits(label: str) -> None:
                    width = page.evaluate("document.documentElement.scrollWidth")
                    assert width <= viewport["width"], f"{label} 在 {name} 上宽 {width}px"

                page.goto(f"{base}/profile/")
                page.get_by_text("设置委托", exact=True).click()
                for label in LABELS:
                    expect(page.get_by_label(label, exact=True)).to_be_visible()
                expect(page.get_by_label("收文", exact=True)).to_be_visible()
                fits("我的")
                page.get_by_label("代理人", exact=True).select_option(label="高军")
                page.get_by_label("开始日期", exact=True).fill((today - dt.timedelta(days=1)).isoformat())
                page.get_by_label("结束日期", exact=True).fill((today + dt.timedelta(days=3)).isoformat())
                page.get_by_label("收文", exact=True).check()
                page.get_by_label("委托事由", exact=True).fill("外出学习")
                page.get_by_role("button", name="保存委托").click()
                expect(page.locator("#id_start_date_error")).to_contain_text("委托开始日期不能早于今天")
                expect(page.get_by_label("委托事由", exact=True)).to_have_value("外出学习")
                fits("我的（有错误）")
                page.screenshot(path=str(RESULTS / f"delegation-error-{name}.png"), full_page=True)

                page.get_by_label("开始日期", exact=True).fill(today.isoformat())
                page.get_by_role("button", name="保存委托").click()
                expect(page.get_by_text("已委托 高军 代为办理。")).to_be_visible()
                expect(page.get_by_text("委托 高军 代为办理", exact=True)).to_be_visible()
                fits("我的（已委托）")
                page.screenshot(path=str(RESULTS / f"delegation-set-{name}.png"), full_page=True)
                page.get_by_role("button", name="撤销对高军的委托").click()
                expect(page.get_by_text("已撤销对 高军 的委托。")).to_be_visible()
                assert problems == [], problems
                ctx.close()
        finally:
            browser.close()


def test_delegation_on_profile_on_phone_and_desktop(asgi_server):
    xuli = Person.objects.get(username="xuli")
    client = Client()
    client.force_login(xuli)
    in_thread(_scenario, asgi_server, client.cookies[settings.SESSION_COOKIE_NAME].value, timezone.localdate())
    # Two set and cancelled (one per viewport), the refused attempts wrote nothing.
    assert Delegation.objects.filter(principal=xuli).count() == 2
    assert not Delegation.objects.filter(principal=xuli, revoked_at__isnull=True).exists()
