"""End to end, the 正文 editor: 张伟 (phone viewport) types; his autosaves of one page load (one 编辑会话) all land in
第1版; 李娜 (desktop, granted edit) saves 第2版 on top in a second browser context; 张伟's next autosave is refused and
the alert names 李娜 and the version — nothing is overwritten. Reloading starts a new session (第3版). On the phone
each block's toolbar stays one row and the page never scrolls sideways. Real ASGI server and Debian chromium
(tests/e2e/conftest.py); screenshots go to test-results/.
"""

from __future__ import annotations

import time

import pytest

from tests.clock import without_faketime
from tests.e2e.test_login_e2e import CHROMIUM, CHROMIUM_ARGS, RESULTS, VIEWPORTS, _login, in_thread
from tests.e2e.test_workbench_e2e import _orm

pytestmark = pytest.mark.e2e

TITLE = "关于做好2027年元旦春节期间安全生产工作的通知"


def _make_document() -> int:
    from documents.actions.documents import do_create_document, do_grant_document_access
    from oa.models import Agency, Person

    zhangwei, lina = Person.objects.get(username="zhangwei"), Person.objects.get(username="lina")
    doc = do_create_document(actor=zhangwei, agency=Agency.objects.get(name="揭阳市揭东区人民政府办公室"), title=TITLE)
    do_grant_document_access(doc, lina, can_edit=True)
    return doc.pk


def _versions(document_id: int) -> list[tuple[int, str, list]]:
    from documents.models import BodyVersion

    return [(v.number, v.author.username, v.content["blocks"])
            for v in BodyVersion.objects.filter(document_id=document_id).select_related("author").order_by("number")]


def _until(check, timeout: float = 15.0):
    """Poll the database (through _orm) until ``check()`` is truthy; the last value is returned for the assert."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def _watch(page, problems: list[str]) -> None:
    # The 409 is the point of the test: the browser logs it as a failed resource, which is expected here.
    page.on("console", lambda m: m.type == "error" and "409" not in m.text and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
    page.on("response", lambda r: r.status >= 400 and r.status != 409 and problems.append(f"{r.status} {r.url}"))


def _scenario(base: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    document_id = _orm(_make_document)
    url = f"{base}/documents/{document_id}/"
    with without_faketime(), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            problems: list[str] = []
            ctx_a = browser.new_context(viewport=VIEWPORTS["mobile"], locale="zh-CN", device_scale_factor=1)
            ctx_b = browser.new_context(viewport=VIEWPORTS["desktop"], locale="zh-CN", device_scale_factor=1)
            a, b = ctx_a.new_page(), ctx_b.new_page()
            _watch(a, problems)
            _watch(b, problems)

            # 张伟 opens his draft: the editor replaces the read-only body, with one empty paragraph.
            _login(a, base, "zhangwei")
            a.goto(f"{base}/documents/")
            a.get_by_role("link", name="拟稿", exact=True).wait_for()
            a.screenshot(path=str(RESULTS / "documents-list-mobile.png"), full_page=True)
            a.goto(f"{base}/documents/new")
            assert a.get_by_label("文种").evaluate("e => e.options.length") == 15
            a.screenshot(path=str(RESULTS / "documents-new-mobile.png"), full_page=True)
            a.goto(f"{base}/documents/")
            a.locator(".row-link", has_text=TITLE).click()
            a.wait_for_load_state("load")
            assert a.url == url
            expect(a.locator("#editor")).to_have_class("editor editor-ready")
            status = a.locator("#editor-status")
            expect(status).to_have_text("尚未保存")
            first = a.get_by_label("第1块（正文）文字")
            first.click()
            a.keyboard.type("各单位要高度重视安全生产工作。")
            expect(status).to_contain_text("已保存 第1版", timeout=15_000)
            assert _orm(_versions, document_id) == [
                (1, "zhangwei", [{"type": "p", "level": 0, "text": "各单位要高度重视安全生产工作。"}])]

            # Enter makes a new paragraph; made a 一级标题, its ordinal appears by itself. Still the same editing
            # session: the autosave amends 第1版 instead of adding 第2版.
            a.keyboard.press("Enter")
            a.keyboard.type("总体要求")
            a.get_by_label("第2块的层次").select_option("1")
            expect(a.locator('.ed-block[data-index="1"] .ed-ordinal')).to_have_text("一、")
            a.get_by_label("第2块（一级标题（一、））文字").click()  # focus back in the text
            versions = _until(lambda: (lambda v: len(v[-1][2]) == 2 and v)(_orm(_versions, document_id)))
            assert versions == [(1, "zhangwei", [
                {"type": "p", "level": 0, "text": "各单位要高度重视安全生产工作。"},
                {"type": "p", "level": 1, "text": "总体要求"}])], versions
            expect(status).to_contain_text("已保存 第1版", timeout=15_000)
            assert a.locator("#editor").get_attribute("data-version").startswith("1.")  # If-Match carries the revision
            a.screenshot(path=str(RESULTS / "editor-mobile.png"), full_page=True)

            # 李娜, in another browser, adds a sentence on top of 第1版 (as 张伟 left it).
            _login(b, base, "lina")
            b.goto(url)
            expect(b.locator("#editor")).to_have_class("editor editor-ready")
            expect(b.locator("#editor-status")).to_contain_text("第1版")
            area = b.get_by_label("第1块（正文）文字")
            area.click()
            b.keyboard.press("End")
            b.keyboard.type("李娜补充。")
            b.locator("body").click(position={"x": 5, "y": 5})  # leaving the field saves at once
            expect(b.locator("#editor-status")).to_contain_text("已保存 第2版", timeout=15_000)

            # 张伟, still on 第1版, keeps typing: his save is refused, and he is told who and which version.
            a.get_by_label("第2块（一级标题（一、））文字").press("End")
            a.keyboard.type("和目标")
            alert = a.locator("#editor-alert")
            expect(alert).to_contain_text("李娜 已于", timeout=15_000)
            expect(alert).to_contain_text("保存了第2版，请先查看其修改")
            expect(status).to_have_text("已停止自动保存")
            expect(a.get_by_label("第1块（正文）文字")).not_to_be_editable()
            expect(alert.get_by_role("link", name="查看对方的修改（新窗口）")).to_have_attribute(
                "href", f"/documents/{document_id}/?from=1&to=2#diff")
            a.screenshot(path=str(RESULTS / "editor-conflict-mobile.png"), full_page=True)
            b.screenshot(path=str(RESULTS / "editor-desktop.png"), full_page=True)

            versions = _orm(_versions, document_id)
            assert [(n, who) for n, who, _ in versions] == [(1, "zhangwei"), (2, "lina")]
            assert versions[-1][2][0]["text"] == "各单位要高度重视安全生产工作。李娜补充。"
            assert versions[-1][2][1]["text"] == "总体要求"  # 张伟's "和目标" was not written over it

            # The 痕迹 of 李娜's change, linked from the alert.
            b.goto(f"{url}?from=1&to=2#diff")
            expect(b.locator("#diff .diff-body ins.trk")).to_have_text("［李娜插入：李娜补充。］")
            expect(b.locator(".diff-legend")).to_contain_text("李娜")
            b.screenshot(path=str(RESULTS / "editor-diff-desktop.png"), full_page=True)

            # 张伟 loads the latest version: a new page load is a new session, so his next change is 第3版.
            a.once("dialog", lambda d: d.accept())  # the page asks before dropping his unsaved words
            alert.get_by_role("button", name="载入最新版本（放弃本页改动）").click()
            a.wait_for_load_state("load")
            expect(a.locator("#editor")).to_have_class("editor editor-ready")
            a.get_by_role("button", name="＋ 表格").click()
            a.get_by_label("第3块表格 第1行第1列").fill("单位")
            a.locator("body").click(position={"x": 5, "y": 5})
            expect(status).to_contain_text("已保存 第3版", timeout=15_000)
            assert [(n, who) for n, who, _ in _orm(_versions, document_id)] == [
                (1, "zhangwei"), (2, "lina"), (3, "zhangwei")]

            # The phone keeps one toolbar row per block (the table's nine controls scroll inside it) and the
            # page itself never scrolls sideways.
            rows = a.eval_on_selector_all(
                ".ed-tools",
                "els => els.map(t => new Set(Array.from(t.children).map(c => {"
                " const r = c.getBoundingClientRect(); return Math.round((r.top + r.bottom) / 2); })).size)")
            assert rows and all(n == 1 for n in rows), rows
            table_tools = a.locator('.ed-block[data-index="2"] .ed-tools')
            assert table_tools.evaluate("t => t.scrollWidth > t.clientWidth")  # it does scroll, not squeeze
            assert a.evaluate("document.documentElement.scrollWidth") <= 390
            add_bar = a.eval_on_selector(
                ".editor-add", "b => new Set(Array.from(b.children).map(c => Math.round(c.getBoundingClientRect().top))).size")
            assert add_bar == 1
            a.screenshot(path=str(RESULTS / "editor-toolbar-mobile.png"), full_page=True)
            assert not problems, problems
            ctx_a.close()
            ctx_b.close()
        finally:
            browser.close()


def test_autosave_and_conflict_between_two_browsers(asgi_server):
    in_thread(_scenario, asgi_server)
    assert (RESULTS / "editor-conflict-mobile.png").stat().st_size > 5000
