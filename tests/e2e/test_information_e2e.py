"""信息报送 in a real browser (docs/information.md): on a phone (390×844) 区财政局's 信息员 邓红 drafts a piece and
submits it to the unit's review; after 彭涛's 同意 (an action: the unit step is covered over HTTP in
tests/test_information.py) the 信息科's 徐丽 adopts it at 市采用 on a desktop (1440×900). Every page on the way is
screenshotted (test-results/information/), as is the unit 文书's 信息报送职责 page on the phone, and checked as the page sweep checks: no HTTP error, no horizontal overflow
at 390 px, no visible Latin word outside the sweep's ALLOWED list (tests/e2e/test_page_sweep_e2e.py)."""

from __future__ import annotations

import pytest
from django.conf import settings
from viewflow.workflow.models import Task

from oa.models import Agency, Person
from tests.clients import login
from tests.clock import without_faketime
from tests.e2e.test_login_e2e import CHROMIUM, CHROMIUM_ARGS, RESULTS, in_thread
from tests.e2e.test_page_sweep_e2e import VISIBLE_TEXT_JS, latin_words
from workflows.information import actions as act
from workflows.information.demo import DUTIES
from workflows.information.models import InformationDuty, Submission

pytestmark = pytest.mark.e2e

SHOTS = RESULTS / "information"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
TITLE = "区财政局推进预算绩效管理全覆盖"
BODY = "区财政局全面实施预算绩效管理，今年纳入绩效评价的项目42个，涉及资金5.6亿元。"


def _check(page, name: str, problems: list[str], statuses: list[str]) -> None:
    """The page sweep's checks on the page as it stands, and a screenshot for a human to look at."""
    page.wait_for_load_state("load")
    width = page.viewport_size["width"]
    for s in statuses:
        problems.append(f"{name}: HTTP {s}")
    statuses.clear()
    if width <= 390:
        sw, cw = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        if sw > cw:
            problems.append(f"{name}: 横向溢出 {sw}px > {cw}px")
    words = latin_words(page.evaluate(VISIBLE_TEXT_JS))
    if words:
        problems.append(f"{name}: 英文 {sorted(words)}")
    page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)


def _context(browser, base: str, session: str, viewport: dict):
    context = browser.new_context(viewport=viewport, locale="zh-CN", device_scale_factor=1, accept_downloads=False)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session,
                          "domain": "127.0.0.1", "path": "/"}])
    return context


def _drive(fn, base: str, session: str, viewport: dict, problems: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    with without_faketime(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = _context(browser, base, session, viewport)
            page = context.new_page()
            statuses: list[str] = []
            page.on("response", lambda r: r.status >= 400 and statuses.append(f"{r.status} {r.url}"))
            fn(page, base, lambda name: _check(page, name, problems, statuses))
            context.close()
        finally:
            browser.close()


def _reporter_on_phone(page, base: str, check) -> None:
    page.goto(f"{base}/information/")
    check("home")
    page.get_by_role("link", name="起草政务信息").click()
    page.wait_for_url("**/information/new")
    check("new")
    page.get_by_label("标题", exact=True).fill(TITLE)
    page.get_by_label("类别", exact=True).select_option("practice")
    page.get_by_label("正文", exact=True).fill(BODY)
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_url("**/information/submissions/*/")
    check("draft")
    page.get_by_role("button", name="提交审核").click()
    page.wait_for_load_state("load")
    assert "已提交单位审核" in page.content()
    check("submitted")


def _desk_on_desktop(page, base: str, check) -> None:
    page.goto(f"{base}/information/desk/")
    check("desk")
    page.get_by_role("link", name=TITLE).first.click()
    page.wait_for_url("**/information/submissions/*/")
    check("piece")
    page.get_by_role("link", name="去办理").click()
    page.wait_for_url("**/information/tasks/*/")
    check("desk-review")
    page.get_by_label("采用", exact=True).check()
    page.get_by_label("市采用", exact=True).check()
    page.get_by_label("采用标题（可修改）").fill("区财政局预算绩效管理实现全覆盖")
    page.get_by_role("button", name="提交").click()
    page.wait_for_url("**/information/submissions/*/")
    assert "已采用" in page.content()
    check("adopted")


def _clerk_on_phone(page, base: str, check) -> None:
    """The unit's 文书 finds 信息报送职责 under 管理 and adds a 信息员 with the picker."""
    page.goto(f"{base}/manage/")
    check("manage")
    page.get_by_role("link", name="信息报送职责").click()
    page.wait_for_url("**/information/duties/")
    check("duties")
    section = page.locator("section", has=page.get_by_role("heading", name="区财政局 · 信息员"))
    section.get_by_label("增加人员").select_option(label="曾静")
    section.get_by_role("button", name="增加区财政局信息员").click()
    page.wait_for_url("**/information/duties/")
    assert "已设置曾静为区财政局信息员" in page.content()
    check("duty-added")


def test_a_reporter_drafts_and_submits_on_a_phone_and_the_desk_adopts_on_a_desktop(asgi_server):
    for username, short_name, duty in DUTIES:
        act.check_assign_duty(None, Person.objects.get(username=username), Agency.objects.get(short_name=short_name),
                              duty)
    SHOTS.mkdir(parents=True, exist_ok=True)
    sessions = {u: login(Person.objects.get(username=u), otp=True).cookies[settings.SESSION_COOKIE_NAME].value
                for u in ("finance06", "xuli", "finance05")}
    problems: list[str] = []

    in_thread(lambda: _drive(_reporter_on_phone, asgi_server, sessions["finance06"], PHONE, problems))
    piece = Submission.objects.get(title=TITLE)
    assert piece.status == Submission.Status.UNIT_REVIEW and piece.author.username == "finance06"

    reviewer = Person.objects.get(username="finance03")
    task = Task.objects.get(process_id=piece.process_id, owner=reviewer, status="ASSIGNED")
    act.check_unit_review(reviewer, task, "approve", "同意报送。")

    in_thread(lambda: _drive(_desk_on_desktop, asgi_server, sessions["xuli"], DESKTOP, problems))
    piece.refresh_from_db()
    assert (piece.status, piece.grade, piece.edited_title) == ("adopted", "city", "区财政局预算绩效管理实现全覆盖")
    assert piece.title == TITLE  # the unit's text kept beside the desk's edit

    in_thread(lambda: _drive(_clerk_on_phone, asgi_server, sessions["finance05"], PHONE, problems))
    assert InformationDuty.objects.filter(person__username="finance04", duty="reporter").exists()
    assert problems == [], "\n".join(problems)
