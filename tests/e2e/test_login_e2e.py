"""End to end: Debian chromium through Playwright against the ASGI server — login on a phone and a desktop
viewport, and a 2FA signer reaching the enrolment page. Screenshots go to test-results/ (gitignored)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from oa.actions.demo import DEMO_PASSWORD
from tests.clock import without_faketime

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
RESULTS = Path(__file__).resolve().parents[2] / "test-results"
VIEWPORTS = {"mobile": {"width": 390, "height": 844}, "desktop": {"width": 1440, "height": 900}}


def in_thread(fn, *args, timeout: float = 180) -> None:
    """pytest-asyncio (asyncio_mode=auto) may leave an event loop on this thread; the sync Playwright API
    refuses to run inside one, so drive the browser from a plain thread and re-raise its failure here."""
    errors: list[BaseException] = []

    def target():
        try:
            fn(*args)
        except BaseException as exc:  # re-raised in the test thread
            errors.append(exc)

    thread = threading.Thread(target=target, name="playwright")
    thread.start()
    thread.join(timeout=timeout)
    assert not thread.is_alive(), "Playwright 超时"
    if errors:
        raise errors[0]


@pytest.fixture
def browser_env(asgi_server):
    # The real ASGI app (tests/e2e/conftest.py): signed-in pages open the events websocket, which WSGI cannot serve.
    return asgi_server


def _login(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("用户名", exact=True).fill(username)
    page.get_by_label("密码", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state("load")


def _drive_zhangwei(base: str) -> None:
    from playwright.sync_api import sync_playwright

    with without_faketime(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for name, viewport in VIEWPORTS.items():
                context = browser.new_context(viewport=viewport, locale="zh-CN", device_scale_factor=1)
                page = context.new_page()
                problems: list[str] = []
                page.on("console", lambda msg, problems=problems: msg.type == "error" and problems.append(msg.text))
                page.on(
                    "response",
                    lambda r, problems=problems: r.status >= 400 and problems.append(f"{r.status} {r.url}"),
                )

                page.goto(f"{base}/accounts/login/")
                assert page.title().startswith("登录")
                # The stylesheet is applied (served locally): the login page has the brand background.
                assert page.evaluate("getComputedStyle(document.body).fontSize") == "16px"
                page.screenshot(path=str(RESULTS / f"login-{name}.png"), full_page=True)

                _login(page, base, "zhangwei")
                assert page.url == f"{base}/"
                heading = page.locator("h1").inner_text()
                assert "张伟" in heading
                assert "秘书科" in page.locator(".hero-post").inner_text()
                nav = page.get_by_role("navigation", name="主导航").bounding_box()
                if name == "mobile":
                    # Bottom tab bar across the full width of the phone.
                    assert nav["width"] == viewport["width"] and nav["y"] + nav["height"] >= viewport["height"] - 1
                else:
                    # Side navigation on the left.
                    assert nav["x"] == 0 and nav["width"] < 300 and nav["height"] > 400
                # Phones: the visible screen with the fixed tab bar; desktop: the whole page.
                page.screenshot(path=str(RESULTS / f"home-{name}.png"), full_page=name == "desktop")

                page.get_by_role("link", name="通讯录").first.click()
                page.wait_for_load_state("load")
                assert page.locator("h1").inner_text() == "通讯录"
                page.get_by_role("link", name="秘书科").first.click()
                page.wait_for_load_state("load")
                assert "张伟" in page.locator("main").inner_text()
                page.screenshot(path=str(RESULTS / f"department-{name}.png"), full_page=True)

                page.goto(f"{base}/profile/")
                page.screenshot(path=str(RESULTS / f"profile-{name}.png"), full_page=True)

                # Keyboard: Tab from the top reaches the skip link first, and it is visible when focused.
                page.goto(f"{base}/")
                page.keyboard.press("Tab")
                assert page.evaluate("document.activeElement.textContent") == "跳到主要内容"

                assert not problems, problems
                context.close()
        finally:
            browser.close()


def _drive_wangfang(base: str) -> None:
    from playwright.sync_api import sync_playwright

    with without_faketime(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport=VIEWPORTS["mobile"], locale="zh-CN")
            page = context.new_page()
            _login(page, base, "wangfang")
            assert page.url == f"{base}/accounts/otp/setup/"
            assert "绑定动态验证码" in page.locator("h1").inner_text()
            qr = page.get_by_role("img", name="动态验证码绑定二维码，无法扫描时请使用下方密钥手动输入")
            assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
            page.screenshot(path=str(RESULTS / "otp-setup-mobile.png"), full_page=True)
            # Every other page sends the signer back to the second step.
            page.goto(f"{base}/directory/")
            assert page.url == f"{base}/accounts/otp/setup/"
            page.get_by_label("6 位验证码").fill("000000")
            page.get_by_role("button", name="完成绑定").click()
            page.wait_for_load_state("load")
            assert "验证码不正确或已使用过" in page.locator(".field-errors").inner_text()
            page.screenshot(path=str(RESULTS / "otp-setup-error-mobile.png"), full_page=True)
            context.close()
        finally:
            browser.close()


def test_zhangwei_logs_in_on_phone_and_desktop(browser_env):
    in_thread(_drive_zhangwei, browser_env)
    for name in VIEWPORTS:
        assert (RESULTS / f"home-{name}.png").stat().st_size > 5000


def test_wangfang_reaches_2fa_setup(browser_env):
    in_thread(_drive_wangfang, browser_env)
