"""End to end, the 督办看板 on a 390 px phone and a 1440 px desktop (docs/supervision.md 看板): 赵磊 of the 督查室
sees the KPI cards, the SVG charts with their tables, no sideways scrolling of the page; tapping 逾期未办结 opens
the list of exactly those tasks. Screenshots go to test-results/."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.clock import without_faketime
from tests.e2e.test_login_e2e import CHROMIUM, CHROMIUM_ARGS, RESULTS, VIEWPORTS, _login, in_thread
from tests.e2e.test_workbench_e2e import _orm

pytestmark = pytest.mark.e2e


def _seed() -> int:
    """Six 区府办 tasks in three units, two of them overdue (deadlines relative to today: no wall calendar)."""
    from django.utils import timezone

    from oa.models import Agency, Person
    from supervision.models import SupervisionItem, UnitTask

    today = timezone.localdate()
    office = Agency.objects.get(short_name="区府办")
    leader, sup, handler = (Person.objects.get(username=u) for u in ("linxiaodong", "zhaolei", "finance04"))
    plan = [("区财政局", -20, -22), ("区财政局", -10, None), ("区教育局", -30, -25), ("区教育局", 15, None),
            ("区市场监管局", -5, None), ("区政数局", 40, None)]
    overdue = 0
    for n, (unit, due, done) in enumerate(plan, start=900):
        deadline = today + dt.timedelta(days=due)
        done_at = timezone.now() + dt.timedelta(days=done) if done is not None else None
        unit_agency = Agency.objects.get(short_name=unit)
        item = SupervisionItem.objects.create(
            agency=office, year=today.year, seq=n, number=f"督〔{today.year}〕{n}号", title=f"看板演示事项{n}",
            source_type="instruction" if n % 2 else "npc", leader=leader, supervisor=sup, lead_agency=unit_agency,
            responsible=handler, requirements="按期办结", deadline=deadline, cycle="weekly", cycle_weekday=5,
            status="closed" if done_at else "handling", dispatched_at=timezone.now() - dt.timedelta(days=60))
        UnitTask.objects.create(item=item, agency=unit_agency, role="lead", handler=handler,
                                status="done" if done_at else "handling", done_at=done_at,
                                light="" if done_at else ("red" if due < 0 else "green"), deadline=deadline,
                                start_ord=(today - dt.timedelta(days=60)).toordinal(),
                                deadline_ord=deadline.toordinal())
        overdue += done_at is None and due < 0
    return overdue


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def _scenario(base: str, overdue: int) -> None:
    from playwright.sync_api import expect, sync_playwright

    with without_faketime(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for name, viewport in VIEWPORTS.items():
                problems: list[str] = []
                context = browser.new_context(viewport=viewport, locale="zh-CN", device_scale_factor=1)
                page = context.new_page()
                page.on("pageerror", lambda exc, p=problems: p.append(f"pageerror: {exc}"))
                page.on("response", lambda r, p=problems: r.status >= 400 and p.append(f"{r.status} {r.url}"))
                page.on("request", lambda r, p=problems: not r.url.startswith(base) and not r.url.startswith(
                    ("data:", "blob:")) and p.append(f"external {r.url}"))
                _login(page, base, "zhaolei")
                page.goto(f"{base}/supervision/")
                page.get_by_role("link", name="督办看板").click()
                page.wait_for_load_state("load")
                expect(page.get_by_role("heading", name="督办看板", level=1)).to_be_visible()
                expect(page.get_by_role("img", name="各承办单位按期办结率", exact=False)).to_be_visible()
                expect(page.locator("table").first).to_be_visible()
                _no_sideways_scroll(page)
                page.screenshot(path=str(RESULTS / f"supervision-dashboard-{name}.png"), full_page=True)
                page.get_by_role("link", name="逾期未办结", exact=False).first.click()
                page.wait_for_load_state("load")
                expect(page.get_by_role("heading", name=f"逾期未办结（{overdue} 项）")).to_be_visible()
                expect(page.locator(".rows .row-link")).to_have_count(overdue)
                _no_sideways_scroll(page)
                page.screenshot(path=str(RESULTS / f"supervision-dashboard-items-{name}.png"), full_page=True)
                context.close()
                assert not problems, problems
        finally:
            browser.close()


def test_dashboard_on_phone_and_desktop(asgi_server):
    overdue = _orm(_seed)
    assert overdue == 2
    in_thread(_scenario, asgi_server, overdue)
