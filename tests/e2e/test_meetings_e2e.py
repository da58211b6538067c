"""会议 pages in Chromium on a phone (390×844) and a desktop (1440×900): 我的会议, 会议室, 安排会议, 会议页, 会务台.
Fails on any response ≥ 400 and on horizontal overflow at 390 px; screenshots go to test-results/meetings/."""

from __future__ import annotations

import re

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


# --- the room screen and a phone, live (docs/meetings.md 签到, 实时名单与当前议题) -------------------------------------


def _live_meeting():
    """A meeting starting in ten minutes (the 签到 window is open from 30 minutes before), with two 议题."""
    import datetime as dt

    from django.utils import timezone

    from meetings.actions import AgendaInput, MeetingInput, check_create_meeting
    from oa.models import Person

    lina, zhangwei, xuli = (Person.objects.get(username=u) for u in ("lina", "zhangwei", "xuli"))
    start = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(minutes=10)
    return check_create_meeting(lina, MeetingInput(
        title="防汛工作调度会", start=start, end=start + dt.timedelta(hours=1), location="三楼会议室",
        participants=[zhangwei, xuli], accept_person_conflicts=True,
        agenda=[AgendaInput("汛情通报", presenter=zhangwei), AgendaInput("抢险物资调配")])), zhangwei


def _screen_and_phone(base: str, meeting_id: int, zhangwei_id: int, xuli_id: int, lose_one_then_check_in_xuli,
                      problems: list[str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    with without_faketime(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            screen_ctx = browser.new_context(viewport=VIEWPORTS["desktop"], locale="zh-CN")
            phone_ctx = browser.new_context(viewport=VIEWPORTS["mobile"], locale="zh-CN", has_touch=True,
                                            is_mobile=True)
            for ctx in (screen_ctx, phone_ctx):
                ctx.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))
            screen, phone = screen_ctx.new_page(), phone_ctx.new_page()
            _login(screen, base, "lina")
            _login(phone, base, "zhangwei")

            screen.goto(f"{base}/meetings/{meeting_id}/screen/")
            live = screen.locator("[data-meeting-live]")
            expect(live).to_have_attribute("data-live-frames", "2", timeout=15000)  # roster + agenda frames
            qr = screen.locator("[data-qr-image]")
            expect(qr).to_have_attribute("data-checkin-url", re.compile(r"/meetings/checkin/"), timeout=15000)
            row = screen.locator(f'[data-roster] [data-person="{zhangwei_id}"] .mt-roster-status')
            expect(row).to_have_text("未到")
            expect(screen.locator("[data-roster-counts]")).to_contain_text("已到 0")
            screen.evaluate("window.__sameDocument = 'screen'")  # gone if the page reloads

            # The phone opens the URL the QR code carries now, and confirms.
            phone.goto(qr.get_attribute("data-checkin-url"))
            phone.get_by_role("button", name=re.compile("确认签到")).click()
            expect(phone.locator(".notice-success")).to_contain_text("签到成功")
            phone.screenshot(path=str(SHOTS / "checkin-390.png"), full_page=True)

            expect(row).to_have_text("已到", timeout=10000)
            expect(screen.locator("[data-roster-counts]")).to_contain_text("已到 1")
            assert screen.evaluate("window.__sameDocument") == "screen", "the room screen reloaded"
            screen.screenshot(path=str(SHOTS / "screen-live-1440.png"), full_page=True)

            # A lost roster message: the next delta's version leaves a gap, the screen asks for the whole roster.
            version = int(live.get_attribute("data-roster-version"))
            frames = int(live.get_attribute("data-live-frames"))
            lose_one_then_check_in_xuli()
            expect(live).to_have_attribute("data-roster-version", str(version + 2), timeout=10000)
            # the delta (not applied: a gap), then the whole roster and the agenda sent again for the hello
            expect(live).to_have_attribute("data-live-frames", str(frames + 3), timeout=10000)
            expect(screen.locator(f'[data-roster] [data-person="{xuli_id}"] .mt-roster-status')).to_have_text("已到")
            expect(screen.locator("[data-roster-counts]")).to_contain_text("已到 2")
            assert screen.evaluate("window.__sameDocument") == "screen", "the room screen reloaded"

            # The 主持人 (organiser) advances the 议题; the phone's meeting page follows without reload.
            phone.goto(f"{base}/meetings/{meeting_id}/")
            expect(phone.locator("[data-meeting-live]")).to_have_attribute("data-live-frames", "2", timeout=15000)
            current = phone.locator("#live [data-current-item]")
            expect(current).to_contain_text("会议尚未开始讨论议题")
            phone.evaluate("window.__sameDocument = 'phone'")
            host = screen_ctx.new_page()
            host.goto(f"{base}/meetings/{meeting_id}/")
            for label in ("1. 汛情通报", "2. 抢险物资调配"):
                host.get_by_label("切换到议题（主持人）").select_option(label=label)
                host.get_by_role("button", name="切换", exact=True).click()
                host.wait_for_load_state("load")
                expect(current).to_contain_text(label, timeout=10000)
            expect(current).to_contain_text("抢险物资调配")
            assert phone.evaluate("window.__sameDocument") == "phone", "the phone page reloaded"

            # The material upload on the phone: a Chinese 选择文件 button, the chosen file named beside it.
            picker = phone.locator(".mt-upload").first
            button = picker.locator("label.file-picker-button")
            expect(button).to_be_visible()
            # What a sighted user reads is 选择文件; what the upload is for is there for screen readers only.
            assert button.evaluate("b => b.firstChild.textContent") == "选择文件"
            assert button.locator(".visually-hidden").bounding_box()["width"] <= 1
            expect(picker.locator(".file-picker-name")).to_have_text("未选择文件")
            box = picker.locator("input[type=file]").bounding_box()
            assert box is not None and box["width"] <= 1 and box["height"] <= 1, "the English native control shows"
            picker.get_by_label(re.compile("选择文件：为议题“汛情通报”上传材料")).set_input_files(
                files=[{"name": "汛情简报.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"}])
            expect(picker.locator(".file-picker-name")).to_have_text("汛情简报.pdf")
            if phone.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth"):
                problems.append("390 px 横向溢出：会议页")
            phone.screenshot(path=str(SHOTS / "detail-live-390.png"), full_page=True)
            screen_ctx.close()
            phone_ctx.close()
        finally:
            browser.close()


def test_room_screen_roster_and_current_item_update_live_from_a_phone(asgi_server):
    from django.db import connection
    from django.db.models import F

    from meetings.checkin import check_manual_checkin
    from meetings.models import MeetingLive
    from oa.models import Person

    meeting, zhangwei = _live_meeting()
    lina, xuli = Person.objects.get(username="lina"), Person.objects.get(username="xuli")

    def lose_one_then_check_in_xuli() -> None:
        """A roster version that never reached the sockets (as if its message were lost), then a check-in."""
        def run() -> None:  # a thread of its own: Playwright's thread runs an event loop, the ORM refuses it
            try:
                MeetingLive.objects.filter(pk=meeting.pk).update(roster_version=F("roster_version") + 1)
                check_manual_checkin(lina, meeting, xuli)
            finally:
                connection.close()

        in_thread(run, timeout=30)

    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    in_thread(_screen_and_phone, asgi_server, meeting.pk, zhangwei.pk, xuli.pk, lose_one_then_check_in_xuli,
              problems)
    assert not problems, "\n".join(problems)
    from meetings.models import Attendance

    assert Attendance.objects.filter(meeting=meeting, person=zhangwei).exists()
