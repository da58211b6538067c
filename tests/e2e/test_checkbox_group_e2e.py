"""The checkbox group (frontend/static/oa/js/checkgroup.js) in Debian chromium on the 分发 page: at 390 px the
主送机关 are two columns of ≥44 px options, 全选/全不选 and 镇街 tick exactly the right boxes, “已选 N 个” follows,
the keyboard works, nothing overflows sideways; 分发 then sends to the ticked 镇街. On a desktop: 3–4 columns."""

from __future__ import annotations

import re
import shutil

import pytest
from django.conf import settings

from oa.models import Agency
from tests.clients import login
from tests.clock import without_faketime
from tests.e2e.test_login_e2e import CHROMIUM, CHROMIUM_ARGS, RESULTS, VIEWPORTS, in_thread
from tests.test_checkbox_groups import _at, _draft
from workflows.issuance.flows import IssuanceFlow
from workflows.models import DistributionRecipient

pytestmark = pytest.mark.e2e

TOWNS = ["曲溪街道", "磐东街道", "玉湖镇"]


def _ticked(group) -> list[str]:
    return group.locator("label.checkgroup-option").evaluate_all(
        "labels => labels.filter(l => l.querySelector('input').checked).map(l => l.innerText.trim())")


def _drive(base: str, cookies: list[dict], url: str, drafter: list[dict], start_url: str) -> None:
    from playwright.sync_api import sync_playwright

    with without_faketime(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            # desktop first (the page is gone after 分发): the same group in 3–4 columns
            desktop = browser.new_context(viewport=VIEWPORTS["desktop"], locale="zh-CN")
            desktop.add_cookies(cookies)
            wide = desktop.new_page()
            wide.goto(base + url)
            wide.locator("#id_main_agencies_group [data-checkgroup-tools]").wait_for(state="visible")
            columns = wide.locator("#id_main_agencies_group .checkgroup-grid").evaluate(
                "g => getComputedStyle(g).gridTemplateColumns.split(' ').length")
            assert columns in (3, 4), columns
            wide.screenshot(path=str(RESULTS / "checkbox-group-desktop.png"), full_page=True)
            desktop.close()

            context = browser.new_context(viewport=VIEWPORTS["mobile"], locale="zh-CN")
            context.add_cookies(cookies)
            page = context.new_page()
            problems: list[str] = []
            page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
            page.goto(base + url)
            group = page.locator("#id_main_agencies_group")
            tools = group.locator("[data-checkgroup-tools]")
            tools.wait_for(state="visible")  # the script shows the tools
            options = group.locator("label.checkgroup-option")
            total = options.count()
            assert total >= 10
            # compact and tappable: two columns at 390 px, every option at least 44 px tall, no sideways scroll
            columns = group.locator(".checkgroup-grid").evaluate(
                "g => getComputedStyle(g).gridTemplateColumns.split(' ').length")
            assert columns in (1, 2), columns
            heights = options.evaluate_all("ls => ls.map(l => l.getBoundingClientRect().height)")
            assert min(heights) >= 44, heights
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"分发页横向溢出 {width}px"

            all_button = tools.get_by_role("button", name="全选")
            # start from nothing ticked, whatever the 主送 要素 pre-ticked
            if _ticked(group):
                all_button.click()
                if _ticked(group):
                    tools.get_by_role("button", name="全不选").click()
            assert _ticked(group) == []
            assert tools.locator("[data-checkgroup-count]").inner_text() == "已选 0 个"

            tools.get_by_role("button", name="全选").click()
            assert len(_ticked(group)) == total
            assert tools.locator("[data-checkgroup-count]").inner_text() == f"已选 {total} 个"
            tools.get_by_role("button", name="全不选").click()
            assert _ticked(group) == []

            towns = tools.get_by_role("button", name=re.compile("^镇街"))
            assert towns.get_attribute("aria-pressed") == "false"
            towns.click()
            assert sorted(_ticked(group)) == sorted(TOWNS)
            assert towns.get_attribute("aria-pressed") == "true"
            assert tools.locator("[data-checkgroup-count]").inner_text() == "已选 3 个"
            page.screenshot(path=str(RESULTS / "checkbox-group-mobile.png"), full_page=True)

            # keyboard: Space on a ticked 镇街 unticks it, the toggle and the count follow; Space again re-ticks
            box = group.get_by_label("玉湖镇")
            box.focus()
            page.keyboard.press("Space")
            assert sorted(_ticked(group)) == sorted(TOWNS[:2])
            assert towns.get_attribute("aria-pressed") == "false"
            assert tools.locator("[data-checkgroup-count]").inner_text() == "已选 2 个"
            page.keyboard.press("Space")
            towns.focus()
            page.keyboard.press("Enter")  # the toggle: all 镇街 ticked → untick them
            assert _ticked(group) == []
            page.keyboard.press("Enter")
            assert sorted(_ticked(group)) == sorted(TOWNS)

            page.get_by_role("button", name="分发", exact=True).click()
            page.wait_for_url(re.compile(r"/flows/processes/\d+/$"))

            # 送审 (the drafter): 会签部门 as a group, the radio-free selects and the single 跳回 checkbox fit too
            context.clear_cookies()
            context.add_cookies(drafter)
            page.goto(base + start_url)
            group = page.locator("#id_countersign_departments_group")
            group.locator("[data-checkgroup-tools]").wait_for(state="visible")
            group.get_by_role("button", name="全选").click()
            assert group.locator("[data-checkgroup-count]").inner_text() == "已选 3 个"
            assert page.get_by_label("被退回修改后直接送回退回人（不再逐级审核）").is_checked()
            height = page.get_by_label("被退回修改后直接送回退回人（不再逐级审核）").evaluate(
                "b => b.closest('.field-check').getBoundingClientRect().height")
            assert height >= 44, height
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"送审页横向溢出 {width}px"
            page.screenshot(path=str(RESULTS / "checkbox-group-start-mobile.png"), full_page=True)
            assert problems == [], problems
        finally:
            browser.close()


def test_checkbox_group_on_a_phone(asgi_server, cast):
    if not shutil.which(CHROMIUM):
        pytest.skip("需要 Debian chromium（apt-get install chromium）")
    doc, _process, task = _at(IssuanceFlow.distribute, cast, "关于做好镇街防汛值班工作的通知")
    client = login(cast.liuyang, otp=True)
    host = asgi_server.split("//", 1)[1].split(":")[0]
    cookies = [{"name": name, "value": morsel.value, "domain": host, "path": "/"}
               for name, morsel in client.cookies.items() if name == settings.SESSION_COOKIE_NAME]
    assert cookies
    RESULTS.mkdir(exist_ok=True)
    draft = _draft(cast, title="关于开展镇街应急演练的通知")
    drafter = [{"name": name, "value": morsel.value, "domain": host, "path": "/"}
               for name, morsel in login(cast.zhangwei).cookies.items() if name == settings.SESSION_COOKIE_NAME]
    in_thread(_drive, asgi_server, cookies, f"/flows/issuance/tasks/{task.pk}/", drafter,
              f"/flows/issuance/start/{draft.pk}/")
    sent = set(DistributionRecipient.objects.filter(document=doc).values_list("agency__short_name", flat=True))
    assert sent == set(TOWNS)
    assert Agency.objects.filter(short_name__in=TOWNS).count() == 3
