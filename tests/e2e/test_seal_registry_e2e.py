"""The 印章登记 pages in Chromium at 390 px and 1440 px: every control reachable by its label, nothing wider than
the screen, refusals visible beside their field, no console errors or failed requests. Screenshots go to
test-results/ (gitignored)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from documents.models import Seal
from oa.models import Person
from tests.clock import without_faketime
from tests.e2e.test_login_e2e import CHROMIUM, CHROMIUM_ARGS, RESULTS, VIEWPORTS, in_thread

pytestmark = pytest.mark.e2e
LABELS = ("所属机关", "印章类型", "印章名称（可不填）", "持章角色", "有效期起", "有效期止", "PDF 签名算法", "印章图片（可选）")


def _scenario(base: str, cookie: str, seal_id: int) -> None:
    from playwright.sync_api import expect, sync_playwright

    with without_faketime(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for name, viewport in VIEWPORTS.items():
                problems: list[str] = []
                ctx = browser.new_context(viewport=viewport, locale="zh-CN", device_scale_factor=1)
                ctx.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base}])
                page = ctx.new_page()
                # The refused form posts answer 400 by design (Chromium logs those as console errors too);
                # any other failure — a script error, a missing asset, a page — is a problem.
                page.on("console", lambda msg: msg.type == "error" and "status of 400" not in msg.text
                        and problems.append(f"console: {msg.text}"))
                page.on("response", lambda r: r.status >= 400 and (r.request.method, r.status) != ("POST", 400)
                        and problems.append(f"{r.status} {r.url}"))

                def fits(label: str) -> None:
                    width = page.evaluate("document.documentElement.scrollWidth")
                    assert width <= viewport["width"], f"{label} 在 {name} 上宽 {width}px"

                page.goto(f"{base}/documents/seals/")
                expect(page.get_by_role("link", name="新建印章")).to_be_visible()
                fits("印章列表")
                page.screenshot(path=str(RESULTS / f"seal-registry-list-{name}.png"), full_page=True)

                page.get_by_role("link", name="新建印章").click()
                for label in LABELS:
                    expect(page.get_by_label(label, exact=True)).to_be_visible()
                fits("新建印章")
                page.get_by_label("所属机关", exact=True).select_option(label="揭阳市揭东区人民政府办公室（揭东府办）")
                page.get_by_label("印章名称（可不填）", exact=True).fill("揭阳市揭东区人民政府办公室关于某某事项的专用印章")
                page.get_by_role("button", name="制作印章").click()
                expect(page.locator("#id_name_error")).to_contain_text("约21个汉字")
                fits("新建印章（有错误）")
                page.screenshot(path=str(RESULTS / f"seal-registry-new-{name}.png"), full_page=True)

                page.goto(f"{base}/documents/seals/{seal_id}/")
                expect(page.get_by_role("img", name="揭阳市揭东区人民政府办公室印章图案")).to_be_visible()
                fits("印章详情")
                page.get_by_role("button", name="注销").click()
                expect(page.locator("#id_reason_error")).to_contain_text("注销印章须填写原因")
                page.screenshot(path=str(RESULTS / f"seal-registry-detail-{name}.png"), full_page=True)
                assert problems == [], problems
                ctx.close()
        finally:
            browser.close()


def test_seal_registry_pages_on_phone_and_desktop(asgi_server):
    call_command("load_demo", "--with-seals", verbosity=0)
    sunhao = Person.objects.get(username="sunhao")
    client = Client()
    client.force_login(sunhao)
    device = TOTPDevice.objects.create(user=sunhao, name="手机", confirmed=True)
    session = client.session
    session["otp_device_id"] = device.persistent_id  # 2FA passed in this session (see tests/test_admin.py)
    session.save()
    seal = Seal.objects.get(agency__doc_code="揭东府办")
    in_thread(_scenario, asgi_server, client.cookies[settings.SESSION_COOKIE_NAME].value, seal.pk)
    seal.refresh_from_db()
    assert seal.revoked_at is None and Seal.objects.count() == 2  # the refused attempts changed nothing
