"""报表“一张表” in Chromium (docs/datarequests.md 进度): the requester 徐丽 has her monthly request open; 磐东街道's
陆颖 corrects the returned figures on a phone (390 px, no horizontal overflow) in another browser context and submits;
徐丽's progress card turns to 3 / 3 without a reload, carried by the datarequest.progress event over /ws/events/.
The data is the `make run` demo (datarequests_demo). Screenshots go to test-results/datarequests/."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from supervision.datarequests.demo import MONTHLY_TITLE
from supervision.datarequests.models import DataRequest, Submission
from tests.clock import without_faketime
from tests.e2e.test_login_e2e import CHROMIUM, CHROMIUM_ARGS, RESULTS, VIEWPORTS, _login, in_thread
from tests.e2e.test_workbench_e2e import SYNC_TIMEOUT_MS, _watch

pytestmark = pytest.mark.e2e
SHOTS = RESULTS / "datarequests"
OVERFLOW = "document.documentElement.scrollWidth > document.documentElement.clientWidth"


def _scenario(base: str, req_id: int, sub_id: int) -> None:
    from playwright.sync_api import expect, sync_playwright

    with without_faketime(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            problems: list[str] = []
            ctx_req = browser.new_context(viewport=VIEWPORTS["desktop"], locale="zh-CN", device_scale_factor=1)
            ctx_town = browser.new_context(viewport=VIEWPORTS["mobile"], locale="zh-CN", device_scale_factor=1)
            owner, town = ctx_req.new_page(), ctx_town.new_page()
            _watch(owner, problems)
            _watch(town, problems)

            # 徐丽 (区府办 综合科) watches her request: 2 of 3 towns submitted, 磐东街道 returned.
            _login(owner, base, "xuli")
            owner.goto(f"{base}/datarequests/{req_id}/")
            expect(owner.locator("body")).to_have_attribute("data-events-state", "synced", timeout=SYNC_TIMEOUT_MS)
            card = owner.locator("[data-dr-card]")
            expect(card).to_contain_text("已报送 2 / 3 个单位")
            row = owner.locator(f'a[href="/datarequests/submissions/{sub_id}/"] [data-dr-status]')
            expect(row).to_have_attribute("data-dr-status", "returned")
            owner.evaluate("window.__noReload = 'still-here'")

            # 陆颖 of 磐东街道 opens the returned submission on a phone: prefilled revenue, the reason, no overflow.
            _login(town, base, "pandong04")
            town.goto(f"{base}/datarequests/submissions/{sub_id}/")
            town.wait_for_load_state("load")
            expect(town.get_by_text("请核实单位（万元）后重新报送", exact=False)).to_be_visible()
            expect(town.locator(".badge", has_text="已预填").first).to_be_visible()
            assert not town.evaluate(OVERFLOW), "390 px 横向溢出：填报页"
            town.screenshot(path=str(SHOTS / "fill-390.png"), full_page=True)
            industry = town.get_by_label("规上工业增加值", exact=False)
            industry.fill("4120")
            town.get_by_role("button", name="报送", exact=True).click()
            town.wait_for_load_state("load")
            expect(town.locator(".badge", has_text="已报送").first).to_be_visible()
            assert not town.evaluate(OVERFLOW), "390 px 横向溢出：已报送的填报页"
            town.screenshot(path=str(SHOTS / "submitted-390.png"), full_page=True)

            # 徐丽's card follows without a reload.
            expect(row).to_have_attribute("data-dr-status", "submitted", timeout=15_000)
            expect(owner.locator("[data-dr-card]")).to_contain_text("已报送 3 / 3 个单位")
            assert int(owner.locator("[data-dr-progress]").get_attribute("data-dr-reloads") or 0) >= 1
            assert owner.evaluate("window.__noReload") == "still-here", "页面被重新加载了"
            assert owner.evaluate("document.body.dataset.eventsState") == "synced"  # the socket, not the 30 s poll
            owner.screenshot(path=str(SHOTS / "progress-live-1440.png"), full_page=True)

            # 指标目录 maintenance on a phone, as 赵磊 of 督查室: the list and one entry with its forms fit 390 px.
            ctx_list = browser.new_context(viewport=VIEWPORTS["mobile"], locale="zh-CN", device_scale_factor=1)
            keeper = ctx_list.new_page()
            _watch(keeper, problems)
            _login(keeper, base, "zhaolei")
            keeper.goto(f"{base}/datarequests/catalog/")
            keeper.get_by_role("link", name="一般公共预算收入（万元）", exact=False).click()
            keeper.wait_for_load_state("load")
            expect(keeper.get_by_role("heading", name="合并重复指标")).to_be_visible()
            expect(keeper.get_by_label("同义词", exact=False)).to_have_value("财政收入,公共预算收入")
            assert not keeper.evaluate(OVERFLOW), "390 px 横向溢出：指标页"
            keeper.screenshot(path=str(SHOTS / "catalog-entry-390.png"), full_page=True)
            assert not problems, problems
            ctx_list.close()
            ctx_town.close()
            ctx_req.close()
        finally:
            browser.close()


def test_requester_progress_updates_live_when_a_town_submits(asgi_server):
    call_command("datarequests_demo", verbosity=0)
    req = DataRequest.objects.get(title=MONTHLY_TITLE)
    sub = Submission.objects.get(round__request=req, agency__short_name="磐东街道")
    assert sub.status == Submission.Status.RETURNED
    SHOTS.mkdir(parents=True, exist_ok=True)
    in_thread(_scenario, asgi_server, req.pk, sub.pk)
    sub.refresh_from_db()
    assert sub.status == Submission.Status.SUBMITTED and sub.values["industry"] == "4120"
