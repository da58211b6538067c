"""收文 pages in Debian chromium at phone width (390 px): 纸质来文 uploaded through the progress script
(workflows/static/workflows/receipt.js) lands on the new 收文; a refused file comes back with its Chinese message; the
list, detail, 在线阅读 and step pages do not overflow sideways. Screenshots go to test-results/."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from tests.clients import login
from tests.clock import without_faketime
from tests.e2e.test_login_e2e import CHROMIUM, CHROMIUM_ARGS, RESULTS, VIEWPORTS, in_thread
from tests.test_attachments import make_pdf

pytestmark = pytest.mark.e2e


def _drive(base: str, cookies: list[dict], pdf_path: str, png_path: str) -> None:
    from playwright.sync_api import sync_playwright

    with without_faketime(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport=VIEWPORTS["mobile"], locale="zh-CN")
            context.add_cookies(cookies)
            page = context.new_page()
            problems: list[str] = []
            page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))

            # a PNG named .pdf: refused by content, the message shown beside the file control, nothing stored
            page.goto(f"{base}/flows/incoming/paper/")
            page.get_by_label("标题").fill("关于申请防汛物资的请示")
            page.get_by_label("来文单位").fill("揭阳市揭东区曲溪街道办事处")
            page.get_by_label("来文扫描件（PDF）").set_input_files(png_path)
            page.get_by_role("button", name="登记并签收").click()
            page.get_by_text("文件内容与扩展名不符").wait_for()
            assert "/flows/incoming/paper/" in page.url

            # a real PDF: uploaded with progress, then the new 收文's page
            page.goto(f"{base}/flows/incoming/paper/")
            page.get_by_label("标题").fill("关于申请防汛物资的请示")
            page.get_by_label("来文单位").fill("揭阳市揭东区曲溪街道办事处")
            page.get_by_label("来文字号").fill("曲溪街〔2026〕8号")
            page.get_by_label("来文扫描件（PDF）").set_input_files(pdf_path)
            page.get_by_role("button", name="登记并签收").click()
            page.wait_for_url(re.compile(r"/flows/incoming/\d+/$"))
            assert page.locator("h1").inner_text() == "关于申请防汛物资的请示"
            assert "纸质来文" in page.content() and "已签收" in page.content()
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"收文详情横向溢出 {width}px"
            page.screenshot(path=str(RESULTS / "receipt-detail-mobile.png"), full_page=True)

            # 在线阅读: the scan as watermarked page images, fitting the phone
            detail_url = page.url
            page.get_by_role("link", name="在线阅读正文（带水印）").click()
            page.wait_for_url(re.compile(r"/flows/incoming/\d+/preview/$"))
            image = page.locator("img.preview-img").first
            image.scroll_into_view_if_needed()
            page.wait_for_function("() => { const i = document.querySelector('img.preview-img');"
                                   " return i && i.complete && i.naturalWidth > 0; }")
            assert page.evaluate("document.querySelector('img.preview-img').getBoundingClientRect().width") <= 390
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"收文预览横向溢出 {width}px"
            page.screenshot(path=str(RESULTS / "receipt-preview-mobile.png"), full_page=True)
            page.goto(detail_url)

            # its 登记 step page and the list
            page.get_by_role("link", name="去办理“登记”").click()
            page.wait_for_load_state("load")
            assert page.get_by_role("button", name="登记并编收文号").is_visible()
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"登记页横向溢出 {width}px"
            page.screenshot(path=str(RESULTS / "receipt-register-mobile.png"), full_page=True)
            page.goto(f"{base}/flows/incoming/")
            assert "关于申请防汛物资的请示" in page.content() and "曲溪街〔2026〕8号" in page.content()
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"收文列表横向溢出 {width}px"
            page.screenshot(path=str(RESULTS / "receipt-list-mobile.png"), full_page=True)
            # the refused upload's 400 is expected; nothing else may fail (no CSP or script errors)
            assert [p for p in problems if "status of 400" not in p] == [], problems
        finally:
            browser.close()


def test_paper_upload_and_pages_on_a_phone(asgi_server, cast, tmp_path):
    import shutil

    if not shutil.which(CHROMIUM):
        pytest.skip("需要 Debian chromium（apt-get install chromium）")
    client = login(cast.finance05, otp=True)
    host = asgi_server.split("//", 1)[1].split(":")[0]
    cookies = [{"name": name, "value": morsel.value, "domain": host, "path": "/"}
               for name, morsel in client.cookies.items() if name == settings.SESSION_COOKIE_NAME]
    assert cookies
    pdf = tmp_path / "来文扫描.pdf"
    pdf.write_bytes(make_pdf(text="关于申请防汛物资的请示"))
    png = tmp_path / "伪装.pdf"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    RESULTS.mkdir(exist_ok=True)
    in_thread(_drive, asgi_server, cookies, str(pdf), str(png))
